//! GraphQL types shared by the per-token and the cross-token schema:
//! `Token`, `Features`, `Meta`, connections and the error conversion.

use std::sync::Arc;

use async_graphql::{ErrorExtensions, Object, SimpleObject};
use state::amount::format_amount;
use state::{TokenConfig, TokenEntry};

use crate::context::open_projection;
use crate::error::ApiError;
use crate::reads;
use crate::views::{AccountView, TransferView};

/// An API error as a GraphQL error whose `extensions.code` is the API code.
pub(crate) fn gql_error(e: ApiError) -> async_graphql::Error {
    let code = e.code;
    async_graphql::Error::new(e.message).extend_with(|_, ext| ext.set("code", code))
}

pub(crate) type GqlResult<T> = Result<T, async_graphql::Error>;

/// A token: its definition, totals and status.
pub(crate) struct TokenObj {
    pub(crate) entry: Arc<TokenEntry>,
    pub(crate) config: TokenConfig,
}

impl TokenObj {
    pub(crate) fn new(entry: Arc<TokenEntry>) -> Self {
        let config = entry.config();
        TokenObj { entry, config }
    }

    fn meta(&self) -> GqlResult<state::projection::Meta> {
        let projection = open_projection(&self.entry).map_err(gql_error)?;
        projection
            .meta()
            .map_err(|e| gql_error(ApiError::from_state(e)))
    }
}

/// Which operations a token allows.
#[derive(SimpleObject)]
#[graphql(name = "Features")]
pub(crate) struct FeaturesView {
    transfers: bool,
    balances: bool,
    staking: bool,
    rewards: bool,
}

#[Object(name = "Token")]
impl TokenObj {
    /// Upper-case symbol.
    async fn symbol(&self) -> &str {
        &self.config.symbol
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.config.name
    }

    /// Free text.
    async fn description(&self) -> &str {
        &self.config.description
    }

    /// `@` plus the account that runs the token.
    async fn contract_address(&self) -> &str {
        &self.config.contract_address
    }

    /// Decimals of the formatted amounts.
    async fn decimals(&self) -> u8 {
        self.config.decimals
    }

    /// custom_json id prefix of the token's operations.
    async fn op_prefix(&self) -> &str {
        &self.config.op_prefix
    }

    /// First block whose operations count.
    async fn start_block(&self) -> u64 {
        self.config.start_block
    }

    /// Blocks between power-down installments.
    async fn power_down_interval(&self) -> u64 {
        self.config.power_down_interval
    }

    /// Allowed operations.
    async fn features(&self) -> FeaturesView {
        let f = &self.config.features;
        FeaturesView {
            transfers: f.transfers,
            balances: f.balances,
            staking: f.staking,
            rewards: f.rewards,
        }
    }

    /// Sum of `balance + power`, formatted.
    async fn supply(&self) -> GqlResult<String> {
        Ok(format_amount(self.meta()?.supply, self.config.decimals))
    }

    /// Sum of `balance + power` in base units.
    async fn supply_raw(&self) -> GqlResult<String> {
        Ok(self.meta()?.supply.to_string())
    }

    /// Accounts with `balance + power > 0`.
    async fn holders(&self) -> GqlResult<u64> {
        Ok(self.meta()?.holders)
    }

    /// Log records applied.
    async fn log_length(&self) -> GqlResult<u64> {
        Ok(self.meta()?.log_records)
    }

    /// `backfilling`, `live`, `rolling_back` or `failed`.
    async fn status(&self) -> &'static str {
        self.entry.status().0.as_str()
    }

    /// Why the token failed, when `status` is `failed`.
    async fn error(&self) -> Option<String> {
        self.entry.status().1
    }

    /// One account of this token (zeros when unknown).
    async fn account(&self, name: String) -> GqlResult<AccountView> {
        let projection = open_projection(&self.entry).map_err(gql_error)?;
        reads::account(&self.entry, &projection, &name).map_err(gql_error)
    }
}

/// A page's position.
#[derive(SimpleObject)]
pub(crate) struct PageInfo {
    pub(crate) has_next_page: bool,
    /// Pass as `after` to get the next page; null on the last page.
    pub(crate) end_cursor: Option<String>,
}

impl PageInfo {
    pub(crate) fn new(next: Option<String>) -> Self {
        PageInfo {
            has_next_page: next.is_some(),
            end_cursor: next,
        }
    }
}

/// A page of the rich list.
#[derive(SimpleObject)]
pub(crate) struct AccountConnection {
    pub(crate) nodes: Vec<AccountView>,
    pub(crate) page_info: PageInfo,
}

/// A page of transfers, newest first.
#[derive(SimpleObject)]
pub(crate) struct TransferConnection {
    pub(crate) nodes: Vec<TransferView>,
    pub(crate) page_info: PageInfo,
}

/// A block reference.
#[derive(SimpleObject)]
#[graphql(name = "Block")]
pub(crate) struct BlockView {
    pub(crate) number: u64,
    pub(crate) hash: String,
    pub(crate) timestamp: String,
}

/// Where the token's projection stands.
#[derive(SimpleObject)]
#[graphql(name = "Meta")]
pub(crate) struct MetaView {
    /// Last block applied; null before the first.
    pub(crate) block: Option<BlockView>,
    pub(crate) irreversible_block: u64,
    /// Head block the token follows.
    pub(crate) target_block: u64,
    pub(crate) state_hash: String,
    pub(crate) log_length: u64,
    pub(crate) status: &'static str,
    pub(crate) error: Option<String>,
}
