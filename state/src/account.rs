//! Hive account names (contract.md §3).

/// True when `name` is a valid Hive account name: 3 to 16 characters; one or
/// more segments separated by `.`; each segment at least 3 characters,
/// starting with a lowercase letter, then lowercase letters, digits or `-`,
/// and ending with a letter or digit.
pub fn is_valid_account(name: &str) -> bool {
    // One pass over the bytes: the contract checks both parties of every
    // operation, and splitting at `.` first searched each name for dots
    // (about 5% of a replay's contract thread).
    let bytes = name.as_bytes();
    if !(3..=16).contains(&bytes.len()) {
        return false;
    }
    let mut segment_len = 0usize;
    let mut previous = b'.';
    for &byte in bytes {
        match byte {
            b'a'..=b'z' => segment_len += 1,
            b'0'..=b'9' | b'-' if segment_len > 0 => segment_len += 1,
            b'.' if segment_ends_well(segment_len, previous) => segment_len = 0,
            _ => return false,
        }
        previous = byte;
    }
    segment_ends_well(segment_len, previous)
}

/// A segment of `len` bytes ending in `last` is long enough and ends with a
/// letter or digit.
fn segment_ends_well(len: usize, last: u8) -> bool {
    len >= 3 && (last.is_ascii_lowercase() || last.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::is_valid_account;

    /// contract.md §3 read literally, segment by segment.
    fn by_segments(name: &str) -> bool {
        (3..=16).contains(&name.len())
            && name.split('.').all(|segment| {
                let bytes = segment.as_bytes();
                let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
                    return false;
                };
                bytes.len() >= 3
                    && first.is_ascii_lowercase()
                    && (last.is_ascii_lowercase() || last.is_ascii_digit())
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
            })
    }

    proptest! {
        /// Names from the characters that matter (and a few that never do)
        /// get the same verdict as the rule read segment by segment.
        #[test]
        fn agrees_with_the_rule_segment_by_segment(name in "[a-d0-2.\\-A_ é]{0,18}") {
            prop_assert_eq!(is_valid_account(&name), by_segments(&name), "{:?}", name);
        }

        /// Dotted names from few letters, digits and dashes agree too: about
        /// one in eight is valid, and the rest break one rule or another
        /// (a segment that is short, starts with a digit or dash, or ends
        /// with a dash).
        #[test]
        fn agrees_on_names_shaped_like_real_ones(
            name in "[a-c0-1-]{1,6}(\\.[a-c0-1-]{1,6}){0,2}"
        ) {
            prop_assert_eq!(is_valid_account(&name), by_segments(&name), "{:?}", name);
        }
    }

    #[test]
    fn accepts_real_names() {
        for name in [
            "spk-cc",
            "dlux-io",
            "alice",
            "a1b",
            "hive.blog",
            "abc.def.ghi",
            "disregardfiat",
        ] {
            assert!(is_valid_account(name), "{name}");
        }
    }

    #[test]
    fn rejects_bad_names() {
        for name in [
            "ab",
            "Alice",
            "1abc",
            "abc-",
            "abc.de",
            ".abc",
            "abc.",
            "abcdefghijklmnopq",
            "ab_c",
            "a..bc",
            "",
            "ab c",
        ] {
            assert!(!is_valid_account(name), "{name}");
        }
    }
}
