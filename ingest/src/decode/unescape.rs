//! A JSON string's text unescaped into a string of exactly its size.
//!
//! serde reads an escaped string into a scratch buffer that starts empty
//! and doubles as it fills, then copies it out: about five allocations for
//! a custom_json body's `json`, which is escaped JSON. Here the result is
//! allocated once, with room for the escaped text (never shorter than what
//! it unescapes to).

use memchr::memchr;

/// The text between a JSON string's quotes, unescaped, as serde_json reads
/// it. `None` where serde might read it differently or refuse it: a quote
/// or control character that is not escaped, an unknown or cut escape, a
/// `\u` escape of a UTF-16 surrogate (serde pairs or refuses them), invalid
/// UTF-8. The caller then asks serde.
pub(crate) fn unescape(raw: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    loop {
        let at = memchr(b'\\', rest).unwrap_or(rest.len());
        let (plain, tail) = rest.split_at(at);
        if plain.iter().any(|&b| b < 0x20 || b == b'"') {
            return None;
        }
        out.extend_from_slice(plain);
        let Some((_, tail)) = tail.split_first() else {
            break;
        };
        let (&kind, tail) = tail.split_first()?;
        rest = tail;
        let byte = match kind {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let (hex, tail) = rest.split_first_chunk::<4>()?;
                rest = tail;
                let unit = hex
                    .iter()
                    .try_fold(0u32, |n, &h| Some(n << 4 | char::from(h).to_digit(16)?))?;
                // A surrogate is not a char: `None`.
                let c = char::from_u32(unit)?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(byte);
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::unescape;

    fn serde_reads(raw: &[u8]) -> Option<String> {
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted).ok()
    }

    /// Escapes, near-escapes, quotes, control characters, non-ASCII and
    /// stray bytes, so that most texts hit a case serde refuses or reads.
    fn arb_raw() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => "[a-z{}:,\\[\\] ]{1,6}".prop_map(String::into_bytes),
            2 => prop::sample::select(vec![
                "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9",
                "\\u20AC", "\\u0000", "\\ud83d\\ude00", "\\ud83d", "\\ude00", "\\u12", "\\x",
                "\\", "\"", "\u{1}", "\n", "é", "😀",
            ])
            .prop_map(|s| s.as_bytes().to_vec()),
            1 => any::<u8>().prop_map(|b| vec![b]),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever it reads, serde reads the same; it leaves to serde only
        /// what serde refuses or reads through a surrogate escape.
        #[test]
        fn reads_what_serde_reads(raw in arb_raw()) {
            let ours = unescape(&raw);
            let theirs = serde_reads(&raw);
            if ours.is_some() {
                prop_assert_eq!(&ours, &theirs);
            } else if theirs.is_some() {
                let text = String::from_utf8_lossy(&raw);
                prop_assert!(text.contains("\\u") && (text.contains("\\ud") || text.contains("\\uD")),
                    "left to serde, which reads it: {:?}", text);
            }
        }
    }

    #[test]
    fn escaped_json_is_read() {
        assert_eq!(
            unescape(br#"{\"to\":\"bob\",\"memo\":\"caf\u00e9 \/ \u20ac\"}"#).as_deref(),
            Some("{\"to\":\"bob\",\"memo\":\"café / €\"}")
        );
        assert_eq!(unescape(b"").as_deref(), Some(""));
        assert_eq!(
            unescape(b"\\n\\t\\r\\b\\f").as_deref(),
            Some("\n\t\r\u{8}\u{c}")
        );
    }

    #[test]
    fn what_serde_must_judge_is_none() {
        for raw in [
            &b"cut \\"[..],
            b"\\u12",
            b"\\q",
            b"bare \" quote",
            b"tab\there",
            b"\\ud83d\\ude00",
            b"\xff",
        ] {
            assert_eq!(unescape(raw), None, "{}", String::from_utf8_lossy(raw));
        }
    }
}
