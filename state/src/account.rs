//! Hive account names (contract.md §3).

/// True when `name` is a valid Hive account name: 3 to 16 characters; one or
/// more segments separated by `.`; each segment at least 3 characters,
/// starting with a lowercase letter, then lowercase letters, digits or `-`,
/// and ending with a letter or digit.
pub fn is_valid_account(name: &str) -> bool {
    if !(3..=16).contains(&name.len()) {
        return false;
    }
    name.split('.').all(|segment| {
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

#[cfg(test)]
mod tests {
    use super::is_valid_account;

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
