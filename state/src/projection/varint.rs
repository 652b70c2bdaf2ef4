//! Unsigned LEB128 integers: seven bits a byte, low bits first, the high
//! bit set on every byte but the last.
//!
//! The per-account transfer index stores an account's figures with every
//! transfer it took part in, two entries a transfer, which makes it the
//! largest table of a projection. Most figures are small or zero, so
//! stored this way an entry's figures take about 8 bytes instead of 32.

use crate::projection::codec::DecodeError;

/// Most bytes a `u64` takes.
pub(crate) const MAX_LEN: usize = 10;

/// Appends `value` to `out` at `at`; returns the position after it.
/// `out` must have [`MAX_LEN`] bytes from `at`.
pub(crate) fn put(out: &mut [u8], mut at: usize, mut value: u64) -> usize {
    while value >= 0x80 {
        out[at] = (value as u8) | 0x80;
        value >>= 7;
        at += 1;
    }
    out[at] = value as u8;
    at + 1
}

/// Reads one value off the front of `bytes`; refuses a value that runs
/// past the end, is longer than a `u64`, or has superfluous zero bytes
/// (so every value has exactly one encoding).
pub(crate) fn take(bytes: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value: u64 = 0;
    for (i, &byte) in bytes.iter().enumerate().take(MAX_LEN) {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        if i == MAX_LEN - 1 && byte > 1 {
            return Err(DecodeError("varint overflows 64 bits"));
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            if byte == 0 && i > 0 {
                return Err(DecodeError("varint has a superfluous zero byte"));
            }
            *bytes = &bytes[i + 1..];
            return Ok(value);
        }
    }
    Err(DecodeError("varint runs past the record"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn encode(value: u64) -> Vec<u8> {
        let mut out = [0u8; MAX_LEN];
        let len = put(&mut out, 0, value);
        out[..len].to_vec()
    }

    #[test]
    fn known_encodings() {
        assert_eq!(encode(0), [0]);
        assert_eq!(encode(127), [0x7f]);
        assert_eq!(encode(128), [0x80, 0x01]);
        assert_eq!(encode(300), [0xac, 0x02]);
        assert_eq!(encode(u64::MAX).len(), MAX_LEN);
    }

    #[test]
    fn malformed_values_are_refused() {
        for bad in [
            &[][..],
            &[0x80],
            &[0x80, 0x00],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            &[0xff; 11],
        ] {
            let mut bytes = bad;
            assert!(take(&mut bytes).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn values_round_trip_and_leave_the_rest(value: u64, rest in proptest::collection::vec(any::<u8>(), 0..4)) {
            let mut bytes = encode(value);
            let len = bytes.len();
            bytes.extend_from_slice(&rest);
            let mut reading = &bytes[..];
            prop_assert_eq!(take(&mut reading), Ok(value));
            prop_assert_eq!(reading, &rest[..]);
            prop_assert!(len <= MAX_LEN);
        }

        #[test]
        fn any_bytes_decode_to_their_one_encoding_or_fail(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let mut reading = &bytes[..];
            if let Ok(value) = take(&mut reading) {
                let used = bytes.len() - reading.len();
                prop_assert_eq!(encode(value), bytes[..used].to_vec());
            }
        }
    }
}
