//! Reading an operation's `json` payload (contract.md §3).
//!
//! The payload is scanned once, borrowing from the operation: only the fields
//! the contract reads (`to`, `amount`, `memo`) are kept, as raw JSON slices,
//! and everything else is skipped without being built. This is faster than a
//! `serde_json::Value` and it also follows the JSON grammar more faithfully:
//! a number such as `1e400` in a field we do not read is valid JSON (a
//! `Value` would refuse it as out of range). When a key repeats, the last
//! one wins, as in JavaScript's `JSON.parse`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::amount::{parse_amount, parse_amount_str, MAX_AMOUNT};
use crate::contract::Reject;

/// Longest memo we store, in bytes (contract.md §3).
pub const MAX_MEMO_BYTES: usize = 2048;

/// The fields of a payload the contract reads, as raw JSON.
#[derive(Debug, Default, Clone, Copy)]
pub struct Payload<'a> {
    /// Raw `to`, if present.
    pub to: Option<&'a RawValue>,
    /// Raw `amount`, if present.
    pub amount: Option<&'a RawValue>,
    /// Raw `memo`, if present.
    pub memo: Option<&'a RawValue>,
}

/// Parses `json`; `None` unless it is a JSON object (`invalid json`).
pub fn parse_payload(json: &str) -> Option<Payload<'_>> {
    serde_json::from_str::<Payload<'_>>(json).ok()
}

impl<'a> Payload<'a> {
    /// `amount` as contract.md §3 defines it, or `None` (`invalid amount`).
    pub fn amount(&self) -> Option<u64> {
        let raw = self.amount?.get();
        if raw.starts_with('"') {
            return parse_amount_str(&json_string(raw)?);
        }
        // Plain digits (the usual case) are read directly: as a JSON number
        // they are an integer, and one too big for a u64 is invalid either way.
        if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
            return raw.parse::<u64>().ok().filter(|v| *v <= MAX_AMOUNT);
        }
        // A number, bool, null, array or object: `parse_amount` decides. A
        // number that does not fit an f64 (`1e400`) fails to parse: invalid too.
        let value: serde_json::Value = serde_json::from_str(raw).ok()?;
        parse_amount(&value)
    }

    /// `to` if it is a JSON string (validity as an account is checked by the caller).
    pub fn to(&self) -> Option<Cow<'a, str>> {
        json_string(self.to?.get())
    }

    /// `memo`: `Ok(None)` when absent, `invalid memo` when present but not
    /// a string, else the memo truncated to [`MAX_MEMO_BYTES`] at a
    /// character boundary.
    pub fn memo(&self) -> Result<Option<Cow<'a, str>>, Reject> {
        let Some(raw) = self.memo else {
            return Ok(None);
        };
        let memo = json_string(raw.get()).ok_or(Reject::InvalidMemo)?;
        Ok(Some(truncate_memo(memo)))
    }
}

/// Cuts `memo` to at most [`MAX_MEMO_BYTES`] bytes without splitting a character.
pub fn truncate_memo(memo: Cow<'_, str>) -> Cow<'_, str> {
    if memo.len() <= MAX_MEMO_BYTES {
        return memo;
    }
    let mut end = MAX_MEMO_BYTES;
    while !memo.is_char_boundary(end) {
        end -= 1;
    }
    match memo {
        Cow::Borrowed(s) => Cow::Borrowed(&s[..end]),
        Cow::Owned(mut s) => {
            s.truncate(end);
            Cow::Owned(s)
        }
    }
}

/// The value of a raw JSON string, borrowed when it has no escapes; `None`
/// when `raw` is not a string.
fn json_string(raw: &str) -> Option<Cow<'_, str>> {
    if !raw.starts_with('"') {
        return None;
    }
    // `raw` is one JSON value (the parser checked it): a string without a
    // backslash is its text between the quotes.
    if raw.len() >= 2 && raw.ends_with('"') && !raw.contains('\\') {
        return Some(Cow::Borrowed(&raw[1..raw.len() - 1]));
    }
    serde_json::from_str::<JsonStr<'_>>(raw).ok().map(|s| s.0)
}

struct JsonStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StrVisitor;
        impl<'de> Visitor<'de> for StrVisitor {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(StrVisitor)
    }
}

enum Key {
    To,
    Amount,
    Memo,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "to" => Key::To,
                    "amount" => Key::Amount,
                    "memo" => Key::Memo,
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for Payload<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;
        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = Payload<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload<'de>, A::Error> {
                let mut payload = Payload::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::To => payload.to = Some(map.next_value()?),
                        Key::Amount => payload.amount = Some(map.next_value()?),
                        Key::Memo => payload.memo = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(payload)
            }
        }
        // `deserialize_map` makes serde_json refuse anything but an object
        // (a derived struct would also accept an array).
        deserializer.deserialize_map(PayloadVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Every string, however escaped, reads back as itself, by the
        /// shortcut or through serde_json.
        #[test]
        fn json_strings_read_back_as_written(text in any::<String>(), ascii_escapes in any::<bool>()) {
            let raw = if ascii_escapes {
                text.chars().map(|c| format!("\\u{:04x}", c as u32 & 0xffff)).collect::<String>()
            } else {
                serde_json::to_string(&text).expect("serializes")
            };
            let raw = if ascii_escapes { format!("\"{raw}\"") } else { raw };
            let expected: Option<String> = serde_json::from_str(&raw).ok();
            prop_assert_eq!(json_string(&raw).map(|s| s.into_owned()), expected);
        }

        /// Amounts written as plain numbers read as serde_json's `Value` would.
        #[test]
        fn plain_number_amounts_read_as_values_would(n in any::<u64>(), extra_digits in 0usize..3) {
            // Past u64 by appending digits (JSON allows no leading zero).
            let raw = if n == 0 { "0".to_string() } else { format!("{n}{}", "9".repeat(extra_digits)) };
            let json = format!("{{\"amount\":{raw}}}");
            let value: serde_json::Value = serde_json::from_str(&raw).expect("a number");
            prop_assert_eq!(amount(&json), parse_amount(&value));
        }
    }

    fn amount(json: &str) -> Option<u64> {
        parse_payload(json).and_then(|p| p.amount())
    }

    #[test]
    fn only_objects_are_payloads() {
        for bad in [
            "",
            "[]",
            "[1]",
            "1",
            "\"x\"",
            "null",
            "{",
            "{\"a\":1}x",
            "{\"a\":01}",
            "{'a':1}",
        ] {
            assert!(parse_payload(bad).is_none(), "{bad}");
        }
        for good in [
            "{}",
            " { } ",
            "{\"x\":[1,{\"y\":null}]}",
            "{\"x\":1e400}",
            "{\"a\":1,\"a\":2}",
        ] {
            assert!(parse_payload(good).is_some(), "{good}");
        }
    }

    #[test]
    fn amounts_follow_section_3() {
        assert_eq!(amount(r#"{"amount":1000}"#), Some(1000));
        assert_eq!(amount(r#"{"amount":"0042"}"#), Some(42));
        assert_eq!(amount(r#"{"amount":"\u0031\u0032"}"#), Some(12));
        assert_eq!(amount(r#"{"amount":0}"#), Some(0));
        assert_eq!(
            amount(r#"{"amount":9223372036854775807}"#),
            Some(i64::MAX as u64)
        );
        for bad in [
            r#"{}"#,
            r#"{"amount":null}"#,
            r#"{"amount":true}"#,
            r#"{"amount":-1}"#,
            r#"{"amount":-0}"#,
            r#"{"amount":1.0}"#,
            r#"{"amount":1e3}"#,
            r#"{"amount":1e400}"#,
            r#"{"amount":"12abc"}"#,
            r#"{"amount":""}"#,
            r#"{"amount":"-1"}"#,
            r#"{"amount":[1]}"#,
            r#"{"amount":{"v":1}}"#,
            r#"{"amount":9223372036854775808}"#,
            r#"{"amount":18446744073709551616}"#,
            r#"{"amount":"000000000000000000001"}"#,
        ] {
            assert_eq!(amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn last_duplicate_key_wins() {
        assert_eq!(amount(r#"{"amount":1,"amount":"7"}"#), Some(7));
        assert_eq!(amount(r#"{"amount":1,"\u0061mount":2}"#), Some(2));
    }

    #[test]
    fn to_must_be_a_string() {
        let p = parse_payload(r#"{"to":"alice"}"#).expect("object");
        assert_eq!(p.to().as_deref(), Some("alice"));
        for bad in [
            r#"{"to":1}"#,
            r#"{"to":null}"#,
            r#"{"to":["alice"]}"#,
            r#"{}"#,
        ] {
            assert_eq!(parse_payload(bad).expect("object").to(), None, "{bad}");
        }
    }

    #[test]
    fn memo_is_optional_string_truncated_at_char_boundary() {
        let p = parse_payload(r#"{}"#).expect("object");
        assert_eq!(p.memo(), Ok(None));
        let p = parse_payload(r#"{"memo":"hi \"there\""}"#).expect("object");
        assert_eq!(p.memo().expect("string").as_deref(), Some("hi \"there\""));
        for bad in [r#"{"memo":null}"#, r#"{"memo":5}"#, r#"{"memo":{}}"#] {
            assert_eq!(
                parse_payload(bad).expect("object").memo(),
                Err(Reject::InvalidMemo),
                "{bad}"
            );
        }
        // 2047 ASCII bytes then a 3-byte character: the character would end
        // past byte 2048, so it is dropped whole.
        let long = format!("{}€tail", "a".repeat(2047));
        let json = serde_json::json!({ "memo": long }).to_string();
        let memo = parse_payload(&json)
            .expect("object")
            .memo()
            .expect("string")
            .expect("present");
        assert_eq!(memo.len(), 2047);
        let exact = "b".repeat(3000);
        let json = serde_json::json!({ "memo": exact }).to_string();
        let memo = parse_payload(&json)
            .expect("object")
            .memo()
            .expect("string")
            .expect("present");
        assert_eq!(memo.len(), MAX_MEMO_BYTES);
    }
}
