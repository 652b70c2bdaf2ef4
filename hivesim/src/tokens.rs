//! Layer-2 token operations: custom_json ops whose id is a configured prefix plus a name.
//!
//! About 85% are well-formed `send`/`power_up`/`power_down`/`power_grant` with small
//! amounts (most succeed against genesis balances of 1_000_000); the rest exercise every
//! rejection rule of the contract (spec/contract.md §2-§4).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::model::Op;
use crate::pick;

/// Share of token operations that are deliberately malformed or unauthorised.
const INVALID_SHARE: f64 = 0.15;

/// Names no contract version knows (real honeycomb ops the contract leaves unsupported).
const UNKNOWN_NAMES: &[&str] = &[
    "claim",
    "dex_buy",
    "dex_sell",
    "node_add",
    "gov_up",
    "report",
    "nft_transfer",
    "vote_content",
];

const BAD_ACCOUNTS: &[&str] = &[
    "Bad_Name",
    "ab",
    "-bob",
    "bob-",
    "a.very.long.account.name",
    "1abc",
    "bob..carol",
    "",
];

/// Amount payloads the contract rejects: negative, fraction, exponent, text, too large, ...
const BAD_AMOUNTS: &[&str] = &[
    "-5",
    "\"-5\"",
    "1.5",
    "\"1.5\"",
    "1e3",
    "\"1e3\"",
    "\"12abc\"",
    "9223372036854775808",
    "\"123456789012345678901\"",
    "true",
    "null",
    "\"\"",
];

/// Payloads that are not a JSON object, or not JSON at all.
const BAD_JSON: &[&str] = &[
    "[1,2,3]",
    "\"send\"",
    "42",
    "null",
    "{\"to\":\"bob\",\"amount\":",
    "not json",
    "",
];

/// The token-generation inputs shared by every block.
pub(crate) struct TokenGen<'a> {
    pub(crate) prefixes: &'a [String],
    pub(crate) accounts: &'a [String],
}

impl TokenGen<'_> {
    /// One transaction's worth of token operations (usually one, sometimes 2-3).
    pub(crate) fn transaction(&self, rng: &mut ChaCha8Rng) -> Vec<Op> {
        let count = match rng.random_range(0..100) {
            0..=84 => 1,
            85..=94 => 2,
            _ => 3,
        };
        let sender = pick(rng, self.accounts).clone();
        (0..count).map(|_| self.op(rng, &sender)).collect()
    }

    fn op(&self, rng: &mut ChaCha8Rng, sender: &str) -> Op {
        let prefix = pick(rng, self.prefixes).clone();
        if rng.random_bool(INVALID_SHARE) {
            self.invalid(rng, prefix, sender)
        } else {
            let (name, payload) = self.valid_payload(rng, sender);
            active(sender, format!("{prefix}{name}"), payload.to_string())
        }
    }

    fn other(&self, rng: &mut ChaCha8Rng, sender: &str) -> String {
        loop {
            let to = pick(rng, self.accounts);
            if to != sender {
                return to.clone();
            }
        }
    }

    fn valid_payload(&self, rng: &mut ChaCha8Rng, sender: &str) -> (&'static str, Value) {
        match rng.random_range(0..100) {
            0..=54 => {
                let mut p = json!({
                    "to": self.other(rng, sender),
                    "amount": amount(rng, 1, 5_000),
                });
                if rng.random_bool(0.5) {
                    p["memo"] = json!(pick(rng, MEMOS));
                }
                ("send", p)
            }
            55..=74 => ("power_up", json!({ "amount": amount(rng, 1, 2_000) })),
            75..=87 => {
                let low = if rng.random_bool(0.2) { 0 } else { 1 };
                ("power_down", json!({ "amount": amount(rng, low, 500) }))
            }
            _ => {
                let low = if rng.random_bool(0.2) { 0 } else { 1 };
                let to = self.other(rng, sender);
                (
                    "power_grant",
                    json!({ "to": to, "amount": amount(rng, low, 500) }),
                )
            }
        }
    }

    fn invalid(&self, rng: &mut ChaCha8Rng, prefix: String, sender: &str) -> Op {
        let to = self.other(rng, sender);
        match rng.random_range(0..10) {
            0 => {
                let name = self.unknown_name(rng, &prefix);
                active(
                    sender,
                    format!("{prefix}{name}"),
                    json!({"amount": 1}).to_string(),
                )
            }
            1 => active(
                sender,
                format!("{prefix}send"),
                pick(rng, BAD_JSON).to_string(),
            ),
            2 => {
                let bad = pick(rng, BAD_ACCOUNTS);
                let name = if rng.random_bool(0.5) {
                    "send"
                } else {
                    "power_grant"
                };
                let json = json!({"to": bad, "amount": 10}).to_string();
                active(sender, format!("{prefix}{name}"), json)
            }
            3 => {
                let name = pick(rng, &["send", "power_up", "power_down", "power_grant"]);
                let json = format!("{{\"to\":\"{to}\",\"amount\":{}}}", pick(rng, BAD_AMOUNTS));
                active(sender, format!("{prefix}{name}"), json)
            }
            4 => {
                let name = if rng.random_bool(0.5) {
                    "send"
                } else {
                    "power_grant"
                };
                let json = json!({"to": sender, "amount": 5}).to_string();
                active(sender, format!("{prefix}{name}"), json)
            }
            5 => {
                let (name, payload) = self.valid_payload(rng, sender);
                Op::CustomJson {
                    required_auths: vec![],
                    required_posting_auths: vec![sender.to_string()],
                    id: format!("{prefix}{name}"),
                    json: payload.to_string(),
                }
            }
            6 => {
                let (name, payload) = self.valid_payload(rng, sender);
                Op::CustomJson {
                    required_auths: vec![],
                    required_posting_auths: vec![],
                    id: format!("{prefix}{name}"),
                    json: payload.to_string(),
                }
            }
            7 => {
                // Zero where the contract forbids it.
                let name = if rng.random_bool(0.5) {
                    "send"
                } else {
                    "power_up"
                };
                let json = json!({"to": to, "amount": 0}).to_string();
                active(sender, format!("{prefix}{name}"), json)
            }
            8 => {
                let json = json!({"to": to, "amount": 5, "memo": 12}).to_string();
                active(sender, format!("{prefix}send"), json)
            }
            _ => {
                // More than any genesis balance: insufficient balance / power.
                let name = pick(rng, &["send", "power_up", "power_down", "power_grant"]);
                let json = json!({"to": to, "amount": 5_000_000_000u64}).to_string();
                active(sender, format!("{prefix}{name}"), json)
            }
        }
    }

    /// An unknown name that does not turn `prefix + name` into a longer configured prefix.
    fn unknown_name(&self, rng: &mut ChaCha8Rng, prefix: &str) -> &'static str {
        let candidate = pick(rng, UNKNOWN_NAMES);
        let id = format!("{prefix}{candidate}");
        let captured = self
            .prefixes
            .iter()
            .any(|p| p.len() > prefix.len() && id.starts_with(p.as_str()));
        if captured {
            "unknown_op"
        } else {
            candidate
        }
    }
}

const MEMOS: &[&str] = &["", "thanks!", "for the podcast", "gm", "rent", "invoice 42"];

/// A valid amount in `low..=high`, as a JSON integer or a string of digits.
fn amount(rng: &mut ChaCha8Rng, low: u64, high: u64) -> Value {
    let v = rng.random_range(low..=high);
    if rng.random_bool(0.5) {
        json!(v)
    } else {
        json!(v.to_string())
    }
}

fn active(sender: &str, id: String, json: String) -> Op {
    Op::CustomJson {
        required_auths: vec![sender.to_string()],
        required_posting_auths: vec![],
        id,
        json,
    }
}
