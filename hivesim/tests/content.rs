//! Token operations are generated for every prefix, in valid and invalid shapes, and noise
//! never looks like a token operation.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{custom_jsons, range, start};
use serde_json::Value;

/// Longest configured prefix of `id`, as the indexer routes (contract.md §1).
fn route<'a>(prefixes: &'a [String], id: &str) -> Option<&'a str> {
    prefixes
        .iter()
        .filter(|p| id.starts_with(p.as_str()))
        .max_by_key(|p| p.len())
        .map(|p| p.as_str())
}

fn amount_ok(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.as_u64().is_some_and(|x| x <= i64::MAX as u64),
        Value::String(s) => {
            (1..=20).contains(&s.len())
                && s.bytes().all(|b| b.is_ascii_digit())
                && s.parse::<u64>().is_ok_and(|x| x <= i64::MAX as u64)
        }
        _ => false,
    }
}

/// A shape check of contract.md §2-§4 (balances aside): true if the op could apply.
fn well_formed(name: &str, auths: &Value, posting: &Value, json: &str) -> bool {
    let sender = match (auths.as_array(), posting.as_array()) {
        (Some(a), Some(p)) if p.is_empty() && !a.is_empty() => a[0].as_str().unwrap_or(""),
        _ => return false,
    };
    let Ok(Value::Object(p)) = serde_json::from_str::<Value>(json) else {
        return false;
    };
    let amount = p.get("amount").unwrap_or(&Value::Null);
    let positive = amount_ok(amount) && amount.to_string().trim_matches('"') != "0";
    let to_ok = |p: &serde_json::Map<String, Value>| {
        p.get("to")
            .and_then(Value::as_str)
            .is_some_and(|to| state::account::is_valid_account(to) && to != sender)
    };
    match name {
        "send" => positive && to_ok(&p) && p.get("memo").is_none_or(Value::is_string),
        "power_up" => positive,
        "power_down" => amount_ok(amount),
        "power_grant" => amount_ok(amount) && to_ok(&p),
        _ => false,
    }
}

#[tokio::test]
async fn token_ops_cover_every_prefix_in_valid_and_invalid_shapes() {
    let node = start(11).await;
    let prefixes = node.config().prefixes.clone();
    let accounts: BTreeSet<String> = node.accounts().into_iter().collect();
    assert_eq!(accounts.len(), 40);
    assert!(accounts.contains("alice") && accounts.contains("bob"));
    assert!(accounts.iter().all(|a| state::account::is_valid_account(a)));

    let mut per_prefix: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut names = BTreeSet::new();
    let (mut posting, mut empty_auths, mut not_json, mut multi_op_trx) = (0, 0, 0, 0);
    let mut total = 0;
    let first = node.first_block() + 300;
    for block in range(&node, first, 200).await {
        for t in block["transactions"].as_array().unwrap() {
            let ours = custom_jsons(&serde_json::json!({"transactions": [t]}))
                .into_iter()
                .filter(|(id, ..)| route(&prefixes, id).is_some())
                .count();
            if ours > 1 {
                multi_op_trx += 1;
            }
        }
        for (id, auths, post, json) in custom_jsons(&block) {
            let Some(prefix) = route(&prefixes, &id) else {
                continue;
            };
            total += 1;
            let name = &id[prefix.len()..];
            names.insert(name.to_string());
            let entry = per_prefix.entry(prefix).or_default();
            if well_formed(name, &auths, &post, &json) {
                entry.0 += 1;
                let sender = auths[0].as_str().unwrap();
                assert!(accounts.contains(sender), "senders are simulated holders");
            } else {
                entry.1 += 1;
            }
            posting += usize::from(!post.as_array().unwrap().is_empty());
            empty_auths += usize::from(
                post.as_array().unwrap().is_empty() && auths.as_array().unwrap().is_empty(),
            );
            not_json += usize::from(serde_json::from_str::<Value>(&json).is_err());
        }
    }
    // About 3 per block on average.
    assert!(
        (400..=800).contains(&total),
        "token ops over 200 blocks: {total}"
    );
    for p in &prefixes {
        let (valid, invalid) = per_prefix.get(p.as_str()).copied().unwrap_or_default();
        assert!(
            valid > 20 && invalid > 2,
            "{p}: {valid} valid, {invalid} invalid"
        );
        assert!(
            valid > invalid * 3,
            "{p}: most ops are valid ({valid} vs {invalid})"
        );
    }
    for n in ["send", "power_up", "power_down", "power_grant"] {
        assert!(names.contains(n), "{n} occurs");
    }
    assert!(names.len() > 4, "unknown names occur too: {names:?}");
    assert!(posting > 0 && empty_auths > 0 && not_json > 0);
    assert!(
        multi_op_trx > 0,
        "some transactions carry several token ops"
    );
}

#[tokio::test]
async fn noise_never_uses_a_token_prefix_even_when_prefixes_overlap_real_ids() {
    // `sm_` and `fol` would capture Splinterlands and `follow` noise if it were not filtered.
    let prefixes: Vec<String> = vec!["spkcc_".into(), "sm_".into(), "fol".into()];
    let config = hivesim::SimConfig {
        prefixes: prefixes.clone(),
        ..common::config(5)
    };
    let node = hivesim::SimNode::start(config).await.unwrap();
    // Every name the token generator uses; noise ids routed to a prefix would show others.
    let token_names = [
        "send",
        "power_up",
        "power_down",
        "power_grant",
        "claim",
        "dex_buy",
        "dex_sell",
        "node_add",
        "gov_up",
        "report",
        "nft_transfer",
        "vote_content",
        "unknown_op",
    ];
    let (mut noise, mut routed) = (BTreeSet::new(), BTreeMap::<&str, usize>::new());
    for block in range(&node, node.first_block(), 200).await {
        for (id, ..) in custom_jsons(&block) {
            match route(&prefixes, &id) {
                Some(prefix) => {
                    let name = &id[prefix.len()..];
                    assert!(
                        token_names.contains(&name),
                        "noise id {id} routed to {prefix}"
                    );
                    *routed.entry(prefix).or_default() += 1;
                }
                None => {
                    noise.insert(id);
                }
            }
        }
    }
    assert_eq!(routed.len(), 3, "every prefix gets token ops: {routed:?}");
    assert!(noise.contains("ssc-mainnet-hive") && noise.contains("pp_podcast_update"));
    assert!(!noise
        .iter()
        .any(|id| id.starts_with("sm_") || id == "follow"));
}
