//! Longest-prefix routing of custom_json ids to tokens (contract.md §1).

/// Maps a custom_json id to the token whose `opPrefix` is its longest prefix.
/// Built once per registry change; lookups do not allocate.
#[derive(Debug, Clone, Default)]
pub struct PrefixRouter {
    /// `(prefix, symbol)`, longest prefix first so the first match wins.
    entries: Vec<(String, String)>,
}

/// Where an operation id goes: the token and the operation name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    /// Symbol of the token that owns the operation.
    pub symbol: &'a str,
    /// The id with the token's prefix removed.
    pub name: &'a str,
}

impl PrefixRouter {
    /// Builds a router from `(opPrefix, symbol)` pairs.
    pub fn new<I, P, S>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (P, S)>,
        P: Into<String>,
        S: Into<String>,
    {
        let mut entries: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(p, s)| (p.into(), s.into()))
            .collect();
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        PrefixRouter { entries }
    }

    /// The token and operation name for a custom_json `id`, or `None` when no
    /// prefix matches. An id equal to a prefix has an empty name and still
    /// belongs to that token (it is logged as `unsupported`).
    pub fn route<'a>(&'a self, id: &'a str) -> Option<Route<'a>> {
        self.entries.iter().find_map(|(prefix, symbol)| {
            id.strip_prefix(prefix.as_str()).map(|name| Route {
                symbol: symbol.as_str(),
                name,
            })
        })
    }

    /// The registered prefixes, longest first.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(p, _)| p.as_str())
    }

    /// True when no token is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spk_router() -> PrefixRouter {
        PrefixRouter::new([
            ("spkcc_", "LARYNX"),
            ("spkcc_spk_", "SPK"),
            ("spkcc_broca_", "BROCA"),
            ("dlux_", "DLUX"),
        ])
    }

    #[test]
    fn longest_prefix_wins() {
        let router = spk_router();
        assert_eq!(
            router.route("spkcc_spk_send"),
            Some(Route {
                symbol: "SPK",
                name: "send"
            })
        );
        assert_eq!(
            router.route("spkcc_send"),
            Some(Route {
                symbol: "LARYNX",
                name: "send"
            })
        );
        assert_eq!(
            router.route("spkcc_power_up"),
            Some(Route {
                symbol: "LARYNX",
                name: "power_up"
            })
        );
        assert_eq!(
            router.route("spkcc_broca_x"),
            Some(Route {
                symbol: "BROCA",
                name: "x"
            })
        );
        assert_eq!(
            router.route("dlux_send"),
            Some(Route {
                symbol: "DLUX",
                name: "send"
            })
        );
        assert_eq!(router.route("follow"), None);
        assert_eq!(router.route("spkc"), None);
    }

    proptest! {
        #[test]
        fn route_matches_a_brute_force_longest_prefix(id in "[a-z_]{0,20}") {
            let router = PrefixRouter::new([("a_", "A"), ("a_b_", "AB"), ("a_b_c_", "ABC"), ("b", "B")]);
            let expected = [("a_b_c_", "ABC"), ("a_b_", "AB"), ("a_", "A"), ("b", "B")]
                .iter()
                .filter(|(p, _)| id.starts_with(p))
                .max_by_key(|(p, _)| p.len())
                .map(|(p, s)| (*s, &id[p.len()..]));
            prop_assert_eq!(router.route(&id).map(|r| (r.symbol, r.name)), expected);
        }
    }
}
