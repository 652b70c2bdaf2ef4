//! Property tests of the contract (issue 2): supply is conserved, no figure
//! goes out of bounds, and the same log always gives the same state.

mod contract_support;

use contract_support::*;
use proptest::prelude::*;
use state::contract::books::holding;
use state::contract::{MemLedger, Outcome};

fn run(records: &[state::LogRecord]) -> MemLedger {
    run_with_interval(records, 3)
}

fn run_with_interval(records: &[state::LogRecord], interval: u64) -> MemLedger {
    let mut ledger = MemLedger::new(&config_with(
        genesis(&[("alice", 1000, 0), ("bob", 0, 800), ("carol", 300, 300)]),
        interval,
    ));
    ledger.apply(records).expect("generated logs are in order");
    ledger
}

/// The ledger's derived figures agree with its contents.
fn check_invariants(ledger: &MemLedger) -> Result<(), TestCaseError> {
    let accounts = ledger.accounts();
    let supply: u128 = accounts.values().map(holding).sum();
    let holders = accounts.values().filter(|a| holding(a) > 0).count() as u64;
    let meta = ledger.meta();
    prop_assert_eq!(meta.supply, supply);
    prop_assert_eq!(meta.holders, holders);
    prop_assert_eq!(meta.accounts, accounts.len() as u64);
    let (out, inn) = grant_sums(ledger.grants());
    for (name, a) in accounts {
        prop_assert!(
            a.granted_out <= a.power,
            "{name} granted more than its power: {a:?}"
        );
        prop_assert_eq!(
            a.granted_out,
            out.get(name).copied().unwrap_or(0),
            "granted_out of {}",
            name
        );
        prop_assert_eq!(
            a.granted_in,
            inn.get(name).copied().unwrap_or(0),
            "granted_in of {}",
            name
        );
        prop_assert!(*a != Default::default(), "an empty account is stored");
    }
    prop_assert!(ledger.grants().values().all(|g| *g > 0));
    for (from, to) in ledger.grants().keys() {
        prop_assert!(accounts.contains_key(from) && accounts.contains_key(to));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn no_operation_changes_supply(steps in steps(80)) {
        let records = records(&steps);
        let ledger = run(&records);
        // contract v1 has no operation that mints or burns: sends and grants
        // move value, power-ups and installments only move it between
        // balance and power.
        prop_assert_eq!(ledger.meta().supply, 2400);
        check_invariants(&ledger)?;
    }

    #[test]
    fn invariants_hold_after_every_record(steps in steps(40)) {
        let records = records(&steps);
        let mut ledger = run(&[]);
        for record in &records {
            ledger.apply(std::slice::from_ref(record)).expect("in order");
            check_invariants(&ledger)?;
            prop_assert_eq!(ledger.meta().supply, 2400);
        }
    }

    #[test]
    fn every_logged_operation_gets_one_outcome(steps in steps(60)) {
        let records = records(&steps);
        let ledger = run(&records);
        let ops = records.iter().filter(|r| matches!(r, state::LogRecord::Op(_))).count();
        prop_assert_eq!(ledger.outcomes().len(), ops);
        let applied_sends = ledger
            .outcomes()
            .values()
            .filter(|o| o.name == "send" && o.outcome == Outcome::Applied)
            .count();
        prop_assert_eq!(ledger.transfers().len(), applied_sends);
    }

    #[test]
    fn the_same_log_gives_the_same_state_however_it_is_cut(
        steps in steps(80),
        points in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let records = records(&steps);
        let whole = run(&records);
        let mut pieces = run(&[]);
        for chunk in split_at_points(&records, &points) {
            pieces.apply(&chunk).expect("in order");
        }
        prop_assert_eq!(whole.books(), pieces.books());
        prop_assert_eq!(whole.accounts(), pieces.accounts());
        prop_assert_eq!(whole.grants(), pieces.grants());
        prop_assert_eq!(whole.power_downs(), pieces.power_downs());
        prop_assert_eq!(whole.transfers(), pieces.transfers());
        prop_assert_eq!(whole.outcomes(), pieces.outcomes());
        prop_assert_eq!(whole.meta(), pieces.meta());
    }

    #[test]
    fn different_logs_give_different_hashes(steps in steps(30)) {
        let records = records(&steps);
        prop_assume!(records.iter().any(|r| matches!(r, state::LogRecord::Op(_))));
        let ledger = run(&records);
        let mut shorter = records.clone();
        let last_op = shorter.iter().rposition(|r| matches!(r, state::LogRecord::Op(_))).expect("has an op");
        shorter.remove(last_op);
        let other = run(&shorter);
        prop_assert_ne!(ledger.meta().state_hash, other.meta().state_hash);
    }
}

/// The random logs reach every outcome of every operation, installments
/// included, so the properties above are not vacuous.
#[test]
fn random_logs_exercise_the_whole_contract() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut installments = 0;
    for _ in 0..200 {
        let steps = steps(80)
            .new_tree(&mut runner)
            .expect("generates")
            .current();
        let records = records(&steps);
        let ledger = run(&records);
        for o in ledger.outcomes().values() {
            seen.insert((
                o.name.clone(),
                o.outcome.reason().unwrap_or(o.outcome.kind()).to_string(),
            ));
        }
        // Installments paid make a difference against a token whose
        // installments never come due.
        if ledger.accounts() != run_with_interval(&records, 1 << 40).accounts() {
            installments += 1;
        }
    }
    for wanted in [
        ("send", "applied"),
        ("send", "insufficient balance"),
        ("send", "cannot send to self"),
        ("send", "invalid account"),
        ("send", "invalid amount"),
        ("send", "active authority required"),
        ("send", "no sender"),
        ("send", "invalid json"),
        ("power_up", "applied"),
        ("power_up", "insufficient balance"),
        ("power_down", "applied"),
        ("power_down", "insufficient power"),
        ("power_grant", "applied"),
        ("power_grant", "insufficient power"),
        ("power_grant", "cannot grant to self"),
        ("mint", "unsupported"),
    ] {
        assert!(
            seen.contains(&(wanted.0.to_string(), wanted.1.to_string())),
            "never saw {wanted:?}"
        );
    }
    assert!(
        installments > 10,
        "installments were paid in {installments} logs only"
    );
}
