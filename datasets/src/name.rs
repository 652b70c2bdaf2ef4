//! Name validation. Every dataset and snapshot name is checked here before it
//! reaches the `zfs` CLI or becomes a path, so no user input is passed on
//! unchecked.
//!
//! The rules are ZFS's component rules, tightened: a component is 1 to
//! [`MAX_COMPONENT_LEN`] characters from `[A-Za-z0-9_.:-]` and starts with a
//! letter, a digit, `_` or `:` (never `-`, which `zfs` would read as an option,
//! and never `.`, which rules out `.`, `..` and the plain backend's hidden
//! bookkeeping entries). Dataset names are components joined by `/`.

use crate::error::{DatasetError, NameKind};

/// Longest accepted name component.
pub const MAX_COMPONENT_LEN: usize = 64;

/// Longest accepted relative dataset name.
pub const MAX_DATASET_LEN: usize = 200;

/// Deepest accepted relative dataset name (components).
pub const MAX_DEPTH: usize = 8;

/// ZFS's own limit on a full `pool/path@snapshot` name.
pub const ZFS_MAX_NAME_LEN: usize = 255;

fn invalid(kind: NameKind, name: &str, reason: impl Into<String>) -> DatasetError {
    DatasetError::InvalidName {
        kind,
        name: name.to_owned(),
        reason: reason.into(),
    }
}

fn check_component(kind: NameKind, whole: &str, component: &str) -> Result<(), DatasetError> {
    if component.is_empty() {
        return Err(invalid(
            kind,
            whole,
            "empty name component (leading, trailing or doubled '/')",
        ));
    }
    if component.len() > MAX_COMPONENT_LEN {
        return Err(invalid(
            kind,
            whole,
            format!("component longer than {MAX_COMPONENT_LEN} characters"),
        ));
    }
    if let Some(bad) = component
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-')))
    {
        return Err(invalid(
            kind,
            whole,
            format!("contains {bad:?} (allowed: letters, digits, '_', '.', ':', '-')"),
        ));
    }
    if component.starts_with('-') {
        return Err(invalid(kind, whole, "a component may not start with '-'"));
    }
    if component.starts_with('.') {
        return Err(invalid(kind, whole, "a component may not start with '.'"));
    }
    Ok(())
}

/// Checks one dataset name component (a token symbol, `log`, `state`).
pub fn validate_component(name: &str) -> Result<(), DatasetError> {
    check_component(NameKind::Dataset, name, name)
}

/// Checks a dataset name relative to the backend (`HIVE`, `HIVE/log`).
pub fn validate_dataset_name(name: &str) -> Result<(), DatasetError> {
    check_path(NameKind::Dataset, name)
}

/// Checks a snapshot name (the part after `@`; no `/` or `@`).
pub fn validate_snapshot_name(name: &str) -> Result<(), DatasetError> {
    check_component(NameKind::Snapshot, name, name)
}

/// Checks the `ZFS_PARENT` setting (`pool` or `pool/path`).
pub fn validate_zfs_parent(name: &str) -> Result<(), DatasetError> {
    check_path(NameKind::ZfsParent, name)?;
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(invalid(
            NameKind::ZfsParent,
            name,
            "a pool name must start with a letter",
        ));
    }
    Ok(())
}

fn check_path(kind: NameKind, name: &str) -> Result<(), DatasetError> {
    if name.is_empty() {
        return Err(invalid(kind, name, "empty name"));
    }
    if name.len() > MAX_DATASET_LEN {
        return Err(invalid(
            kind,
            name,
            format!("longer than {MAX_DATASET_LEN} characters"),
        ));
    }
    let mut depth = 0;
    for component in name.split('/') {
        check_component(kind, name, component)?;
        depth += 1;
    }
    if depth > MAX_DEPTH {
        return Err(invalid(kind, name, format!("more than {MAX_DEPTH} levels")));
    }
    Ok(())
}

/// Joins a validated parent and a validated child name.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}/{child}")
    }
}

/// The parent of a relative dataset name, `None` for a top-level one.
pub(crate) fn parent_of(name: &str) -> Option<&str> {
    name.rsplit_once('/').map(|(parent, _)| parent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_token_layouts() {
        for ok in [
            "HIVE",
            "HIVE/log",
            "HIVE/state",
            "a.b:c_d-e",
            "X1/y2/z3",
            "_x",
            ":x",
        ] {
            assert!(validate_dataset_name(ok).is_ok(), "{ok}");
        }
        for ok in ["b100", "b10000", "pre-rollback.1", "daily:2024"] {
            assert!(validate_snapshot_name(ok).is_ok(), "{ok}");
        }
        assert!(validate_zfs_parent("tank/honeygraph").is_ok());
    }

    #[test]
    fn rejects_dangerous_names() {
        let bad = [
            "",
            "..",
            ".",
            "a/..",
            "../etc",
            "/abs",
            "a/",
            "a//b",
            "-rf",
            "a/-x",
            "a b",
            "a;b",
            "a$(x)",
            "a`x`",
            "a|b",
            "a&b",
            "a>b",
            "a\nb",
            "a@b",
            "a\\b",
            "a*b",
            "a?b",
            "é",
            ".snapshots",
            "a/.hg-dataset",
            "a\0b",
            "a'b",
            "a\"b",
        ];
        for name in bad {
            assert!(
                validate_dataset_name(name).is_err(),
                "{name:?} should be rejected"
            );
        }
        for name in ["", "a/b", "a@b", "-x", "..", ".x", "x y", "x;y"] {
            assert!(
                validate_snapshot_name(name).is_err(),
                "{name:?} should be rejected"
            );
        }
        assert!(validate_zfs_parent("1pool/x").is_err());
        assert!(validate_zfs_parent("tank/ho ney").is_err());
    }

    #[test]
    fn rejects_overlong_names() {
        assert!(validate_component(&"a".repeat(MAX_COMPONENT_LEN)).is_ok());
        assert!(validate_component(&"a".repeat(MAX_COMPONENT_LEN + 1)).is_err());
        let deep = ["a"; MAX_DEPTH + 1].join("/");
        assert!(validate_dataset_name(&deep).is_err());
        let long = vec!["a".repeat(60); 4].join("/");
        assert!(validate_dataset_name(&long).is_err());
    }

    #[test]
    fn error_names_the_problem() {
        let err = validate_dataset_name("a b").expect_err("space is invalid");
        let text = err.to_string();
        assert!(text.contains("\"a b\"") && text.contains("' '"), "{text}");
    }

    #[test]
    fn join_and_parent() {
        assert_eq!(join("", "A"), "A");
        assert_eq!(join("A", "log"), "A/log");
        assert_eq!(parent_of("A/log"), Some("A"));
        assert_eq!(parent_of("A"), None);
    }

    proptest! {
        #[test]
        fn accepted_names_are_safe_paths_and_arguments(name in "\\PC{0,80}") {
            if validate_dataset_name(&name).is_ok() {
                prop_assert!(!name.starts_with('-') && !name.starts_with('/'));
                for component in name.split('/') {
                    prop_assert!(!component.is_empty() && component != "." && component != "..");
                    prop_assert!(component.chars().all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c)));
                }
            }
        }

        #[test]
        fn generated_valid_names_pass(parts in proptest::collection::vec("[A-Za-z0-9_:][A-Za-z0-9_.:-]{0,20}", 1..5)) {
            let name = parts.join("/");
            prop_assert!(validate_dataset_name(&name).is_ok(), "{}", name);
        }

        #[test]
        fn snapshot_names_never_contain_separators(name in "[ -~]{0,70}") {
            if validate_snapshot_name(&name).is_ok() {
                prop_assert!(!name.contains('/') && !name.contains('@') && !name.contains(' '));
            }
        }
    }
}
