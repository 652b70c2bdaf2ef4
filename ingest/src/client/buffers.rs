//! Buffers for answer bodies, reused from one answer to the next.
//!
//! A range of 100 blocks is about 1 MB of JSON. With a fresh buffer for
//! each answer, malloc gave the pages of the last one back to the system
//! and the next faulted them in again, zeroed: in a profile of the bench's
//! catch-up that cost as much CPU as copying the bodies themselves. A kept
//! buffer's pages are already there.

use std::sync::Mutex;

use bytes::Bytes;

/// Buffers kept at most: enough for the ranges in flight and in decoding.
const KEPT: usize = 16;

/// A buffer larger than this is not kept, so one odd answer does not pin
/// its memory for the life of the process.
const LARGEST_KEPT: usize = 4 << 20;

/// Space reserved ahead at most, whatever the answer's `Content-Length`
/// says; a longer body grows the buffer as it arrives.
const LARGEST_RESERVED: usize = 64 << 20;

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
    /// `Content-Length`, when it gave one).
    pub(crate) fn take(&self, expected: Option<u64>) -> Vec<u8> {
        let mut buffer = self.kept().pop().unwrap_or_default();
        let expected = expected.map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        buffer.reserve(expected.min(LARGEST_RESERVED));
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
        if buffer.capacity() == 0 || buffer.capacity() > LARGEST_KEPT {
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

    use super::{BodyBuffers, LARGEST_KEPT};

    /// A body given back is the buffer the next answer is read into: same
    /// memory, emptied, its room kept.
    #[test]
    fn a_given_back_body_is_reused_emptied() {
        let buffers = BodyBuffers::default();
        let mut buffer = buffers.take(Some(1000));
        assert!(buffer.capacity() >= 1000);
        buffer.extend_from_slice(b"{\"result\":[]}");
        let at = buffer.as_ptr();
        buffers.give_back(Bytes::from(buffer));
        let again = buffers.take(None);
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty());
        assert!(again.capacity() >= 1000);
    }

    /// A body someone still holds, or one too large, is not kept.
    #[test]
    fn held_or_huge_bodies_are_not_kept() {
        let buffers = BodyBuffers::default();
        let mut buffer = buffers.take(Some(100));
        buffer.extend_from_slice(b"abc");
        let body = Bytes::from(buffer);
        let held = body.clone();
        buffers.give_back(body);
        assert_eq!(buffers.kept().len(), 0);
        assert_eq!(&held[..], b"abc");
        buffers.give_back(Bytes::from(vec![0u8; LARGEST_KEPT + 1]));
        assert_eq!(buffers.kept().len(), 0);
    }

    /// A `Content-Length` no memory could hold reserves a bounded room.
    #[test]
    fn an_absurd_length_reserves_a_bounded_room() {
        let buffers = BodyBuffers::default();
        let buffer = buffers.take(Some(u64::MAX));
        assert!(buffer.capacity() <= super::LARGEST_RESERVED * 2);
    }
}
