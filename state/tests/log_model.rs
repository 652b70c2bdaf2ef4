//! Event log against a `Vec` model: random batches, truncations, reads and
//! reopens must always agree with the model.

mod log_support;

use log_support::{end, op};
use proptest::prelude::*;
use state::log::{EventLog, LogOptions, LogRecord, OpenReport};

#[derive(Debug, Clone)]
enum Step {
    /// Append records whose blocks step up from the log's last block by these deltas.
    Append(Vec<(u64, bool)>),
    /// Truncate to this fraction (per mille) of the records.
    TruncateRecords(u16),
    /// Truncate after the block this far (per mille) into the block range.
    TruncateBlock(u16),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => prop::collection::vec((0u64..3, any::<bool>()), 1..12).prop_map(Step::Append),
        1 => (0u16..=1000).prop_map(Step::TruncateRecords),
        1 => (0u16..=1100).prop_map(Step::TruncateBlock),
    ]
}

fn options() -> impl Strategy<Value = LogOptions> {
    (
        prop_oneof![Just(150u64), Just(400), Just(1 << 20)],
        prop_oneof![Just(0u64), Just(200), Just(1 << 20)],
    )
        .prop_map(|(segment_bytes, index_span_bytes)| LogOptions {
            segment_bytes,
            index_span_bytes,
            ..LogOptions::default()
        })
}

fn check(log: &EventLog, model: &[LogRecord], probe: u64) -> Result<(), TestCaseError> {
    let all: Vec<_> = log
        .read_from_record(0)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("decodes");
    prop_assert_eq!(&all, model);
    prop_assert_eq!(log.position().records, model.len() as u64);
    prop_assert_eq!(
        log.position().last_block,
        model.last().map(LogRecord::block)
    );
    // One random read by index and one by block.
    let n = model.len() as u64;
    let index = probe % (n + 1);
    let tail: Vec<_> = log
        .read_from_record(index)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("decodes");
    prop_assert_eq!(&tail[..], &model[index as usize..]);
    let max_block = model.last().map_or(0, LogRecord::block);
    let block = probe % (max_block + 2);
    let from_block: Vec<_> = log
        .read_from_block(block)
        .expect("reader")
        .collect::<Result<_, _>>()
        .expect("decodes");
    let start = model
        .iter()
        .position(|r| r.block() >= block)
        .unwrap_or(model.len());
    prop_assert_eq!(&from_block[..], &model[start..]);
    let through = model.iter().filter(|r| r.block() <= block).count() as u64;
    prop_assert_eq!(log.records_through_block(block).expect("count"), through);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn log_matches_a_vec_model(
        options in options(),
        steps in prop::collection::vec((step(), any::<u64>()), 1..10),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut log, _) = EventLog::open_with(dir.path(), options).expect("open");
        let mut model: Vec<LogRecord> = Vec::new();
        let mut counter = 0u32;
        for (step, probe) in steps {
            match step {
                Step::Append(deltas) => {
                    let mut block = model.last().map_or(1, LogRecord::block);
                    let batch: Vec<_> = deltas
                        .into_iter()
                        .map(|(delta, is_op)| {
                            block += delta;
                            counter += 1;
                            if is_op { op(block, counter) } else { end(block) }
                        })
                        .collect();
                    log.append(&batch).expect("append");
                    model.extend(batch);
                }
                Step::TruncateRecords(per_mille) => {
                    let keep = model.len() * usize::from(per_mille) / 1000;
                    log.truncate_to_records(keep as u64).expect("truncate");
                    model.truncate(keep);
                }
                Step::TruncateBlock(per_mille) => {
                    let max = model.last().map_or(0, LogRecord::block);
                    let block = max * u64::from(per_mille) / 1000;
                    log.truncate_after_block(block).expect("truncate");
                    model.retain(|r| r.block() <= block);
                }
            }
            check(&log, &model, probe)?;
            let position = log.position();
            drop(log);
            let (reopened, report) = EventLog::open_with(dir.path(), options).expect("reopen");
            prop_assert_eq!(report, OpenReport::default());
            prop_assert_eq!(reopened.position(), position);
            check(&reopened, &model, probe.rotate_left(17))?;
            log = reopened;
        }
        prop_assert_eq!(log.verify().expect("verify").records, model.len() as u64);
    }
}
