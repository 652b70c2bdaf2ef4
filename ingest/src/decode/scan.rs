//! A JSON scanner that finds where values end without building or checking
//! them, for the parts of a `get_block_range` answer the decoder skips.
//!
//! Most of a block is transactions no registered prefix occurs in. serde
//! reads every byte of them to find where each ends, checking escapes,
//! numbers and UTF-8 on the way. The scanner only follows the structure:
//! strings are crossed with `memchr` (to the next quote or backslash), and
//! objects and arrays 64 bytes at a time ([`nested_end`]), their brackets
//! matched with a small stack. Whatever it cannot follow
//! (an unterminated string, unbalanced or too deeply nested brackets, the
//! end of the input) is `None`, and the caller falls back to serde, which
//! says what is wrong. What the decoder keeps is read strictly: plain
//! strings checked for UTF-8, escaped ones unescaped as serde would
//! (`unescape`), anything else by serde.

use memchr::memchr2;

use super::nested::nested_end;

/// Puts `value` in `slot`, or `None` when it is filled already: for a
/// field that may be given once (serde refuses a second).
pub(crate) fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    slot.is_none().then(|| *slot = Some(value))
}

/// A position in a JSON text.
#[derive(Debug, Clone)]
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Scanner { bytes, pos: 0 }
    }

    /// The byte at the position, after any whitespace (which it steps over).
    pub(crate) fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Steps over `expected` (after whitespace), `None` if something else is there.
    fn eat(&mut self, expected: u8) -> Option<()> {
        (self.peek()? == expected).then(|| self.pos += 1)
    }

    /// True when only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    /// Steps over a string whose opening quote is at `self.pos - 1`.
    fn cross_string(&mut self) -> Option<()> {
        loop {
            let rest = self.bytes.get(self.pos..)?;
            let found = memchr2(b'"', b'\\', rest)?;
            self.pos += found + 1;
            if rest[found] == b'"' {
                return Some(());
            }
            // A backslash escapes the next byte, which may be a quote.
            self.pos += 1;
        }
    }

    /// A string without escapes, borrowed; `None` for anything else (a
    /// string with escapes included: the caller falls back to serde).
    pub(crate) fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = self.bytes.get(start..)?;
        let found = memchr2(b'"', b'\\', rest)?;
        if rest[found] != b'"' {
            return None;
        }
        self.pos = start + found + 1;
        std::str::from_utf8(&rest[..found]).ok()
    }

    /// Steps over one value of any kind and returns its text.
    pub(crate) fn skip_value(&mut self) -> Option<&'a [u8]> {
        let first = self.peek()?;
        let start = self.pos;
        match first {
            b'"' => {
                self.pos += 1;
                self.cross_string()?;
            }
            b'{' | b'[' => self.pos = nested_end(self.bytes, self.pos)?,
            b'}' | b']' | b',' | b':' => return None,
            _ => {
                // A number or a literal: up to the next delimiter.
                let rest = &self.bytes[start..];
                let len = rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'))
                    .unwrap_or(rest.len());
                self.pos += len;
            }
        }
        self.bytes.get(start..self.pos)
    }

    /// Walks an object: `field` is called with each key (without escapes,
    /// else `None`) and must step over its value.
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.eat(b'}').is_some() {
            return Some(());
        }
        loop {
            let key = self.plain_string()?;
            self.eat(b':')?;
            field(self, key)?;
            if self.member_ends(b'}')? {
                return Some(());
            }
        }
    }

    /// After a member: steps over a comma (false) or `close` (true, the
    /// end of the object or array); anything else is `None`.
    fn member_ends(&mut self, close: u8) -> Option<bool> {
        let next = self.peek()?;
        if next != b',' && next != close {
            return None;
        }
        self.pos += 1;
        Some(next == close)
    }

    /// Walks an array: `element` is called at each element and must step over it.
    pub(crate) fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.eat(b']').is_some() {
            return Some(());
        }
        loop {
            element(self)?;
            if self.member_ends(b']')? {
                return Some(());
            }
        }
    }

    /// An array's elements, each read by `item`, into `out` (emptied
    /// first, its allocation kept).
    pub(crate) fn list_into<T>(
        &mut self,
        out: &mut Vec<T>,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<()> {
        out.clear();
        self.array(|s| {
            out.push(item(s)?);
            Some(())
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::Scanner;

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            any::<i64>().prop_map(|n| serde_json::json!(n)),
            // Quotes, backslashes, control characters and non-ASCII, escaped by serde.
            "[\"\\\\{}\\[\\],:a-z\u{0}-\u{1f}é€😀 ]{0,24}".prop_map(Value::String),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map("[\"\\\\a-z{]{0,6}", inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn skip_value_ends_exactly_where_the_value_does(value in arb_value(), pretty in any::<bool>()) {
            let text = if pretty {
                serde_json::to_string_pretty(&value)
            } else {
                serde_json::to_string(&value)
            }
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let doc = format!(" {text} ,\"after\"");
            let mut s = Scanner::new(doc.as_bytes());
            prop_assert_eq!(s.skip_value(), Some(text.as_bytes()));
            prop_assert_eq!(&doc[s.pos..], " ,\"after\"");
        }
    }

    fn skip(text: &str) -> Option<(String, usize)> {
        let mut s = Scanner::new(text.as_bytes());
        let value = s.skip_value()?;
        Some((String::from_utf8_lossy(value).into_owned(), s.pos))
    }

    #[test]
    fn values_end_where_json_says() {
        assert_eq!(skip(r#" "a\"b\\" , 1"#), Some((r#""a\"b\\""#.into(), 9)));
        assert_eq!(
            skip(r#"{"a":[1,{"b":"]}"}],"c":null}x"#).map(|v| v.1),
            Some(29)
        );
        assert_eq!(skip("-12.5e3,"), Some(("-12.5e3".into(), 7)));
        assert_eq!(skip("true]"), Some(("true".into(), 4)));
    }

    #[test]
    fn what_it_cannot_follow_is_none() {
        for bad in [
            r#""open"#,
            r#""ends in a backslash\"#,
            "{[}]",
            "[1,2",
            "}",
            "",
            "   ",
        ] {
            assert_eq!(skip(bad), None, "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(skip(&deep), None);
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(skip(&ok).map(|v| v.1), Some(128));
    }

    #[test]
    fn objects_and_arrays_walk_their_members() {
        let mut s = Scanner::new(br#"{"a": [1, "x"], "b": {}}"#);
        let mut seen = Vec::new();
        s.object(|s, key| {
            seen.push(key.to_string());
            s.skip_value().map(drop)
        })
        .expect("an object");
        assert_eq!(seen, ["a", "b"]);
        assert!(s.at_end());
        let mut s = Scanner::new(br#"{"a\n": 1}"#);
        assert_eq!(s.object(|s, _| s.skip_value().map(drop)), None);
        let mut s = Scanner::new(b"[1 2]");
        assert_eq!(s.array(|s| s.skip_value().map(drop)), None);
    }
}
