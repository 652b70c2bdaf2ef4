//! Renders a generated block in Hive's two JSON forms: appbase (`block_api`) and
//! legacy condenser (`condenser_api`).

use serde_json::{json, Map, Value};

use crate::model::{Asset, Block, Op, Trx};
use crate::timefmt;

/// The `block_api` form: typed ops, NAI assets, no per-transaction ids.
pub(crate) fn appbase(block: &Block) -> Value {
    let transactions: Vec<Value> = block
        .transactions
        .iter()
        .map(|t| {
            let ops: Vec<Value> = t
                .operations
                .iter()
                .map(|op| json!({"type": format!("{}_operation", op_name(op)), "value": op_value(op, nai)}))
                .collect();
            trx_value(t, ops)
        })
        .collect();
    block_value(block, transactions)
}

/// The `condenser_api` form: `[name, value]` ops, legacy asset strings, and each
/// transaction carries `transaction_id`, `block_num` and `transaction_num`.
pub(crate) fn condenser(block: &Block) -> Value {
    let transactions: Vec<Value> = block
        .transactions
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let ops: Vec<Value> = t
                .operations
                .iter()
                .map(|op| json!([op_name(op), op_value(op, legacy)]))
                .collect();
            let mut v = trx_value(t, ops);
            if let Value::Object(m) = &mut v {
                m.insert("transaction_id".into(), json!(hex::encode(t.id)));
                m.insert("block_num".into(), json!(block.num));
                m.insert("transaction_num".into(), json!(i));
            }
            v
        })
        .collect();
    block_value(block, transactions)
}

fn block_value(block: &Block, transactions: Vec<Value>) -> Value {
    let ids: Vec<String> = block
        .transactions
        .iter()
        .map(|t| hex::encode(t.id))
        .collect();
    json!({
        "previous": hex::encode(block.previous),
        "timestamp": timefmt::format(block.timestamp),
        "witness": block.witness,
        "transaction_merkle_root": block.transaction_merkle_root,
        "extensions": [],
        "witness_signature": block.witness_signature,
        "transactions": transactions,
        "block_id": hex::encode(block.id),
        "signing_key": block.signing_key,
        "transaction_ids": ids,
    })
}

fn trx_value(t: &Trx, operations: Vec<Value>) -> Value {
    json!({
        "ref_block_num": t.ref_block_num,
        "ref_block_prefix": t.ref_block_prefix,
        "expiration": timefmt::format(t.expiration),
        "operations": operations,
        "extensions": [],
        "signatures": t.signatures,
    })
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Vote { .. } => "vote",
        Op::Transfer { .. } => "transfer",
        Op::Comment { .. } => "comment",
        Op::CustomJson { .. } => "custom_json",
    }
}

fn op_value(op: &Op, asset: fn(&Asset) -> Value) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    match op {
        Op::Vote {
            voter,
            author,
            permlink,
            weight,
        } => {
            put("voter", json!(voter));
            put("author", json!(author));
            put("permlink", json!(permlink));
            put("weight", json!(weight));
        }
        Op::Transfer {
            from,
            to,
            amount,
            memo,
        } => {
            put("from", json!(from));
            put("to", json!(to));
            put("amount", asset(amount));
            put("memo", json!(memo));
        }
        Op::Comment {
            parent_author,
            parent_permlink,
            author,
            permlink,
            title,
            body,
            json_metadata,
        } => {
            put("parent_author", json!(parent_author));
            put("parent_permlink", json!(parent_permlink));
            put("author", json!(author));
            put("permlink", json!(permlink));
            put("title", json!(title));
            put("body", json!(body));
            put("json_metadata", json!(json_metadata));
        }
        Op::CustomJson {
            required_auths,
            required_posting_auths,
            id,
            json,
        } => {
            put("required_auths", json!(required_auths));
            put("required_posting_auths", json!(required_posting_auths));
            put("id", json!(id));
            put("json", json!(json));
        }
    }
    Value::Object(m)
}

/// `{"amount":"1000","precision":3,"nai":"@@000000021"}`
pub(crate) fn nai(a: &Asset) -> Value {
    json!({"amount": a.satoshis.to_string(), "precision": 3, "nai": a.symbol.nai()})
}

/// `"1.000 HIVE"`
pub(crate) fn legacy(a: &Asset) -> Value {
    json!(format!(
        "{}.{:03} {}",
        a.satoshis / 1000,
        a.satoshis % 1000,
        a.symbol.legacy()
    ))
}
