//! Power-down schedules and installments (contract.md §4, `power_down`),
//! and block boundaries.

mod contract_support;

use contract_support::*;
use state::contract::{MemLedger, Outcome, PowerDown, Reject};
use state::projection::AccountState;

fn acct(balance: u64, power: u64, granted_in: u64, granted_out: u64) -> AccountState {
    AccountState {
        balance,
        power,
        granted_in,
        granted_out,
    }
}

/// bob has 1003 power; the interval is 10 blocks.
fn bob_config() -> state::TokenConfig {
    config_with(genesis(&[("bob", 0, 1003), ("alice", 50, 0)]), 10)
}

fn apply(ledger: &mut MemLedger, log: &mut LogBuilder) {
    ledger.apply(&log.take()).expect("records in order");
}

#[test]
fn four_installments_at_b_plus_k_interval() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":1003}"#)
        .end();
    apply(&mut ledger, &mut log);
    assert_eq!(
        ledger.power_downs()["bob"],
        PowerDown {
            start: 10,
            interval: 10,
            amount: 1003,
            paid: 0
        }
    );
    let expected = [
        (19, 0, 1003),
        (20, 250, 753),
        (29, 250, 753),
        (30, 500, 503),
        (40, 750, 253),
        (49, 750, 253),
        (50, 1003, 0),
    ];
    for (block, balance, power) in expected {
        log.at(block).end();
        apply(&mut ledger, &mut log);
        assert_eq!(
            ledger.account_state("bob"),
            acct(balance, power, 0, 0),
            "after block {block}"
        );
    }
    assert!(
        ledger.power_downs().is_empty(),
        "the schedule is gone after the 4th installment"
    );
    assert_eq!(ledger.meta().supply, 1053);
}

#[test]
fn installments_are_paid_after_the_blocks_operations() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":1000}"#)
        .end();
    // At block 20 bob tries to send the first installment before it is paid.
    log.at(20)
        .op("send", "bob", r#"{"to":"alice","amount":250}"#)
        .end();
    log.at(21)
        .op("send", "bob", r#"{"to":"alice","amount":250}"#)
        .end();
    apply(&mut ledger, &mut log);
    let outcomes: Vec<Outcome> = ledger.outcomes().values().map(|o| o.outcome).collect();
    assert!(outcomes.contains(&Outcome::Rejected(Reject::InsufficientBalance)));
    assert_eq!(ledger.account_state("bob"), acct(0, 753, 0, 0));
    assert_eq!(ledger.account_state("alice"), acct(300, 0, 0, 0));
}

#[test]
fn an_operation_completes_earlier_blocks_first() {
    // No BlockEnd between the power-down and a later block: the operation at
    // block 20 must see the installment of block 20 unpaid but, at block 21,
    // the one of block 20 paid.
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10).op("power_down", "bob", r#"{"amount":1000}"#);
    log.at(21)
        .op("send", "bob", r#"{"to":"alice","amount":250}"#)
        .end();
    apply(&mut ledger, &mut log);
    assert_eq!(ledger.account_state("bob"), acct(0, 753, 0, 0));
}

#[test]
fn grants_limit_what_an_installment_pays() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10).op("power_down", "bob", r#"{"amount":1000}"#);
    // Granting after the power-down is allowed: it only needs free power.
    log.at(11)
        .op("power_grant", "bob", r#"{"to":"dave","amount":900}"#)
        .end();
    log.at(20).end();
    apply(&mut ledger, &mut log);
    // free power 1003 - 900 = 103 < 250
    assert_eq!(ledger.account_state("bob"), acct(103, 900, 0, 900));
    log.at(30).end();
    apply(&mut ledger, &mut log);
    assert_eq!(
        ledger.account_state("bob"),
        acct(103, 900, 0, 900),
        "nothing free, x = 0"
    );
    assert_eq!(
        ledger.power_downs()["bob"].paid,
        2,
        "a zero installment still counts"
    );
    // Taking the grant back frees power for the remaining installments.
    log.at(31)
        .op("power_grant", "bob", r#"{"to":"dave","amount":0}"#)
        .end();
    log.at(60).end();
    apply(&mut ledger, &mut log);
    assert_eq!(
        ledger.account_state("bob"),
        acct(103 + 250 + 250, 1003 - 603, 0, 0)
    );
    assert!(ledger.power_downs().is_empty());
}

#[test]
fn power_down_limited_by_granted_out() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(5)
        .op("power_grant", "bob", r#"{"to":"dave","amount":1000}"#)
        .op("power_down", "bob", r#"{"amount":4}"#)
        .op("power_down", "bob", r#"{"amount":3}"#)
        .end();
    apply(&mut ledger, &mut log);
    let outcomes: Vec<Outcome> = ledger.outcomes().values().map(|o| o.outcome).collect();
    assert_eq!(
        outcomes,
        vec![
            Outcome::Applied,
            Outcome::Rejected(Reject::InsufficientPower),
            Outcome::Applied
        ]
    );
}

#[test]
fn a_new_power_down_replaces_the_pending_one() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":400}"#)
        .end();
    log.at(20).end(); // pays 100
    log.at(25).op("power_down", "bob", r#"{"amount":40}"#).end();
    log.at(30).end(); // old schedule would pay here: nothing
    apply(&mut ledger, &mut log);
    assert_eq!(ledger.account_state("bob"), acct(100, 903, 0, 0));
    assert_eq!(
        ledger.power_downs()["bob"],
        PowerDown {
            start: 25,
            interval: 10,
            amount: 40,
            paid: 0
        }
    );
    log.at(65).end();
    apply(&mut ledger, &mut log);
    assert_eq!(ledger.account_state("bob"), acct(140, 863, 0, 0));
    assert!(ledger.power_downs().is_empty());
}

#[test]
fn replacing_in_the_block_an_installment_is_due_skips_it() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":400}"#)
        .end();
    log.at(20)
        .op("power_down", "bob", r#"{"amount":800}"#)
        .end();
    apply(&mut ledger, &mut log);
    assert_eq!(ledger.account_state("bob"), acct(0, 1003, 0, 0));
    assert_eq!(ledger.power_downs()["bob"].start, 20);
}

#[test]
fn amount_zero_cancels() {
    let mut ledger = MemLedger::new(&bob_config());
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":400}"#)
        .end();
    log.at(20).end();
    log.at(21)
        .op("power_down", "bob", r#"{"amount":"0"}"#)
        .end();
    log.at(100).end();
    apply(&mut ledger, &mut log);
    assert_eq!(ledger.account_state("bob"), acct(100, 903, 0, 0));
    assert!(ledger.power_downs().is_empty());
}

#[test]
fn several_accounts_due_in_the_same_block() {
    let cfg = config_with(
        genesis(&[("bob", 0, 400), ("alice", 0, 80), ("carol", 0, 8)]),
        10,
    );
    let mut ledger = MemLedger::new(&cfg);
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":400}"#)
        .op("power_down", "alice", r#"{"amount":80}"#)
        .end();
    log.at(12)
        .op("power_down", "carol", r#"{"amount":8}"#)
        .end();
    log.at(1000).end();
    apply(&mut ledger, &mut log);
    for name in ["bob", "alice", "carol"] {
        let s = ledger.account_state(name);
        assert_eq!(s.power, 0, "{name}");
    }
    assert_eq!(ledger.meta().supply, 488);
}

#[test]
fn the_hash_does_not_depend_on_how_blocks_are_ended() {
    // BlockEnd every block, or one BlockEnd far ahead: same effects, same hash.
    let build = |every_block: bool| {
        let mut ledger = MemLedger::new(&bob_config());
        let mut log = LogBuilder::new();
        log.at(10)
            .op("power_down", "bob", r#"{"amount":1000}"#)
            .end();
        if every_block {
            for b in 11..=60 {
                log.at(b).end();
            }
        } else {
            log.at(60).end();
        }
        apply(&mut ledger, &mut log);
        ledger
    };
    let (a, b) = (build(true), build(false));
    assert_eq!(a.books().state_hash, b.books().state_hash);
    assert_eq!(a.accounts(), b.accounts());
    assert_eq!(a.meta().cursor, b.meta().cursor);
}

#[test]
fn genesis_sets_supply_holders_and_hash() {
    let a = MemLedger::new(&config());
    let meta = a.meta();
    assert_eq!(
        (meta.supply, meta.holders, meta.accounts, meta.cursor),
        (1700, 3, 3, None)
    );
    assert_eq!(a.account_state("carol"), acct(100, 100, 0, 0));
    let other = MemLedger::new(&bob_config());
    assert_ne!(meta.state_hash, other.meta().state_hash);
    assert_eq!(meta.state_hash, MemLedger::new(&config()).meta().state_hash);
    assert_eq!(meta.state_hash.len(), 64);
}

#[test]
fn installment_never_overflows_the_balance() {
    let cfg = config_with(genesis(&[("bob", u64::MAX - 10, 100)]), 10);
    let mut ledger = MemLedger::new(&cfg);
    let mut log = LogBuilder::new();
    log.at(10)
        .op("power_down", "bob", r#"{"amount":100}"#)
        .end();
    log.at(20).end();
    apply(&mut ledger, &mut log);
    assert_eq!(ledger.account_state("bob"), acct(u64::MAX, 90, 0, 0));
}
