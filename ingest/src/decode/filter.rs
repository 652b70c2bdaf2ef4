//! The prefilter that lets the decoder skip operations nobody registered.

use memchr::memmem;

/// The custom_json id prefixes the decoder materializes operations for.
/// Everything else is skipped without being built: most custom_json on Hive
/// is not ours.
#[derive(Debug, Clone)]
pub struct OpFilter {
    prefixes: Vec<String>,
    finders: Vec<memmem::Finder<'static>>,
    any: bool,
}

impl OpFilter {
    /// A filter for ids starting with any of `prefixes` (none: nothing matches).
    pub fn new<I, S>(prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let prefixes: Vec<String> = prefixes.into_iter().map(Into::into).collect();
        let any = prefixes.iter().any(String::is_empty);
        let finders = prefixes
            .iter()
            .map(|p| memmem::Finder::new(p.as_bytes()).into_owned())
            .collect();
        OpFilter {
            prefixes,
            finders,
            any,
        }
    }

    /// A filter that keeps every custom_json operation (tests, tools).
    pub fn any() -> Self {
        OpFilter::new([""])
    }

    /// True when the id starts with a registered prefix.
    pub fn matches(&self, id: &str) -> bool {
        self.any || self.prefixes.iter().any(|p| id.starts_with(p.as_str()))
    }

    /// False when no prefix occurs anywhere in `raw` (the JSON text of a
    /// transaction), so none of its operations can match. Ids are printed by
    /// the node without escapes (prefixes are `[a-z0-9_.-]`), so a plain byte
    /// search is exact enough for a prefilter.
    pub fn may_match(&self, raw: &[u8]) -> bool {
        self.any || self.finders.iter().any(|f| f.find(raw).is_some())
    }
}
