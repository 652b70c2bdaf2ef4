//! Property tests of the projection: on random logs, the LMDB projection and
//! the in-memory ledger agree, and one batch, many batches and a reopened
//! projection all end in the same state (architecture.md invariant 1).

mod contract_support;

use contract_support::*;
use proptest::prelude::*;
use state::contract::books::holding;
use state::contract::MemLedger;
use state::projection::{ProjectionOptions, Transfer, TransferQuery};
use state::{LogRecord, Projection, TokenConfig};

fn cfg() -> TokenConfig {
    config_with(
        genesis(&[("alice", 1000, 0), ("bob", 0, 800), ("carol", 300, 300)]),
        3,
    )
}

fn open(dir: &std::path::Path) -> Projection {
    Projection::open_with(
        dir,
        &cfg(),
        &ProjectionOptions {
            map_size: 1 << 28,
            ..Default::default()
        },
    )
    .expect("opens")
}

fn transfers(p: &Projection) -> Vec<Transfer> {
    let mut out = Vec::new();
    let mut query = TransferQuery {
        limit: 7,
        ..Default::default()
    };
    loop {
        let page = p.transfers(&query).expect("page");
        out.extend(page.transfers);
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return out,
        }
    }
}

/// Everything a user can read from `p` equals what `mem` holds.
fn same_as_mem(p: &Projection, mem: &MemLedger) -> Result<(), TestCaseError> {
    prop_assert_eq!(p.meta().expect("meta"), mem.meta());
    prop_assert_eq!(&p.books().expect("books"), mem.books());
    let accounts = p.accounts_by_name(1000, None).expect("accounts");
    let stored: Vec<_> = accounts
        .entries
        .iter()
        .map(|e| (e.account.clone(), e.state))
        .collect();
    let expected: Vec<_> = mem
        .accounts()
        .iter()
        .map(|(n, s)| (n.clone(), *s))
        .collect();
    prop_assert_eq!(stored, expected);
    for name in NAMES.iter().chain(["dave", "erin"].iter()) {
        prop_assert_eq!(p.account(name).expect("account").0, mem.account_state(name));
        prop_assert_eq!(
            p.power_down(name).expect("power-down"),
            mem.power_downs().get(*name).copied()
        );
    }
    for ((from, to), amount) in mem.grants() {
        prop_assert_eq!(p.grant(from, to).expect("grant"), *amount);
    }
    let mut rich: Vec<_> = mem
        .accounts()
        .iter()
        .filter(|(_, s)| holding(s) > 0)
        .collect();
    rich.sort_by(|(a, sa), (b, sb)| holding(sb).cmp(&holding(sa)).then(a.cmp(b)));
    let got: Vec<_> = p
        .richlist(1000, None)
        .expect("richlist")
        .entries
        .into_iter()
        .map(|e| (e.account, e.state))
        .collect();
    prop_assert_eq!(
        got,
        rich.into_iter()
            .map(|(n, s)| (n.clone(), *s))
            .collect::<Vec<_>>()
    );
    let newest_first: Vec<Transfer> = mem.transfers().values().rev().cloned().collect();
    prop_assert_eq!(transfers(p), newest_first);
    for ((trx, op_index), outcome) in mem.outcomes() {
        let ops = p.ops(trx).expect("ops");
        let found = ops.iter().find(|o| o.op_index == *op_index);
        prop_assert_eq!(found, Some(outcome));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn lmdb_and_memory_agree_however_the_log_is_cut(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 0..6),
        reopen_after in any::<prop::sample::Index>(),
    ) {
        let records = records(&steps);
        let mut mem = MemLedger::new(&cfg());
        mem.apply(&records).expect("in order");

        // one batch
        let one_dir = tempfile::tempdir().expect("tempdir");
        let one = open(one_dir.path());
        one.apply(&records, records.len() as u64).expect("applies");
        same_as_mem(&one, &mem)?;

        // many batches, reopening the environment once on the way
        let chunks = split_at_points(&records, &points);
        let reopen_at = reopen_after.index(chunks.len());
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = open(dir.path());
        let mut position = 0u64;
        for (i, chunk) in chunks.iter().enumerate() {
            position += chunk.len() as u64;
            p.apply(chunk, position).expect("applies");
            if i == reopen_at {
                drop(p);
                p = open(dir.path());
            }
        }
        same_as_mem(&p, &mem)?;
        prop_assert_eq!(p.meta().expect("meta").state_hash, one.meta().expect("meta").state_hash);
    }

    #[test]
    fn a_failed_batch_changes_nothing(steps in steps(40), cut in any::<prop::sample::Index>()) {
        let records = records(&steps);
        let cut = cut.index(records.len());
        let dir = tempfile::tempdir().expect("tempdir");
        let p = open(dir.path());
        p.apply(&records[..cut], cut as u64).expect("applies");
        let before = (p.meta().expect("meta"), p.books().expect("books"), transfers(&p));
        // the rest of the log followed by a record from the distant past
        let mut bad: Vec<LogRecord> = records[cut..].to_vec();
        bad.push(LogRecord::Op(op_at(0, 0, 0, "send", "alice", Auth::Active, "{}")));
        prop_assert!(p.apply(&bad, 1_000).is_err());
        prop_assert_eq!((p.meta().expect("meta"), p.books().expect("books"), transfers(&p)), before);
    }
}
