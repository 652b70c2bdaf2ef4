//! Property tests: the decoder never panics, both chain forms agree, and
//! the one-pass range decoding (a scanner steps over what no prefix occurs
//! in) answers exactly as serde's step-by-step decoding.

// Helpers outside #[test] fns unwrap too (clippy.toml only exempts test fns).
#![allow(clippy::unwrap_used)]

use ingest::decode::{self, OpFilter};
use proptest::prelude::*;
use serde_json::{json, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-z_0-9]{0,12}".prop_map(Value::String),
        Just(json!("custom_json_operation")),
        Just(json!("custom_json")),
        Just(json!("abc_send")),
        Just(json!("0000000a00000000000000000000000000000000")),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("block_id".to_string()),
                    Just("previous".to_string()),
                    Just("timestamp".to_string()),
                    Just("transactions".to_string()),
                    Just("transaction_ids".to_string()),
                    Just("operations".to_string()),
                    Just("type".to_string()),
                    Just("value".to_string()),
                    Just("id".to_string()),
                    Just("json".to_string()),
                    Just("required_auths".to_string()),
                    Just("required_posting_auths".to_string()),
                    Just("blocks".to_string()),
                    Just("block".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn decode_everything(bytes: &[u8]) {
    let any = OpFilter::any();
    let some = OpFilter::new(["abc_", "x"]);
    for filter in [&any, &some] {
        let _ = decode::envelope(bytes);
        let _ = decode::block(bytes, filter);
        let _ = decode::get_block_result(bytes, filter);
        let _ = decode::condenser_block_result(bytes, filter);
        let _ = decode::block_range_result(bytes, filter);
        let _ = decode::block_range_response(bytes, 10, 3, filter);
        let _ = decode::dynamic_global_properties(bytes);
        let _ = decode::rpc_error_object(bytes);
    }
}

/// A plausible block in appbase form with custom_json and other ops.
fn arb_block() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        (
            prop::sample::select(vec!["abc_send", "abc_x_send", "follow", "abc", "sm_x", "abc_"]),
            prop::collection::vec("[a-z]{3,8}", 0..2),
            prop::collection::vec("[a-z]{3,8}", 0..2),
            "[ -~]{0,20}",
        )
            .prop_map(|(id, auths, posting, payload)| {
                json!({"type": "custom_json_operation", "value": {
                    "required_auths": auths, "required_posting_auths": posting, "id": id, "json": payload}})
            }),
        "[a-z]{3,8}".prop_map(|voter| json!({"type": "vote_operation", "value": {
            "voter": voter, "author": "abc_send", "permlink": "p", "weight": 100}})),
    ];
    let trx = prop::collection::vec(op, 0..4);
    (1u32..1_000_000, prop::collection::vec(trx, 0..6)).prop_map(|(num, trxs)| {
        let ids: Vec<String> = (0..trxs.len()).map(|i| format!("{:040x}", u64::from(num) * 100 + i as u64)).collect();
        json!({
            "block_id": format!("{num:08x}{}", "ab".repeat(16)),
            "previous": format!("{:08x}{}", num - 1, "cd".repeat(16)),
            "timestamp": "2025-07-08T23:09:27",
            "witness": "w",
            "transactions": trxs.into_iter().map(|ops| json!({"ref_block_num": 1, "operations": ops})).collect::<Vec<_>>(),
            "transaction_ids": ids,
        })
    })
}

/// The same block in condenser form: `[name, body]` ops, per-transaction ids.
fn to_condenser(block: &Value) -> Value {
    let mut block = block.clone();
    let ids = block["transaction_ids"].clone();
    for (i, trx) in block["transactions"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        trx["transaction_id"] = ids[i].clone();
        trx["transaction_num"] = json!(i);
        for op in trx["operations"].as_array_mut().unwrap() {
            let name = op["type"]
                .as_str()
                .unwrap()
                .trim_end_matches("_operation")
                .to_string();
            *op = json!([name, op["value"].clone()]);
        }
    }
    block.as_object_mut().unwrap().remove("transaction_ids");
    block
}

/// `block_range_response`, and the same body decoded step by step with
/// serde (envelope, result, blocks, range check), as comparable text.
fn both_routes(body: &[u8], start: u64, count: u32, filter: &OpFilter) -> (String, String) {
    let one_pass = decode::block_range_response(body, start, count, filter);
    let step_by_step = decode::envelope(body)
        .and_then(|result| decode::block_range_result(result.get().as_bytes(), filter))
        .and_then(|blocks| decode::check_range(&blocks, start, count).map(|()| blocks));
    (format!("{one_pass:?}"), format!("{step_by_step:?}"))
}

/// Blocks `first..` linked by `previous`, each with the transactions of one `arb_block`.
fn linked_range(first: u64, blocks: &[Value]) -> Value {
    let id = |n: u64| format!("{n:08x}{}", "ab".repeat(16));
    let blocks: Vec<Value> = blocks
        .iter()
        .zip(first..)
        .map(|(block, n)| {
            let mut block = block.clone();
            block["block_id"] = json!(id(n));
            block["previous"] = json!(id(n - 1));
            block["witness_signature"] = json!("1f\"quoted\\ and escaped é \u{1}");
            block["extensions"] = json!([[1, {"a": [null, true, -1.5e3]}]]);
            block
        })
        .collect();
    json!({"jsonrpc": "2.0", "result": {"blocks": blocks}, "id": 7})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn one_pass_range_decoding_matches_serde(
        blocks in prop::collection::vec(arb_block(), 0..4),
        pretty in any::<bool>(),
        wrong_count in any::<bool>(),
    ) {
        let body = linked_range(1_000, &blocks);
        let text = if pretty {
            serde_json::to_string_pretty(&body).unwrap()
        } else {
            serde_json::to_string(&body).unwrap()
        };
        let count = blocks.len() as u32 + u32::from(wrong_count);
        for filter in [OpFilter::any(), OpFilter::new(["abc_"]), OpFilter::new(["nothing"])] {
            let (one_pass, step_by_step) = both_routes(text.as_bytes(), 1_000, count, &filter);
            prop_assert_eq!(one_pass, step_by_step);
        }
        if !wrong_count {
            let decoded = decode::block_range_response(text.as_bytes(), 1_000, count, &OpFilter::any());
            prop_assert!(decoded.is_ok(), "{decoded:?}");
        }
    }

    #[test]
    fn one_pass_matches_serde_on_arbitrary_json(value in arb_json(), as_block in any::<bool>()) {
        let body = if as_block {
            json!({"jsonrpc": "2.0", "result": {"blocks": [value]}, "id": 1})
        } else {
            json!({"jsonrpc": "2.0", "result": value, "id": 1})
        };
        let text = serde_json::to_vec(&body).unwrap();
        let filter = OpFilter::new(["abc_"]);
        let (one_pass, step_by_step) = both_routes(&text, 10, 1, &filter);
        prop_assert_eq!(one_pass, step_by_step);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        decode_everything(&bytes);
    }

    #[test]
    fn never_panics_on_arbitrary_json(value in arb_json()) {
        decode_everything(&serde_json::to_vec(&value).unwrap());
        let wrapped = json!({"jsonrpc": "2.0", "result": {"blocks": [value.clone()], "block": value}, "id": 1});
        decode_everything(&serde_json::to_vec(&wrapped).unwrap());
    }

    #[test]
    fn appbase_and_condenser_forms_decode_alike(block in arb_block()) {
        let condenser = to_condenser(&block);
        for filter in [OpFilter::any(), OpFilter::new(["abc_"]), OpFilter::new(["nothing"])] {
            let a = decode::block(&serde_json::to_vec(&block).unwrap(), &filter).unwrap();
            let c = decode::block(&serde_json::to_vec(&condenser).unwrap(), &filter).unwrap();
            prop_assert_eq!(&a, &c);
            // And the filter keeps exactly the matching custom_json ids.
            for op in &a.ops {
                prop_assert!(filter.matches(&op.id));
            }
        }
    }

    #[test]
    fn corrupted_real_blocks_never_panic(cut in 0usize..4000, flip in any::<u8>(), at in 0usize..4000) {
        let path = format!("{}/../../shared/hive-fixtures/haf/block_5771683.json", env!("CARGO_MANIFEST_DIR"));
        let mut body = std::fs::read(path).unwrap();
        let at = at % body.len();
        body[at] = flip;
        body.truncate(body.len().saturating_sub(cut));
        decode_everything(&body);
    }
}
