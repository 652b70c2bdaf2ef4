//! GraphQL types shared by the per-token and the cross-token schema:
//! `Token`, `Features`, `Meta`, connections and the error conversion.

use std::sync::Arc;

use async_graphql::{ErrorExtensions, Object, SimpleObject};
use state::amount::format_amount;
use state::projection::Projection;
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

/// A block-number argument: a negative one is 400 `INVALID_PARAMETER`.
pub(crate) fn block_arg(name: &str, value: Option<i64>) -> GqlResult<Option<u64>> {
    value
        .map(|v| {
            u64::try_from(v).map_err(|_| {
                gql_error(ApiError::bad_request(
                    "INVALID_PARAMETER",
                    format!("`{name}` must be a block number, got {v}"),
                ))
            })
        })
        .transpose()
}

/// A token: its definition, totals and status; with `at`, totals and
/// accounts as they were after that block.
pub(crate) struct TokenObj {
    pub(crate) entry: Arc<TokenEntry>,
    pub(crate) config: Arc<TokenConfig>,
    pub(crate) at: Option<u64>,
}

impl TokenObj {
    pub(crate) fn new(entry: Arc<TokenEntry>) -> Self {
        let config = entry.shared_config();
        TokenObj {
            entry,
            config,
            at: None,
        }
    }

    /// The token as of block `at` (the caller checked the block is available).
    pub(crate) fn at(entry: Arc<TokenEntry>, at: u64) -> Self {
        TokenObj {
            at: Some(at),
            ..TokenObj::new(entry)
        }
    }

    fn meta(&self) -> GqlResult<state::projection::Meta> {
        let projection = open_projection(&self.entry).map_err(gql_error)?;
        projection
            .meta()
            .map_err(|e| gql_error(ApiError::from_state(e)))
    }

    fn supply_and_holders(&self) -> GqlResult<(u128, u64)> {
        let projection = open_projection(&self.entry).map_err(gql_error)?;
        reads::supply(&projection, self.at).map_err(gql_error)
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

    /// Sum of `balance + power`, formatted (after `token(block:)`'s block if given).
    async fn supply(&self) -> GqlResult<String> {
        let (supply, _) = self.supply_and_holders()?;
        Ok(format_amount(supply, self.config.decimals))
    }

    /// Sum of `balance + power` in base units.
    async fn supply_raw(&self) -> GqlResult<String> {
        Ok(self.supply_and_holders()?.0.to_string())
    }

    /// Accounts with `balance + power > 0`.
    async fn holders(&self) -> GqlResult<u64> {
        Ok(self.supply_and_holders()?.1)
    }

    /// The block `supply`, `holders` and `account` are at: the one asked
    /// for, else the last applied (null before the first).
    async fn block(&self) -> GqlResult<Option<u64>> {
        match self.at {
            Some(at) => Ok(Some(at)),
            None => Ok(self.meta()?.cursor.map(|c| c.num)),
        }
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

    /// One account of this token (zeros when unknown), as of `block` if
    /// given, else as of the token's block.
    async fn account(&self, name: String, block: Option<i64>) -> GqlResult<AccountView> {
        let block = block_arg("block", block)?.or(self.at);
        let projection = open_projection(&self.entry).map_err(gql_error)?;
        reads::account(&self.entry, &projection, &name, block).map_err(gql_error)
    }

    /// Where the token's projection stands (as the per-token `_meta`).
    #[graphql(name = "_meta")]
    async fn meta_field(&self) -> GqlResult<MetaView> {
        let projection = open_projection(&self.entry).map_err(gql_error)?;
        MetaView::read(&self.entry, &projection)
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

/// Where the token's projection stands, in the manner of graph-node's `_meta`.
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
    /// Earliest block a `block:` argument may ask for.
    pub(crate) earliest_block: u64,
}

impl MetaView {
    pub(crate) fn read(entry: &TokenEntry, projection: &Projection) -> GqlResult<MetaView> {
        let meta = projection
            .meta()
            .map_err(|e| gql_error(ApiError::from_state(e)))?;
        let (status, error) = entry.status();
        let (target_block, irreversible_block) = entry.chain_heads();
        Ok(MetaView {
            block: meta.cursor.map(|c| BlockView {
                number: c.num,
                hash: c.id,
                timestamp: c.timestamp,
            }),
            irreversible_block,
            target_block,
            state_hash: meta.state_hash,
            log_length: meta.log_records,
            status: status.as_str(),
            error,
            earliest_block: meta.earliest_block,
        })
    }
}
