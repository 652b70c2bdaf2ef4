//! Which token an operation belongs to, block by block.

use std::sync::Arc;

use crate::decode::OpFilter;

/// Longest-prefix routing over every registered token (contract.md §1), like
/// [`state::PrefixRouter`], plus each token's `startBlock`: a token takes
/// operations only from its start on, so before that a longer prefix's ops
/// still go to the shorter prefix's token (adding `abc_x_` moves `abc_x_send`
/// away from `abc_` from `abc_x_`'s start on).
#[derive(Debug, Clone)]
pub(crate) struct Routes {
    /// `(prefix, symbol, start block)`, longest prefix first.
    entries: Vec<(String, String, u64)>,
    /// Lets through the ops of every registered prefix: ranges decoded with
    /// it serve every token stream (see `shared`).
    filter: Arc<OpFilter>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new(Vec::new())
    }
}

impl Routes {
    pub(crate) fn new(mut entries: Vec<(String, String, u64)>) -> Self {
        entries.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let filter = Arc::new(OpFilter::new(entries.iter().map(|e| e.0.clone())));
        Routes { entries, filter }
    }

    /// The filter of every registered prefix.
    pub(crate) fn filter(&self) -> &Arc<OpFilter> {
        &self.filter
    }

    /// Every registered prefix.
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(prefix, _, _)| prefix.as_str())
    }

    /// How many tokens are registered.
    pub(crate) fn tokens(&self) -> usize {
        self.entries.len()
    }

    /// `(symbol, operation name)` for a custom_json id in block `block`.
    pub(crate) fn route<'a>(&'a self, id: &'a str, block: u64) -> Option<(&'a str, &'a str)> {
        self.entries.iter().find_map(|(prefix, symbol, start)| {
            if block < *start {
                return None;
            }
            id.strip_prefix(prefix.as_str())
                .map(|name| (symbol.as_str(), name))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_from_the_longer_tokens_start_on() {
        let routes = Routes::new(vec![
            ("abc_".into(), "ABC".into(), 10),
            ("abc_x_".into(), "ABCX".into(), 100),
        ]);
        assert_eq!(routes.route("abc_x_send", 99), Some(("ABC", "x_send")));
        assert_eq!(routes.route("abc_x_send", 100), Some(("ABCX", "send")));
        assert_eq!(routes.route("abc_send", 100), Some(("ABC", "send")));
        assert_eq!(routes.route("abc_send", 9), None);
        assert_eq!(routes.route("follow", 100), None);
    }
}
