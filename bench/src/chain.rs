//! A generated chain of realistic blocks: the four real 2025 blocks of
//! `fixtures/blocks-2025.json` used in turn as templates, renumbered and
//! linked, with three of each block's transactions swapped for one token
//! operation each (a `send` of one base unit, one per bench token).
//!
//! Each template is rendered once; a block is its template's bytes with the
//! eight hex digits of the block number written into `block_id` and
//! `previous`, so serving or decoding a million blocks costs no JSON
//! rendering and no memory per block.

use serde_json::{json, Value};

use crate::error::BenchError;

const TEMPLATES: &str = include_str!("../fixtures/blocks-2025.json");
const ID_MARK: &str = "@@@@@@@@";
const PREVIOUS_MARK: &str = "########";

/// The bench tokens: (symbol, custom_json id prefix).
pub const TOKENS: [(&str, &str); 3] = [("BNCA", "bnca_"), ("BNCB", "bncb_"), ("BNCC", "bncc_")];

/// Accounts the token operations move funds between (each has a genesis balance).
pub const ACCOUNTS: [&str; 4] = ["alice", "bob", "carol", "dave"];

/// Genesis balance of each account in every bench token.
pub const GENESIS_BALANCE: u64 = 1_000_000_000_000;

/// Token operations per block (one per bench token).
pub const TOKEN_OPS_PER_BLOCK: u64 = TOKENS.len() as u64;

struct Template {
    bytes: Vec<u8>,
    id_at: usize,
    previous_at: usize,
    transactions: usize,
}

/// The generated chain. Block numbers start at [`Chain::first`].
pub struct Chain {
    templates: Vec<Template>,
    first: u64,
}

impl Chain {
    /// Renders the templates; blocks start at `first` (at least 1).
    pub fn new(first: u64) -> Result<Chain, BenchError> {
        let blocks: Vec<Value> = serde_json::from_str(TEMPLATES)
            .map_err(|e| BenchError::Setup(format!("the bench's block templates: {e}")))?;
        let suffixes: Vec<String> = blocks
            .iter()
            .map(|b| b["block_id"].as_str().unwrap_or_default().get(8..))
            .map(|s| s.unwrap_or_default().to_string())
            .collect();
        if blocks.is_empty() || suffixes.iter().any(|s| s.len() != 32) {
            return Err(BenchError::Setup(
                "the bench's block templates have no 40-hex block ids".into(),
            ));
        }
        let n = blocks.len();
        let mut templates = Vec::with_capacity(n);
        for (k, block) in blocks.into_iter().enumerate() {
            let previous_suffix = &suffixes[(k + n - 1) % n];
            templates.push(render(
                block,
                k,
                &format!("{ID_MARK}{}", suffixes[k]),
                &format!("{PREVIOUS_MARK}{previous_suffix}"),
            )?);
        }
        Ok(Chain {
            templates,
            first: first.max(1),
        })
    }

    /// The first block of the chain.
    pub fn first(&self) -> u64 {
        self.first
    }

    fn template(&self, num: u64) -> &Template {
        // `num % len` is below `len`, so it fits in usize.
        &self.templates[(num % self.templates.len() as u64) as usize]
    }

    /// Appends block `num`'s JSON to `out`.
    pub fn write_block(&self, num: u64, out: &mut Vec<u8>) {
        let t = self.template(num);
        let start = out.len();
        out.extend_from_slice(&t.bytes);
        write_hex(&mut out[start + t.id_at..], num);
        write_hex(&mut out[start + t.previous_at..], num.saturating_sub(1));
    }

    /// Transactions in block `num`.
    pub fn transactions(&self, num: u64) -> usize {
        self.template(num).transactions
    }

    /// The id of block `num`.
    pub fn block_id(&self, num: u64) -> String {
        let t = self.template(num);
        let suffix = String::from_utf8_lossy(&t.bytes[t.id_at + 8..t.id_at + 40]);
        format!("{num:08x}{suffix}")
    }

    /// The timestamp every block carries (its template's).
    pub fn timestamp(&self) -> &'static str {
        "2025-07-08T23:09:27"
    }

    /// A whole `block_api.get_block_range` response body (JSON-RPC envelope
    /// with `id`) for blocks `start..start + count`.
    pub fn range_body(&self, id: u64, start: u64, count: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(range_body_open(id).as_bytes());
        self.write_blocks_array(start, count, out);
        out.extend_from_slice(RANGE_BODY_CLOSE);
    }

    /// The JSON array of blocks `start..start + count`, the `blocks` of a
    /// `get_block_range` answer.
    pub fn write_blocks_array(&self, start: u64, count: u64, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, num) in (start..start + count).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.write_block(num, out);
        }
        out.push(b']');
    }
}

/// What comes before the `blocks` array in a `get_block_range` answer to
/// the call with JSON-RPC `id`.
pub fn range_body_open(id: u64) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"blocks":"#)
}

/// What comes after the `blocks` array in a `get_block_range` answer.
pub const RANGE_BODY_CLOSE: &[u8] = b"}}";

/// Eight lower-case hex digits of `num` (block numbers fit in 32 bits).
fn write_hex(out: &mut [u8], num: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in out.iter_mut().take(8).enumerate() {
        *byte = HEX[((num >> (28 - 4 * i)) & 0xf) as usize];
    }
}

/// One template: marks in place of the ids, three transactions replaced by
/// token operations (spread over the block, as real traffic is).
fn render(mut block: Value, k: usize, id: &str, previous: &str) -> Result<Template, BenchError> {
    block["block_id"] = json!(id);
    block["previous"] = json!(previous);
    let transactions = block["transactions"]
        .as_array_mut()
        .ok_or_else(|| BenchError::Setup("a template block has no transactions".into()))?;
    let count = transactions.len();
    if count < TOKENS.len() {
        return Err(BenchError::Setup(
            "a template block has fewer than 3 transactions".into(),
        ));
    }
    for (j, (_, prefix)) in TOKENS.iter().enumerate() {
        let at = (j + 1) * count / (TOKENS.len() + 1);
        let from = ACCOUNTS[(k + j) % ACCOUNTS.len()];
        let to = ACCOUNTS[(k + j + 1) % ACCOUNTS.len()];
        transactions[at]["operations"] = json!([{
            "type": "custom_json_operation",
            "value": {
                "required_auths": [from],
                "required_posting_auths": [],
                "id": format!("{prefix}send"),
                "json": json!({"to": to, "amount": 1, "memo": "bench"}).to_string(),
            }
        }]);
    }
    let bytes = serde_json::to_vec(&block)
        .map_err(|e| BenchError::Setup(format!("rendering a template block: {e}")))?;
    let find = |mark: &str| {
        memfind(&bytes, mark.as_bytes())
            .ok_or_else(|| BenchError::Setup(format!("mark {mark} not found in a template")))
    };
    let id_at = find(ID_MARK)?;
    let previous_at = find(PREVIOUS_MARK)?;
    Ok(Template {
        id_at,
        previous_at,
        transactions: count,
        bytes,
    })
}

fn memfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::decode::{block_range_response, OpFilter};

    #[test]
    fn ranges_decode_linked_with_three_token_ops_a_block() {
        let chain = Chain::new(97_000_000).unwrap();
        let mut body = Vec::new();
        chain.range_body(7, 97_000_000, 10, &mut body);
        let filter = OpFilter::new(TOKENS.iter().map(|(_, p)| *p));
        let blocks = block_range_response(&body, 97_000_000, 10, &filter).unwrap();
        assert_eq!(blocks.len(), 10);
        for block in &blocks {
            assert_eq!(block.ops.len(), 3);
            assert_eq!(block.block.id, chain.block_id(block.block.num));
        }
        let average = (0..4).map(|k| chain.transactions(k)).sum::<usize>() / 4;
        assert_eq!(average, 15);
    }
}
