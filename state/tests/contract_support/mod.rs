//! Shared helpers of the contract and projection tests: a token, operations
//! and log records built the way the log stores them, and random logs.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use state::block::BlockRef;
use state::token::{Features, Genesis, TokenConfig};
use state::{LogRecord, TokenOp};

/// A token with transfers and staking, a power-down interval of 10 blocks
/// and a genesis: alice 1000 liquid, bob 500 power, carol 100 liquid + 100 power.
pub fn config() -> TokenConfig {
    let mut genesis = Genesis::default();
    genesis.balances.insert("alice".into(), 1000);
    genesis.balances.insert("carol".into(), 100);
    genesis.power.insert("bob".into(), 500);
    genesis.power.insert("carol".into(), 100);
    config_with(genesis, 10)
}

/// A token with the given genesis and power-down interval.
pub fn config_with(genesis: Genesis, interval: u64) -> TokenConfig {
    TokenConfig {
        symbol: "TEST".into(),
        name: "Test".into(),
        description: String::new(),
        contract_address: "@test".into(),
        decimals: 3,
        features: Features::default(),
        op_prefix: "test_".into(),
        start_block: 1,
        power_down_interval: interval,
        genesis,
        history_blocks: None,
    }
}

/// A genesis from (account, balance, power) triples.
pub fn genesis(entries: &[(&str, u64, u64)]) -> Genesis {
    let mut g = Genesis::default();
    for (name, balance, power) in entries {
        if *balance > 0 {
            g.balances.insert((*name).to_string(), *balance);
        }
        if *power > 0 {
            g.power.insert((*name).to_string(), *power);
        }
    }
    g
}

/// Which key signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    Active,
    Posting,
    Nobody,
}

/// An operation at (block, trx, op) signed by `sender`.
pub fn op_at(
    block: u64,
    trx_index: u32,
    op_index: u32,
    name: &str,
    sender: &str,
    auth: Auth,
    json: &str,
) -> TokenOp {
    let (required_auths, required_posting_auths) = match auth {
        Auth::Active => (vec![sender.to_string()], vec![]),
        Auth::Posting => (vec![], vec![sender.to_string()]),
        Auth::Nobody => (vec![], vec![]),
    };
    TokenOp {
        block,
        trx_index,
        op_index,
        trx_id: trx_id(block, trx_index),
        timestamp: timestamp(block),
        name: name.to_string(),
        required_auths,
        required_posting_auths,
        json: json.to_string(),
    }
}

/// A deterministic 40-hex transaction id.
pub fn trx_id(block: u64, trx_index: u32) -> String {
    format!("{block:016x}{trx_index:08x}{:016x}", block ^ 0xabcdef)
}

/// A block timestamp (3-second blocks from an arbitrary origin).
pub fn timestamp(block: u64) -> String {
    let secs = block.wrapping_mul(3) % 2_419_200;
    format!(
        "2025-01-{:02}T{:02}:{:02}:{:02}",
        1 + (secs / 86_400) % 28,
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

/// A block reference with a well-formed id.
pub fn block_ref(num: u64) -> BlockRef {
    BlockRef {
        num,
        id: format!("{:08x}{}", num as u32, "ab".repeat(16)),
        timestamp: timestamp(num),
    }
}

/// `BlockEnd(num)`.
pub fn end(num: u64) -> LogRecord {
    LogRecord::BlockEnd(block_ref(num))
}

/// Builds a log in chain order: operations get increasing positions.
#[derive(Debug, Default)]
pub struct LogBuilder {
    pub records: Vec<LogRecord>,
    block: u64,
    trx: u32,
}

impl LogBuilder {
    pub fn new() -> Self {
        LogBuilder::default()
    }

    /// Moves to block `block` (must not go back).
    pub fn at(&mut self, block: u64) -> &mut Self {
        assert!(block >= self.block, "blocks go forward");
        if block > self.block {
            self.block = block;
            self.trx = 0;
        }
        self
    }

    /// An operation signed with active authority, in its own transaction.
    pub fn op(&mut self, name: &str, sender: &str, json: &str) -> &mut Self {
        self.op_with(name, sender, Auth::Active, json)
    }

    pub fn op_with(&mut self, name: &str, sender: &str, auth: Auth, json: &str) -> &mut Self {
        let op = op_at(self.block, self.trx, 0, name, sender, auth, json);
        self.trx += 1;
        self.records.push(LogRecord::Op(op));
        self
    }

    /// `BlockEnd` of the current block.
    pub fn end(&mut self) -> &mut Self {
        self.records.push(end(self.block));
        self
    }

    pub fn take(&mut self) -> Vec<LogRecord> {
        std::mem::take(&mut self.records)
    }
}

/// Accounts the random logs use; `Bad` and `ab` are not valid names.
pub const NAMES: [&str; 6] = ["alice", "bob", "carol", "dave", "Bad", "ab"];

/// One random step of a log.
#[derive(Debug, Clone)]
pub enum Step {
    Op {
        gap: u64,
        name: u8,
        sender: usize,
        auth: u8,
        to: usize,
        amount: AmountForm,
        memo: bool,
        raw: Option<String>,
        /// Goes into the transaction of the operation before, when that
        /// one is in the same block (a transaction of several operations).
        joins_trx: bool,
    },
    End {
        gap: u64,
    },
}

/// How an amount is written.
#[derive(Debug, Clone)]
pub enum AmountForm {
    Int(u64),
    Str(u64),
    Missing,
    Bad(&'static str),
}

fn amount_form() -> impl Strategy<Value = AmountForm> {
    prop_oneof![
        6 => (0u64..1200).prop_map(AmountForm::Int),
        2 => (0u64..1200).prop_map(AmountForm::Str),
        1 => Just(AmountForm::Missing),
        1 => prop::sample::select(vec!["-5", "1.5", "\"12abc\"", "null", "true", "1e400", "9223372036854775808"]).prop_map(AmountForm::Bad),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let op = (
        prop_oneof![4 => Just(0u64), 3 => 1u64..4, 1 => 4u64..40],
        0u8..6,
        0usize..NAMES.len(),
        0u8..10,
        0usize..NAMES.len(),
        amount_form(),
        any::<bool>(),
        prop::option::weighted(
            0.05,
            prop::sample::select(vec!["[]", "{", "1", "\"x\"", "{\"amount\":{}}"])
                .prop_map(String::from),
        ),
        prop::bool::weighted(0.3),
    )
        .prop_map(
            |(gap, name, sender, auth, to, amount, memo, raw, joins_trx)| Step::Op {
                gap,
                name,
                sender,
                auth,
                to,
                amount,
                memo,
                raw,
                joins_trx,
            },
        );
    prop_oneof![8 => op, 2 => (0u64..30).prop_map(|gap| Step::End { gap })]
}

/// Random logs of up to `max` steps.
pub fn steps(max: usize) -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 0..max)
}

/// Turns steps into log records in chain order, ending with a `BlockEnd`.
pub fn records(steps: &[Step]) -> Vec<LogRecord> {
    let names = [
        "send",
        "power_up",
        "power_down",
        "power_grant",
        "mint",
        "send",
    ];
    let mut out = Vec::new();
    let mut block = 1u64;
    let mut trx = 0u32;
    let mut op_index = 0u32;
    // Whether an operation of the current block was written yet.
    let mut in_block = false;
    let mut ended = false;
    for step in steps {
        match step {
            Step::Op {
                gap,
                name,
                sender,
                auth,
                to,
                amount,
                memo,
                raw,
                joins_trx,
            } => {
                let mut next = block + gap;
                if ended && next <= block {
                    next = block + 1;
                }
                if next > block {
                    trx = 0;
                    in_block = false;
                }
                block = next;
                if *joins_trx && in_block {
                    op_index += 1;
                } else {
                    if in_block {
                        trx += 1;
                    }
                    op_index = 0;
                }
                in_block = true;
                ended = false;
                let auth = match auth {
                    0 => Auth::Posting,
                    1 => Auth::Nobody,
                    _ => Auth::Active,
                };
                let json = match raw {
                    Some(raw) => raw.clone(),
                    None => {
                        let mut fields = vec![format!("\"to\":\"{}\"", NAMES[*to])];
                        match amount {
                            AmountForm::Int(v) => fields.push(format!("\"amount\":{v}")),
                            AmountForm::Str(v) => fields.push(format!("\"amount\":\"{v}\"")),
                            AmountForm::Missing => {}
                            AmountForm::Bad(text) => fields.push(format!("\"amount\":{text}")),
                        }
                        if *memo {
                            fields.push(format!("\"memo\":\"m{block}\""));
                        }
                        format!("{{{}}}", fields.join(","))
                    }
                };
                let mut op = op_at(
                    block,
                    trx,
                    op_index,
                    names[usize::from(*name)],
                    NAMES[*sender],
                    auth,
                    &json,
                );
                // Some transactions carry an id that is not 40 hex digits,
                // which the projection stores as text.
                if (block + u64::from(trx)) % 5 == 4 {
                    op.trx_id = format!("trx-{block}-{trx}");
                }
                out.push(LogRecord::Op(op));
            }
            Step::End { gap } => {
                block += gap;
                out.push(end(block));
                ended = true;
            }
        }
    }
    if !ended {
        out.push(end(block));
    }
    out
}

/// Cuts `records` into consecutive chunks at the given (sorted, deduplicated) points.
pub fn split_at_points(records: &[LogRecord], points: &[usize]) -> Vec<Vec<LogRecord>> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (records.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(records[start..cut].to_vec());
        start = cut;
    }
    chunks.push(records[start..].to_vec());
    chunks
}

/// Sum of grants by sender and by receiver.
pub fn grant_sums(
    grants: &BTreeMap<(String, String), u64>,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    let mut inn: BTreeMap<String, u64> = BTreeMap::new();
    for ((from, to), amount) in grants {
        *out.entry(from.clone()).or_default() += amount;
        *inn.entry(to.clone()).or_default() += amount;
    }
    (out, inn)
}

/// The token of the projection tests: alice 1000 liquid, bob 800 power,
/// carol 300 of each, power-downs in installments every 3 blocks.
pub fn three_accounts() -> TokenConfig {
    config_with(
        genesis(&[("alice", 1000, 0), ("bob", 0, 800), ("carol", 300, 300)]),
        3,
    )
}

/// Everything a query can see of a projection: the raw tables and the books.
#[derive(Debug, PartialEq)]
pub struct Picture {
    pub tables: state::projection::RawTables,
    pub meta: state::projection::Meta,
    pub books: state::contract::Books,
}

pub fn picture(p: &state::Projection) -> Picture {
    Picture {
        tables: p.raw_tables().expect("tables"),
        meta: p.meta().expect("meta"),
        books: p.books().expect("books"),
    }
}
