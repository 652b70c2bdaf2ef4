//! A response body of a few byte buffers (an envelope around a rendered
//! array), handed to hyper one by one rather than joined first: on a
//! socket that takes vectored writes hyper writes them as they lie.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The buffers still to write, in order.
pub(crate) struct Pieces(VecDeque<Bytes>);

impl Pieces {
    /// A body of `pieces`, in order.
    pub(crate) fn new(pieces: impl IntoIterator<Item = Bytes>) -> Pieces {
        Pieces(pieces.into_iter().collect())
    }
}

impl Body for Pieces {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|piece| Ok(Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    /// Exact, so that hyper sends a `Content-Length` rather than chunks.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|piece| piece.len() as u64).sum())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use hyper::body::Body;

    use super::Pieces;

    /// Frame by frame, as hyper reads it: the pieces in order, the length
    /// left exact after each, the end announced only after the last.
    #[tokio::test]
    async fn the_pieces_come_in_order_with_the_exact_length_left() {
        let mut body = Pieces::new([
            Bytes::from_static(b"{\"a\":"),
            Bytes::from_static(b"[1,2]"),
            Bytes::from_static(b"}"),
        ]);
        let mut joined = Vec::new();
        for left in [6, 1, 0] {
            assert!(!body.is_end_stream());
            let frame = body.frame().await.expect("a frame").expect("no error");
            joined.extend_from_slice(&frame.into_data().expect("a data frame"));
            assert_eq!(body.size_hint().exact(), Some(left));
        }
        assert!(body.is_end_stream());
        assert!(body.frame().await.is_none());
        assert_eq!(joined, b"{\"a\":[1,2]}");
    }
}
