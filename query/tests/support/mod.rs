//! Shared fixture of the query tests: two real LMDB projections in a temp
//! dir (TEST with 3 decimals and some history, ZERO with 0 decimals and a
//! genesis only), a fake registry `Control`, and the app served over real
//! HTTP on 127.0.0.1:0.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use query::{AppContext, Control, ControlError, TokenPatch};
use serde_json::{json, Value};
use state::block::BlockRef;
use state::token::{Features, Genesis};
use state::{Catalog, LogRecord, Projection, TokenConfig, TokenEntry, TokenOp, TokenSpec};

pub fn trx_id(block: u64, trx: u32) -> String {
    format!("{block:016x}{trx:08x}{:016x}", block ^ 0xabcdef)
}

pub fn block_ref(num: u64) -> BlockRef {
    BlockRef {
        num,
        id: format!("{:08x}{}", num, "ab".repeat(16)),
        timestamp: format!(
            "2025-07-08T00:{:02}:{:02}",
            (num * 3) / 60 % 60,
            (num * 3) % 60
        ),
    }
}

pub fn op(block: u64, trx: u32, op_index: u32, name: &str, sender: &str, json: &str) -> LogRecord {
    LogRecord::Op(TokenOp {
        block,
        trx_index: trx,
        op_index,
        trx_id: trx_id(block, trx),
        timestamp: block_ref(block).timestamp,
        name: name.into(),
        required_auths: vec![sender.into()],
        required_posting_auths: vec![],
        json: json.into(),
    })
}

pub fn config(symbol: &str, decimals: u8, genesis: &[(&str, u64, u64)]) -> TokenConfig {
    let mut g = Genesis::default();
    for (name, balance, power) in genesis {
        if *balance > 0 {
            g.balances.insert((*name).into(), *balance);
        }
        if *power > 0 {
            g.power.insert((*name).into(), *power);
        }
    }
    TokenConfig {
        symbol: symbol.into(),
        name: format!("{symbol} token"),
        description: "a test token".into(),
        contract_address: "@test".into(),
        decimals,
        features: Features::default(),
        op_prefix: format!("{}_", symbol.to_ascii_lowercase()),
        start_block: 1,
        power_down_interval: 10,
        genesis: g,
        history_blocks: None,
    }
}

/// Block 12 trx 1: a rejected send (op 0) and an unsupported op (op 1).
pub const MIXED_BLOCK: u64 = 12;
/// Number of transfers in TEST.
pub const TRANSFERS: usize = 27;

/// TEST's history:
/// - genesis: alice 1000.000, bob 500.000 power, carol 100.000 + 100.000 power;
/// - block 10: alice sends dave 1.500 (memo "hi");
/// - block 11: alice powers up 2.000, grants carol 0.700;
/// - block 12: carol sends alice 0.005; alice's huge send is rejected, `dance` unsupported;
/// - blocks 20-44: alice sends erin 0.001 each (25 transfers); cursor ends at 45.
pub fn test_records() -> Vec<LogRecord> {
    let mut r = vec![
        op(
            10,
            0,
            0,
            "send",
            "alice",
            r#"{"to":"dave","amount":1500,"memo":"hi"}"#,
        ),
        op(11, 0, 0, "power_up", "alice", r#"{"amount":2000}"#),
        op(
            11,
            1,
            0,
            "power_grant",
            "alice",
            r#"{"to":"carol","amount":700}"#,
        ),
        op(12, 0, 0, "send", "carol", r#"{"to":"alice","amount":5}"#),
        op(
            12,
            1,
            0,
            "send",
            "alice",
            r#"{"to":"dave","amount":99999999}"#,
        ),
        op(12, 1, 1, "dance", "alice", r#"{}"#),
        LogRecord::BlockEnd(block_ref(12)),
    ];
    for block in 20..45 {
        r.push(op(
            block,
            0,
            0,
            "send",
            "alice",
            r#"{"to":"erin","amount":1}"#,
        ));
    }
    r.push(LogRecord::BlockEnd(block_ref(45)));
    r
}

/// A registry kept in memory, recording removals.
#[derive(Default)]
pub struct FakeControl {
    pub tokens: Mutex<BTreeMap<String, TokenConfig>>,
    pub removed: Mutex<Vec<(String, bool)>>,
    /// Admin calls as (what, symbol, argument) in order.
    pub admin_calls: Mutex<Vec<(String, String, String)>>,
}

impl FakeControl {
    fn known(&self, symbol: &str) -> Result<(), ControlError> {
        if self.tokens.lock().unwrap().contains_key(symbol) || ["TEST", "ZERO"].contains(&symbol) {
            Ok(())
        } else {
            Err(ControlError::NotFound(symbol.into()))
        }
    }

    fn record(&self, what: &str, symbol: &str, argument: String) {
        self.admin_calls
            .lock()
            .unwrap()
            .push((what.into(), symbol.into(), argument));
    }
}

impl Control for FakeControl {
    fn tokens(&self) -> Vec<TokenConfig> {
        self.tokens.lock().unwrap().values().cloned().collect()
    }

    fn add_token(&self, spec: TokenSpec) -> Result<TokenConfig, ControlError> {
        let config = spec.resolve(100)?;
        let mut tokens = self.tokens.lock().unwrap();
        if tokens.contains_key(&config.symbol) {
            return Err(ControlError::Conflict(format!("{} exists", config.symbol)));
        }
        tokens.insert(config.symbol.clone(), config.clone());
        Ok(config)
    }

    fn update_token(&self, symbol: &str, patch: TokenPatch) -> Result<TokenConfig, ControlError> {
        let mut tokens = self.tokens.lock().unwrap();
        let current = tokens
            .get(symbol)
            .ok_or_else(|| ControlError::NotFound(symbol.into()))?;
        let updated = patch.apply(current)?;
        tokens.insert(symbol.into(), updated.clone());
        Ok(updated)
    }

    fn remove_token(&self, symbol: &str, purge: bool) -> Result<(), ControlError> {
        self.tokens
            .lock()
            .unwrap()
            .remove(symbol)
            .ok_or_else(|| ControlError::NotFound(symbol.into()))?;
        self.removed.lock().unwrap().push((symbol.into(), purge));
        Ok(())
    }

    fn checkpoint(&self, symbol: &str) -> Result<Value, ControlError> {
        self.known(symbol)?;
        self.record("checkpoint", symbol, String::new());
        Ok(json!({"name": "b45", "block": 45}))
    }

    fn checkpoints(&self, symbol: &str) -> Result<Vec<Value>, ControlError> {
        self.known(symbol)?;
        Ok(vec![json!({"name": "b45", "block": 45})])
    }

    fn rollback(
        &self,
        symbol: &str,
        to_block: u64,
        from_checkpoint: bool,
    ) -> Result<Value, ControlError> {
        self.known(symbol)?;
        if to_block > 45 {
            return Err(ControlError::Invalid {
                field: "toBlock".into(),
                reason: format!("{to_block} is above the token's block 45"),
            });
        }
        let detail = if from_checkpoint {
            format!("{to_block} from a checkpoint")
        } else {
            to_block.to_string()
        };
        self.record("rollback", symbol, detail);
        Ok(json!({"block": to_block}))
    }

    fn replay(
        &self,
        symbol: &str,
        from_snapshot: Option<String>,
        to_block: Option<u64>,
    ) -> Result<Value, ControlError> {
        self.known(symbol)?;
        self.record("replay", symbol, format!("{from_snapshot:?} {to_block:?}"));
        Ok(json!({"block": to_block.unwrap_or(45)}))
    }
}

pub struct Fixture {
    pub base: String,
    pub catalog: Arc<Catalog>,
    pub control: Arc<FakeControl>,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    /// Both tokens, served with `admin_token`.
    pub async fn start(admin_token: Option<&str>) -> Fixture {
        Fixture::start_with(admin_token, None).await
    }

    /// Both tokens, with an optional `(per_second, burst)` rate limit.
    pub async fn start_with(admin_token: Option<&str>, rate: Option<(u32, u32)>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::new());
        let control = Arc::new(FakeControl::default());

        let test = config(
            "TEST",
            3,
            &[
                ("alice", 1_000_000, 0),
                ("bob", 0, 500_000),
                ("carol", 100_000, 100_000),
            ],
        );
        let projection = Projection::open(&dir.path().join("test"), &test).unwrap();
        let records = test_records();
        projection.apply(&records, records.len() as u64).unwrap();
        let entry = Arc::new(TokenEntry::new(test.clone(), projection));
        entry.set_chain_heads(50, 40);
        catalog.insert(entry);

        let zero = config("ZERO", 0, &[("alice", 7, 3)]);
        let projection = Projection::open(&dir.path().join("zero"), &zero).unwrap();
        catalog.insert(Arc::new(TokenEntry::new(zero.clone(), projection)));

        control.tokens.lock().unwrap().insert("TEST".into(), test);
        control.tokens.lock().unwrap().insert("ZERO".into(), zero);

        let context = AppContext::new(
            catalog.clone(),
            control.clone() as Arc<dyn Control>,
            admin_token.map(str::to_string),
        );
        let context = match rate {
            Some((per_second, burst)) => context.with_rate_limit(
                NonZeroU32::new(per_second).unwrap(),
                NonZeroU32::new(burst).unwrap(),
            ),
            None => context,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(query::serve(listener, context, async {
            let _ = rx.await;
        }));
        Fixture {
            base,
            catalog,
            control,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET returning status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
        (status, body)
    }

    /// POST of a JSON body returning status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// A GraphQL query against `path`; the whole response body.
    pub async fn graphql(&self, path: &str, query: &str) -> Value {
        let (status, body) = self.post(path, &serde_json::json!({"query": query})).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

/// Asserts the body is the API's error with `code`.
pub fn assert_error(status: u16, body: &Value, want_status: u16, code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// The keys of a JSON object, sorted.
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Sends `method path` with an optional bearer token and JSON body; answers (status, JSON).
pub async fn send(
    f: &Fixture,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = f.client.request(method, f.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("request is sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}
