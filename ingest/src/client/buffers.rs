//! Buffers for answer bodies, reused from one answer to the next.
//!
//! A range of 100 blocks is about 1 MB of JSON. With a fresh buffer for
//! each answer, malloc gave the pages of the last one back to the system
//! and the next faulted them in again, zeroed: in a profile of the bench's
//! catch-up that cost as much CPU as copying the bodies themselves. A kept
//! buffer's pages are already there.

use std::sync::Mutex;

use bytes::Bytes;

/// Buffers kept at most. More ranges than this may be in flight or in
/// decoding at once (read-ahead, several streams); the ones beyond it are
/// freed as before.
const KEPT: usize = 16;

/// Answers announced shorter than this (head polls, single blocks) get a
/// buffer of their own size and leave the kept ones to range answers.
const SMALLEST_KEPT: usize = 64 << 10;

/// A buffer larger than this is not kept, so one odd answer does not pin
/// its memory for the life of the process. It is also the most room
/// reserved ahead, whatever the answer's `Content-Length` says: a longer
/// body grows the buffer as it arrives, so a header alone cannot make the
/// client reserve more.
const LARGEST_KEPT: usize = 4 << 20;

/// The kept buffers.
#[derive(Debug, Default)]
pub(crate) struct BodyBuffers {
    kept: Mutex<Vec<Vec<u8>>>,
}

impl BodyBuffers {
    fn kept(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        // A push or a pop is a complete step.
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An empty buffer with room for `expected` bytes (an answer's
    /// `Content-Length`, when it gave one): a kept one for a range answer.
    pub(crate) fn take(&self, expected: Option<u64>) -> Vec<u8> {
        let expected = expected
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
            .min(LARGEST_KEPT);
        if expected < SMALLEST_KEPT {
            return Vec::with_capacity(expected);
        }
        let mut buffer = self.kept().pop().unwrap_or_default();
        buffer.reserve(expected);
        buffer
    }

    /// Keeps `body`'s buffer for a later answer, when nothing else holds
    /// it any more and it is not too large.
    pub(crate) fn give_back(&self, body: Bytes) {
        let Ok(mut body) = body.try_into_mut() else {
            return;
        };
        // Emptied first, so turning it back into a `Vec` moves no bytes.
        body.clear();
        let buffer = Vec::from(body);
        if buffer.capacity() < SMALLEST_KEPT || buffer.capacity() > LARGEST_KEPT {
            return;
        }
        let mut kept = self.kept();
        if kept.len() < KEPT {
            kept.push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::{BodyBuffers, LARGEST_KEPT, SMALLEST_KEPT};

    /// A body given back is the buffer the next answer is read into: same
    /// memory, emptied, its room kept.
    #[test]
    fn a_given_back_body_is_reused_emptied() {
        let buffers = BodyBuffers::default();
        let mut buffer = buffers.take(Some(SMALLEST_KEPT as u64));
        assert!(buffer.capacity() >= SMALLEST_KEPT);
        buffer.extend_from_slice(b"{\"result\":[]}");
        let at = buffer.as_ptr();
        buffers.give_back(Bytes::from(buffer));
        let again = buffers.take(Some(SMALLEST_KEPT as u64));
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty());
        assert!(again.capacity() >= SMALLEST_KEPT);
    }

    /// A body someone still holds, one too large and one too small are not
    /// kept; a small answer does not take a kept buffer.
    #[test]
    fn held_huge_or_small_bodies_are_not_kept() {
        let buffers = BodyBuffers::default();
        let mut buffer = buffers.take(Some(SMALLEST_KEPT as u64));
        buffer.extend_from_slice(b"abc");
        let body = Bytes::from(buffer);
        let held = body.clone();
        buffers.give_back(body);
        assert_eq!(buffers.kept().len(), 0);
        assert_eq!(&held[..], b"abc");
        buffers.give_back(Bytes::from(vec![0u8; LARGEST_KEPT + 1]));
        buffers.give_back(Bytes::from(vec![0u8; 100]));
        assert_eq!(buffers.kept().len(), 0);
        buffers.give_back(Bytes::from(Vec::<u8>::with_capacity(SMALLEST_KEPT)));
        assert_eq!(buffers.kept().len(), 1);
        let small = buffers.take(Some(1_000));
        assert!(small.capacity() < SMALLEST_KEPT);
        assert_eq!(
            buffers.kept().len(),
            1,
            "a head poll leaves the kept buffer alone"
        );
    }

    /// A `Content-Length` no memory could hold reserves no more than a
    /// kept buffer's largest size.
    #[test]
    fn an_absurd_length_reserves_a_bounded_room() {
        let buffers = BodyBuffers::default();
        let buffer = buffers.take(Some(u64::MAX));
        assert!(buffer.capacity() <= LARGEST_KEPT * 2);
    }
}
