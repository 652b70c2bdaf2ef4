//! Hive JSON-RPC client, block decoding, routing of custom_json ops to tokens, and the ingest pipeline.
