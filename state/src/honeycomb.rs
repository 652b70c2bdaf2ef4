//! Reading a honeycomb state dump as a token's genesis
//! (`honeygraph token import SYMBOL --honeycomb-state FILE --block N`).
//!
//! A honeycomb node (dlux_open_token, honeycomb-spkcc) keeps its whole state
//! in one JSON object. The parts that are token balances, all in base units:
//!
//! | key | shape | our genesis |
//! |---|---|---|
//! | `balances` | account → liquid amount | `balances` |
//! | `pow` | account → own power not granted away, plus `t` (total) and `n` (nodes) | `power` |
//! | `granting` | owner → {grantee → amount, `t`: total} | added to the owner's `power` |
//! | `granted` | grantee → {owner → amount, `t`: total} | checked against `granting` |
//! | `spk`, `spow` | SPK's `balances` and `pow` (honeycomb-spkcc) | `balances`, `power` of SPK |
//!
//! Grants are folded into the owner's power: honeycomb's `power_grant`
//! subtracts the granted amount from `pow[owner]`, so the owner's staked
//! power is `pow[owner] + granting[owner]`. Our genesis has no grant pairs
//! (they would need grant records in the contract engine's genesis and in the
//! stateHash genesis events, which contract.md §5 does not define), so after
//! an import the owner holds that power ungranted and the grantee's
//! `grantedIn` starts at 0; supply and holders are the same either way.
//!
//! honeycomb also books its internal pools under two-letter keys starting
//! with `r` (`ra`, `rc`, `ri`, ...). They are not Hive accounts, no
//! operation can move them, and they are left out (and reported). Every
//! other key must be a valid Hive account or a known bookkeeping key (`t`,
//! and `n` in `pow`); anything else is refused, naming the map and the key.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::account::is_valid_account;
use crate::amount::{parse_amount, MAX_AMOUNT};
use crate::token::Genesis;

/// Why a honeycomb dump cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum HoneycombError {
    /// The file is not JSON.
    #[error("the honeycomb state dump is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The dump is not a JSON object.
    #[error("the honeycomb state dump must be a JSON object (the node's state), found {found}")]
    NotAnObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// A key the symbol needs is absent.
    #[error("the dump has no `{key}` map: {why}")]
    MissingKey {
        /// The top-level key.
        key: &'static str,
        /// What it is needed for.
        why: String,
    },
    /// A map or an entry has the wrong JSON type.
    #[error("`{path}` must be {expected}, found {found}")]
    WrongType {
        /// Where, e.g. `granting.alice`.
        path: String,
        /// What was expected.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// An amount that is negative, fractional, too large or not a number.
    #[error("`{path}`: amount {value} must be an integer from 0 to 2^63-1 (base units)")]
    InvalidAmount {
        /// Where, e.g. `balances.alice`.
        path: String,
        /// The value as it appears in the dump.
        value: String,
    },
    /// A key that is neither a Hive account nor a known bookkeeping key.
    #[error(
        "unknown key `{key}` in `{map}`: neither a valid Hive account nor a honeycomb bookkeeping key"
    )]
    UnknownKey {
        /// The map, e.g. `pow`.
        map: String,
        /// The key.
        key: String,
    },
    /// `granted` and `granting` disagree.
    #[error("`granting.{owner}.{grantee}` is {granting} but `granted.{grantee}.{owner}` is {granted}: the dump is inconsistent")]
    GrantMismatch {
        /// Who granted.
        owner: String,
        /// Who received.
        grantee: String,
        /// The amount in `granting`.
        granting: u64,
        /// The amount in `granted`.
        granted: u64,
    },
    /// The symbol's honeycomb state cannot be imported.
    #[error("{symbol} cannot be imported from a honeycomb state: {why}")]
    Unsupported {
        /// The symbol.
        symbol: String,
        /// Why.
        why: String,
    },
    /// An account's power plus its grants exceeds the largest amount.
    #[error("`{account}`: power plus granted power exceeds 2^63-1")]
    Overflow {
        /// The account.
        account: String,
    },
}

/// The result of reading a dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoneycombImport {
    /// The genesis to register the token with.
    pub genesis: Genesis,
    /// The top-level key the liquid balances came from (`balances` or `spk`).
    pub balances_key: &'static str,
    /// The top-level key the power came from (`pow` or `spow`).
    pub power_key: &'static str,
    /// Power folded into owners from `granting`, by owner.
    pub folded_grants: BTreeMap<String, u64>,
    /// honeycomb's internal pools left out, by map and key (`balances.ri`).
    pub skipped_pools: BTreeMap<String, u64>,
}

/// Which top-level keys a symbol reads.
struct Keys {
    balances: &'static str,
    power: &'static str,
    grants: bool,
}

fn keys_for(symbol: &str) -> Result<Keys, HoneycombError> {
    if symbol.eq_ignore_ascii_case("BROCA") {
        // honeycomb-spkcc keeps BROCA as `broca`: "amount,block" strings
        // that regenerate over time; reading `balances` would import LARYNX.
        return Err(HoneycombError::Unsupported {
            symbol: "BROCA".into(),
            why: "honeycomb-spkcc books it in `broca` as regenerating \"amount,block\" strings, \
                  which have no equivalent in the contract's genesis"
                .into(),
        });
    }
    Ok(if symbol.eq_ignore_ascii_case("SPK") {
        // honeycomb-spkcc books SPK apart from its base token (LARYNX);
        // `granted`/`granting` there are grants of LARYNX power, not of SPK.
        Keys {
            balances: "spk",
            power: "spow",
            grants: false,
        }
    } else {
        Keys {
            balances: "balances",
            power: "pow",
            grants: true,
        }
    })
}

/// Reads a dump from its JSON text. See [`import_value`].
pub fn import_str(symbol: &str, text: &str) -> Result<HoneycombImport, HoneycombError> {
    let value: Value = serde_json::from_str(text)?;
    import_value(symbol, &value)
}

/// Reads the genesis of `symbol` from a honeycomb state object. The object
/// may also be wrapped as `{"state": {...}}` (the shape of a node's `/state`
/// answer). Other top-level keys of the node's state (dex, stats, feed, ...)
/// are not balances and are ignored.
pub fn import_value(symbol: &str, dump: &Value) -> Result<HoneycombImport, HoneycombError> {
    let mut root = as_object("the dump", dump)?;
    let keys = keys_for(symbol)?;
    if !root.contains_key(keys.balances) {
        if let Some(Value::Object(inner)) = root.get("state") {
            root = inner;
        }
    }
    let mut skipped = BTreeMap::new();
    let Some(balances) = root.get(keys.balances) else {
        return Err(HoneycombError::MissingKey {
            key: keys.balances,
            why: format!(
                "{} liquid balances are read from `{}` (and power from `{}`)",
                symbol.to_ascii_uppercase(),
                keys.balances,
                keys.power
            ),
        });
    };
    let balances = amount_map(keys.balances, balances, &[], &mut skipped)?;
    let mut power = match root.get(keys.power) {
        Some(value) => amount_map(keys.power, value, &["t", "n"], &mut skipped)?,
        None => BTreeMap::new(),
    };

    let mut folded = BTreeMap::new();
    if keys.grants {
        let granting = grant_map("granting", root.get("granting"))?;
        let granted = grant_map("granted", root.get("granted"))?;
        check_mirror(&granting, &granted)?;
        for (owner, grants) in &granting {
            let sum = grants
                .values()
                .try_fold(0u64, |acc, v| acc.checked_add(*v))
                .filter(|s| *s <= MAX_AMOUNT)
                .ok_or_else(|| HoneycombError::Overflow {
                    account: owner.clone(),
                })?;
            if sum == 0 {
                continue;
            }
            let own = power.entry(owner.clone()).or_insert(0);
            *own = own
                .checked_add(sum)
                .filter(|p| *p <= MAX_AMOUNT)
                .ok_or_else(|| HoneycombError::Overflow {
                    account: owner.clone(),
                })?;
            folded.insert(owner.clone(), sum);
        }
    }

    Ok(HoneycombImport {
        genesis: Genesis {
            balances: nonzero(balances),
            power: nonzero(power),
        },
        balances_key: keys.balances,
        power_key: keys.power,
        folded_grants: folded,
        skipped_pools: skipped,
    })
}

fn nonzero(map: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    map.into_iter().filter(|(_, v)| *v > 0).collect()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn as_object<'a>(
    path: &str,
    value: &'a Value,
) -> Result<&'a serde_json::Map<String, Value>, HoneycombError> {
    match value {
        Value::Object(map) => Ok(map),
        other if path == "the dump" => Err(HoneycombError::NotAnObject {
            found: type_name(other),
        }),
        other => Err(HoneycombError::WrongType {
            path: path.to_string(),
            expected: "an object of account → amount",
            found: type_name(other),
        }),
    }
}

fn amount(path: String, value: &Value) -> Result<u64, HoneycombError> {
    parse_amount(value).ok_or(HoneycombError::InvalidAmount {
        path,
        value: value.to_string(),
    })
}

/// honeycomb's pool accounts: two letters, the first `r`.
fn is_pool_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 2 && b[0] == b'r' && b[1].is_ascii_lowercase()
}

/// An account → amount map. `bookkeeping` keys are skipped after checking
/// they are what honeycomb puts there (`t`: a total; `n`: an object).
fn amount_map(
    map: &str,
    value: &Value,
    bookkeeping: &[&str],
    skipped: &mut BTreeMap<String, u64>,
) -> Result<BTreeMap<String, u64>, HoneycombError> {
    let mut out = BTreeMap::new();
    for (key, raw) in as_object(map, value)? {
        let path = format!("{map}.{key}");
        if bookkeeping.contains(&key.as_str()) {
            if key == "t" {
                amount(path, raw)?;
            }
            continue;
        }
        if is_valid_account(key) {
            out.insert(key.clone(), amount(path, raw)?);
        } else if is_pool_key(key) {
            let value = amount(path.clone(), raw)?;
            skipped.insert(path, value);
        } else {
            return Err(HoneycombError::UnknownKey {
                map: map.to_string(),
                key: key.clone(),
            });
        }
    }
    Ok(out)
}

/// `granting` or `granted`: account → {account → amount, `t`: total}.
fn grant_map(
    map: &str,
    value: Option<&Value>,
) -> Result<BTreeMap<String, BTreeMap<String, u64>>, HoneycombError> {
    let mut out = BTreeMap::new();
    let Some(value) = value else {
        return Ok(out);
    };
    for (account, inner) in as_object(map, value)? {
        if !is_valid_account(account) {
            return Err(HoneycombError::UnknownKey {
                map: map.to_string(),
                key: account.clone(),
            });
        }
        let path = format!("{map}.{account}");
        let mut pairs = BTreeMap::new();
        for (other, raw) in as_object(&path, inner)? {
            let entry_path = format!("{path}.{other}");
            if other == "t" {
                amount(entry_path, raw)?;
                continue;
            }
            if !is_valid_account(other) {
                return Err(HoneycombError::UnknownKey {
                    map: path.clone(),
                    key: other.clone(),
                });
            }
            let value = amount(entry_path, raw)?;
            if value > 0 {
                pairs.insert(other.clone(), value);
            }
        }
        out.insert(account.clone(), pairs);
    }
    Ok(out)
}

/// Every grant appears on both sides with the same amount (honeycomb's
/// `power_grant` writes both in one batch); a dump where they differ is
/// corrupt, and guessing which side is right would invent power.
fn check_mirror(
    granting: &BTreeMap<String, BTreeMap<String, u64>>,
    granted: &BTreeMap<String, BTreeMap<String, u64>>,
) -> Result<(), HoneycombError> {
    if granted.is_empty() {
        return Ok(());
    }
    let get = |m: &BTreeMap<String, BTreeMap<String, u64>>, a: &str, b: &str| {
        m.get(a)
            .and_then(|inner| inner.get(b))
            .copied()
            .unwrap_or(0)
    };
    let out_pairs = granting
        .iter()
        .flat_map(|(o, g)| g.keys().map(move |t| (o.clone(), t.clone())));
    let in_pairs = granted
        .iter()
        .flat_map(|(t, g)| g.keys().map(move |o| (o.clone(), t.clone())));
    for (owner, grantee) in out_pairs.chain(in_pairs) {
        let a = get(granting, &owner, &grantee);
        let b = get(granted, &grantee, &owner);
        if a != b {
            return Err(HoneycombError::GrantMismatch {
                owner,
                grantee,
                granting: a,
                granted: b,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dlux_dump() -> Value {
        json!({
            "balances": {"alice": 1000, "bob": "2500", "carol": 0, "ri": 99_000, "rn": 1},
            "pow": {"n": {}, "t": 5000, "alice": 3000, "dave": 2000},
            "granting": {"alice": {"bob": 700, "t": 700}},
            "granted": {"bob": {"alice": 700, "t": 700}},
            "stats": {"tokenSupply": 1},
            "dex": {"hive": {}},
        })
    }

    #[test]
    fn a_dlux_dump_maps_balances_and_folds_grants_into_the_owner() {
        let import = import_value("DLUX", &dlux_dump()).unwrap();
        let g = &import.genesis;
        assert_eq!(
            g.balances,
            BTreeMap::from([("alice".into(), 1000), ("bob".into(), 2500)])
        );
        // alice's pow is what she kept; the 700 she granted is hers too.
        assert_eq!(
            g.power,
            BTreeMap::from([("alice".into(), 3700), ("dave".into(), 2000)])
        );
        assert_eq!(
            import.folded_grants,
            BTreeMap::from([("alice".into(), 700)])
        );
        assert_eq!(
            import.skipped_pools,
            BTreeMap::from([("balances.ri".into(), 99_000), ("balances.rn".into(), 1)])
        );
        assert_eq!((import.balances_key, import.power_key), ("balances", "pow"));
    }

    #[test]
    fn spk_reads_spk_and_spow_and_ignores_larynx_grants() {
        let mut dump = dlux_dump();
        dump["spk"] = json!({"alice": 5});
        dump["spow"] = json!({"t": 9, "bob": 9});
        let import = import_value("spk", &json!({ "state": dump })).unwrap();
        assert_eq!(
            import.genesis.balances,
            BTreeMap::from([("alice".into(), 5)])
        );
        assert_eq!(import.genesis.power, BTreeMap::from([("bob".into(), 9)]));
        assert!(import.folded_grants.is_empty());
    }

    #[test]
    fn malformed_dumps_are_refused_naming_the_key_and_account() {
        let cases = [
            (json!({"balances": {"alice": -5}}), "balances.alice"),
            (json!({"balances": {"alice": 1.5}}), "balances.alice"),
            (json!({"balances": {"alice": "12abc"}}), "balances.alice"),
            (json!({"balances": {"alice": null}}), "balances.alice"),
            (json!({"balances": {"Not_An_Account": 1}}), "Not_An_Account"),
            (json!({"balances": [1, 2]}), "balances"),
            (
                json!({"balances": {}, "pow": {"x": 1}}),
                "unknown key `x` in `pow`",
            ),
            (json!({"balances": {}, "pow": {"t": -1}}), "pow.t"),
            (
                json!({"balances": {}, "granting": {"alice": 5}}),
                "granting.alice",
            ),
            (
                json!({"balances": {}, "granting": {"alice": {"bob": 5}}, "granted": {"bob": {"alice": 4}}}),
                "granting.alice.bob",
            ),
            (json!({"pow": {}}), "`balances`"),
            (json!([1]), "JSON object"),
        ];
        for (dump, needle) in cases {
            let err = import_value("DLUX", &dump).expect_err(&dump.to_string());
            assert!(
                err.to_string().contains(needle),
                "{dump}: `{err}` should name {needle}"
            );
        }
        let err = import_value("broca", &dlux_dump()).unwrap_err();
        assert!(matches!(err, HoneycombError::Unsupported { .. }), "{err}");
        let err = import_value("SPK", &json!({"balances": {}})).unwrap_err();
        assert!(err.to_string().contains("`spk`"), "{err}");
        assert!(matches!(
            import_str("DLUX", "{not json"),
            Err(HoneycombError::Json(_))
        ));
    }

    #[test]
    fn power_plus_grants_cannot_overflow() {
        let dump = json!({
            "balances": {},
            "pow": {"alice": MAX_AMOUNT},
            "granting": {"alice": {"bob": 1}},
        });
        let err = import_value("DLUX", &dump).unwrap_err();
        assert!(matches!(err, HoneycombError::Overflow { .. }), "{err}");
    }
}
