//! A simulated Hive API node: a deterministic generated chain served over JSON-RPC, with forks and faults.
