//! Which bytes of a 64-byte chunk of JSON text matter to its structure, as
//! bit masks (bit i stands for byte i), so that the scanner can follow
//! strings and brackets a chunk at a time instead of a byte at a time.
//!
//! On x86_64 the masks come from SSE2 compares (16 bytes per instruction,
//! part of every x86_64 processor); elsewhere from a byte loop that gives
//! the same masks.
//!
//! Read this fast, a body is consumed quicker than the processor's own
//! prefetcher brings it in from memory (it stops at every 4 KB page), so
//! the reader also asks for the bytes a few pages ahead
//! ([`prefetch_ahead`]).

/// The quotes, backslashes and brackets of one chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ChunkMasks {
    /// `"`.
    pub(crate) quotes: u64,
    /// `\`.
    pub(crate) backslashes: u64,
    /// `{` and `[`.
    pub(crate) opens: u64,
    /// `}` and `]`.
    pub(crate) closes: u64,
}

/// Setting bit 0x20 folds `[` (0x5B) onto `{` (0x7B) and `]` (0x5D) onto
/// `}` (0x7D), and no other byte onto either, so one compare finds both
/// kinds of bracket.
const FOLD: u8 = 0x20;

impl ChunkMasks {
    /// The masks of `chunk`.
    pub(crate) fn of(chunk: &[u8; 64]) -> Self {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            // SAFETY: `sse2::masks` only needs SSE2, and this branch is only
            // compiled for targets that have it (every x86_64 does).
            #[allow(unsafe_code)]
            unsafe {
                sse2::masks(chunk)
            }
        }
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        {
            bytewise(chunk)
        }
    }
}

/// How far past the chunk being read [`prefetch_ahead`] asks for bytes.
/// Measured on figure 1 (bodies that are no longer in the cache): no
/// prefetch 3.7-3.9x serde, 256 bytes ahead 4.1-4.5x, 1024 4.9x, 4096 5.0x.
const PREFETCH_AHEAD: usize = 4096;

/// Asks the processor to start loading the bytes [`PREFETCH_AHEAD`] past
/// `chunk` into the cache, for a reader going forward through a body. A
/// hint only: nothing is read into the program, and an address past the
/// end of the body is ignored.
pub(crate) fn prefetch_ahead(chunk: &[u8; 64]) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // Only an address is made (wrapping_add never dereferences).
        let ahead = chunk.as_ptr().wrapping_add(PREFETCH_AHEAD).cast::<i8>();
        // SAFETY: a prefetch never faults and never reads into the program,
        // whatever the address (it is dropped if the page is not mapped);
        // it needs SSE, which this branch is only compiled with.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(ahead);
        }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = chunk;
}

/// The masks, a byte at a time: the fallback off x86_64, and what the
/// SSE2 masks are tested against.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2", not(test)),
    allow(dead_code)
)]
fn bytewise(chunk: &[u8; 64]) -> ChunkMasks {
    let mut masks = ChunkMasks::default();
    for (i, &byte) in chunk.iter().enumerate() {
        let bit = 1u64 << i;
        match byte | FOLD {
            b'{' => masks.opens |= bit,
            b'}' => masks.closes |= bit,
            _ => {}
        }
        match byte {
            b'"' => masks.quotes |= bit,
            b'\\' => masks.backslashes |= bit,
            _ => {}
        }
    }
    masks
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_set_epi64x,
    };

    use super::{ChunkMasks, FOLD};

    /// Sixteen bytes in a register (the compiler makes this one unaligned load).
    #[target_feature(enable = "sse2")]
    fn load(bytes: &[u8; 16]) -> __m128i {
        let bits = u128::from_le_bytes(*bytes);
        // The halves, as the two signed lanes the intrinsic takes.
        _mm_set_epi64x((bits >> 64) as u64 as i64, bits as u64 as i64)
    }

    /// Bit i set where byte i of `v` is `byte`.
    #[target_feature(enable = "sse2")]
    fn equal(v: __m128i, byte: u8) -> u64 {
        let lanes = _mm_cmpeq_epi8(v, _mm_set1_epi8(i8::from_ne_bytes([byte])));
        // movemask fills the low 16 bits only.
        u64::from(_mm_movemask_epi8(lanes) as u16)
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn masks(chunk: &[u8; 64]) -> ChunkMasks {
        let fold = _mm_set1_epi8(i8::from_ne_bytes([FOLD]));
        let mut masks = ChunkMasks::default();
        let (parts, _) = chunk.as_chunks::<16>();
        for (i, part) in parts.iter().enumerate() {
            let shift = 16 * i;
            let v = load(part);
            let folded = _mm_or_si128(v, fold);
            masks.quotes |= equal(v, b'"') << shift;
            masks.backslashes |= equal(v, b'\\') << shift;
            masks.opens |= equal(folded, b'{') << shift;
            masks.closes |= equal(folded, b'}') << shift;
        }
        masks
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{bytewise, ChunkMasks};

    /// Bytes that are mostly the ones the masks pick out, and their
    /// neighbours under the bracket fold.
    fn arb_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            prop::sample::select(&b"\"\\{}[]{}[]\x5b\x7b\x5d\x7d\x3b\x1b;:,a "[..]),
            any::<u8>(),
        ]
    }

    proptest! {
        #[test]
        fn the_masks_mark_exactly_their_bytes(chunk in prop::array::uniform32(arb_byte()), tail in prop::array::uniform32(arb_byte())) {
            let mut bytes = [0u8; 64];
            bytes[..32].copy_from_slice(&chunk);
            bytes[32..].copy_from_slice(&tail);
            let masks = ChunkMasks::of(&bytes);
            prop_assert_eq!(masks, bytewise(&bytes));
            for (i, &byte) in bytes.iter().enumerate() {
                let at = |mask: u64| mask >> i & 1 == 1;
                prop_assert_eq!(at(masks.quotes), byte == b'"');
                prop_assert_eq!(at(masks.backslashes), byte == b'\\');
                prop_assert_eq!(at(masks.opens), byte == b'{' || byte == b'[');
                prop_assert_eq!(at(masks.closes), byte == b'}' || byte == b']');
            }
        }
    }
}
