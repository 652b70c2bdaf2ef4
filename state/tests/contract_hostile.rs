//! Hostile operations (issue 7): payloads no honest client sends — arbitrary
//! JSON and bytes, 8 KB payloads, deep nesting, invalid escapes, numbers
//! such as `1e400`, 32-character and odd operation names and accounts — go
//! through the contract. It never panics, every operation gets exactly one
//! outcome, and the supply never changes.

mod contract_support;

use contract_support::*;
use proptest::prelude::*;
use state::contract::books::holding;
use state::contract::MemLedger;
use state::LogRecord;

const OP_NAMES: [&str; 9] = [
    "send",
    "power_up",
    "power_down",
    "power_grant",
    "power_revoke",
    "",
    "sendsendsendsendsendsendsendsend", // 32 characters
    "s\u{e9}nd",
    "send\u{0}",
];

/// Accounts: valid, invalid, 32 characters, unicode, a JSON-looking one.
const ACCOUNTS: [&str; 7] = [
    "alice",
    "bob",
    "carol",
    "abcdefghijabcdefghijabcdefghijab",
    "\u{1F600}bob",
    "\"bob\"",
    "",
];

fn nested(depth: usize, open: &str, close: &str, inner: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

fn arb_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        ".{0,20}".prop_map(serde_json::Value::String),
        prop::sample::select(&ACCOUNTS[..]).prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("to".to_string()),
                    Just("amount".to_string()),
                    Just("memo".to_string()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Texts that are rarely valid JSON and often almost are.
fn hostile_payload() -> impl Strategy<Value = String> {
    let number = prop::sample::select(vec![
        "1e400",
        "-1e400",
        "1e-400",
        "-0",
        "0.0",
        "1.5",
        "1E3",
        "18446744073709551616",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775809",
        "00012",
        "0x10",
        "NaN",
        "Infinity",
        "\"1e400\"",
        "\"  12\"",
        "\"12 \"",
        "\"-1\"",
        "\"١٢\"",
        "\"99999999999999999999\"",
    ]);
    let escape = prop::sample::select(vec![
        "\\x41",
        "\\u12",
        "\\ud800",
        "\\udc00\\ud800",
        "\\uZZZZ",
        "\\",
        "\\q",
        "\\u0000",
        "\\/",
        "\\uD83D\\uDE00",
    ]);
    prop_oneof![
        // Arbitrary JSON, and arbitrary bytes.
        3 => arb_value().prop_map(|v| v.to_string()),
        2 => prop::collection::vec(any::<u8>(), 0..256)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        // A send whose amount is an odd number.
        3 => (prop::sample::select(&ACCOUNTS[..]), number.clone())
            .prop_map(|(to, n)| format!(r#"{{"to":"{to}","amount":{n}}}"#)),
        // Odd numbers in fields the contract does not read.
        1 => number.prop_map(|n| format!(r#"{{"to":"bob","amount":5,"x":{n},"y":[{n},{n}]}}"#)),
        // Invalid escapes in every string field.
        2 => (escape.clone(), 0usize..3).prop_map(|(e, field)| match field {
            0 => format!(r#"{{"to":"b{e}ob","amount":5}}"#),
            1 => format!(r#"{{"to":"bob","amount":"{e}5"}}"#),
            _ => format!(r#"{{"to":"bob","amount":5,"memo":"hi{e}"}}"#),
        }),
        // 8 KB and more: memo, recipient, junk field.
        2 => (1usize..3, 0usize..3).prop_map(|(kb, field)| {
            let big = "m".repeat(kb * 8 * 1024);
            match field {
                0 => format!(r#"{{"to":"bob","amount":5,"memo":"{big}"}}"#),
                1 => format!(r#"{{"to":"{big}","amount":5}}"#),
                _ => format!(r#"{{"to":"bob","amount":5,"junk":"{big}"}}"#),
            }
        }),
        // Deep nesting: in a field read, in a field skipped, and at the top.
        2 => (1usize..20_000, 0usize..4).prop_map(|(depth, place)| match place {
            0 => format!(r#"{{"to":{},"amount":5}}"#, nested(depth, "[", "]", "")),
            1 => format!(r#"{{"to":"bob","amount":5,"deep":{}}}"#, nested(depth, "{\"a\":", "}", "1")),
            2 => format!(r#"{{"to":"bob","amount":{}}}"#, nested(depth, "[", "]", "5")),
            _ => nested(depth, "[", "]", ""),
        }),
        // Repeated keys: the last one wins.
        1 => Just(r#"{"to":"bob","amount":5,"amount":"x","to":"carol"}"#.to_string()),
    ]
}

#[derive(Debug, Clone)]
struct HostileOp {
    name: &'static str,
    sender: &'static str,
    auth: u8,
    json: String,
    end_block: bool,
}

fn hostile_op() -> impl Strategy<Value = HostileOp> {
    (
        prop::sample::select(&OP_NAMES[..]),
        prop::sample::select(&ACCOUNTS[..]),
        0u8..3,
        hostile_payload(),
        any::<bool>(),
    )
        .prop_map(|(name, sender, auth, json, end_block)| HostileOp {
            name,
            sender,
            auth,
            json,
            end_block,
        })
}

fn records(ops: &[HostileOp]) -> Vec<LogRecord> {
    let mut log = LogBuilder::new();
    let mut block = 1;
    log.at(block);
    for op in ops {
        let auth = match op.auth {
            0 => Auth::Active,
            1 => Auth::Posting,
            _ => Auth::Nobody,
        };
        log.op_with(op.name, op.sender, auth, &op.json);
        if op.end_block {
            log.end();
            block += 1;
            log.at(block);
        }
    }
    log.end();
    log.take()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn hostile_operations_each_get_one_outcome_and_never_move_the_supply(
        ops in prop::collection::vec(hostile_op(), 1..24)
    ) {
        let mut ledger = MemLedger::new(&config());
        let supply = ledger.meta().supply;
        let records = records(&ops);
        ledger.apply(&records).expect("the log is in order");
        let logged = records.iter().filter(|r| matches!(r, LogRecord::Op(_))).count();
        prop_assert_eq!(ledger.outcomes().len(), logged);
        prop_assert_eq!(ledger.meta().supply, supply);
        let held: u128 = ledger.accounts().values().map(holding).sum();
        prop_assert_eq!(held, supply);
        for name in ledger.accounts().keys() {
            prop_assert!(state::account::is_valid_account(name), "invalid account {name:?} got a balance");
        }
    }
}

/// The shapes of the issue, once each, so a regression names its input.
#[test]
fn each_listed_hostile_shape_gets_an_outcome() {
    let shapes = [
        format!(
            r#"{{"to":"bob","amount":5,"memo":"{}"}}"#,
            "m".repeat(8 * 1024)
        ),
        nested(100_000, "[", "]", ""),
        format!(
            r#"{{"to":"bob","amount":5,"deep":{}}}"#,
            nested(100_000, "{\"a\":", "}", "1")
        ),
        r#"{"to":"b\x6fb","amount":5}"#.to_string(),
        r#"{"to":"bob","amount":5,"memo":"\ud800"}"#.to_string(),
        r#"{"to":"bob","amount":1e400}"#.to_string(),
        r#"{"to":"bob","amount":5,"x":1e400}"#.to_string(),
        r#"{"to":"abcdefghijabcdefghijabcdefghijab","amount":5}"#.to_string(),
    ];
    let mut log = LogBuilder::new();
    log.at(1);
    for json in &shapes {
        log.op("send", "alice", json);
    }
    log.op(
        "sendsendsendsendsendsendsendsend",
        "alice",
        r#"{"to":"bob","amount":5}"#,
    );
    log.end();
    let records = log.take();
    let mut ledger = MemLedger::new(&config());
    ledger.apply(&records).expect("in order");
    assert_eq!(ledger.outcomes().len(), shapes.len() + 1);
    let outcomes: Vec<String> = ledger
        .outcomes()
        .values()
        .map(|o| format!("{:?}", o.outcome))
        .collect();
    // A field the contract does not read may hold any valid JSON number.
    assert!(
        outcomes.iter().any(|o| o.contains("Applied")),
        "even the valid sends were refused: {outcomes:?}"
    );
}
