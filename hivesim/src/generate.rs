//! Regenerates a block's body from its header: a pure function of the content seed.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::chain::Header;
use crate::hash;
use crate::model::{Block, Trx};
use crate::noise::{self, NoiseGen};
use crate::timefmt;
use crate::tokens::TokenGen;

/// Top-21 witnesses, scheduled round-robin by block number.
const WITNESSES: &[&str] = &[
    "smooth.witness",
    "gtg",
    "blocktrades",
    "arcange",
    "good-karma",
    "ausbitbank",
    "themarkymark",
    "roelandp",
    "emrebeyler",
    "yabapmatt",
    "stoodkev",
    "quochuy",
    "deathwing",
    "therealwolf",
    "someguy123",
    "guiltyparties",
    "steempeak",
    "engrave",
    "followbtcnews",
    "cervantes",
    "ocd-witness",
];

const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Everything block generation needs besides the header.
pub(crate) struct Generator {
    first_block: u64,
    prefixes: Vec<String>,
    accounts: Vec<String>,
    noise_ids: Vec<&'static str>,
    token_ops_per_block: f64,
    noise_trx_per_block: f64,
}

impl Generator {
    pub(crate) fn new(
        first_block: u64,
        prefixes: Vec<String>,
        accounts: Vec<String>,
        token_ops_per_block: f64,
        noise_trx_per_block: f64,
    ) -> Generator {
        let noise_ids = noise::noise_ids(&prefixes);
        Generator {
            first_block,
            prefixes,
            accounts,
            noise_ids,
            token_ops_per_block,
            noise_trx_per_block,
        }
    }

    /// The block a header stands for.
    pub(crate) fn block(&self, h: &Header) -> Block {
        let mut rng = hash::rng(h.content_seed);
        let timestamp = timefmt::block_time(self.first_block, h.num);

        let noise = NoiseGen {
            custom_ids: &self.noise_ids,
            accounts: &self.accounts,
        };
        let mut bodies: Vec<_> = (0..poisson(&mut rng, self.noise_trx_per_block))
            .map(|_| noise.transaction(&mut rng))
            .collect();

        if !self.prefixes.is_empty() {
            let tokens = TokenGen {
                prefixes: &self.prefixes,
                accounts: &self.accounts,
            };
            let mut left = poisson(&mut rng, self.token_ops_per_block);
            while left > 0 {
                let mut ops = tokens.transaction(&mut rng);
                ops.truncate(left);
                left -= ops.len();
                let at = rng.random_range(0..=bodies.len());
                bodies.insert(at, ops);
            }
        }

        let ref_block_num = (h.num.wrapping_sub(1) & 0xffff) as u16;
        let ref_block_prefix =
            u32::from_le_bytes([h.previous[4], h.previous[5], h.previous[6], h.previous[7]]);
        let transactions: Vec<Trx> = bodies
            .into_iter()
            .enumerate()
            .map(|(i, operations)| {
                let id = hash::id20(&hash::derive(
                    "hivesim trx",
                    &[&h.content_seed, &(i as u64).to_le_bytes()],
                ));
                Trx {
                    id,
                    ref_block_num,
                    ref_block_prefix,
                    expiration: timestamp + rng.random_range(60..=600),
                    operations,
                    signatures: vec![hash::signature("hivesim trx signature", &id)],
                }
            })
            .collect();

        let witness = Self::witness(h.num);
        Block {
            num: h.num,
            id: h.id,
            previous: h.previous,
            timestamp,
            witness,
            signing_key: signing_key(witness),
            witness_signature: hash::signature("hivesim witness signature", &h.id),
            transaction_merkle_root: merkle_root(&transactions),
            transactions,
        }
    }

    /// The witness scheduled for block `num` (used by the global properties).
    pub(crate) fn witness(num: u64) -> &'static str {
        WITNESSES[(num % WITNESSES.len() as u64) as usize]
    }
}

/// A made-up but stable `STM...` public key per witness.
fn signing_key(witness: &str) -> String {
    let digest = hash::derive("hivesim signing key", &[witness.as_bytes()]);
    let mut key = String::from("STM");
    let mut rng = hash::rng(digest);
    for _ in 0..50 {
        key.push(BASE58[rng.random_range(0..BASE58.len())] as char);
    }
    key
}

fn merkle_root(transactions: &[Trx]) -> String {
    if transactions.is_empty() {
        return "0".repeat(40);
    }
    let ids: Vec<&[u8]> = transactions.iter().map(|t| &t.id[..]).collect();
    hex::encode(hash::id20(&hash::derive("hivesim merkle", &ids)))
}

/// A Poisson-distributed count with the given mean (normal approximation above 30).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> usize {
    if !mean.is_finite() || mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
        return (mean + z * mean.sqrt()).round().max(0.0) as usize;
    }
    let limit = (-mean).exp();
    let mut product: f64 = rng.random();
    let mut count = 0;
    while product > limit {
        count += 1;
        product *= rng.random::<f64>();
    }
    count
}
