//! Hostile API input against the real binary: a table of bad requests
//! (GraphQL, REST, registry and admin), each with the status and error code
//! it must get. None may answer 500 or crash the server. Requests go over a
//! raw socket so that paths reach the server exactly as written (no client
//! normalises `..` away) and headers can be wrong on purpose.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{Server, ADMIN_TOKEN};
use hivesim::{SimConfig, SimNode};
use serde_json::{json, Value};

/// What a case must get back.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// An HTTP error with the API's JSON error body and this code.
    Error(u16, &'static str),
    /// A GraphQL answer (HTTP 200) whose `errors` is not empty; with a code,
    /// the first error's `extensions.code` must be it.
    GraphqlErrors(Option<&'static str>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Auth {
    None,
    Admin,
    Wrong,
    Basic,
}

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    auth: Auth,
    body: Vec<u8>,
    want: Want,
}

fn case(name: &'static str, method: &'static str, path: impl Into<String>, want: Want) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        content_type: None,
        auth: Auth::None,
        body: Vec::new(),
        want,
    }
}

impl Case {
    fn json(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.content_type = Some("application/json");
        self.body = body.into();
        self
    }
    fn typed(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Case {
        self.content_type = Some(content_type);
        self.body = body.into();
        self
    }
    fn untyped(mut self, body: impl Into<Vec<u8>>) -> Case {
        self.content_type = None;
        self.body = body.into();
        self
    }
    fn auth(mut self, auth: Auth) -> Case {
        self.auth = auth;
        self
    }
    fn admin(self) -> Case {
        self.auth(Auth::Admin)
    }
}

fn gql(query: &str) -> Vec<u8> {
    json!({ "query": query }).to_string().into_bytes()
}

/// One request over a fresh connection: (status, body).
fn send(port: u16, case: &Case) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        case.method,
        case.path,
        case.body.len()
    );
    if let Some(content_type) = case.content_type {
        head.push_str(&format!("Content-Type: {content_type}\r\n"));
    }
    match case.auth {
        Auth::None => {}
        Auth::Admin => head.push_str(&format!("Authorization: Bearer {ADMIN_TOKEN}\r\n")),
        Auth::Wrong => head.push_str("Authorization: Bearer not-the-token\r\n"),
        Auth::Basic => head.push_str("Authorization: Basic YWRtaW46YWRtaW4=\r\n"),
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("write head");
    // The server may answer (413) and close before reading a large body.
    let _ = stream.write_all(&case.body);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    parse_response(&raw).unwrap_or_else(|| {
        panic!(
            "{}: no HTTP response: {:?}",
            case.name,
            String::from_utf8_lossy(&raw)
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<(u16, Vec<u8>)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = &raw[split + 4..];
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Some((status, body.to_vec()));
    }
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).ok()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn nested_selection(depth: usize) -> String {
    let mut q = String::from("{ __schema { types ");
    for _ in 0..depth {
        q.push_str("{ fields { type ");
    }
    q.push_str("{ name }");
    for _ in 0..depth {
        q.push_str(" } }");
    }
    q.push_str(" } }");
    q
}

fn alias_bomb(aliases: usize) -> String {
    let mut q = String::from("{ ");
    for i in 0..aliases {
        q.push_str(&format!(
            "a{i}: transfers(first: 1000) {{ nodes {{ trxId memo from to amount }} }} "
        ));
    }
    q.push('}');
    q
}

fn cases() -> Vec<Case> {
    use Want::{Error, GraphqlErrors};
    let long_name = "a".repeat(17);
    let huge_cursor = "Z".repeat(8 * 1024);
    let unknown_trx = "0".repeat(40);
    let deep_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", "{\"query\":".repeat(2_000), "}".repeat(2_000));
    let big_body = format!("{{\"query\":\"{}\"}}", "x".repeat(2 << 20));
    let batch_17 =
        serde_json::to_vec(&vec![json!({"query": "{ _meta { stateHash } }"}); 17]).expect("json");
    let long_path = format!("/ABC/balance/{}", "a".repeat(8 * 1024));
    let gql_path = "/ABC/graphql";
    let registry = "/registry/tokens";
    vec![
        // ---- REST: account names ----
        case("upper-case account", "GET", "/ABC/balance/Alice", Error(400, "INVALID_ACCOUNT")),
        case("too short account", "GET", "/ABC/balance/ab", Error(400, "INVALID_ACCOUNT")),
        case("too long account", "GET", format!("/ABC/balance/{long_name}"), Error(400, "INVALID_ACCOUNT")),
        case("account with leading dash", "GET", "/ABC/balance/-abc", Error(400, "INVALID_ACCOUNT")),
        case("account with double dot", "GET", "/ABC/balance/abc..def", Error(400, "INVALID_ACCOUNT")),
        case("account with NUL", "GET", "/ABC/balance/abc%00def", Error(400, "INVALID_ACCOUNT")),
        case("emoji account", "GET", "/ABC/balance/%F0%9F%98%80%F0%9F%98%80", Error(400, "INVALID_ACCOUNT")),
        case("invalid UTF-8 account", "GET", "/ABC/balance/%FF%FE%FD", Error(400, "BAD_REQUEST")),
        case("8 KB account", "GET", long_path, Error(400, "INVALID_ACCOUNT")),
        case("account with SQL", "GET", "/ABC/balance/a';DROP%20TABLE", Error(400, "INVALID_ACCOUNT")),
        // ---- REST: path traversal ----
        case("dot-dot in the path", "GET", "/ABC/../../etc/passwd", Error(404, "NOT_FOUND")),
        case("encoded dot-dot token", "GET", "/%2e%2e%2f%2e%2e%2fetc/state", Error(404, "TOKEN_NOT_FOUND")),
        case("encoded traversal account", "GET", "/ABC/balance/..%2f..%2fregistry.json", Error(400, "INVALID_ACCOUNT")),
        case("traversal as trx id", "GET", "/ABC/op/..%2f..%2f..%2fetc%2fpasswd", Error(400, "INVALID_TRX_ID")),
        case("backslash traversal token", "GET", "/..%5c..%5cwindows/state", Error(404, "TOKEN_NOT_FOUND")),
        case("unknown token", "GET", "/NOPE/state", Error(404, "TOKEN_NOT_FOUND")),
        case("absurd token name", "GET", format!("/{}/state", "Q".repeat(4_000)), Error(404, "TOKEN_NOT_FOUND")),
        // ---- REST: parameters ----
        case("limit zero", "GET", "/ABC/transfers?limit=0", Error(400, "INVALID_PARAMETER")),
        case("negative limit", "GET", "/ABC/transfers?limit=-1", Error(400, "INVALID_PARAMETER")),
        case("limit not a number", "GET", "/ABC/transfers?limit=ten", Error(400, "INVALID_PARAMETER")),
        case("limit above u64", "GET", "/ABC/transfers?limit=99999999999999999999999", Error(400, "INVALID_PARAMETER")),
        case("limit 1e400", "GET", "/ABC/richlist?limit=1e400", Error(400, "INVALID_PARAMETER")),
        case("negative fromBlock", "GET", "/ABC/transfers?fromBlock=-5", Error(400, "INVALID_PARAMETER")),
        case("garbage cursor", "GET", "/ABC/transfers?cursor=garbage", Error(400, "INVALID_CURSOR")),
        case("8 KB cursor", "GET", format!("/ABC/transfers?cursor={huge_cursor}"), Error(400, "INVALID_CURSOR")),
        case("garbage rich list cursor", "GET", "/ABC/richlist?cursor=%00%01", Error(400, "INVALID_CURSOR")),
        case("block in the future", "GET", "/ABC/balance/alice?block=99999999999", Error(400, "BLOCK_NOT_YET_INDEXED")),
        case("block not a number", "GET", "/ABC/balance/alice?block=abc", Error(400, "INVALID_PARAMETER")),
        case("short trx id", "GET", "/ABC/op/xyz", Error(400, "INVALID_TRX_ID")),
        case("32-character trx id", "GET", format!("/ABC/op/{}", "a".repeat(32)), Error(400, "INVALID_TRX_ID")),
        case("unknown trx id", "GET", format!("/ABC/op/{unknown_trx}"), Error(404, "OP_NOT_FOUND")),
        case("POST to a read route", "POST", "/ABC/state", Error(405, "METHOD_NOT_ALLOWED")),
        case("DELETE on transfers", "DELETE", "/ABC/transfers", Error(405, "METHOD_NOT_ALLOWED")),
        // ---- GraphQL: bodies ----
        case("GraphQL not JSON", "POST", gql_path, Error(400, "INVALID_JSON")).json("not json"),
        case("GraphQL text/plain", "POST", gql_path, Error(415, "UNSUPPORTED_MEDIA_TYPE")).typed("text/plain", gql("{ _meta { stateHash } }")),
        case("GraphQL form body", "POST", gql_path, Error(415, "UNSUPPORTED_MEDIA_TYPE")).typed("application/x-www-form-urlencoded", "query=%7B%7D"),
        case("GraphQL without content type", "POST", gql_path, Error(415, "UNSUPPORTED_MEDIA_TYPE")).untyped(gql("{ _meta { stateHash } }")),
        case("GraphQL query is a number", "POST", gql_path, Error(400, "INVALID_JSON")).json(r#"{"query": 5}"#),
        case("GraphQL invalid escape", "POST", gql_path, Error(400, "INVALID_JSON")).json(r#"{"query": "{ account(name: \"\x41\") { balance } }"}"#),
        case("GraphQL 10000 nested arrays", "POST", gql_path, Error(400, "INVALID_JSON")).json(deep_json),
        case("GraphQL 2000 nested objects", "POST", gql_path, Error(400, "INVALID_JSON")).json(deep_object),
        case("GraphQL 2 MB body", "POST", gql_path, Error(413, "PAYLOAD_TOO_LARGE")).json(big_body),
        case("GraphQL batch of 17", "POST", gql_path, Error(400, "INVALID_JSON")).json(batch_17),
        case("GraphQL empty batch", "POST", gql_path, Error(400, "INVALID_JSON")).json("[]"),
        case("GraphQL unknown token", "POST", "/NOPE/graphql", Error(404, "TOKEN_NOT_FOUND")).json(gql("{ _meta { stateHash } }")),
        // ---- GraphQL: queries ----
        case("GraphQL syntax error", "POST", gql_path, GraphqlErrors(None)).json(gql("{ account(name: ")),
        case("GraphQL deep nesting", "POST", gql_path, GraphqlErrors(None)).json(gql(&nested_selection(30))),
        case("GraphQL alias bomb", "POST", gql_path, GraphqlErrors(None)).json(gql(&alias_bomb(500))),
        case("GraphQL huge first", "POST", gql_path, GraphqlErrors(Some("INVALID_PARAMETER"))).json(gql("{ transfers(first: 100000) { nodes { trxId } } }")),
        case("GraphQL negative first", "POST", gql_path, GraphqlErrors(Some("INVALID_PARAMETER"))).json(gql("{ accounts(first: -1) { nodes { account } } }")),
        case("GraphQL first above i32", "POST", gql_path, GraphqlErrors(None)).json(gql("{ transfers(first: 99999999999) { nodes { trxId } } }")),
        case("GraphQL first 1e400", "POST", gql_path, GraphqlErrors(None)).json(gql("{ transfers(first: 1e400) { nodes { trxId } } }")),
        case("GraphQL unknown field", "POST", gql_path, GraphqlErrors(None)).json(gql("{ secrets { password } }")),
        case("GraphQL bad account", "POST", gql_path, GraphqlErrors(Some("INVALID_ACCOUNT"))).json(gql(&format!("{{ account(name: \"{}\") {{ balance }} }}", "Z".repeat(8 * 1024)))),
        case("GraphQL wrong variable type", "POST", gql_path, GraphqlErrors(None)).json(json!({"query": "query($n: String!) { account(name: $n) { balance } }", "variables": {"n": 5}}).to_string()),
        case("GraphQL fragment cycle", "POST", gql_path, GraphqlErrors(None)).json(gql("fragment A on Query { ...B } fragment B on Query { ...A } { ...A }")),
        case("GraphQL negative block", "POST", gql_path, GraphqlErrors(Some("INVALID_PARAMETER"))).json(gql("{ account(name: \"alice\", block: -1) { balance } }")),
        case("GraphQL garbage cursor", "POST", gql_path, GraphqlErrors(Some("INVALID_CURSOR"))).json(gql("{ transfers(after: \"garbage\") { nodes { trxId } } }")),
        case("global GraphQL deep nesting", "POST", "/graphql", GraphqlErrors(None)).json(gql(&nested_selection(30))),
        // ---- Registry ----
        case("registry without auth", "POST", registry, Error(401, "UNAUTHORIZED")).json(r#"{"symbol":"NEW"}"#),
        case("registry wrong token", "POST", registry, Error(403, "FORBIDDEN")).json(r#"{"symbol":"NEW"}"#).auth(Auth::Wrong),
        case("registry basic auth", "POST", registry, Error(401, "UNAUTHORIZED")).json(r#"{"symbol":"NEW"}"#).auth(Auth::Basic),
        case("registry text/plain", "POST", registry, Error(415, "UNSUPPORTED_MEDIA_TYPE")).typed("text/plain", r#"{"symbol":"NEW"}"#).admin(),
        case("registry not JSON", "POST", registry, Error(400, "INVALID_JSON")).json("{symbol: NEW}").admin(),
        case("registry empty object", "POST", registry, Error(400, "INVALID_FIELD")).json("{}").admin(),
        case("registry array body", "POST", registry, Error(400, "INVALID_JSON")).json("[1,2,3]").admin(),
        case("registry lower-case symbol", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"new"}"#).admin(),
        case("registry traversal symbol", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"../../X"}"#).admin(),
        case("registry 8 KB symbol", "POST", registry, Error(400, "INVALID_FIELD")).json(json!({"symbol": "A".repeat(8192)}).to_string()).admin(),
        case("registry empty prefix", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","opPrefix":""}"#).admin(),
        case("registry prefix with slash", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","opPrefix":"a/b"}"#).admin(),
        case("registry negative start", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","startBlock":-1}"#).admin(),
        case("registry start 1e400", "POST", registry, Error(400, "INVALID_JSON")).json(r#"{"symbol":"NEW","startBlock":1e400}"#).admin(),
        case("registry decimals 99", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","decimals":99}"#).admin(),
        case("registry decimals string", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","decimals":"three"}"#).admin(),
        case("registry interval zero", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","powerDownInterval":0}"#).admin(),
        case("registry features not bools", "POST", registry, Error(400, "INVALID_JSON")).json(r#"{"symbol":"NEW","features":{"transfers":"yes"}}"#).admin(),
        case("registry genesis negative", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","genesis":{"balances":{"alice":-5}}}"#).admin(),
        case("registry genesis bad account", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","genesis":{"balances":{"Bad Name":5}}}"#).admin(),
        case("registry genesis 1e400", "POST", registry, Error(400, "INVALID_JSON")).json(r#"{"symbol":"NEW","genesis":{"power":{"alice":1e400}}}"#).admin(),
        case("registry genesis above i64", "POST", registry, Error(400, "INVALID_FIELD")).json(r#"{"symbol":"NEW","genesis":{"balances":{"alice":"99999999999999999999"}}}"#).admin(),
        case("registry unknown field", "POST", registry, Error(400, "INVALID_JSON")).json(r#"{"symbol":"NEW","owner":"me"}"#).admin(),
        case("registry every field wrong", "POST", registry, Error(400, "INVALID_JSON")).json(r#"{"symbol":7,"name":[],"description":{},"contractAddress":1,"decimals":-1,"features":5,"opPrefix":false,"startBlock":"x","powerDownInterval":null,"genesis":"all"}"#).admin(),
        case("registry duplicate symbol", "POST", registry, Error(409, "CONFLICT")).json(r#"{"symbol":"ABC","opPrefix":"zzz_"}"#).admin(),
        case("registry immutable field", "PUT", "/registry/tokens/ABC", Error(400, "INVALID_FIELD")).json(r#"{"opPrefix":"x_"}"#).admin(),
        case("registry remove unknown", "DELETE", "/registry/tokens/NOPE", Error(404, "TOKEN_NOT_FOUND")).admin(),
        case("registry purge=maybe", "DELETE", "/registry/tokens/ABC?purge=maybe", Error(400, "INVALID_PARAMETER")).admin(),
        // ---- Admin ----
        case("admin without auth", "POST", "/admin/tokens/ABC/rollback", Error(401, "UNAUTHORIZED")).json(r#"{"toBlock":1}"#),
        case("rollback toBlock string", "POST", "/admin/tokens/ABC/rollback", Error(400, "INVALID_JSON")).json(r#"{"toBlock":"x"}"#).admin(),
        case("rollback empty body", "POST", "/admin/tokens/ABC/rollback", Error(400, "INVALID_JSON")).json("{}").admin(),
        case("rollback extra field", "POST", "/admin/tokens/ABC/rollback", Error(400, "INVALID_JSON")).json(r#"{"toBlock":1,"force":true}"#).admin(),
        case("rollback negative block", "POST", "/admin/tokens/ABC/rollback", Error(400, "INVALID_JSON")).json(r#"{"toBlock":-1}"#).admin(),
        case("replay traversal snapshot", "POST", "/admin/tokens/ABC/replay", Error(400, "INVALID_FIELD")).json(r#"{"fromSnapshot":"../../../etc"}"#).admin(),
        case("snapshot unknown token", "POST", "/admin/tokens/NOPE/snapshot", Error(404, "TOKEN_NOT_FOUND")).admin(),
    ]
}

#[test]
fn every_hostile_request_gets_its_defined_error_and_the_server_survives() {
    let sim = SimNode::start_in_background(SimConfig {
        seed: 3,
        history: 300,
        block_interval: None,
        prefixes: vec!["abc_".to_string()],
        ..SimConfig::default()
    })
    .expect("start the simulated Hive node");
    let data = tempfile::tempdir().expect("tempdir");
    let server = Server::start(data.path(), &sim.url(), &[]);
    let (status, body) = server.post(
        "/registry/tokens",
        &json!({"symbol": "ABC", "opPrefix": "abc_", "startBlock": sim.first_block(),
                "genesis": {"balances": {"alice": 1000}}}),
    );
    assert_eq!(status, 201, "{body}");
    let target = sim.irreversible();
    common::wait_until("ABC to be indexed", Duration::from_secs(60), || {
        let (status, state) = server.get("/ABC/state");
        (status == 200 && state["lastBlock"] == target).then_some(())
    });

    let cases = cases();
    assert!(cases.len() >= 50, "only {} cases", cases.len());
    let mut wrong = Vec::new();
    for case in &cases {
        let (status, body) = send(server.port, case);
        let text = String::from_utf8_lossy(&body);
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let ok = match case.want {
            Want::Error(want_status, want_code) => {
                status == want_status && value["error"]["code"] == want_code
            }
            Want::GraphqlErrors(code) => {
                let first = &value["errors"][0];
                status == 200
                    && first.is_object()
                    && code.is_none_or(|c| first["extensions"]["code"] == c)
            }
        };
        if status >= 500 || !ok {
            let shown: String = text.chars().take(300).collect();
            wrong.push(format!(
                "{}: want {:?}, got {status} {shown}",
                case.name, case.want
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} cases answered wrongly:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    // Still serving, and nothing panicked on the way.
    let (status, _) = server.get("/health");
    assert_eq!(status, 200);
    let (status, state) = server.get("/ABC/state");
    assert_eq!(status, 200, "{state}");
    let log = server.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
}
