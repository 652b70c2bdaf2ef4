//! HTTP serving: REST, per-token GraphQL, registry and admin routes, health and metrics.
