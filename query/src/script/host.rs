//! The only functions a script can call outside the language: read-only
//! reads of ONE token's projection, bound when the engine is made for a
//! request of that token. Results are maps and arrays with the REST API's
//! field names.
//!
//! - `token()`: the definition; `stats()`: `GET /:token/state` + `accounts`;
//! - `balance(name)`: one account;
//! - `richlist(n)` / `richlist(n, after)`: `#{accounts: [...], next}`, n ≤ 1000;
//! - `transfers(#{account, from, to, fromBlock, toBlock, limit, cursor})`:
//!   `#{transfers: [...], next}`, newest first, limit ≤ 1000;
//! - `ops(trxId)`: the transaction's outcomes.

use std::sync::Arc;

use rhai::{Dynamic, Engine, EvalAltResult, Map};
use serde_json::{json, Value as Json};
use state::account::is_valid_account;
use state::projection::TransferQuery;
use state::TokenEntry;

use crate::byo::fetch;
use crate::context::open_projection;
use crate::reads::{self, MAX_LIMIT};
use crate::views::{AccountView, TransferView};

type HostResult = Result<Dynamic, Box<EvalAltResult>>;

fn fail(message: impl Into<String>) -> Box<EvalAltResult> {
    message.into().into()
}

fn dynamic(value: &Json) -> HostResult {
    rhai::serde::to_dynamic(value)
}

fn limit(n: i64) -> Result<usize, Box<EvalAltResult>> {
    usize::try_from(n)
        .ok()
        .filter(|n| (1..=MAX_LIMIT).contains(n))
        .ok_or_else(|| {
            fail(format!(
                "the page size must be from 1 to {MAX_LIMIT}, got {n}"
            ))
        })
}

fn check_name(name: &str) -> Result<(), Box<EvalAltResult>> {
    if is_valid_account(name) {
        Ok(())
    } else {
        Err(fail(format!("`{name}` is not a valid Hive account name")))
    }
}

fn richlist(entry: &TokenEntry, n: i64, after: Option<&str>) -> HostResult {
    let projection = open_projection(entry).map_err(|e| fail(e.message))?;
    let decimals = entry.decimals();
    let block = projection
        .meta()
        .map_err(|e| fail(e.to_string()))?
        .cursor
        .map(|c| c.num);
    let page = projection
        .richlist(limit(n)?, after)
        .map_err(|e| fail(e.to_string()))?;
    let accounts: Vec<AccountView> = page
        .entries
        .iter()
        .map(|e| AccountView::new(&e.account, &e.state, decimals, block))
        .collect();
    dynamic(&json!({"accounts": accounts, "next": page.next}))
}

fn text(options: &Map, key: &str) -> Result<Option<String>, Box<EvalAltResult>> {
    match options.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => v
            .clone()
            .into_string()
            .map(Some)
            .map_err(|t| fail(format!("`{key}` must be a string, got {t}"))),
    }
}

fn number(options: &Map, key: &str) -> Result<Option<i64>, Box<EvalAltResult>> {
    match options.get(key) {
        None => Ok(None),
        Some(v) if v.is_unit() => Ok(None),
        Some(v) => v
            .as_int()
            .map(Some)
            .map_err(|t| fail(format!("`{key}` must be an integer, got {t}"))),
    }
}

fn block(options: &Map, key: &str) -> Result<Option<u64>, Box<EvalAltResult>> {
    number(options, key)?
        .map(|n| u64::try_from(n).map_err(|_| fail(format!("`{key}` must be a block number"))))
        .transpose()
}

fn transfers(entry: &TokenEntry, options: &Map) -> HostResult {
    let query = TransferQuery {
        account: text(options, "account")?,
        from: text(options, "from")?,
        to: text(options, "to")?,
        from_block: block(options, "fromBlock")?,
        to_block: block(options, "toBlock")?,
        limit: limit(number(options, "limit")?.unwrap_or(100))?,
        cursor: text(options, "cursor")?,
    };
    for name in [&query.account, &query.from, &query.to]
        .into_iter()
        .flatten()
    {
        check_name(name)?;
    }
    let projection = open_projection(entry).map_err(|e| fail(e.message))?;
    let page = projection
        .transfers(&query)
        .map_err(|e| fail(e.to_string()))?;
    let decimals = entry.decimals();
    let views: Vec<TransferView> = page
        .transfers
        .into_iter()
        .map(|t| TransferView::new(t, decimals))
        .collect();
    dynamic(&json!({"transfers": views, "next": page.next}))
}

/// Registers the host functions of `entry`'s token on `engine`.
pub(crate) fn register(engine: &mut Engine, entry: Arc<TokenEntry>) {
    let e = entry.clone();
    engine.register_fn("token", move || dynamic(&fetch::token(&e)));
    let e = entry.clone();
    engine.register_fn("stats", move || -> HostResult {
        let projection = open_projection(&e).map_err(|err| fail(err.message))?;
        let stats = fetch::stats(&e, &projection).map_err(|err| fail(err.message))?;
        dynamic(&stats)
    });
    let e = entry.clone();
    engine.register_fn("balance", move |name: &str| -> HostResult {
        check_name(name)?;
        let projection = open_projection(&e).map_err(|err| fail(err.message))?;
        let view = reads::account(&e, &projection, name, None).map_err(|err| fail(err.message))?;
        dynamic(&json!(view))
    });
    let e = entry.clone();
    engine.register_fn("richlist", move |n: i64| richlist(&e, n, None));
    let e = entry.clone();
    engine.register_fn("richlist", move |n: i64, after: &str| {
        richlist(&e, n, Some(after))
    });
    let e = entry.clone();
    engine.register_fn("transfers", move |options: Map| transfers(&e, &options));
    let e = entry;
    engine.register_fn("ops", move |trx_id: &str| -> HostResult {
        let projection = open_projection(&e).map_err(|err| fail(err.message))?;
        let ops = reads::ops(&projection, trx_id).map_err(|err| fail(err.message))?;
        dynamic(&json!(ops))
    });
}
