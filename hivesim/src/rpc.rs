//! JSON-RPC 2.0 dispatch of the Hive methods the indexer uses, with Hive's error shapes.

use serde_json::{json, Value};

use crate::core::Core;
use crate::dgpo;
use crate::render;

/// Most blocks `block_api.get_block_range` returns at once, as on Hive.
pub(crate) const MAX_RANGE: i64 = 1000;

/// A JSON-RPC error object.
pub(crate) struct RpcError {
    code: i64,
    message: String,
}

impl RpcError {
    fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }

    fn invalid_params(detail: &str) -> RpcError {
        RpcError::new(-32602, format!("Invalid parameters: {detail}"))
    }

    fn parse_uint(kind: &str) -> RpcError {
        RpcError::new(-32000, format!("Parse Error:Couldn't parse {kind}"))
    }

    /// The error a loaded Hive node answers with now and then.
    pub(crate) fn busy() -> RpcError {
        RpcError::new(-32000, "Unable to acquire database lock")
    }
}

/// Answers a request body (a single request or a batch) as JSON.
pub(crate) fn handle(core: &Core, body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Err(_) => envelope(
            &Value::Null,
            Err(RpcError::new(-32700, "Unable to parse request")),
        ),
        Ok(Value::Array(batch)) if batch.is_empty() => envelope(
            &Value::Null,
            Err(RpcError::new(-32600, "Invalid Request: empty batch")),
        ),
        Ok(Value::Array(batch)) => Value::Array(batch.iter().map(|r| one(core, r)).collect()),
        Ok(request) => one(core, &request),
    }
}

/// The same shape as [`handle`] would give, but every request answered with `error`.
pub(crate) fn fail_all(body: &[u8], error: fn() -> RpcError) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(batch)) if !batch.is_empty() => Value::Array(
            batch
                .iter()
                .map(|r| envelope(r.get("id").unwrap_or(&Value::Null), Err(error())))
                .collect(),
        ),
        Ok(request) => envelope(request.get("id").unwrap_or(&Value::Null), Err(error())),
        Err(_) => envelope(&Value::Null, Err(error())),
    }
}

fn envelope(id: &Value, outcome: Result<Value, RpcError>) -> Value {
    match outcome {
        Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}),
        Err(e) => json!({
            "jsonrpc": "2.0",
            "error": {"code": e.code, "message": e.message},
            "id": id,
        }),
    }
}

fn one(core: &Core, request: &Value) -> Value {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return envelope(
            &id,
            Err(RpcError::new(-32600, "Invalid Request: no method")),
        );
    };
    let params = request.get("params").cloned().unwrap_or(Value::Null);
    envelope(&id, call(core, method, &params))
}

fn call(core: &Core, method: &str, params: &Value) -> Result<Value, RpcError> {
    match method {
        "block_api.get_block_range" => get_block_range(core, params),
        "block_api.get_block" => {
            let num = parse_u64(field(params, "block_num")?)?;
            Ok(match appbase_block(core, num) {
                Some(block) => json!({ "block": block }),
                None => json!({}),
            })
        }
        "condenser_api.get_block" => {
            let num = match params {
                Value::Array(a) if !a.is_empty() => parse_u64(&a[0])?,
                _ => return Err(RpcError::invalid_params("expected [block_num]")),
            };
            Ok(condenser_block(core, num).unwrap_or(Value::Null))
        }
        "condenser_api.get_dynamic_global_properties" => {
            let served = core.served(None);
            Ok(dgpo::condenser(&served.globals(core.first_block())))
        }
        "database_api.get_dynamic_global_properties" => {
            let served = core.served(None);
            Ok(dgpo::database(&served.globals(core.first_block())))
        }
        // Legacy form: {"method":"call","params":["condenser_api","get_block",[n]]}.
        "call" => match params {
            Value::Array(a) if a.len() >= 2 => {
                let (Some(api), Some(name)) = (a[0].as_str(), a[1].as_str()) else {
                    return Err(RpcError::invalid_params("expected [api, method, args]"));
                };
                let args = a.get(2).cloned().unwrap_or(Value::Null);
                call(core, &format!("{api}.{name}"), &args)
            }
            _ => Err(RpcError::invalid_params("expected [api, method, args]")),
        },
        _ => Err(RpcError::new(
            -32601,
            format!("Could not find method {method}"),
        )),
    }
}

fn get_block_range(core: &Core, params: &Value) -> Result<Value, RpcError> {
    let start = parse_u64(field(params, "starting_block_num")?)?;
    let count = parse_count(field(params, "count")?)?;
    if !(1..=MAX_RANGE).contains(&count) {
        return Err(RpcError::new(
            -32003,
            "Assert Exception:count <= 1000 && \"fetch_block_range\": \
             You can only ask for 1000 blocks at a timerethrow",
        ));
    }
    if start == 0 {
        return Err(RpcError::new(
            -32003,
            "Assert Exception:starting_block_num > 0 && \"fetch_block_range\": \
             Invalid starting block numberrethrow",
        ));
    }
    let end = start.saturating_add(count as u64 - 1);
    let served = core.served(Some((start, end)));
    let blocks: Vec<Value> = served
        .headers
        .iter()
        .map(|h| render::appbase(&core.render_block(h)))
        .collect();
    Ok(json!({ "blocks": blocks }))
}

/// The appbase block as served (faults such as lag and foreign chain applied).
fn appbase_block(core: &Core, num: u64) -> Option<Value> {
    let served = core.served(Some((num, num)));
    let header = served.headers.first()?;
    Some(render::appbase(&core.render_block(header)))
}

fn condenser_block(core: &Core, num: u64) -> Option<Value> {
    let served = core.served(Some((num, num)));
    let header = served.headers.first()?;
    Some(render::condenser(&core.render_block(header)))
}

/// A named member of object params; missing members default to 0 as fc does.
fn field<'a>(params: &'a Value, name: &str) -> Result<&'a Value, RpcError> {
    const ZERO: &Value = &Value::Null;
    match params {
        Value::Object(m) => Ok(m.get(name).unwrap_or(ZERO)),
        _ => Err(RpcError::invalid_params(&format!(
            "expected an object with {name}"
        ))),
    }
}

fn parse_u64(v: &Value) -> Result<u64, RpcError> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => n.as_u64().ok_or_else(|| RpcError::parse_uint("uint64_t")),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().map_err(|_| RpcError::parse_uint("uint64_t"))
        }
        _ => Err(RpcError::parse_uint("uint64_t")),
    }
}

/// Counts may be negative in requests (Hive wraps them and fails the range assert).
fn parse_count(v: &Value) -> Result<i64, RpcError> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Ok(i),
            (None, Some(_)) => Ok(i64::MAX),
            _ => Err(RpcError::parse_uint("uint32_t")),
        },
        Value::String(s) => s.parse().map_err(|_| RpcError::parse_uint("uint32_t")),
        _ => Err(RpcError::parse_uint("uint32_t")),
    }
}
