//! Shared helpers of the integration tests: run the real `honeygraph` binary,
//! wait for conditions with deadlines, talk to it over HTTP.
#![allow(dead_code, unreachable_pub)]

pub mod check;
pub mod log;
pub mod reference;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

/// Polls `check` until it returns `Some`, or panics with `what` at the deadline.
pub fn wait_until<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `honeygraph serve` process.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub data: PathBuf,
    log_path: PathBuf,
}

impl Server {
    /// Starts `honeygraph serve` on a free port with `data` as DATA_PATH and
    /// `nodes` as HIVE_NODES, and waits for `/health`.
    pub fn start(data: &Path, nodes: &str, extra_env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log_path = data.join(format!("server-{port}.log"));
        std::fs::create_dir_all(data).expect("data dir");
        let log = std::fs::File::create(&log_path).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_honeygraph"));
        command
            .arg("serve")
            .env("PORT", port.to_string())
            .env("HONEYGRAPH_BIND", "127.0.0.1")
            .env("DATA_PATH", data)
            .env("HIVE_NODES", nodes)
            .env("HONEYGRAPH_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "info")
            .env_remove("ZFS_PARENT")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in extra_env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start honeygraph");
        let mut server = Server {
            child,
            port,
            data: data.to_path_buf(),
            log_path,
        };
        let url = server.url("/health");
        wait_until("honeygraph /health", Duration::from_secs(60), || {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("honeygraph exited early with {status}:\n{}", server.log());
            }
            let client = reqwest::blocking::Client::new();
            client
                .get(&url)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        server
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::blocking::get(self.url(path)).expect("GET");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = reqwest::blocking::Client::new()
            .post(self.url(path))
            .bearer_auth(ADMIN_TOKEN)
            .json(body)
            .send()
            .expect("POST");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Any method with the admin token and an optional JSON body.
    pub fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = reqwest::blocking::Client::new()
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().expect("request");
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    pub fn graphql(&self, token: &str, query: &str) -> Value {
        let response = reqwest::blocking::Client::new()
            .post(self.url(&format!("/{token}/graphql")))
            .json(&serde_json::json!({ "query": query }))
            .send()
            .expect("GraphQL POST");
        let body: Value = response.json().expect("GraphQL answers JSON");
        assert!(body.get("errors").is_none(), "GraphQL errors: {body}");
        body["data"].clone()
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.child.wait().expect("wait for honeygraph")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
