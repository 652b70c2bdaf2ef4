//! [`AppContext`]: what every route reads (the catalog), writes through (the
//! [`Control`]) and checks (the admin token), plus the built GraphQL schemas.

use std::num::NonZeroU32;
use std::sync::Arc;

use state::projection::Projection;
use state::{Catalog, TokenEntry};

use crate::control::Control;
use crate::custom::Custom;
use crate::error::ApiError;
use crate::graphql::{self, GlobalSchema, TokenSchema};
use crate::limit::Limiter;
use crate::metrics;
use crate::versions::CustomDirError;

/// Everything the HTTP application needs; cheap to clone.
#[derive(Clone)]
pub struct AppContext {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) control: Arc<dyn Control>,
    pub(crate) admin_token: Option<Arc<str>>,
    pub(crate) token_schema: TokenSchema,
    pub(crate) global_schema: GlobalSchema,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) custom: Arc<Custom>,
}

impl AppContext {
    /// A context serving `catalog`, writing the registry through `control`.
    /// `admin_token` is the bearer token registry writes need; `None` (or an
    /// empty string) refuses every write. Installs the process-wide
    /// Prometheus recorder if nobody has yet.
    pub fn new(
        catalog: Arc<Catalog>,
        control: Arc<dyn Control>,
        admin_token: Option<String>,
    ) -> Self {
        metrics::install_recorder();
        AppContext {
            global_schema: graphql::global_schema(catalog.clone()),
            token_schema: graphql::token_schema(),
            catalog,
            control,
            admin_token: admin_token.filter(|t| !t.is_empty()).map(Arc::from),
            limiter: None,
            custom: Arc::new(Custom::in_memory()),
        }
    }

    /// Keeps BYO schemas and API scripts, every version, under `dir`
    /// (`<dir>/<SYMBOL>/schema/v<N>.graphql`, `<dir>/<SYMBOL>/api/v<N>.rhai`,
    /// each with an `active` pointer) and serves the active ones stored
    /// there. Without it they are kept in memory and lost on restart.
    pub fn with_custom_dir(mut self, dir: &std::path::Path) -> Result<Self, CustomDirError> {
        self.custom = Arc::new(Custom::load(dir)?);
        Ok(self)
    }

    /// Limits each client IP to `per_second` requests per second with
    /// bursts of `burst`; above it requests get 429 `RATE_LIMITED` with
    /// `Retry-After`.
    /// `/health`, `/ready` and `/metrics` are never limited. Off by default.
    pub fn with_rate_limit(mut self, per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let limiter = self.limiter.take().unwrap_or_default();
        self.limiter = Some(limiter.with_ip(per_second, burst));
        self
    }

    /// Limits each token (`/:token/...`, `/namespaces/:ns/...`) to
    /// `per_second` requests per second with bursts of `burst`, whoever
    /// asks; above it requests get 429 `RATE_LIMITED` with `Retry-After`.
    /// Off by default; independent of [`AppContext::with_rate_limit`].
    pub fn with_token_rate_limit(mut self, per_second: NonZeroU32, burst: NonZeroU32) -> Self {
        let limiter = self.limiter.take().unwrap_or_default();
        self.limiter = Some(limiter.with_token(per_second, burst));
        self
    }

    /// The token, or 404 `TOKEN_NOT_FOUND`.
    pub(crate) fn entry(&self, symbol: &str) -> Result<Arc<TokenEntry>, ApiError> {
        self.catalog
            .get(symbol)
            .ok_or_else(|| ApiError::token_not_found(symbol))
    }

    /// The token and its projection, or 404 / 503 `TOKEN_BUSY`.
    pub(crate) fn open(&self, symbol: &str) -> Result<(Arc<TokenEntry>, Projection), ApiError> {
        let entry = self.entry(symbol)?;
        let projection = open_projection(&entry)?;
        Ok((entry, projection))
    }
}

/// The entry's projection, or 503 `TOKEN_BUSY` while it is being swapped.
pub(crate) fn open_projection(entry: &TokenEntry) -> Result<Projection, ApiError> {
    entry
        .projection()
        .ok_or_else(|| ApiError::token_busy(&entry.symbol()))
}
