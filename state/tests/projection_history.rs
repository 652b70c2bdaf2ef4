//! Queries as of a block (time travel): for any block N, the answer equals
//! the state of a replay stopped at N, however the log was cut into
//! batches; retention refuses blocks below its horizon and keeps the rest
//! right; a checkpoint plus the rest of the log rebuilds the same history.

mod contract_support;

use contract_support::*;
use proptest::prelude::*;
use state::contract::books::holding;
use state::contract::MemLedger;
use state::projection::ProjectionOptions;
use state::{LogRecord, Projection, StateError};

fn open(dir: &std::path::Path, history_blocks: Option<u64>) -> Projection {
    let options = ProjectionOptions {
        map_size: 1 << 28,
        history_blocks,
        ..ProjectionOptions::default()
    };
    Projection::open_with(dir, &three_accounts(), &options).expect("opens")
}

fn block_of(record: &LogRecord) -> u64 {
    match record {
        LogRecord::Op(op) => op.block,
        LogRecord::BlockEnd(b) => b.num,
    }
}

/// The state of a replay of `records` stopped at the end of block `n`.
fn replay_to(records: &[LogRecord], n: u64) -> MemLedger {
    let mut prefix: Vec<LogRecord> = records
        .iter()
        .take_while(|r| block_of(r) <= n)
        .cloned()
        .collect();
    prefix.push(end(n));
    let mut mem = MemLedger::new(&three_accounts());
    mem.apply(&prefix).expect("in order");
    mem
}

/// Applies `records` in the batches `points` cut them into.
fn apply_in_batches(p: &Projection, records: &[LogRecord], points: &[usize]) {
    let mut position = 0u64;
    for chunk in split_at_points(records, points) {
        position += chunk.len() as u64;
        p.apply(&chunk, position).expect("applies");
    }
}

fn last_block(records: &[LogRecord]) -> u64 {
    records.last().map(block_of).unwrap_or(0)
}

/// Every figure readable as of `n` equals the replay stopped at `n`.
fn same_as_replay(p: &Projection, records: &[LogRecord], n: u64) -> Result<(), TestCaseError> {
    let mem = replay_to(records, n);
    let names = NAMES
        .iter()
        .map(|s| s.to_string())
        .chain(["dave".to_string(), "erin".to_string()])
        .chain(mem.accounts().keys().cloned());
    for name in names {
        prop_assert_eq!(
            p.account_at(&name, n).expect("account as of n"),
            mem.account_state(&name),
            "account {} as of block {}",
            name,
            n
        );
    }
    let books = mem.books();
    prop_assert_eq!(
        p.supply_at(n).expect("supply"),
        (books.supply, books.holders)
    );
    let mut rich: Vec<_> = mem
        .accounts()
        .iter()
        .filter(|(_, s)| holding(s) > 0)
        .map(|(n, s)| (n.clone(), *s))
        .collect();
    rich.sort_by(|(a, sa), (b, sb)| holding(sb).cmp(&holding(sa)).then(a.cmp(b)));
    let mut got = Vec::new();
    let mut after = None;
    loop {
        let page = p.richlist_at(n, 2, after.as_deref()).expect("rich list");
        got.extend(page.entries.into_iter().map(|e| (e.account, e.state)));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    prop_assert_eq!(got, rich);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn as_of_block_n_equals_a_replay_stopped_at_n(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 0..6),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..6),
    ) {
        let records = records(&steps);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = open(dir.path(), None);
        apply_in_batches(&p, &records, &points);
        let last = last_block(&records);
        prop_assert_eq!(p.earliest_block().expect("earliest"), 0);
        for pick in &picks {
            let n = pick.index(last as usize + 1) as u64;
            same_as_replay(&p, &records, n)?;
        }
        same_as_replay(&p, &records, last)?;
        // the current figures are the figures as of the cursor
        prop_assert_eq!(p.account_at("alice", last).expect("alice"), p.account("alice").expect("alice").0);
        match p.account_at("alice", last + 1) {
            Err(StateError::BlockNotIndexed { block, latest }) => {
                prop_assert_eq!((block, latest), (last + 1, last));
            }
            other => prop_assert!(false, "expected BlockNotIndexed, got {:?}", other),
        }
    }

    #[test]
    fn retention_refuses_below_the_horizon_and_stays_right_above(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 0..6),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        let records = records(&steps);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = open(dir.path(), Some(50));
        apply_in_batches(&p, &records, &points);
        let last = last_block(&records);
        let earliest = last.saturating_sub(50);
        prop_assert_eq!(p.earliest_block().expect("earliest"), earliest);
        prop_assert_eq!(p.meta().expect("meta").earliest_block, earliest);
        if let Some(below) = earliest.checked_sub(1) {
            for result in [
                p.account_at("alice", below).map(drop),
                p.supply_at(below).map(drop),
                p.richlist_at(below, 10, None).map(drop),
            ] {
                match result {
                    Err(e @ StateError::HistoryPruned { .. }) => {
                        prop_assert!(e.to_string().contains(&format!("earliest block available is {earliest}")), "{}", e);
                    }
                    other => prop_assert!(false, "expected HistoryPruned, got {:?}", other),
                }
            }
        }
        for pick in &picks {
            let n = earliest + pick.index((last - earliest) as usize + 1) as u64;
            same_as_replay(&p, &records, n)?;
        }
        same_as_replay(&p, &records, earliest)?;
    }

    #[test]
    fn a_checkpoint_and_the_rest_of_the_log_rebuild_the_same_history(
        steps in steps(50),
        cut in any::<prop::sample::Index>(),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..5),
    ) {
        let records = records(&steps);
        let cut = cut.index(records.len() + 1);
        let dir = tempfile::tempdir().expect("tempdir");
        let checkpoint = tempfile::tempdir().expect("tempdir");
        let p = open(&dir.path().join("live"), None);
        p.apply(&records[..cut], cut as u64).expect("applies");
        p.copy_to(checkpoint.path()).expect("checkpoint");
        p.apply(&records[cut..], records.len() as u64).expect("applies");
        // roll back to the checkpoint, then replay the rest of the log
        let restored = open(checkpoint.path(), None);
        restored.apply(&records[cut..], records.len() as u64).expect("replays");
        let last = last_block(&records);
        for pick in &picks {
            let n = pick.index(last as usize + 1) as u64;
            for name in NAMES {
                prop_assert_eq!(restored.account_at(name, n).expect("restored"), p.account_at(name, n).expect("live"));
            }
            prop_assert_eq!(restored.supply_at(n).expect("restored"), p.supply_at(n).expect("live"));
        }
    }
}

#[test]
fn genesis_is_the_state_before_the_start_block_and_earlier_blocks_are_refused() {
    let mut config = three_accounts();
    config.start_block = 100;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = Projection::open(dir.path(), &config).expect("opens");
    // before any batch, the genesis block is both the earliest and the latest
    assert_eq!(p.earliest_block().expect("earliest"), 99);
    assert_eq!(p.account_at("alice", 99).expect("genesis").balance, 1000);
    assert_eq!(p.supply_at(99).expect("genesis"), (2400, 3));
    assert!(matches!(
        p.account_at("alice", 100),
        Err(StateError::BlockNotIndexed {
            block: 100,
            latest: 99
        })
    ));
    let mut log = LogBuilder::new();
    log.at(100)
        .op("send", "alice", r#"{"to":"dave","amount":250}"#)
        .end()
        .at(105)
        .op("send", "dave", r#"{"to":"erin","amount":50}"#)
        .end();
    let records = log.take();
    p.apply(&records, records.len() as u64).expect("applies");
    assert_eq!(p.account_at("alice", 99).expect("genesis").balance, 1000);
    assert_eq!(p.account_at("alice", 100).expect("after").balance, 750);
    assert_eq!(p.account_at("dave", 104).expect("between").balance, 250);
    assert_eq!(p.account_at("dave", 105).expect("after").balance, 200);
    assert_eq!(p.account_at("erin", 104).expect("before").balance, 0);
    assert_eq!(p.supply_at(105).expect("supply"), (2400, 5));
    match p.account_at("alice", 98) {
        Err(e @ StateError::HistoryPruned { .. }) => {
            assert_eq!(
                e.to_string(),
                "no history for block 98: the earliest block available is 99"
            );
        }
        other => panic!("expected HistoryPruned, got {other:?}"),
    }
    // a name too long for an LMDB key is simply unknown
    assert_eq!(
        p.account_at(&"x".repeat(600), 105)
            .expect("unknown")
            .balance,
        0
    );
}
