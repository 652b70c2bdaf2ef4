//! A generated block before it is rendered in one of Hive's two JSON forms.

use crate::hash::Id20;

/// One generated block.
pub(crate) struct Block {
    pub(crate) num: u64,
    pub(crate) id: Id20,
    pub(crate) previous: Id20,
    /// Unix seconds.
    pub(crate) timestamp: u64,
    pub(crate) witness: &'static str,
    pub(crate) signing_key: String,
    pub(crate) witness_signature: String,
    pub(crate) transaction_merkle_root: String,
    pub(crate) transactions: Vec<Trx>,
}

/// One transaction of a block.
pub(crate) struct Trx {
    pub(crate) id: Id20,
    pub(crate) ref_block_num: u16,
    pub(crate) ref_block_prefix: u32,
    /// Unix seconds.
    pub(crate) expiration: u64,
    pub(crate) operations: Vec<Op>,
    pub(crate) signatures: Vec<String>,
}

/// The operation kinds the simulator produces.
pub(crate) enum Op {
    Vote {
        voter: String,
        author: String,
        permlink: String,
        weight: i64,
    },
    Transfer {
        from: String,
        to: String,
        amount: Asset,
        memo: String,
    },
    Comment {
        parent_author: String,
        parent_permlink: String,
        author: String,
        permlink: String,
        title: String,
        body: String,
        json_metadata: String,
    },
    CustomJson {
        required_auths: Vec<String>,
        required_posting_auths: Vec<String>,
        id: String,
        json: String,
    },
}

/// A Hive asset amount in satoshis (3 decimals for HIVE and HBD).
#[derive(Clone, Copy)]
pub(crate) struct Asset {
    pub(crate) satoshis: u64,
    pub(crate) symbol: Symbol,
}

/// The liquid Hive assets.
#[derive(Clone, Copy)]
pub(crate) enum Symbol {
    Hive,
    Hbd,
}

impl Symbol {
    pub(crate) fn nai(self) -> &'static str {
        match self {
            Symbol::Hive => "@@000000021",
            Symbol::Hbd => "@@000000013",
        }
    }

    pub(crate) fn legacy(self) -> &'static str {
        match self {
            Symbol::Hive => "HIVE",
            Symbol::Hbd => "HBD",
        }
    }
}
