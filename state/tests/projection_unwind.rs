//! Unwinding with the undo journal: after any batches (cut anywhere, in the
//! middle of a block too), unwinding to an earlier batch boundary leaves a
//! projection identical, byte for byte and in its books, to the one that
//! stood there; applying the log again from there gives the same final
//! projection; a journal that does not reach back refuses and changes nothing.

mod contract_support;

use contract_support::*;
use proptest::prelude::*;
use state::projection::{ProjectionOptions, Undo, FRAME_RECORDS};
use state::{LogRecord, Projection};

fn open(dir: &std::path::Path, undo_blocks: u64, history_blocks: Option<u64>) -> Projection {
    let options = ProjectionOptions {
        map_size: 1 << 28,
        undo_blocks,
        history_blocks,
        ..ProjectionOptions::default()
    };
    Projection::open_with(dir, &three_accounts(), &options).expect("opens")
}

/// Applies `records` in the batches `points` cut them into; returns the
/// picture at every batch boundary, by log position (0 is the genesis).
fn apply_recording(p: &Projection, records: &[LogRecord], points: &[usize]) -> Vec<(u64, Picture)> {
    let mut pictures = vec![(0, picture(p))];
    let mut position = 0u64;
    for chunk in split_at_points(records, points) {
        if chunk.is_empty() {
            continue;
        }
        position += chunk.len() as u64;
        p.apply(&chunk, position).expect("applies");
        pictures.push((position, picture(p)));
    }
    pictures
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn unwinding_to_a_batch_boundary_restores_that_projection_exactly(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 0..8),
        pick in any::<prop::sample::Index>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let records = records(&steps);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = open(dir.path(), 1_000_000, None);
        let pictures = apply_recording(&p, &records, &points);
        let final_picture = picture(&p);

        // To a boundary: exactly the projection that stood there.
        let (target, expected) = &pictures[pick.index(pictures.len())];
        prop_assert_eq!(p.unwind_to(*target).expect("unwinds"), Some(*target));
        prop_assert_eq!(&picture(&p), expected);

        // Anywhere at or below it: the frame start at or below (a batch
        // boundary, or a block end inside a batch), then the log again.
        let t = cut.index(*target as usize + 1) as u64;
        let landed = p.unwind_to(t).expect("unwinds").expect("reaches");
        let frame_start = pictures
            .iter()
            .map(|(at, _)| *at)
            .chain(block_ends(&records).into_iter().map(|(_, at)| at))
            .filter(|at| *at <= t)
            .max()
            .expect("genesis");
        prop_assert_eq!(landed, frame_start);
        match pictures.iter().find(|(at, _)| *at == landed) {
            Some((_, at_boundary)) => prop_assert_eq!(&picture(&p), at_boundary),
            None => {
                let fresh_dir = tempfile::tempdir().expect("tempdir");
                let fresh = open(fresh_dir.path(), 1_000_000, None);
                fresh.apply(&records[..landed as usize], landed).expect("applies");
                prop_assert_eq!(picture(&p), picture(&fresh));
            }
        }

        // Applying the rest of the log again gives the same final projection
        // (the batches differ; what is stored does not depend on them).
        let rest = &records[landed as usize..];
        if !rest.is_empty() {
            p.apply(rest, records.len() as u64).expect("applies again");
        }
        prop_assert_eq!(picture(&p), final_picture);
    }

    #[test]
    fn the_journal_reaches_every_block_in_its_window_and_a_refusal_changes_nothing(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 2..8),
    ) {
        let records = records(&steps);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = open(dir.path(), 2, None);
        let pictures = apply_recording(&p, &records, &points);
        let now = picture(&p);
        let cursor = now.meta.cursor.as_ref().map_or(0, |c| c.num);
        for (_, expected) in &pictures {
            let block = expected.meta.cursor.as_ref().map_or(0, |c| c.num);
            if p.unwind_base(block).expect("plans").is_none() {
                prop_assert!(block < cursor.saturating_sub(2), "block {} in the window refused", block);
            }
        }
        match p.unwind_to(0).expect("answers") {
            Some(landed) => {
                prop_assert_eq!(landed, 0);
                prop_assert_eq!(&picture(&p), &pictures[0].1);
            }
            None => prop_assert_eq!(picture(&p), now),
        }
    }

    #[test]
    fn with_history_retention_unwinding_never_lands_below_the_horizon(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 0..8),
        pick in any::<prop::sample::Index>(),
    ) {
        let records = records(&steps);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = open(dir.path(), 1_000_000, Some(5));
        let pictures = apply_recording(&p, &records, &points);
        let horizon = p.earliest_block().expect("earliest");
        let (target, expected) = &pictures[pick.index(pictures.len())];
        let before = picture(&p);
        match p.unwind_to(*target).expect("answers") {
            Some(landed) => {
                prop_assert_eq!(landed, *target);
                let at = picture(&p);
                // The state itself is what stood there; history below the
                // horizon stays pruned, so only the current tables compare.
                for table in ["accounts", "grants", "power_downs", "due", "transfers", "account_transfers", "outcomes", "trxs", "rich"] {
                    prop_assert_eq!(&at.tables[table], &expected.tables[table], "table {}", table);
                }
                prop_assert_eq!(&at.books, &expected.books);
                let block = at.meta.cursor.as_ref().map_or(0, |c| c.num);
                prop_assert!(horizon == 0 || block >= horizon);
                // Landed in the middle of a block: the current figures
                // include its first operations, the history does not yet.
                let mid_block = at.books.open_block().is_some();
                for name in NAMES.iter().filter(|_| !mid_block) {
                    prop_assert_eq!(
                        p.account_at(name, block).expect("as of the cursor"),
                        p.account(name).expect("current").0
                    );
                }
            }
            None => {
                let block = expected.meta.cursor.as_ref().map_or(0, |c| c.num);
                prop_assert!(block < horizon, "refused block {} above the horizon {}", block, horizon);
                prop_assert_eq!(picture(&p), before);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// A rollback's rewind (unwind and re-apply in one transaction) leaves
    /// the projection, and the journal it goes on with, as the unwind and
    /// the apply one after the other do; a rewind that cannot serve changes
    /// nothing.
    #[test]
    fn rewinding_in_one_transaction_equals_unwinding_then_applying(
        steps in steps(70),
        points in prop::collection::vec(any::<usize>(), 0..8),
        pick in any::<prop::sample::Index>(),
        earlier in any::<prop::sample::Index>(),
    ) {
        let records = records(&steps);
        let ends = block_ends(&records);
        prop_assume!(!ends.is_empty());
        let (two_steps_dir, one_txn_dir) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
        let two_steps = open(two_steps_dir.path(), 1_000_000, None);
        let one_txn = open(one_txn_dir.path(), 1_000_000, None);
        let pictures = apply_recording(&two_steps, &records, &points);
        apply_recording(&one_txn, &records, &points);

        // A rollback to a block lands on the last boundary at or below it
        // (a log may end the same block twice).
        let (block, _) = ends[pick.index(ends.len())];
        let end = ends.iter().filter(|(num, _)| *num <= block).map(|(_, at)| *at).max().unwrap_or(0);
        let base = one_txn.unwind_base(block).expect("plans").expect("the journal reaches");
        prop_assert!(base <= end);
        let (b, e) = (base as usize, end as usize);
        let landed = two_steps.unwind_to(end).expect("unwinds").expect("reaches");
        prop_assert!(base <= landed && landed <= end);
        if landed < end {
            two_steps.apply(&records[landed as usize..e], end).expect("re-applies");
            // Records that start above the landing cannot serve.
            let before = picture(&one_txn);
            let l = landed as usize;
            prop_assert_eq!(one_txn.rewind(&records[l + 1..e], landed + 1, end).expect("answers"), None);
            prop_assert_eq!(picture(&one_txn), before);
        }
        // Records that do not reach the position asked for are refused.
        let before = picture(&one_txn);
        let short = one_txn.rewind(&records[b..e], base, end + 1);
        prop_assert!(matches!(short, Err(state::StateError::InvalidArgument(_))), "{:?}", short);
        prop_assert_eq!(picture(&one_txn), before);

        let rewound = one_txn.rewind(&records[b..e], base, end).expect("rewinds");
        prop_assert_eq!(rewound, Some(landed));
        prop_assert_eq!(picture(&one_txn), picture(&two_steps));

        // The frames the rewind wrote undo like the ones the apply wrote.
        let (at, expected) = &pictures[earlier.index(pictures.len())];
        if *at <= end {
            let a = two_steps.unwind_to(*at).expect("unwinds");
            let b = one_txn.unwind_to(*at).expect("unwinds");
            prop_assert_eq!(a, b);
            prop_assert_eq!(picture(&one_txn), picture(&two_steps));
            if a == Some(*at) {
                prop_assert_eq!(&picture(&one_txn), expected);
            }
        }
    }
}

/// Each `BlockEnd` of `records`: its block, and the log position right after it.
fn block_ends(records: &[LogRecord]) -> Vec<(u64, u64)> {
    records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            LogRecord::BlockEnd(end) => Some((end.num, i as u64 + 1)),
            _ => None,
        })
        .collect()
}

/// One batch per block, blocks 1 to 10, a transfer in each.
fn ten_blocks(p: &Projection) {
    ten_blocks_from(p, 1);
}

#[test]
fn frames_older_than_the_window_are_dropped_and_rollbacks_there_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 3, None);
    ten_blocks(&p);
    let now = picture(&p);
    // Blocks 7 to 10 are within reach: the base is the start of the
    // newest batch that began at or below the block (block b's own end,
    // where block b + 1's batch began).
    for block in 7..=9u64 {
        assert_eq!(p.unwind_base(block).expect("plans"), Some(block * 2));
    }
    assert_eq!(p.unwind_base(10).expect("plans"), Some(18));
    assert_eq!(p.unwind_base(6).expect("plans"), None);
    assert_eq!(p.unwind_to(0).expect("answers"), None);
    assert_eq!(picture(&p), now, "a refused unwind changes nothing");
    assert_eq!(p.unwind_to(14).expect("unwinds"), Some(14));
    assert_eq!(p.meta().expect("meta").cursor.map(|c| c.num), Some(7));
    assert_eq!(p.account("bob").expect("bob").0.balance, 49);
}

#[test]
fn unwinding_survives_closing_and_opening_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let expected = {
        let p = open(dir.path(), 100, None);
        ten_blocks(&p);
        p.unwind_to(8).expect("unwinds");
        let expected = picture(&p);
        ten_blocks_from(&p, 5);
        expected
    };
    let p = open(dir.path(), 100, None);
    assert_eq!(p.unwind_to(8).expect("unwinds"), Some(8));
    assert_eq!(picture(&p), expected);
}

/// Blocks `from..=10` again on a projection standing at block `from - 1`.
fn ten_blocks_from(p: &Projection, from: u64) {
    for block in from..=10u64 {
        p.apply(&block_batch(block), block * 2).expect("applies");
    }
}

/// The batch of block `block` (a transfer to bob), standing at `block - 1`.
fn block_batch(block: u64) -> Vec<LogRecord> {
    vec![
        LogRecord::Op(op_at(
            block,
            0,
            0,
            "send",
            "alice",
            Auth::Active,
            r#"{"to":"bob","amount":7}"#,
        )),
        end(block),
    ]
}

#[test]
fn a_batch_applied_without_undo_ends_the_journals_reach_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let skipped = open(dir.path(), 100, None);
    let reference_dir = tempfile::tempdir().expect("tempdir");
    let reference = open(reference_dir.path(), 100, None);
    let mut at_six = None;
    for block in 1..=10u64 {
        let undo = if (4..=5).contains(&block) {
            Undo::Skip
        } else {
            Undo::Record
        };
        skipped
            .apply_with(&block_batch(block), block * 2, undo)
            .expect("applies");
        reference
            .apply(&block_batch(block), block * 2)
            .expect("applies");
        if block == 6 {
            at_six = Some(picture(&skipped));
        }
    }
    // What is applied does not depend on the journal.
    let (now, reference_now) = (picture(&skipped), picture(&reference));
    assert_eq!(now.meta, reference_now.meta);
    assert_eq!(now.books, reference_now.books);

    // Blocks 5 and up are reachable: the frames from block 6's batch on.
    assert_eq!(skipped.unwind_base(5).expect("plans"), Some(10));
    assert_eq!(skipped.unwind_base(8).expect("plans"), Some(16));
    // Below the skipped batches the frames are gone, not stepped over.
    assert_eq!(skipped.unwind_base(4).expect("plans"), None);
    assert_eq!(skipped.unwind_base(1).expect("plans"), None);
    assert_eq!(skipped.unwind_to(4).expect("answers"), None);
    assert_eq!(picture(&skipped), now, "a refused unwind changes nothing");

    // Within reach, the unwind restores exactly what stood there.
    assert_eq!(skipped.unwind_to(12).expect("unwinds"), Some(12));
    assert_eq!(Some(picture(&skipped)), at_six);
    // The same batches, all recorded, reach back to the first.
    assert_eq!(reference.unwind_base(1).expect("plans"), Some(2));
}

/// A recorded batch of many blocks (a replay's, or a history written a
/// thousand blocks at a time) is journaled in frames cut at its block ends
/// (`FRAME_RECORDS`): unwinding into it lands on a block boundary at or
/// close below the target, so a short rollback re-applies at most a frame,
/// not the whole batch; and it lands on the projection that applying the
/// log up to the target in one go gives.
#[test]
fn a_long_batch_unwinds_to_a_frame_close_below_the_target() {
    const OPS: u64 = 9;
    let mut chain = LogBuilder::new();
    for block in 1..=400u64 {
        chain.at(block);
        for i in 0..OPS {
            let (from, to) = if i % 2 == 0 {
                ("alice", "carol")
            } else {
                ("carol", "alice")
            };
            chain.op("send", from, &format!(r#"{{"to":"{to}","amount":1}}"#));
        }
        chain.end();
    }
    let records = chain.take();
    let per_block = OPS + 1;
    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 1_000_000, None);
    p.apply(&records, records.len() as u64).expect("applies");
    // A pipelined apply journals the batch in the same frames.
    let piped_dir = tempfile::tempdir().expect("tempdir");
    let piped = open(piped_dir.path(), 1_000_000, None);
    piped
        .pipelined(|pipeline| pipeline.apply(&records, records.len() as u64, Undo::Record))
        .expect("applies pipelined");

    for target_block in [380u64, 201, 7] {
        let target = target_block * per_block;
        let landed = p
            .unwind_to(target)
            .expect("unwinds")
            .expect("the journal reaches");
        let piped_landed = piped
            .unwind_to(target)
            .expect("unwinds")
            .expect("the journal reaches");
        assert_eq!(piped_landed, landed, "pipelined frames differ");
        assert_eq!(picture(&piped), picture(&p), "pipelined unwind differs");
        assert!(landed <= target, "landed at {landed}, above {target}");
        assert_eq!(landed % per_block, 0, "landed at {landed}, inside a block");
        assert!(
            target - landed < FRAME_RECORDS as u64 + per_block,
            "landed at {landed}, a whole batch below {target}"
        );
        let upto = usize::try_from(target).expect("fits");
        let from = usize::try_from(landed).expect("fits");
        p.apply(&records[from..upto], target).expect("re-applies");
        piped
            .apply(&records[from..upto], target)
            .expect("re-applies");

        let other = tempfile::tempdir().expect("tempdir");
        let expected = open(other.path(), 1_000_000, None);
        expected.apply(&records[..upto], target).expect("applies");
        assert_eq!(picture(&p), picture(&expected), "at block {target_block}");
    }
}

/// A batch cut into several frames is refused as a whole, with the record
/// named by its place in the batch, directly and pipelined.
#[test]
fn a_refused_long_batch_names_the_record_by_its_place_in_the_batch() {
    let mut chain = LogBuilder::new();
    for block in 1..=60u64 {
        chain.at(block);
        for _ in 0..9 {
            chain.op("send", "alice", r#"{"to":"carol","amount":1}"#);
        }
        chain.end();
    }
    let mut records = chain.take();
    // Two operations of block 41 in the wrong order: the second is refused.
    records.swap(400, 401);
    let after = records.len() as u64;
    let expect_refusal =
        |result: Result<state::projection::ApplySummary, state::StateError>| match result {
            Err(state::StateError::InvalidArgument(message)) => {
                assert!(message.contains("log record 401 of the batch"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        };

    let dir = tempfile::tempdir().expect("tempdir");
    let p = open(dir.path(), 1_000_000, None);
    expect_refusal(p.apply(&records, after));
    assert_eq!(p.meta().expect("meta").log_records, 0);

    let piped_dir = tempfile::tempdir().expect("tempdir");
    let piped = open(piped_dir.path(), 1_000_000, None);
    expect_refusal(piped.pipelined(|pipeline| pipeline.apply(&records, after, Undo::Record)));
    assert_eq!(piped.meta().expect("meta").log_records, 0);
}
