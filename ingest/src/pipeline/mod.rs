//! The ingest pipeline: head polling, per-token streams, fetching, decode
//! workers, routing and batching.

pub(crate) mod apply;
pub(crate) mod confirm;
pub(crate) mod disk;
pub(crate) mod fetch;
pub(crate) mod fork;
pub(crate) mod heads;
pub(crate) mod parts;
pub(crate) mod recent;
pub(crate) mod records;
pub(crate) mod reorg;
pub(crate) mod rollback;
pub(crate) mod routes;
pub(crate) mod shared;
pub(crate) mod slot;
pub(crate) mod stream;
pub(crate) mod workers;
