//! Scripts: compile-time checks and the sandbox's limits.

use std::collections::HashMap;
use std::sync::Arc;

use state::token::{Features, Genesis};
use state::{Projection, TokenConfig, TokenEntry};

use super::compile;

fn entry(dir: &std::path::Path) -> Arc<TokenEntry> {
    let mut genesis = Genesis::default();
    genesis.balances.insert("alice".into(), 5_000);
    genesis.balances.insert("bob".into(), 7);
    let config = TokenConfig {
        symbol: "ABC".into(),
        name: "Abc".into(),
        description: String::new(),
        contract_address: "@abc".into(),
        decimals: 3,
        features: Features::default(),
        op_prefix: "abc_".into(),
        start_block: 1,
        power_down_interval: 10,
        genesis,
        history_blocks: None,
    };
    let projection = Projection::open(dir, &config).unwrap();
    Arc::new(TokenEntry::new(config, projection))
}

fn run(source: &str, path: &str) -> Result<serde_json::Value, crate::error::ApiError> {
    let dir = tempfile::tempdir().unwrap();
    let script = compile(source).unwrap();
    script.run(entry(dir.path()), path, HashMap::new())
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = compile("fn routes() { #{ \"a\": \"a\" } }\nfn a(req) {\n  let x = ;\n}").unwrap_err();
    assert_eq!(e.code, "INVALID_SCRIPT");
    assert!(e.message.starts_with("line 3, column"), "{}", e.message);
}

#[test]
fn routes_are_checked_at_upload() {
    let cases = [
        ("fn a(req) { 1 }", "must define `fn routes()`"),
        (
            "fn routes() { #{ \"balance/x\": \"a\" } }\nfn a(req) { 1 }",
            "hide the built-in",
        ),
        (
            "fn routes() { #{ \"x\": \"missing\" } }",
            "no `fn missing(req)`",
        ),
        (
            "fn routes() { #{ \"../x\": \"a\" } }\nfn a(req) { 1 }",
            "segments are",
        ),
        (
            "fn routes() { #{ \":p\": \"a\" } }\nfn a(req) { 1 }",
            "fixed segment",
        ),
    ];
    for (source, want) in cases {
        let e = compile(source).unwrap_err();
        assert!(e.message.contains(want), "{source}: {}", e.message);
    }
}

#[test]
fn reads_only_its_token_and_matches_params() {
    let source = r#"
        fn routes() { #{ "holder/:name": "holder", "top": "top" } }
        fn holder(req) { balance(req.params.name).balanceRaw }
        fn top(req) { richlist(10).accounts.map(|a| a.account) }
    "#;
    assert_eq!(
        run(source, "holder/alice").unwrap(),
        serde_json::json!("5000")
    );
    assert_eq!(
        run(source, "top").unwrap(),
        serde_json::json!(["alice", "bob"])
    );
    let e = run(source, "nothing").unwrap_err();
    assert_eq!(e.status.as_u16(), 404);
}

#[test]
fn failures_are_errors_with_their_message() {
    let source = r#"
        fn routes() { #{ "boom": "boom", "loop": "spin", "big": "big", "bad": "bad", "deep": "deep" } }
        fn boom(req) { throw "no such whale" }
        fn spin(req) { let n = 0; loop { n += 1; } }
        fn big(req) { let s = "x"; loop { s += s; } }
        fn bad(req) { balance("Not A Name") }
        fn deep(req) { deep(req) }
    "#;
    let e = run(source, "boom").unwrap_err();
    assert_eq!((e.status.as_u16(), e.code), (500, "SCRIPT_ERROR"));
    assert!(e.message.contains("no such whale"), "{}", e.message);
    let e = run(source, "loop").unwrap_err();
    assert_eq!(e.code, "SCRIPT_LIMIT", "{}", e.message);
    let e = run(source, "big").unwrap_err();
    assert_eq!(e.code, "SCRIPT_LIMIT", "{}", e.message);
    let e = run(source, "bad").unwrap_err();
    assert_eq!(e.code, "SCRIPT_ERROR");
    assert!(
        e.message.contains("not a valid Hive account"),
        "{}",
        e.message
    );
    let e = run(source, "deep").unwrap_err();
    assert_eq!(e.code, "SCRIPT_LIMIT", "{}", e.message);
}

#[test]
fn there_is_no_way_out_of_the_sandbox() {
    // No module loading, no eval, no file or network functions exist.
    for body in [
        r#"import "std" as s; 1"#,
        r#"eval("1")"#,
        r#"open_file("/etc/passwd")"#,
        r#"timestamp()"#,
    ] {
        let source = format!("fn routes() {{ #{{ \"x\": \"x\" }} }}\nfn x(req) {{ {body} }}");
        let result = compile(&source).map(|s| {
            let dir = tempfile::tempdir().unwrap();
            s.run(entry(dir.path()), "x", HashMap::new())
        });
        match result {
            Err(e) => assert_eq!(e.code, "INVALID_SCRIPT", "{body}"),
            Ok(run) => assert!(run.is_err(), "{body} ran"),
        }
    }
}
