//! Decode worker threads: raw range bodies in, decoded blocks out.

use std::sync::Arc;

use bytes::Bytes;
use crossbeam_channel::{Receiver, Sender};
use tokio::sync::oneshot;

use crate::decode::{self, DecodeError, DecodedBlock, OpFilter};
use crate::IngestError;

struct Job {
    body: Bytes,
    start: u64,
    count: u32,
    filter: Arc<OpFilter>,
    reply: oneshot::Sender<Result<Vec<DecodedBlock>, DecodeError>>,
}

/// Decoding is CPU work (a 100-block range is about 1 MB of JSON), so it runs
/// on its own threads and keeps the async runtime free for I/O. The threads
/// end when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct DecodePool {
    jobs: Sender<Job>,
}

impl DecodePool {
    pub(crate) fn start(workers: usize) -> Result<Self, IngestError> {
        // Unbounded is safe: each token stream has at most `ranges_in_flight`
        // jobs queued, and a bounded send could block an async worker thread.
        let (jobs, queue) = crossbeam_channel::unbounded::<Job>();
        for i in 0..workers.max(1) {
            let queue: Receiver<Job> = queue.clone();
            std::thread::Builder::new()
                .name(format!("ingest-decode-{i}"))
                .spawn(move || {
                    for job in queue.iter() {
                        let decoded = decode::block_range_response(
                            &job.body,
                            job.start,
                            job.count,
                            &job.filter,
                        );
                        // Let go of the body before answering, so the
                        // requester holds the only reference and can reuse it.
                        drop(job.body);
                        // The requester may have given up (stop); nothing to do then.
                        let _ = job.reply.send(decoded);
                    }
                })
                .map_err(|e| IngestError::Internal(format!("cannot start a decode thread: {e}")))?;
        }
        Ok(DecodePool { jobs })
    }

    /// Decodes and checks a `get_block_range` body for blocks `start..start + count`.
    pub(crate) async fn decode(
        &self,
        body: Bytes,
        start: u64,
        count: u32,
        filter: Arc<OpFilter>,
    ) -> Result<Result<Vec<DecodedBlock>, DecodeError>, IngestError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            body,
            start,
            count,
            filter,
            reply,
        };
        self.jobs
            .send(job)
            .map_err(|_| IngestError::Internal("the decode threads are gone".into()))?;
        answer
            .await
            .map_err(|_| IngestError::Internal("a decode thread stopped mid-job".into()))
    }
}
