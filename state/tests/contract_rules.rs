//! Every rule and rejection reason of contract.md §2-§4, on the in-memory ledger.

mod contract_support;

use contract_support::*;
use state::contract::{MemLedger, Outcome, Reject};
use state::projection::AccountState;
use state::token::{Features, TokenConfig};
use state::LogRecord;

fn acct(balance: u64, power: u64, granted_in: u64, granted_out: u64) -> AccountState {
    AccountState {
        balance,
        power,
        granted_in,
        granted_out,
    }
}

/// Applies one operation at block 5 and returns the ledger and its outcome.
fn one(
    config: &TokenConfig,
    name: &str,
    sender: &str,
    auth: Auth,
    json: &str,
) -> (MemLedger, Outcome) {
    let mut ledger = MemLedger::new(config);
    let op = op_at(5, 0, 0, name, sender, auth, json);
    let trx = op.trx_id.clone();
    ledger
        .apply(&[LogRecord::Op(op), end(5)])
        .expect("in order");
    let outcome = ledger.outcomes()[&(trx, 0)].outcome;
    (ledger, outcome)
}

fn without(features: impl Fn(&mut Features)) -> TokenConfig {
    let mut c = config();
    features(&mut c.features);
    c
}

#[test]
fn every_rejection_reason_in_check_order() {
    use Auth::*;
    let no_transfers = without(|f| f.transfers = false);
    let no_staking = without(|f| f.staking = false);
    let base = config();
    let big = config_with(genesis(&[("alice", 1000, 0), ("bob", u64::MAX - 5, 0)]), 10);
    let r = |reason: Reject| Outcome::Rejected(reason);
    #[rustfmt::skip]
    let cases: Vec<(&str, &TokenConfig, &str, &str, Auth, &str, Outcome)> = vec![
        // send
        ("send ok", &base, "send", "alice", Active, r#"{"to":"dave","amount":10}"#, Outcome::Applied),
        ("json before feature", &no_transfers, "send", "alice", Active, r#"[1]"#, r(Reject::InvalidJson)),
        ("transfers disabled", &no_transfers, "send", "alice", Posting, r#"{"to":"dave","amount":10}"#, r(Reject::TransfersDisabled)),
        ("not an object", &base, "send", "alice", Active, r#""x""#, r(Reject::InvalidJson)),
        ("not json", &base, "send", "alice", Active, r#"{to:1}"#, r(Reject::InvalidJson)),
        ("posting", &base, "send", "alice", Posting, r#"{"to":"dave","amount":10}"#, r(Reject::ActiveAuthorityRequired)),
        ("posting before payload", &base, "send", "alice", Posting, r#"{}"#, r(Reject::ActiveAuthorityRequired)),
        ("no sender", &base, "send", "alice", Nobody, r#"{"to":"dave","amount":10}"#, r(Reject::NoSender)),
        ("to missing", &base, "send", "alice", Active, r#"{"amount":10}"#, r(Reject::InvalidAccount)),
        ("to invalid", &base, "send", "alice", Active, r#"{"to":"Dave","amount":10}"#, r(Reject::InvalidAccount)),
        ("to not a string", &base, "send", "alice", Active, r#"{"to":7,"amount":10}"#, r(Reject::InvalidAccount)),
        ("to before amount", &base, "send", "alice", Active, r#"{"to":"x","amount":-1}"#, r(Reject::InvalidAccount)),
        ("zero amount", &base, "send", "alice", Active, r#"{"to":"dave","amount":0}"#, r(Reject::InvalidAmount)),
        ("fraction", &base, "send", "alice", Active, r#"{"to":"dave","amount":1.5}"#, r(Reject::InvalidAmount)),
        ("digits and letters", &base, "send", "alice", Active, r#"{"to":"dave","amount":"12abc"}"#, r(Reject::InvalidAmount)),
        ("amount before memo", &base, "send", "alice", Active, r#"{"to":"dave","amount":"0","memo":1}"#, r(Reject::InvalidAmount)),
        ("memo not a string", &base, "send", "alice", Active, r#"{"to":"dave","amount":10,"memo":1}"#, r(Reject::InvalidMemo)),
        ("memo before self", &base, "send", "alice", Active, r#"{"to":"alice","amount":10,"memo":null}"#, r(Reject::InvalidMemo)),
        ("amount before self", &base, "send", "alice", Active, r#"{"to":"alice","amount":0}"#, r(Reject::InvalidAmount)),
        ("self", &base, "send", "alice", Active, r#"{"to":"alice","amount":10}"#, r(Reject::CannotSendToSelf)),
        ("self before balance", &base, "send", "dave", Active, r#"{"to":"dave","amount":10}"#, r(Reject::CannotSendToSelf)),
        ("insufficient", &base, "send", "alice", Active, r#"{"to":"dave","amount":1001}"#, r(Reject::InsufficientBalance)),
        ("power is not balance", &base, "send", "bob", Active, r#"{"to":"dave","amount":1}"#, r(Reject::InsufficientBalance)),
        ("overflow", &big, "send", "alice", Active, r#"{"to":"bob","amount":10}"#, r(Reject::Overflow)),
        ("just fits", &big, "send", "alice", Active, r#"{"to":"bob","amount":5}"#, Outcome::Applied),
        // power_up
        ("power_up ok", &base, "power_up", "alice", Active, r#"{"amount":"400"}"#, Outcome::Applied),
        ("json first", &no_staking, "power_up", "alice", Active, r#"nope"#, r(Reject::InvalidJson)),
        ("staking disabled", &no_staking, "power_up", "alice", Active, r#"{"amount":1}"#, r(Reject::StakingDisabled)),
        ("power_up posting", &base, "power_up", "alice", Posting, r#"{"amount":1}"#, r(Reject::ActiveAuthorityRequired)),
        ("power_up zero", &base, "power_up", "alice", Active, r#"{"amount":0}"#, r(Reject::InvalidAmount)),
        ("power_up missing", &base, "power_up", "alice", Active, r#"{}"#, r(Reject::InvalidAmount)),
        ("power_up insufficient", &base, "power_up", "alice", Active, r#"{"amount":1001}"#, r(Reject::InsufficientBalance)),
        // power_down
        ("power_down ok", &base, "power_down", "bob", Active, r#"{"amount":500}"#, Outcome::Applied),
        ("power_down zero cancels nothing", &base, "power_down", "alice", Active, r#"{"amount":0}"#, Outcome::Applied),
        ("power_down staking", &no_staking, "power_down", "bob", Active, r#"{"amount":1}"#, r(Reject::StakingDisabled)),
        ("power_down posting", &base, "power_down", "bob", Posting, r#"{"amount":1}"#, r(Reject::ActiveAuthorityRequired)),
        ("power_down bad amount", &base, "power_down", "bob", Active, r#"{"amount":"1e3"}"#, r(Reject::InvalidAmount)),
        ("power_down insufficient", &base, "power_down", "bob", Active, r#"{"amount":501}"#, r(Reject::InsufficientPower)),
        ("power_down balance is not power", &base, "power_down", "alice", Active, r#"{"amount":1}"#, r(Reject::InsufficientPower)),
        // power_grant
        ("grant ok", &base, "power_grant", "bob", Active, r#"{"to":"dave","amount":500}"#, Outcome::Applied),
        ("grant zero of nothing", &base, "power_grant", "bob", Active, r#"{"to":"dave","amount":0}"#, Outcome::Applied),
        ("grant staking", &no_staking, "power_grant", "bob", Active, r#"{"to":"dave","amount":1}"#, r(Reject::StakingDisabled)),
        ("grant posting", &base, "power_grant", "bob", Posting, r#"{"to":"dave","amount":1}"#, r(Reject::ActiveAuthorityRequired)),
        ("grant bad to", &base, "power_grant", "bob", Active, r#"{"to":"da","amount":1}"#, r(Reject::InvalidAccount)),
        ("grant self before amount", &base, "power_grant", "bob", Active, r#"{"to":"bob","amount":-1}"#, r(Reject::CannotGrantToSelf)),
        ("grant bad amount", &base, "power_grant", "bob", Active, r#"{"to":"dave","amount":"x"}"#, r(Reject::InvalidAmount)),
        ("grant insufficient", &base, "power_grant", "bob", Active, r#"{"to":"dave","amount":501}"#, r(Reject::InsufficientPower)),
        // anything else
        ("unknown", &base, "mint", "alice", Active, r#"{"to":"alice","amount":5}"#, Outcome::Unsupported),
        ("unknown before json", &base, "mint", "alice", Posting, r#"not json"#, Outcome::Unsupported),
        ("names are exact", &base, "Send", "alice", Active, r#"{"to":"dave","amount":10}"#, Outcome::Unsupported),
    ];
    for (what, cfg, name, sender, auth, json, expected) in cases {
        let (ledger, outcome) = one(cfg, name, sender, auth, json);
        assert_eq!(outcome, expected, "{what}");
        if expected != Outcome::Applied {
            let fresh = MemLedger::new(cfg);
            assert_eq!(
                ledger.accounts(),
                fresh.accounts(),
                "{what}: a refused operation changed balances"
            );
            assert!(
                ledger.transfers().is_empty()
                    && ledger.grants().is_empty()
                    && ledger.power_downs().is_empty(),
                "{what}"
            );
        }
    }
}

#[test]
fn reason_strings_are_the_specs() {
    let expected = [
        "transfers disabled",
        "staking disabled",
        "active authority required",
        "invalid json",
        "invalid amount",
        "invalid account",
        "invalid memo",
        "cannot send to self",
        "cannot grant to self",
        "insufficient balance",
        "insufficient power",
        "overflow",
        "no sender",
    ];
    let got: Vec<&str> = Reject::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(got, expected);
    for r in Reject::ALL {
        assert_eq!(Reject::from_code(r.code()), Some(r));
        let o = Outcome::Rejected(r);
        assert_eq!((o.kind(), o.reason()), ("rejected", Some(r.as_str())));
        assert_eq!(Outcome::from_code(o.code()), Some(o));
    }
    assert_eq!(
        (Outcome::Applied.kind(), Outcome::Unsupported.kind()),
        ("applied", "unsupported")
    );
}

#[test]
fn send_moves_balance_and_records_the_transfer() {
    let long_memo = "é".repeat(1500); // 3000 bytes
    let json =
        serde_json::json!({"to": "dave", "amount": "250", "memo": long_memo, "extra": [1, 2]})
            .to_string();
    let (ledger, outcome) = one(&config(), "send", "alice", Auth::Active, &json);
    assert_eq!(outcome, Outcome::Applied);
    assert_eq!(ledger.account_state("alice"), acct(750, 0, 0, 0));
    assert_eq!(ledger.account_state("dave"), acct(250, 0, 0, 0));
    let transfer = ledger.transfers().values().next().expect("one transfer");
    assert_eq!(
        (
            transfer.from.as_str(),
            transfer.to.as_str(),
            transfer.amount,
            transfer.block
        ),
        ("alice", "dave", 250, 5)
    );
    assert_eq!(transfer.memo.len(), 2048);
    assert_eq!(transfer.memo, "é".repeat(1024));
    assert_eq!(transfer.timestamp, timestamp(5));
    assert_eq!(ledger.meta().supply, 1700);
    assert_eq!(ledger.meta().holders, 4);
}

#[test]
fn sending_everything_drops_a_holder() {
    let (ledger, _) = one(
        &config(),
        "send",
        "alice",
        Auth::Active,
        r#"{"to":"carol","amount":1000}"#,
    );
    assert_eq!(ledger.account_state("alice"), AccountState::default());
    assert!(!ledger.accounts().contains_key("alice"));
    let meta = ledger.meta();
    assert_eq!((meta.supply, meta.holders, meta.accounts), (1700, 2, 2));
}

#[test]
fn power_up_stakes_balance() {
    let (ledger, _) = one(
        &config(),
        "power_up",
        "alice",
        Auth::Active,
        r#"{"amount":400}"#,
    );
    assert_eq!(ledger.account_state("alice"), acct(600, 400, 0, 0));
    assert_eq!(ledger.meta().supply, 1700);
}

#[test]
fn power_up_overflow_changes_nothing() {
    let cfg = config_with(genesis(&[("alice", 10, u64::MAX - 5)]), 10);
    let (ledger, outcome) = one(&cfg, "power_up", "alice", Auth::Active, r#"{"amount":6}"#);
    assert_eq!(outcome, Outcome::Rejected(Reject::Overflow));
    assert_eq!(ledger.account_state("alice"), acct(10, u64::MAX - 5, 0, 0));
}

#[test]
fn grants_are_absolute_targets() {
    let mut log = LogBuilder::new();
    log.at(5)
        .op("power_grant", "bob", r#"{"to":"dave","amount":300}"#)
        .op("power_grant", "bob", r#"{"to":"erin","amount":200}"#)
        .op("power_grant", "bob", r#"{"to":"frank","amount":1}"#) // free power is 0 now
        .op("power_grant", "bob", r#"{"to":"dave","amount":100}"#) // d = -200
        .op("power_grant", "bob", r#"{"to":"frank","amount":200}"#) // fits again
        .op("power_grant", "bob", r#"{"to":"erin","amount":0}"#) // deletes
        .end();
    let mut ledger = MemLedger::new(&config());
    ledger.apply(&log.take()).expect("in order");
    let outcomes: Vec<Outcome> = ledger.outcomes().values().map(|o| o.outcome).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == Outcome::Rejected(Reject::InsufficientPower))
            .count(),
        1
    );
    assert_eq!(ledger.account_state("bob"), acct(0, 500, 0, 300));
    assert_eq!(ledger.account_state("dave"), acct(0, 0, 100, 0));
    assert_eq!(ledger.account_state("erin"), AccountState::default());
    assert_eq!(ledger.account_state("frank"), acct(0, 0, 200, 0));
    let grants: Vec<(&str, &str, u64)> = ledger
        .grants()
        .iter()
        .map(|((f, t), a)| (f.as_str(), t.as_str(), *a))
        .collect();
    assert_eq!(grants, vec![("bob", "dave", 100), ("bob", "frank", 200)]);
    // grants move nothing into supply or holders
    let meta = ledger.meta();
    assert_eq!((meta.supply, meta.holders), (1700, 3));
    // an account that only receives grants is stored, but is no holder
    assert_eq!(meta.accounts, 5);
}

#[test]
fn granted_in_overflow_is_rejected() {
    let max = i64::MAX as u64;
    let cfg = config_with(
        genesis(&[("aaa", 0, max), ("bbb", 0, max), ("ccc", 0, max)]),
        10,
    );
    let amount = format!(r#"{{"to":"dave","amount":{max}}}"#);
    let mut log = LogBuilder::new();
    log.at(5)
        .op("power_grant", "aaa", &amount)
        .op("power_grant", "bbb", &amount)
        .op("power_grant", "ccc", &amount)
        .end();
    let mut ledger = MemLedger::new(&cfg);
    ledger.apply(&log.take()).expect("in order");
    let outcomes: Vec<Outcome> = ledger.outcomes().values().map(|o| o.outcome).collect();
    assert_eq!(outcomes[2], Outcome::Rejected(Reject::Overflow));
    assert_eq!(ledger.account_state("dave").granted_in, 2 * max);
    assert_eq!(ledger.account_state("ccc"), acct(0, max, 0, 0));
}

#[test]
fn power_down_schedule_near_the_end_of_u64_is_an_overflow() {
    let mut ledger = MemLedger::new(&config());
    let op = op_at(
        u64::MAX - 20,
        0,
        0,
        "power_down",
        "bob",
        Auth::Active,
        r#"{"amount":100}"#,
    );
    let trx = op.trx_id.clone();
    ledger.apply(&[LogRecord::Op(op)]).expect("in order");
    assert_eq!(
        ledger.outcomes()[&(trx, 0)].outcome,
        Outcome::Rejected(Reject::Overflow)
    );
    assert!(ledger.power_downs().is_empty());
}

#[test]
fn outcomes_carry_sender_name_and_position() {
    let mut ledger = MemLedger::new(&config());
    let op = op_at(9, 3, 2, "power_up", "alice", Auth::Posting, "{}");
    let trx = op.trx_id.clone();
    ledger.apply(&[LogRecord::Op(op)]).expect("in order");
    let o = &ledger.outcomes()[&(trx.clone(), 2)];
    assert_eq!(
        (o.block, o.trx_index, o.op_index, o.name.as_str()),
        (9, 3, 2, "power_up")
    );
    assert_eq!(
        (o.trx_id.as_str(), o.sender.as_deref()),
        (trx.as_str(), Some("alice"))
    );
}

#[test]
fn records_out_of_order_are_refused_and_change_nothing() {
    let mut ledger = MemLedger::new(&config());
    let mut log = LogBuilder::new();
    log.at(5)
        .op("send", "alice", r#"{"to":"dave","amount":1}"#)
        .end();
    ledger.apply(&log.take()).expect("in order");
    let before = ledger.clone();
    let send = |block: u64, trx: u32| {
        LogRecord::Op(op_at(
            block,
            trx,
            0,
            "send",
            "alice",
            Auth::Active,
            r#"{"to":"dave","amount":1}"#,
        ))
    };
    let bad_batches = vec![
        vec![send(5, 1)],                     // block 5 is complete
        vec![send(4, 0)],                     // below the cursor
        vec![end(4)],                         // end below the cursor
        vec![send(6, 1), send(6, 1)],         // same position twice
        vec![send(6, 1), send(6, 0)],         // going back inside a block
        vec![send(7, 0), end(6)],             // end below an applied op
        vec![send(8, 0), end(8), send(8, 1)], // op in a block just ended
    ];
    for batch in bad_batches {
        let err = ledger.apply(&batch).expect_err("out of order");
        assert!(
            matches!(err, state::StateError::InvalidArgument(_)),
            "{err}"
        );
        assert_eq!(ledger.books(), before.books());
        assert_eq!(ledger.accounts(), before.accounts());
        assert_eq!(ledger.outcomes().len(), before.outcomes().len());
    }
    // repeating the last BlockEnd is harmless
    ledger.apply(&[end(5)]).expect("same block end");
    assert_eq!(ledger.books().state_hash, before.books().state_hash);
}
