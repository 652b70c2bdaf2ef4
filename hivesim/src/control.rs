//! The `/sim/*` control API: status, advance, fork and faults over HTTP, for scripts
//! and separate processes. Faults are never injected here.

use std::sync::Arc;
use std::time::Duration;

use poem::http::StatusCode;
use poem::web::{Data, Json};
use poem::{handler, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::Faults;
use crate::core::Core;

/// `Faults` on the wire: camelCase, `stall` as `stallMs`; missing fields are 0/false.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(crate) struct FaultsBody {
    http500_rate: f64,
    http429_rate: f64,
    rpc_error_rate: f64,
    html_rate: f64,
    truncated_rate: f64,
    stall_rate: f64,
    stall_ms: u64,
    lag_blocks: u64,
    foreign_chain: bool,
}

impl FaultsBody {
    fn into_faults(self) -> Result<Faults, String> {
        let rates = [
            ("http500Rate", self.http500_rate),
            ("http429Rate", self.http429_rate),
            ("rpcErrorRate", self.rpc_error_rate),
            ("htmlRate", self.html_rate),
            ("truncatedRate", self.truncated_rate),
            ("stallRate", self.stall_rate),
        ];
        if let Some((name, rate)) = rates.iter().find(|(_, r)| !(0.0..=1.0).contains(r)) {
            return Err(format!("{name} must be between 0 and 1, got {rate}"));
        }
        Ok(Faults {
            http_500_rate: self.http500_rate,
            http_429_rate: self.http429_rate,
            rpc_error_rate: self.rpc_error_rate,
            html_rate: self.html_rate,
            truncated_rate: self.truncated_rate,
            stall_rate: self.stall_rate,
            stall: Duration::from_millis(self.stall_ms),
            lag_blocks: self.lag_blocks,
            foreign_chain: self.foreign_chain,
        })
    }

    fn from_faults(f: &Faults) -> FaultsBody {
        FaultsBody {
            http500_rate: f.http_500_rate,
            http429_rate: f.http_429_rate,
            rpc_error_rate: f.rpc_error_rate,
            html_rate: f.html_rate,
            truncated_rate: f.truncated_rate,
            stall_rate: f.stall_rate,
            stall_ms: u64::try_from(f.stall.as_millis()).unwrap_or(u64::MAX),
            lag_blocks: f.lag_blocks,
            foreign_chain: f.foreign_chain,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct AdvanceBody {
    blocks: u64,
}

#[derive(Deserialize)]
pub(crate) struct ForkBody {
    depth: u64,
}

fn status_json(core: &Core) -> Value {
    let s = core.status();
    json!({
        "head": s.head,
        "irreversible": s.irreversible,
        "firstBlock": core.first_block(),
        "seed": core.config().seed,
        "branch": s.branch,
    })
}

fn error(code: StatusCode, message: String) -> Response {
    Json(json!({ "error": message }))
        .with_status(code)
        .into_response()
}

#[handler]
pub(crate) fn status(core: Data<&Arc<Core>>) -> Json<Value> {
    Json(status_json(&core))
}

#[handler]
pub(crate) fn advance(core: Data<&Arc<Core>>, body: Json<AdvanceBody>) -> Json<Value> {
    core.advance(body.blocks);
    Json(status_json(&core))
}

#[handler]
pub(crate) fn fork(core: Data<&Arc<Core>>, body: Json<ForkBody>) -> Response {
    match core.fork(body.depth) {
        Ok(()) => Json(status_json(&core)).into_response(),
        Err(e) => error(StatusCode::CONFLICT, e.to_string()),
    }
}

#[handler]
pub(crate) fn get_faults(core: Data<&Arc<Core>>) -> Json<FaultsBody> {
    Json(FaultsBody::from_faults(&core.faults()))
}

#[handler]
pub(crate) fn set_faults(core: Data<&Arc<Core>>, body: Json<FaultsBody>) -> Response {
    match body.0.into_faults() {
        Ok(faults) => {
            core.set_faults(faults);
            Json(FaultsBody::from_faults(&core.faults())).into_response()
        }
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}
