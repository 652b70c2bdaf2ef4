//! Unrelated mainnet-like traffic: votes, transfers, comments and foreign custom_json.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use crate::model::{Asset, Op, Symbol};
use crate::pick;

/// Real-looking account names of ordinary Hive users.
const USERS: &[&str] = &[
    "pixelfan",
    "xmauron3",
    "spshards",
    "endecs",
    "demonicore",
    "shadowch4ser1",
    "taskmaster4450le",
    "miriammarga",
    "servelle",
    "balaenoptera",
    "leo.voter",
    "ecency",
    "peakd",
    "hivebuzz",
    "actifit",
    "splinterlands",
    "podping.aaa",
    "podping.bbb",
    "terracore",
    "threespeak",
    "dtake",
    "holybread",
    "vassal",
    "gerber",
];

/// custom_json ids seen on mainnet, with who signs them.
const CUSTOM_IDS: &[&str] = &[
    "ssc-mainnet-hive",
    "sm_claim_reward",
    "sm_stake_tokens",
    "sm_sps",
    "follow",
    "pp_podcast_update",
    "community",
    "terracore_claim",
    "vsc.produce_block",
];

/// Noise custom_json ids that do not start with any configured token prefix.
pub(crate) fn noise_ids(prefixes: &[String]) -> Vec<&'static str> {
    CUSTOM_IDS
        .iter()
        .copied()
        .filter(|id| !prefixes.iter().any(|p| id.starts_with(p.as_str())))
        .collect()
}

/// Generates noise operations.
pub(crate) struct NoiseGen<'a> {
    pub(crate) custom_ids: &'a [&'static str],
    pub(crate) accounts: &'a [String],
}

impl NoiseGen<'_> {
    /// One noise transaction's operations.
    pub(crate) fn transaction(&self, rng: &mut ChaCha8Rng) -> Vec<Op> {
        let roll = rng.random_range(0..100);
        match roll {
            0..=39 => vec![self.vote(rng)],
            40..=54 => vec![self.transfer(rng)],
            55..=64 => vec![self.comment(rng)],
            _ if self.custom_ids.is_empty() => vec![self.vote(rng)],
            _ => vec![self.custom_json(rng)],
        }
    }

    fn user(&self, rng: &mut ChaCha8Rng) -> String {
        // Token holders are ordinary users too.
        if rng.random_bool(0.2) {
            pick(rng, self.accounts).clone()
        } else {
            pick(rng, USERS).to_string()
        }
    }

    fn permlink(rng: &mut ChaCha8Rng) -> String {
        let words = [
            "weekly-update",
            "my-garden",
            "hive-art",
            "podcast-ep",
            "splinterlands-battle",
        ];
        format!("{}-{:x}", pick(rng, &words), rng.random::<u32>())
    }

    fn vote(&self, rng: &mut ChaCha8Rng) -> Op {
        Op::Vote {
            voter: self.user(rng),
            author: self.user(rng),
            permlink: Self::permlink(rng),
            weight: rng.random_range(-2_000..=10_000),
        }
    }

    fn transfer(&self, rng: &mut ChaCha8Rng) -> Op {
        let symbol = if rng.random_bool(0.7) {
            Symbol::Hive
        } else {
            Symbol::Hbd
        };
        Op::Transfer {
            from: self.user(rng),
            to: self.user(rng),
            amount: Asset {
                satoshis: rng.random_range(1..=250_000),
                symbol,
            },
            memo: pick(rng, &["", "thanks", "deposit 1f3a", "payout"]).to_string(),
        }
    }

    fn comment(&self, rng: &mut ChaCha8Rng) -> Op {
        let author = self.user(rng);
        let reply = rng.random_bool(0.7);
        let permlink = Self::permlink(rng);
        Op::Comment {
            parent_author: if reply { self.user(rng) } else { String::new() },
            parent_permlink: if reply {
                Self::permlink(rng)
            } else {
                "hive-167922".into()
            },
            author,
            permlink,
            title: if reply {
                String::new()
            } else {
                "Weekly update".into()
            },
            body: pick(
                rng,
                &["Great post!", "!BEER", "Thanks for sharing", "Long text"],
            )
            .to_string(),
            json_metadata: json!({"app": "peakd/2025.7.1", "format": "markdown", "tags": ["hive"]})
                .to_string(),
        }
    }

    fn custom_json(&self, rng: &mut ChaCha8Rng) -> Op {
        let id = *pick(rng, self.custom_ids);
        let user = self.user(rng);
        let other = self.user(rng);
        let n: u32 = rng.random();
        let (active, payload) = match id {
            "ssc-mainnet-hive" => (
                true,
                json!({"contractName": "tokens", "contractAction": "transfer",
                       "contractPayload": {"symbol": "SWAP.HIVE", "to": other,
                                           "quantity": format!("{}.{:03}", n % 100, n % 1000),
                                           "memo": ""}}),
            ),
            "follow" => (
                false,
                json!(["follow", {"follower": user, "following": other, "what": ["blog"]}]),
            ),
            "pp_podcast_update" => (
                false,
                json!({"version": "1.1", "medium": "podcast", "reason": "update",
                       "iris": [format!("https://feeds.example.com/{n:x}.xml")]}),
            ),
            "community" => (false, json!(["subscribe", {"community": "hive-167922"}])),
            "vsc.produce_block" => (true, json!({"net_id": "vsc-mainnet", "signed_block": n})),
            _ => (
                false,
                json!({"app": "splinterlands/0.7.139", "token": "SPS", "qty": n % 50,
                       "n": format!("{n:x}")}),
            ),
        };
        let (required_auths, required_posting_auths) = if active {
            (vec![user], vec![])
        } else {
            (vec![], vec![user])
        };
        Op::CustomJson {
            required_auths,
            required_posting_auths,
            id: id.to_string(),
            json: payload.to_string(),
        }
    }
}
