//! Where a JSON object or array ends, found 64 bytes at a time.
//!
//! A skipped transaction is a few hundred bytes of short strings. Crossing
//! each string with its own `memchr` call costs more in calls than in
//! bytes, so the scanner reads a chunk's [`ChunkMasks`] instead and works
//! out with bit arithmetic which bytes are escaped and which lie inside
//! strings (as simdjson does); only the brackets outside strings are then
//! looked at one by one, to match them.
//!
//! A backslash escapes the byte after it wherever it is. In JSON
//! backslashes only occur inside strings, so that is the same for every
//! valid text; an invalid one just ends somewhere else or not at all.

use super::chunk_masks::{prefetch_ahead, ChunkMasks};

/// Deepest nesting followed (serde_json stops at 128; blocks nest about 6 deep).
pub(crate) const MAX_DEPTH: u32 = 64;

/// Bits 0, 2, 4, ...
const EVEN_BITS: u64 = 0x5555_5555_5555_5555;

/// The index just past the object or array whose opening bracket is at
/// `bytes[start]`, its brackets matched by kind. `None` when they do not
/// match, nest deeper than [`MAX_DEPTH`], or the text ends first.
pub(crate) fn nested_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut chunk_start = start;
    // 1 when the previous chunk ended in an unfinished odd run of backslashes.
    let mut escape_carry = 0;
    // All ones when the previous chunk ended inside a string.
    let mut string_carry = 0;
    // One bit per open bracket, innermost lowest: 1 for `{`, 0 for `[`.
    let mut stack: u64 = 0;
    let mut depth: u32 = 0;
    // Only the last chunk can be short: spaces fill it out.
    let mut padded = [b' '; 64];
    while let Some(rest) = bytes.get(chunk_start..).filter(|rest| !rest.is_empty()) {
        let chunk = match rest.first_chunk::<64>() {
            Some(chunk) => chunk,
            None => {
                padded[..rest.len()].copy_from_slice(rest);
                &padded
            }
        };
        prefetch_ahead(chunk);
        let masks = ChunkMasks::of(chunk);
        let escaped = escaped_bytes(masks.backslashes, &mut escape_carry);
        let in_string = prefix_xor(masks.quotes & !escaped) ^ string_carry;
        string_carry = ((in_string as i64) >> 63) as u64;
        let mut brackets = (masks.opens | masks.closes) & !in_string;
        while brackets != 0 {
            let at = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            // `{` and `}` have bit 0x20 set, `[` and `]` do not.
            let object = chunk[at] & 0x20 != 0;
            if masks.opens >> at & 1 == 1 {
                if depth == MAX_DEPTH {
                    return None;
                }
                stack = (stack << 1) | u64::from(object);
                depth += 1;
            } else {
                if depth == 0 || (stack & 1 == 1) != object {
                    return None;
                }
                stack >>= 1;
                depth -= 1;
                if depth == 0 {
                    return Some(chunk_start + at + 1);
                }
            }
        }
        chunk_start += 64;
    }
    None
}

/// The bytes escaped by a backslash: those right after an odd-length run
/// of backslashes. `carry` links chunks: it says the first byte of this
/// chunk is escaped (1) and is set the same way for the next chunk.
///
/// A run's start is found as a backslash with no backslash before it.
/// Adding a run's start bit to the backslashes carries through the run and
/// sets the bit just after it; whether that bit's position has the same
/// parity as the start's tells whether the run was odd.
fn escaped_bytes(backslashes: u64, carry: &mut u64) -> u64 {
    if backslashes == 0 {
        return std::mem::take(carry);
    }
    let starts = backslashes & !(backslashes << 1);
    // A run continued from the last chunk has its parity flipped if the
    // part there was odd: treat its start here as being on an odd bit.
    let even_start_bits = EVEN_BITS ^ *carry;
    let even_starts = starts & even_start_bits;
    let odd_starts = starts & !even_start_bits;
    let even_carries = backslashes.wrapping_add(even_starts);
    let (odd_carries, overflow) = backslashes.overflowing_add(odd_starts);
    // An odd run left over from the last chunk escapes byte 0.
    let odd_carries = odd_carries | *carry;
    *carry = u64::from(overflow);
    let even_start_odd_end = even_carries & !backslashes & !EVEN_BITS;
    let odd_start_even_end = odd_carries & !backslashes & EVEN_BITS;
    even_start_odd_end | odd_start_even_end
}

/// Bit i is the XOR of bits 0..=i: between an opening quote (included)
/// and its closing quote (excluded), the bits are set.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{escaped_bytes, nested_end, prefix_xor, MAX_DEPTH};

    /// The same walk a byte at a time, with the same rule for backslashes.
    fn nested_end_bytewise(bytes: &[u8], start: usize) -> Option<usize> {
        let (mut in_string, mut escaped) = (false, false);
        let mut open: Vec<u8> = Vec::new();
        for (i, &byte) in bytes.iter().enumerate().skip(start) {
            if std::mem::take(&mut escaped) {
                if byte == b'\\' || byte == b'"' {
                    continue;
                }
            } else if byte == b'\\' {
                escaped = true;
                continue;
            } else if byte == b'"' {
                in_string = !in_string;
                continue;
            }
            if in_string {
                continue;
            }
            match byte {
                b'{' | b'[' => {
                    if open.len() == MAX_DEPTH as usize {
                        return None;
                    }
                    open.push(byte);
                }
                b'}' | b']' => {
                    let expected = if byte == b'}' { b'{' } else { b'[' };
                    if open.pop() != Some(expected) {
                        return None;
                    }
                    if open.is_empty() {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Text made mostly of what the walk looks at, with long plain runs
    /// now and then so that strings and runs cross chunk boundaries.
    fn arb_text() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => prop::sample::select(&b"{}[]\"\\:,a "[..]).prop_map(|b| vec![b]),
            1 => (1usize..80).prop_map(|n| vec![b'x'; n]),
            1 => (1usize..6).prop_map(|n| vec![b'\\'; n]),
        ];
        (
            prop::sample::select(&b"{["[..]),
            prop::collection::vec(piece, 0..120),
        )
            .prop_map(|(first, pieces)| {
                let mut text = vec![first];
                text.extend(pieces.into_iter().flatten());
                text
            })
    }

    proptest! {
        #[test]
        fn chunked_walk_ends_where_the_bytewise_walk_does(text in arb_text(), lead in 0usize..70) {
            let mut bytes = vec![b' '; lead];
            bytes.extend_from_slice(&text);
            prop_assert_eq!(nested_end(&bytes, lead), nested_end_bytewise(&bytes, lead));
        }

        #[test]
        fn escapes_carry_across_chunks(runs in prop::collection::vec((0u32..70, 1u32..6), 1..12)) {
            // Backslash runs separated by gaps, over several chunks.
            let mut bits = Vec::new();
            for (gap, run) in runs {
                bits.extend(std::iter::repeat_n(false, gap as usize));
                bits.extend(std::iter::repeat_n(true, run as usize));
            }
            bits.extend([false; 2]);
            let mut expected = vec![false; bits.len()];
            let mut run = 0;
            for (i, &backslash) in bits.iter().enumerate() {
                expected[i] = !backslash && run % 2 == 1;
                run = if backslash { run + 1 } else { 0 };
            }
            let mut carry = 0;
            for (c, chunk) in bits.chunks(64).enumerate() {
                let mask = chunk.iter().enumerate().fold(0u64, |m, (i, &b)| m | (u64::from(b) << i));
                let escaped = escaped_bytes(mask, &mut carry);
                for i in 0..chunk.len() {
                    prop_assert_eq!(escaped >> i & 1 == 1, expected[c * 64 + i], "byte {}", c * 64 + i);
                }
            }
        }
    }

    #[test]
    fn the_end_is_found_across_chunks_and_strings() {
        let long = "y".repeat(150);
        let text = format!(r#"{{"a":"{long}\"}}]","b":[1,{{"c":"\\"}}],"d":"{long}"}} tail"#);
        let end = text.len() - " tail".len();
        assert_eq!(nested_end(text.as_bytes(), 0), Some(end));
        assert_eq!(
            nested_end(text.as_bytes(), 0),
            nested_end_bytewise(text.as_bytes(), 0)
        );
    }

    #[test]
    fn mismatched_unfinished_and_too_deep_are_none() {
        for bad in ["{[}]", "[1,2", "{\"a\":\"}\"", "[\"\\\"]\""] {
            assert_eq!(nested_end(bad.as_bytes(), 0), None, "{bad:?}");
        }
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        assert_eq!(nested_end(deep.as_bytes(), 0), None);
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(nested_end(ok.as_bytes(), 0), Some(128));
    }

    #[test]
    fn prefix_xor_fills_between_quotes() {
        assert_eq!(prefix_xor(0b0100_0010), 0b0011_1110);
        // An odd count leaves the rest of the chunk inside a string.
        assert_eq!(prefix_xor(0b1001_0010), 0xFFFF_FFFF_FFFF_FF8E);
        assert_eq!(prefix_xor(1 << 63), 1 << 63);
        assert_eq!(prefix_xor(1), u64::MAX);
    }
}
