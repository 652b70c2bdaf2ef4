//! Deterministic derivation of seeds, ids and random streams from blake3.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A 20-byte Hive id (block id or transaction id).
pub(crate) type Id20 = [u8; 20];

/// Hashes labelled parts: the label keeps different derivations apart.
pub(crate) fn derive(label: &str, parts: &[&[u8]]) -> [u8; 32] {
    let mut h = blake3::Hasher::new();
    h.update(label.as_bytes());
    for p in parts {
        // Length-prefix each part so concatenations cannot collide.
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    *h.finalize().as_bytes()
}

/// A block id: the block number in its first 4 bytes (as Hive does), then 16 hash bytes.
pub(crate) fn block_id(num: u64, tail: &[u8; 32]) -> Id20 {
    let mut id = [0u8; 20];
    id[..4].copy_from_slice(&(num as u32).to_be_bytes());
    id[4..].copy_from_slice(&tail[..16]);
    id
}

/// First 20 bytes of a digest.
pub(crate) fn id20(digest: &[u8; 32]) -> Id20 {
    let mut id = [0u8; 20];
    id.copy_from_slice(&digest[..20]);
    id
}

/// `n` pseudo-random bytes as lowercase hex (signatures, keys material).
pub(crate) fn hex_xof(label: &str, input: &[u8], bytes: usize) -> String {
    let mut h = blake3::Hasher::new();
    h.update(label.as_bytes());
    h.update(input);
    let mut out = vec![0u8; bytes];
    h.finalize_xof().fill(&mut out);
    hex::encode(out)
}

/// A made-up compact signature: 65 bytes whose first is a recovery id (0x1f or 0x20),
/// so it reads like Hive's.
pub(crate) fn signature(label: &str, input: &[u8]) -> String {
    let body = hex_xof(label, input, 64);
    let recovery = if body.as_bytes()[0] < b'8' {
        "1f"
    } else {
        "20"
    };
    format!("{recovery}{body}")
}

/// A random stream seeded by a digest.
pub(crate) fn rng(seed: [u8; 32]) -> ChaCha8Rng {
    ChaCha8Rng::from_seed(seed)
}
