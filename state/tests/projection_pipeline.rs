//! The pipelined apply (the contract on the caller's thread, the LMDB
//! writes on a thread of their own) stores exactly what applying the same
//! batches one after the other stores: every table byte for byte, the meta
//! and the books, with batches cut anywhere (in the middle of a block too),
//! the undo journal on or off per batch, and history retention on or off;
//! so does a work copy's, which holds transaction-id index rows back.
//! A batch the contract refuses stops the pipeline with the contract's
//! error, and every batch before it is committed.

mod contract_support;

use contract_support::*;
use proptest::prelude::*;
use state::projection::{Pipeline, ProjectionOptions, Undo};
use state::{LogRecord, Projection, StateError};

fn open(dir: &std::path::Path, history_blocks: Option<u64>) -> Projection {
    let options = ProjectionOptions {
        map_size: 1 << 28,
        undo_blocks: 1_000_000,
        history_blocks,
        ..ProjectionOptions::default()
    };
    Projection::open_with(dir, &three_accounts(), &options).expect("opens")
}

/// The non-empty batches `points` cut `records` into, each with the log
/// position after it and whether it goes in the undo journal.
fn batches(
    records: &[LogRecord],
    points: &[usize],
    skips: &[bool],
) -> Vec<(Vec<LogRecord>, u64, Undo)> {
    let mut position = 0u64;
    split_at_points(records, points)
        .into_iter()
        .filter(|chunk| !chunk.is_empty())
        .enumerate()
        .map(|(i, chunk)| {
            position += chunk.len() as u64;
            let undo = if skips.get(i).copied().unwrap_or(false) {
                Undo::Skip
            } else {
                Undo::Record
            };
            (chunk, position, undo)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn pipelined_batches_store_what_one_by_one_batches_do(
        steps in steps(90),
        points in prop::collection::vec(any::<usize>(), 0..10),
        skips in prop::collection::vec(any::<bool>(), 10),
        retention in prop::option::of(1u64..40),
        before in any::<prop::sample::Index>(),
    ) {
        let records = records(&steps);
        let batches = batches(&records, &points, &skips);
        let (one, two) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        let three = tempfile::tempdir().expect("tempdir");
        let one_by_one = open(one.path(), retention);
        let pipelined = open(two.path(), retention);
        let work_copy = open(three.path(), retention);

        // The first batches go in one by one on both, so the pipeline also
        // starts from stored state it must read (and may delete).
        let (first, rest) = batches.split_at(before.index(batches.len() + 1));
        for (chunk, position, undo) in first {
            one_by_one.apply_with(chunk, *position, *undo).expect("applies");
            pipelined.apply_with(chunk, *position, *undo).expect("applies");
            work_copy.apply_with(chunk, *position, *undo).expect("applies");
        }
        let mut summaries = Vec::new();
        for (chunk, position, undo) in rest {
            summaries.push(one_by_one.apply_with(chunk, *position, *undo).expect("applies"));
        }
        let apply_rest = |pipeline: &mut Pipeline<'_>| {
            rest.iter()
                .map(|(chunk, position, undo)| pipeline.apply(chunk, *position, *undo))
                .collect::<Result<Vec<_>, _>>()
        };
        let piped = pipelined.pipelined(apply_rest).expect("applies pipelined");
        // A work copy holds the transaction-id index rows of batches
        // without an undo frame back, and writes them in one sorted pass.
        let held = work_copy
            .pipelined_work_copy(apply_rest)
            .expect("applies pipelined as a work copy");
        prop_assert_eq!(format!("{held:?}"), format!("{summaries:?}"));
        prop_assert_eq!(&picture(&work_copy), &picture(&one_by_one));

        prop_assert_eq!(format!("{piped:?}"), format!("{summaries:?}"));
        let expected = picture(&one_by_one);
        prop_assert_eq!(&picture(&pipelined), &expected);

        // The journals agree too: unwinding both to the same boundary lands
        // both on the same projection.
        if let Some((_, first, _)) = batches.first() {
            let a = one_by_one.unwind_to(*first).expect("unwinds");
            let b = pipelined.unwind_to(*first).expect("unwinds");
            let c = work_copy.unwind_to(*first).expect("unwinds");
            prop_assert_eq!(&a, &b);
            prop_assert_eq!(&a, &c);
            prop_assert_eq!(picture(&pipelined), picture(&one_by_one));
            prop_assert_eq!(picture(&work_copy), picture(&one_by_one));
        }
    }
}

#[test]
fn a_batch_the_contract_refuses_stops_the_pipeline_after_the_batches_before_it() {
    let mut chain = LogBuilder::new();
    chain
        .at(5)
        .op("send", "alice", r#"{"to":"bob","amount":10}"#)
        .end();
    let first = chain.take();
    chain
        .at(6)
        .op("send", "bob", r#"{"to":"carol","amount":3}"#)
        .end();
    let second = chain.take();
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), None);
    let after_first = first.len() as u64;
    let after_second = after_first + second.len() as u64;
    let result = p.pipelined(|pipeline| {
        pipeline.apply(&first, after_first, Undo::Record)?;
        pipeline.apply(&second, after_second, Undo::Record)?;
        // Block 5 again: out of order.
        pipeline.apply(&first, after_second + after_first, Undo::Record)?;
        Ok(())
    });
    match result {
        Err(StateError::InvalidArgument(message)) => {
            assert!(message.contains("out of order"), "{message}")
        }
        other => panic!("expected the contract's refusal, got {other:?}"),
    }
    let meta = p.meta().expect("meta");
    assert_eq!(meta.log_records, after_second);
    assert_eq!(meta.cursor.map(|c| c.num), Some(6));
    assert_eq!(p.account("carol").expect("reads").0.balance, 303);

    // The projection goes on as usual afterwards.
    chain
        .at(7)
        .op("send", "carol", r#"{"to":"alice","amount":1}"#)
        .end();
    let third = chain.take();
    p.apply(&third, after_second + third.len() as u64)
        .expect("applies after the refusal");
    assert_eq!(p.account("carol").expect("reads").0.balance, 302);
}

/// Within one batch the writer cannot have committed anything yet, so a
/// value the contract reads back after writing it (a grant changed twice,
/// a power-down replaced, a balance moved twice) must come from what the
/// recorder wrote, not from LMDB.
#[test]
fn values_written_earlier_in_a_batch_are_read_back_from_the_recorder() {
    let mut log = LogBuilder::new();
    log.at(5)
        .op("power_grant", "bob", r#"{"to":"carol","amount":100}"#)
        .op("power_grant", "bob", r#"{"to":"carol","amount":40}"#)
        .op("power_down", "carol", r#"{"amount":200}"#)
        .op("power_down", "carol", r#"{"amount":90}"#)
        .op("send", "alice", r#"{"to":"dave","amount":10}"#)
        .op("send", "alice", r#"{"to":"dave","amount":5}"#)
        .end();
    let first = log.take();
    log.at(6)
        .op("power_grant", "bob", r#"{"to":"carol","amount":70}"#)
        .op("send", "dave", r#"{"to":"alice","amount":1}"#)
        .end()
        .at(20)
        .end();
    let second = log.take();
    let after_first = first.len() as u64;
    let after_second = after_first + second.len() as u64;

    let (one, two) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let one_by_one = open(one.path(), None);
    one_by_one.apply(&first, after_first).expect("applies");
    one_by_one.apply(&second, after_second).expect("applies");
    let pipelined = open(two.path(), None);
    pipelined
        .pipelined(|pipeline| {
            pipeline.apply(&first, after_first, Undo::Record)?;
            pipeline.apply(&second, after_second, Undo::Record)
        })
        .expect("applies pipelined");

    let (bob, _) = one_by_one.account("bob").expect("reads");
    assert_eq!(bob.granted_out, 70, "the test's grants apply");
    assert_eq!(picture(&pipelined), picture(&one_by_one));
}

/// A transaction id seen again in a later block points the index at the
/// later one. A work copy holds the first one's index row back; it must be
/// written before the batch with the second one records its undo frame,
/// or the held row would land last and win, and the frame would note the
/// id as new.
#[test]
fn a_work_copy_indexes_a_repeated_transaction_id_at_its_last_block() {
    let mut chain = LogBuilder::new();
    chain
        .at(5)
        .op("send", "alice", r#"{"to":"bob","amount":10}"#)
        .end();
    let skipped = chain.take();
    chain
        .at(6)
        .op("send", "bob", r#"{"to":"carol","amount":3}"#)
        .end();
    let mut recorded = chain.take();
    let repeated = match &skipped[0] {
        LogRecord::Op(op) => op.trx_id.clone(),
        LogRecord::BlockEnd(_) => unreachable!("the first record is the send"),
    };
    if let LogRecord::Op(op) = &mut recorded[0] {
        op.trx_id = repeated.clone();
    }
    let after_skipped = skipped.len() as u64;
    let after_recorded = after_skipped + recorded.len() as u64;

    let (one, two) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let one_by_one = open(one.path(), None);
    one_by_one
        .apply_with(&skipped, after_skipped, Undo::Skip)
        .expect("applies");
    one_by_one
        .apply_with(&recorded, after_recorded, Undo::Record)
        .expect("applies");
    let work_copy = open(two.path(), None);
    work_copy
        .pipelined_work_copy(|pipeline| {
            pipeline.apply(&skipped, after_skipped, Undo::Skip)?;
            pipeline.apply(&recorded, after_recorded, Undo::Record)
        })
        .expect("applies as a work copy");

    let ops = work_copy.ops(&repeated).expect("reads");
    assert!(ops.iter().all(|op| op.block == 6), "{ops:?}");
    assert!(!ops.is_empty());
    assert_eq!(picture(&work_copy), picture(&one_by_one));
    // And unwinding the recorded batch restores the first block's entry.
    one_by_one.unwind_to(after_skipped).expect("unwinds");
    work_copy.unwind_to(after_skipped).expect("unwinds");
    assert_eq!(picture(&work_copy), picture(&one_by_one));
    assert!(work_copy
        .ops(&repeated)
        .expect("reads")
        .iter()
        .all(|op| op.block == 5));
}

/// An id repeated across batches whose index rows are held (no undo
/// frames) points at its last block: the held batches' sorted runs are
/// merged with the last row of a key winning, into an empty index (as
/// appends) and, after a recorded batch wrote the index, into a full one
/// (as puts).
#[test]
fn a_work_copy_indexes_an_id_repeated_in_held_batches_at_its_last_block() {
    let mut chain = LogBuilder::new();
    let mut batches = Vec::new();
    for (block, from, to) in [
        (5, "alice", "bob"),
        (6, "bob", "carol"),
        (7, "carol", "dave"),
        (8, "dave", "erin"),
    ] {
        chain
            .at(block)
            .op("send", from, &format!(r#"{{"to":"{to}","amount":1}}"#))
            .end();
        batches.push(chain.take());
    }
    let repeated = match &batches[0][0] {
        LogRecord::Op(op) => op.trx_id.clone(),
        LogRecord::BlockEnd(_) => unreachable!("the first record is the send"),
    };
    // Blocks 5, 6 and 8 share the id; block 7's batch records undo frames.
    for at in [1, 3] {
        if let LogRecord::Op(op) = &mut batches[at][0] {
            op.trx_id = repeated.clone();
        }
    }
    let undo = [Undo::Skip, Undo::Skip, Undo::Record, Undo::Skip];
    let mut ends = Vec::new();
    let mut end = 0u64;
    for batch in &batches {
        end += batch.len() as u64;
        ends.push(end);
    }

    let (one, two) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let one_by_one = open(one.path(), None);
    for ((batch, end), undo) in batches.iter().zip(&ends).zip(undo) {
        one_by_one.apply_with(batch, *end, undo).expect("applies");
    }
    let work_copy = open(two.path(), None);
    let ops_after = |projection: &Projection| -> Vec<u64> {
        projection
            .ops(&repeated)
            .expect("reads")
            .iter()
            .map(|op| op.block)
            .collect()
    };
    // Held across the first two batches, written before the recorded one.
    work_copy
        .pipelined_work_copy(|pipeline| {
            for i in 0..3 {
                pipeline.apply(&batches[i], ends[i], undo[i])?;
            }
            Ok(())
        })
        .expect("applies as a work copy");
    assert_eq!(ops_after(&work_copy), [6]);
    // Held again, and written into the index the first run filled.
    work_copy
        .pipelined_work_copy(|pipeline| pipeline.apply(&batches[3], ends[3], undo[3]))
        .expect("applies as a work copy");
    assert_eq!(ops_after(&work_copy), [8]);
    assert_eq!(picture(&work_copy), picture(&one_by_one));
}
