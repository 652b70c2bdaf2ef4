//! The ingest pipeline: head polling, per-token streams, fetching, decode
//! workers, routing and batching.

pub(crate) mod fetch;
pub(crate) mod heads;
pub(crate) mod recent;
pub(crate) mod records;
pub(crate) mod routes;
pub(crate) mod slot;
pub(crate) mod stream;
pub(crate) mod workers;
