//! The decoder against every real Hive block in /work/shared/hive-fixtures.

// Helpers outside #[test] fns unwrap too (clippy.toml only exempts test fns).
#![allow(clippy::unwrap_used)]

use ingest::decode::{self, DecodeError, OpFilter};
use serde_json::Value;
use state::block::block_num_from_id;

fn fixture(path: &str) -> Vec<u8> {
    let full = format!(
        "{}/../../shared/hive-fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&full).unwrap_or_else(|e| panic!("cannot read {full}: {e}"))
}

fn json(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).unwrap()
}

/// custom_json ops of a block, walked independently of the decoder:
/// (trx index, op index, trx id, custom_json id).
fn custom_json_ops(block: &Value) -> Vec<(u32, u32, String, String)> {
    let mut out = Vec::new();
    for (t, trx) in block["transactions"].as_array().unwrap().iter().enumerate() {
        let trx_id = block["transaction_ids"]
            .get(t)
            .or(trx.get("transaction_id"))
            .and_then(Value::as_str)
            .unwrap()
            .to_string();
        for (o, op) in trx["operations"].as_array().unwrap().iter().enumerate() {
            let (kind, body) = match op {
                Value::Array(pair) => (pair[0].as_str().unwrap(), &pair[1]),
                _ => (op["type"].as_str().unwrap(), &op["value"]),
            };
            if kind == "custom_json_operation" || kind == "custom_json" {
                out.push((
                    t as u32,
                    o as u32,
                    trx_id.clone(),
                    body["id"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

fn decoded_ops(block: &decode::DecodedBlock) -> Vec<(u32, u32, String, String)> {
    block
        .ops
        .iter()
        .map(|op| (op.trx_index, op.op_index, op.trx_id.clone(), op.id.clone()))
        .collect()
}

#[test]
fn million_range_links_and_ids_encode_numbers() {
    let raw = fixture("hive/block_api_patterns_get_block_range_milion.pat.json");
    let blocks = decode::block_range_result(&raw, &OpFilter::any()).unwrap();
    assert_eq!(blocks.len(), 1000);
    decode::check_range(&blocks, 1_000_000, 1000).unwrap();
    for (i, block) in blocks.iter().enumerate() {
        assert_eq!(block.block.num, 1_000_000 + i as u64);
        assert_eq!(block_num_from_id(&block.block.id), Some(block.block.num));
        assert!(block.ops.is_empty(), "no custom_json in this range");
    }
    assert_eq!(blocks.iter().map(|b| b.transactions).sum::<usize>(), 82);
    // A range asked from the wrong start is refused, not silently accepted.
    assert!(matches!(
        decode::check_range(&blocks, 999_999, 1000),
        Err(DecodeError::Malformed(_))
    ));
    // The same range with one block's previous broken is refused.
    let mut broken = blocks.clone();
    broken[500].previous = "0".repeat(40);
    assert!(decode::check_range(&broken, 1_000_000, 1000).is_err());
}

#[test]
fn workerbee_2025_blocks_yield_33_custom_json_with_their_trx_ids() {
    let entries = json("workerbee/block_api_get_block.json");
    let mut total = 0;
    let mut per_block = Vec::new();
    let mut first_ops = Vec::new();
    let mut last_ops = Vec::new();
    for entry in &entries.as_array().unwrap()[10..=13] {
        let body = serde_json::to_vec(&entry["res"]).unwrap();
        let result = decode::envelope(&body).unwrap();
        let block = decode::get_block_result(result.get().as_bytes(), &OpFilter::any())
            .unwrap()
            .expect("block present");
        let raw_block = &entry["res"]["result"]["block"];
        assert_eq!(
            block.block.num,
            entry["req"]["params"]["block_num"].as_u64().unwrap()
        );
        assert_eq!(block.block.id, raw_block["block_id"].as_str().unwrap());
        assert_eq!(block.previous, raw_block["previous"].as_str().unwrap());
        assert_eq!(
            block.block.timestamp,
            raw_block["timestamp"].as_str().unwrap()
        );
        let expected = custom_json_ops(raw_block);
        assert_eq!(decoded_ops(&block), expected, "block {}", block.block.num);
        for op in &block.ops {
            let raw_op = &raw_block["transactions"][op.trx_index as usize]["operations"]
                [op.op_index as usize]["value"];
            assert_eq!(op.json, raw_op["json"].as_str().unwrap());
            assert_eq!(
                op.required_auths,
                serde_json::from_value::<Vec<String>>(raw_op["required_auths"].clone()).unwrap()
            );
            assert_eq!(
                op.required_posting_auths,
                serde_json::from_value::<Vec<String>>(raw_op["required_posting_auths"].clone())
                    .unwrap()
            );
        }
        total += block.ops.len();
        let ops = decoded_ops(&block);
        first_ops.push(ops[0].clone());
        last_ops.push(ops[ops.len() - 1].clone());
        per_block.push((block.block.num, block.ops.len()));
    }
    assert_eq!(total, 33);
    assert_eq!(
        per_block,
        vec![
            (97_477_292, 11),
            (97_477_294, 5),
            (97_477_296, 5),
            (97_477_298, 12)
        ]
    );
    // A few ids read off the fixture by hand.
    assert_eq!(
        first_ops[0],
        (
            2,
            0,
            "89cf8c3431e606059f07b2f9943bbc77737169db".into(),
            "ssc-mainnet-hive".into()
        )
    );
    assert_eq!(
        first_ops[2],
        (
            0,
            0,
            "70ef13cce7a83a1b45420a5fe4fb6d4783fbbf90".into(),
            "pp_podcast_update".into()
        )
    );
    assert_eq!(
        last_ops[3],
        (
            20,
            0,
            "3300ba9e3c364257728c4d19b3f6e9a7b1aa2ccd".into(),
            "terracore_claim".into()
        )
    );
    // A prefix filter keeps only the matching ids (Splinterlands `sm_`).
    let body = serde_json::to_vec(&entries[10]["res"]).unwrap();
    let result = decode::envelope(&body).unwrap();
    let sm = decode::get_block_result(result.get().as_bytes(), &OpFilter::new(["sm_"]))
        .unwrap()
        .unwrap();
    let all = custom_json_ops(&entries[10]["res"]["result"]["block"]);
    let expected: Vec<_> = all
        .into_iter()
        .filter(|op| op.3.starts_with("sm_"))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(decoded_ops(&sm), expected);
    assert!(
        decode::get_block_result(result.get().as_bytes(), &OpFilter::new(["nobody_"]))
            .unwrap()
            .unwrap()
            .ops
            .is_empty()
    );
}

#[test]
fn haf_block_5771683_has_18_follow_ops() {
    let body = fixture("haf/block_5771683.json");
    let result = decode::envelope(&body).unwrap();
    let block = decode::get_block_result(result.get().as_bytes(), &OpFilter::new(["follow"]))
        .unwrap()
        .unwrap();
    assert_eq!(block.block.num, 5_771_683);
    assert_eq!(block.ops.len(), 18);
    assert!(block.ops.iter().all(|op| op.id == "follow"));
    let raw: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        decoded_ops(&block),
        custom_json_ops(&raw["result"]["block"])
    );
    for other in ["haf/block_3286849.json", "haf/block_6531076.json"] {
        let body = fixture(other);
        let result = decode::envelope(&body).unwrap();
        let block = decode::get_block_result(result.get().as_bytes(), &OpFilter::any())
            .unwrap()
            .unwrap();
        assert!(block.ops.is_empty(), "{other}");
        assert_eq!(block_num_from_id(&block.block.id), Some(block.block.num));
    }
}

#[test]
fn hafah_block_lists_link_and_keep_their_follow_ops() {
    for (path, first, follow) in [
        ("hafah/latest_blocks.pat.json", 4_999_981, 2),
        ("hafah/first_blocks.pat.json", 1, 0),
    ] {
        let blocks: Vec<Value> = serde_json::from_slice(&fixture(path)).unwrap();
        let decoded: Vec<_> = blocks
            .iter()
            .map(|b| decode::block(&serde_json::to_vec(b).unwrap(), &OpFilter::any()).unwrap())
            .collect();
        decode::check_range(&decoded, first, 20).unwrap();
        assert_eq!(
            decoded.iter().map(|b| b.ops.len()).sum::<usize>(),
            follow,
            "{path}"
        );
        for (raw, block) in blocks.iter().zip(&decoded) {
            assert_eq!(decoded_ops(block), custom_json_ops(raw));
        }
    }
}

#[test]
fn condenser_form_block_decodes_with_per_transaction_ids() {
    let raw = fixture("hive/condenser_api_patterns_get_block_check_trx_hash_uniqness.pat.json");
    let block = decode::condenser_block_result(&raw, &OpFilter::any())
        .unwrap()
        .unwrap();
    assert_eq!(block.block.num, 1092);
    assert_eq!(block.previous, "000004433bd4602cf5f74dbb564183837df9cef8");
    assert_eq!(block.transactions, 4);
    assert!(block.ops.is_empty());
    // The same block with one pow swapped for a custom_json: the id comes
    // from the transaction's own `transaction_id` when no list is given.
    let mut value: Value = serde_json::from_slice(&raw).unwrap();
    value.as_object_mut().unwrap().remove("transaction_ids");
    value["transactions"][2]["operations"][0] = serde_json::json!(["custom_json", {
        "required_auths": ["admin"], "required_posting_auths": [], "id": "abc_send", "json": "{\"to\":\"bob\"}"
    }]);
    let block = decode::condenser_block_result(
        &serde_json::to_vec(&value).unwrap(),
        &OpFilter::new(["abc_"]),
    )
    .unwrap()
    .unwrap();
    assert_eq!(block.ops.len(), 1);
    assert_eq!(
        block.ops[0].trx_id,
        "ee1e29958549b9547383c3ef932bd95a571fd0d4"
    );
    assert_eq!(block.ops[0].trx_index, 2);
    assert_eq!(block.ops[0].required_auths, vec!["admin".to_string()]);
    assert_eq!(block.ops[0].json, "{\"to\":\"bob\"}");
}

#[test]
fn dgpo_in_both_forms() {
    for path in [
        "hive/condenser_api_patterns_get_dynamic_global_properties_get.pat.json",
        "hive/database_api_patterns_get_dynamic_global_properties_get.pat.json",
    ] {
        let heads = decode::dynamic_global_properties(&fixture(path)).unwrap();
        assert_eq!(heads.head_block_number, 5_000_000, "{path}");
        assert_eq!(heads.last_irreversible_block_num, 4_999_980, "{path}");
        assert_eq!(
            heads.head_block_id,
            "004c4b40245ffb07380a393fb2b3d841b76cdaec"
        );
    }
    let entries = json("workerbee/database_api_get_dynamic_global_properties.json");
    for entry in entries.as_array().unwrap() {
        let body = serde_json::to_vec(&entry["res"]).unwrap();
        let result = decode::envelope(&body).unwrap();
        let heads = decode::dynamic_global_properties(result.get().as_bytes()).unwrap();
        assert_eq!(heads.last_irreversible_block_num, 97_477_291);
        assert_eq!(
            heads.head_block_number,
            entry["res"]["result"]["head_block_number"]
                .as_u64()
                .unwrap()
        );
    }
}

#[test]
fn rpc_errors_are_typed_and_missing_blocks_are_none() {
    for (path, code, needle) in [
        (
            "hive/block_api_patterns_get_block_range_count_minus_one.pat.json",
            -32003,
            "1000 blocks at a time",
        ),
        (
            "hive/block_api_patterns_get_block_range_start_zero.pat.json",
            -32003,
            "Invalid starting block number",
        ),
        (
            "hive/block_api_patterns_get_block_invalid_input.pat.json",
            -32000,
            "Couldn't parse uint64_t",
        ),
        (
            "hive/condenser_api_negative_get_account_references_get.pat.json",
            -32003,
            "Needs to be refactored",
        ),
    ] {
        let error = String::from_utf8(fixture(path)).unwrap();
        let body = format!(r#"{{"jsonrpc":"2.0","error":{error},"id":1}}"#);
        match decode::envelope(body.as_bytes()) {
            Err(DecodeError::Rpc { code: c, message }) => {
                assert_eq!(c, code, "{path}");
                assert!(message.contains(needle), "{path}: {message}");
            }
            other => panic!("{path}: {other:?}"),
        }
        assert!(
            matches!(decode::rpc_error_object(error.as_bytes()), Ok(DecodeError::Rpc { code: c, .. }) if c == code)
        );
    }
    let none = fixture("hive/block_api_patterns_get_block_non_existing.pat.json");
    assert_eq!(decode::get_block_result(&none, &OpFilter::any()), Ok(None));
    let null = fixture("hive/condenser_api_patterns_get_block_non_existing.pat.json");
    assert_eq!(
        decode::condenser_block_result(&null, &OpFilter::any()),
        Ok(None)
    );
    // A `null` result survives the envelope (it is not "no result").
    let result = decode::envelope(br#"{"jsonrpc":"2.0","result":null,"id":1}"#).unwrap();
    assert_eq!(
        decode::condenser_block_result(result.get().as_bytes(), &OpFilter::any()),
        Ok(None)
    );
    assert_eq!(
        decode::envelope(br#"{"jsonrpc":"2.0","id":1}"#).unwrap_err(),
        DecodeError::NoResult
    );
}

#[test]
fn html_and_truncated_bodies_are_json_errors() {
    let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
    assert!(matches!(
        decode::envelope(html),
        Err(DecodeError::Json { .. })
    ));
    let body = fixture("haf/block_5771683.json");
    for cut in [1, body.len() / 3, body.len() / 2, body.len() - 2] {
        let result = decode::envelope(&body[..cut]);
        assert!(
            matches!(result, Err(DecodeError::Json { .. })),
            "cut at {cut}"
        );
    }
}
