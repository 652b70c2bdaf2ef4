//! The simulated token holders: valid Hive account names, the same for every seed.

/// Well-known names first, so small configurations read naturally.
const BASE: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "wendy",
];

/// Stems of generated names; combined with a number (and sometimes a dot segment).
const STEMS: &[&str] = &[
    "hive-fan",
    "spk.node",
    "dlux.user",
    "larynx",
    "miner",
    "curator",
    "podcaster",
    "trader",
];

/// The first `count` simulated account names, in a fixed order.
///
/// Every name is valid per the contract: 3 to 16 characters, dot-separated segments of at
/// least 3 characters that start with a lowercase letter and end with a letter or digit.
pub(crate) fn accounts(count: usize) -> Vec<String> {
    let mut out: Vec<String> = BASE.iter().take(count).map(|s| s.to_string()).collect();
    let mut i = 0usize;
    while out.len() < count {
        let stem = STEMS[i % STEMS.len()];
        out.push(format!("{stem}{}", i / STEMS.len() + 1));
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mirrors contract.md §3 so the generator cannot drift from it.
    fn valid(name: &str) -> bool {
        (3..=16).contains(&name.len())
            && name.split('.').all(|seg| {
                let b = seg.as_bytes();
                b.len() >= 3
                    && b[0].is_ascii_lowercase()
                    && b.iter()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
                    && b[b.len() - 1] != b'-'
            })
    }

    #[test]
    fn names_are_valid_and_unique() {
        let list = accounts(5000);
        assert_eq!(list.len(), 5000);
        assert_eq!(&list[..3], &["alice", "bob", "carol"]);
        for n in &list {
            assert!(valid(n), "{n}");
        }
        let mut sorted = list.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), list.len());
    }
}
