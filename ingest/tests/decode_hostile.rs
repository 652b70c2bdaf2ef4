//! Hostile chain data (issue 7): blocks whose custom_json payloads are
//! arbitrary text, 8 KB long, deeply nested, full of invalid escapes or
//! numbers such as `1e400`, and blocks whose own fields hold such values
//! (32-character ids, deep nesting, `1e400`, invalid escapes). The decoder
//! never panics: a well-formed block keeps every matching operation with
//! its payload untouched (the contract judges payloads, not the decoder),
//! and a malformed one is an error.

// Helpers outside #[test] fns unwrap too (clippy.toml only exempts test fns).
#![allow(clippy::unwrap_used)]

use ingest::decode::{self, OpFilter};
use proptest::prelude::*;
use serde_json::{json, Value};

const HOLE: &str = "__HOSTILE__";

fn nested(depth: usize, open: &str, close: &str, inner: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// Payload texts (what a custom_json's `json` string holds).
fn hostile_payload() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..64).prop_map(|c| c.into_iter().collect()),
        (1usize..3).prop_map(|kb| format!(
            r#"{{"to":"bob","amount":5,"memo":"{}"}}"#,
            "m".repeat(kb * 8 * 1024)
        )),
        (1usize..5_000).prop_map(|d| nested(d, "[", "]", "")),
        (1usize..5_000).prop_map(|d| nested(d, "{\"a\":", "}", "1")),
        prop::sample::select(vec![
            r#"{"to":"b\x6fb","amount":5}"#,
            r#"{"to":"bob","amount":"\ud800"}"#,
            r#"{"to":"bob","amount":1e400}"#,
            r#"{"to":"bob","amount":-0}"#,
            r#"{"to":"abcdefghijabcdefghijabcdefghijab","amount":5}"#,
            "\u{0}\u{1}\u{7f}",
            "",
        ])
        .prop_map(String::from),
    ]
}

/// Raw JSON texts put where a block field's value goes.
fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("1e400".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("null".to_string()),
        Just("\"\\x41\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just(format!("\"{}\"", "a".repeat(32))),
        Just(format!("\"{}\"", "0".repeat(32))),
        Just(format!("\"{}\"", "f".repeat(8 * 1024))),
        (1usize..5_000).prop_map(|d| nested(d, "[", "]", "")),
        (1usize..5_000).prop_map(|d| nested(d, "{\"a\":", "}", "1")),
    ]
}

fn block(num: u64, payloads: &[String], hole_at: Option<usize>) -> Value {
    let mut ops: Vec<Value> = payloads
        .iter()
        .map(|p| {
            json!({"type": "custom_json_operation", "value": {
                "required_auths": ["alice"], "required_posting_auths": [],
                "id": "abc_send", "json": p}})
        })
        .collect();
    ops.push(json!({"type": "vote_operation", "value": {
        "voter": "bob", "author": "carol", "permlink": "p", "weight": 100}}));
    let ids: Vec<String> = (0..ops.len())
        .map(|i| format!("{:040x}", num * 100 + i as u64))
        .collect();
    let mut block = json!({
        "block_id": format!("{num:08x}{}", "ab".repeat(16)),
        "previous": format!("{:08x}{}", num - 1, "ab".repeat(16)),
        "timestamp": "2025-07-08T23:09:27",
        "witness": "w",
        "transactions": ops.into_iter().map(|op| json!({"ref_block_num": 1, "operations": [op]})).collect::<Vec<_>>(),
        "transaction_ids": ids,
    });
    // Puts the hole in one of the block's own fields.
    if let Some(at) = hole_at {
        let hole = json!(HOLE);
        match at % 9 {
            0 => block["block_id"] = hole,
            1 => block["previous"] = hole,
            2 => block["timestamp"] = hole,
            3 => block["transaction_ids"][0] = hole,
            4 => block["transactions"][0]["operations"][0]["value"]["id"] = hole,
            5 => block["transactions"][0]["operations"][0]["value"]["json"] = hole,
            6 => block["transactions"][0]["operations"][0]["value"]["required_auths"] = hole,
            7 => block["transactions"][0]["operations"][0]["type"] = hole,
            _ => block["transactions"] = hole,
        }
    }
    block
}

fn decode_all_forms(text: &str, num: u64) {
    let any = OpFilter::any();
    let abc = OpFilter::new(["abc_"]);
    for filter in [&any, &abc] {
        let _ = decode::block(text.as_bytes(), filter);
        let wrapped = format!(r#"{{"jsonrpc":"2.0","result":{{"blocks":[{text}]}},"id":1}}"#);
        let _ = decode::block_range_response(wrapped.as_bytes(), num, 1, filter);
        let single = format!(r#"{{"block":{text}}}"#);
        let _ = decode::get_block_result(single.as_bytes(), filter);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Well-formed blocks with hostile payloads: every matching operation
    /// is kept, in order, with its payload exactly as the chain had it.
    #[test]
    fn hostile_payloads_are_kept_verbatim(
        num in 2u64..1_000_000,
        payloads in prop::collection::vec(hostile_payload(), 1..6),
    ) {
        let text = serde_json::to_string(&block(num, &payloads, None)).unwrap();
        let decoded = decode::block(text.as_bytes(), &OpFilter::new(["abc_"])).unwrap();
        let kept: Vec<&str> = decoded.ops.iter().map(|op| op.json.as_str()).collect();
        let want: Vec<&str> = payloads.iter().map(String::as_str).collect();
        prop_assert_eq!(kept, want);
        let wrapped = format!(r#"{{"jsonrpc":"2.0","result":{{"blocks":[{text}]}},"id":1}}"#);
        let range = decode::block_range_response(wrapped.as_bytes(), num, 1, &OpFilter::new(["abc_"])).unwrap();
        prop_assert_eq!(range.len(), 1);
        prop_assert_eq!(range[0].ops.len(), payloads.len());
    }

    /// Hostile values in the block's own fields: an answer either way, never a panic.
    #[test]
    fn hostile_block_fields_never_panic(
        num in 2u64..1_000_000,
        at in 0usize..9,
        value in hostile_value(),
        payload in hostile_payload(),
    ) {
        let text = serde_json::to_string(&block(num, &[payload], Some(at))).unwrap();
        let text = text.replace(&format!("\"{HOLE}\""), &value);
        decode_all_forms(&text, num);
    }
}

/// Ids of the wrong length are refused, not truncated or padded.
#[test]
fn thirty_two_character_ids_are_malformed() {
    for field in [0, 1, 3] {
        let text = serde_json::to_string(&block(7, &["{}".to_string()], Some(field))).unwrap();
        let text = text.replace(&format!("\"{HOLE}\""), &format!("\"{}\"", "a".repeat(32)));
        let error = decode::block(text.as_bytes(), &OpFilter::any())
            .expect_err("a 32-character id is refused");
        assert!(
            matches!(
                error,
                decode::DecodeError::Malformed(_) | decode::DecodeError::Json { .. }
            ),
            "{error}"
        );
    }
}

/// Nesting far deeper than any block: an error, not a stack overflow.
#[test]
fn a_million_nested_arrays_are_an_error() {
    let text = nested(1_000_000, "[", "]", "");
    decode_all_forms(&text, 1);
    let field = serde_json::to_string(&block(7, &["{}".to_string()], Some(8))).unwrap();
    let field = field.replace(&format!("\"{HOLE}\""), &text);
    assert!(decode::block(field.as_bytes(), &OpFilter::any()).is_err());
}

/// A block that names one of the fields the decoder reads twice is refused,
/// whichever way it is read (serde refuses a duplicate field; the one-pass
/// scanner must not quietly keep either copy).
#[test]
fn a_block_field_given_twice_is_refused() {
    let block = block(7, &["{}".to_string()], None);
    let text = serde_json::to_string(&block).unwrap();
    for field in [
        "block_id",
        "previous",
        "timestamp",
        "transactions",
        "transaction_ids",
    ] {
        let again = format!("{{\"{field}\":{},", block[field]);
        let twice = text.replacen('{', &again, 1);
        let wrapped = format!(r#"{{"jsonrpc":"2.0","result":{{"blocks":[{twice}]}},"id":1}}"#);
        let error = decode::block_range_response(wrapped.as_bytes(), 7, 1, &OpFilter::any())
            .expect_err("a duplicated field is refused");
        assert!(
            error.to_string().contains("duplicate field"),
            "{field}: {error}"
        );
        let ok = format!(r#"{{"jsonrpc":"2.0","result":{{"blocks":[{text}]}},"id":1}}"#);
        assert!(decode::block_range_response(ok.as_bytes(), 7, 1, &OpFilter::any()).is_ok());
    }
}

/// In a range whose second block is malformed, the answer is that block's
/// error, even though the blocks after it decode.
#[test]
fn a_range_reports_its_first_malformed_block() {
    let good = |num| serde_json::to_string(&block(num, &["{}".to_string()], None)).unwrap();
    let bad = serde_json::to_string(&block(8, &["{}".to_string()], Some(1)))
        .unwrap()
        .replace(&format!("\"{HOLE}\""), &format!("\"{}\"", "a".repeat(32)));
    let body = format!(
        r#"{{"jsonrpc":"2.0","result":{{"blocks":[{},{bad},{}]}},"id":1}}"#,
        good(7),
        good(9)
    );
    let error = decode::block_range_response(body.as_bytes(), 7, 3, &OpFilter::any())
        .expect_err("block 8 is malformed");
    assert!(error.to_string().contains("block 8"), "{error}");
}
