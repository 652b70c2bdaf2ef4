//! Subscription root of the per-token schema, served over WebSocket at
//! `/:token/graphql/ws` (see `ws`).
//!
//! Every stream is driven by the token's bus of commit events
//! ([`state::TokenEvent`]), which the writer publishes only after a change
//! is durable: a subscription never reports a value before its block is
//! committed, and it reads that value from the projection, not from the
//! event.
//!
//! - `blocks`: one `HEAD` per committed batch (its last block), one
//!   `IRREVERSIBLE` when committed head blocks become final, one `REORG`
//!   (with `depth`) when the projection goes back.
//! - `transfers(account)`: the account's transfers of each committed
//!   batch, oldest first; a `Reorg` item when the projection goes back,
//!   after which transfers above `Reorg.toBlock` are void and the
//!   corrected ones follow as the new blocks commit.
//! - `account(name)`: the current figures on subscribe, then the figures
//!   whenever a committed batch changes them, and always once after a reorg
//!   (the corrected value).
//!
//! A subscription that falls more than [`state::events::EVENT_BUFFER`]
//! events behind cannot be delivered correctly any more: it trips the
//! connection's [`SlowClient`] and the connection is closed (see `ws`).

use std::sync::Arc;

use async_graphql::{Context, Enum, SimpleObject, Subscription, Union};
use futures_util::stream::{self, Stream, StreamExt};
use state::account::is_valid_account;
use state::projection::TransferQuery;
use state::{BlockRef, TokenEntry, TokenEvent};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::Notify;

use crate::context::open_projection;
use crate::error::{blocking, ApiError};
use crate::graphql::types::{gql_error, GqlResult};
use crate::reads::{self, MAX_LIMIT};
use crate::views::{AccountView, TransferView};

/// Tripped by a subscription that lost events; the connection then closes.
#[derive(Clone, Default)]
pub(crate) struct SlowClient(Arc<Notify>);

impl SlowClient {
    fn trip(&self) {
        // A stored permit wakes the connection even if it is busy sending.
        self.0.notify_one();
    }

    /// Resolves once a subscription of the connection lagged.
    pub(crate) async fn tripped(&self) {
        self.0.notified().await;
    }
}

/// Subscription root of the per-token schema.
pub(crate) struct TokenSubscription;

/// What a `blocks` event reports.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub(crate) enum BlockEventKind {
    /// Blocks up to `number` were committed: the token's new block.
    Head,
    /// The token's blocks up to `number` are now irreversible.
    Irreversible,
    /// The token went back `depth` blocks, to `number`.
    Reorg,
}

/// One event of the `blocks` subscription.
#[derive(SimpleObject)]
pub(crate) struct BlockEvent {
    kind: BlockEventKind,
    /// HEAD: the new block; IRREVERSIBLE: the highest final block; REORG:
    /// the block the token went back to (0 when none is left).
    number: u64,
    /// Block id, for HEAD and REORG (null when no block is left).
    hash: Option<String>,
    /// Block timestamp, for HEAD and REORG.
    timestamp: Option<String>,
    /// True when the block is irreversible: a HEAD committed during
    /// backfill, or any IRREVERSIBLE event.
    irreversible: bool,
    /// REORG: blocks undone; 0 otherwise.
    depth: u64,
}

impl BlockEvent {
    fn from_event(event: TokenEvent) -> Self {
        let with_block = |kind, block: Option<BlockRef>, irreversible, depth| BlockEvent {
            kind,
            number: block.as_ref().map_or(0, |b| b.num),
            hash: block.as_ref().map(|b| b.id.clone()),
            timestamp: block.map(|b| b.timestamp),
            irreversible,
            depth,
        };
        match event {
            TokenEvent::Block {
                block,
                irreversible,
            } => with_block(BlockEventKind::Head, Some(block), irreversible, 0),
            TokenEvent::Irreversible { number } => BlockEvent {
                kind: BlockEventKind::Irreversible,
                number,
                hash: None,
                timestamp: None,
                irreversible: true,
                depth: 0,
            },
            TokenEvent::Reorg {
                depth, to_block, ..
            } => with_block(BlockEventKind::Reorg, to_block, false, depth),
        }
    }
}

/// The projection went back: what a `transfers` subscriber must discard.
#[derive(SimpleObject)]
#[graphql(name = "Reorg")]
pub(crate) struct ReorgView {
    /// Blocks undone.
    depth: u64,
    /// The token's block before.
    from_block: u64,
    /// The token's block now (0 when none is left): transfers above it are void.
    to_block: u64,
}

/// An item of the `transfers` subscription.
#[derive(Union)]
pub(crate) enum TransferEvent {
    /// A committed transfer.
    Transfer(TransferView),
    /// A reorg: discard transfers above `toBlock`.
    Reorg(ReorgView),
}

/// The next bus event; `None` when the bus is gone. A receiver that lagged
/// trips `slow` and never yields again: the connection is closing.
async fn next_event(
    rx: &mut broadcast::Receiver<TokenEvent>,
    slow: &SlowClient,
) -> Option<TokenEvent> {
    match rx.recv().await {
        Ok(event) => Some(event),
        Err(RecvError::Closed) => None,
        Err(RecvError::Lagged(_)) => {
            slow.trip();
            std::future::pending().await
        }
    }
}

fn connection(ctx: &Context<'_>) -> GqlResult<(Arc<TokenEntry>, SlowClient)> {
    let entry = ctx.data::<Arc<TokenEntry>>()?.clone();
    // Subscriptions only run over the WebSocket route, which provides it.
    let slow = ctx.data::<SlowClient>()?.clone();
    Ok((entry, slow))
}

fn check_account(name: &str) -> GqlResult<()> {
    if is_valid_account(name) {
        Ok(())
    } else {
        Err(gql_error(ApiError::invalid_account(name)))
    }
}

/// The account now; `None` while the projection is being swapped.
fn read_account(entry: &TokenEntry, name: &str) -> GqlResult<Option<AccountView>> {
    match entry.projection() {
        None => Ok(None),
        Some(projection) => reads::account(entry, &projection, name, None)
            .map(Some)
            .map_err(gql_error),
    }
}

fn same_figures(a: &AccountView, b: &AccountView) -> bool {
    a.balance_raw == b.balance_raw
        && a.power_raw == b.power_raw
        && a.granted_in_raw == b.granted_in_raw
        && a.granted_out_raw == b.granted_out_raw
}

/// The account's transfers in blocks `from..=to`, oldest first; `None`
/// while the projection is being swapped.
async fn read_transfers(
    entry: &TokenEntry,
    account: &str,
    from: u64,
    to: u64,
) -> GqlResult<Option<Vec<TransferView>>> {
    let Some(projection) = entry.projection() else {
        return Ok(None);
    };
    let decimals = entry.decimals();
    let mut query = TransferQuery {
        account: Some(account.to_string()),
        from_block: Some(from),
        to_block: Some(to),
        limit: MAX_LIMIT,
        ..TransferQuery::default()
    };
    let newest_first = blocking(move || {
        let mut all = Vec::new();
        loop {
            let page = projection.transfers(&query).map_err(ApiError::from_state)?;
            all.extend(page.transfers);
            match page.next {
                Some(next) => query.cursor = Some(next),
                None => return Ok(all),
            }
        }
    })
    .await
    .map_err(gql_error)?;
    Ok(Some(
        newest_first
            .into_iter()
            .rev()
            .map(|t| TransferView::new(t, decimals))
            .collect(),
    ))
}

struct AccountWatch {
    rx: broadcast::Receiver<TokenEvent>,
    slow: SlowClient,
    entry: Arc<TokenEntry>,
    name: String,
    last: Option<AccountView>,
    /// Send the next value read even if unchanged (after a reorg).
    force: bool,
}

impl AccountWatch {
    async fn next(mut self) -> Option<(GqlResult<AccountView>, Self)> {
        loop {
            if self.last.is_none() || self.force {
                match read_account(&self.entry, &self.name) {
                    Ok(Some(view)) => {
                        self.force = false;
                        self.last = Some(view.clone());
                        return Some((Ok(view), self));
                    }
                    // Busy: the event that ends the swap reads again.
                    Ok(None) => {}
                    Err(e) => return Some((Err(e), self)),
                }
            }
            match next_event(&mut self.rx, &self.slow).await? {
                TokenEvent::Irreversible { .. } => continue,
                TokenEvent::Reorg { .. } => self.force = true,
                TokenEvent::Block { .. } => match read_account(&self.entry, &self.name) {
                    Ok(Some(view)) => {
                        if self
                            .last
                            .as_ref()
                            .is_none_or(|last| !same_figures(last, &view))
                        {
                            self.last = Some(view.clone());
                            return Some((Ok(view), self));
                        }
                    }
                    Ok(None) => {}
                    Err(e) => return Some((Err(e), self)),
                },
            }
        }
    }
}

struct TransferWatch {
    rx: broadcast::Receiver<TokenEvent>,
    slow: SlowClient,
    entry: Arc<TokenEntry>,
    account: String,
    /// Last block whose transfers were delivered.
    delivered: u64,
}

impl TransferWatch {
    async fn next(mut self) -> Option<(Vec<GqlResult<TransferEvent>>, Self)> {
        loop {
            match next_event(&mut self.rx, &self.slow).await? {
                TokenEvent::Irreversible { .. } => {}
                TokenEvent::Reorg {
                    depth,
                    from_block,
                    to_block,
                } => {
                    let to = to_block.map_or(0, |b| b.num);
                    self.delivered = self.delivered.min(to);
                    let reorg = TransferEvent::Reorg(ReorgView {
                        depth,
                        from_block,
                        to_block: to,
                    });
                    return Some((vec![Ok(reorg)], self));
                }
                TokenEvent::Block { block, .. } if block.num > self.delivered => {
                    let from = self.delivered + 1;
                    match read_transfers(&self.entry, &self.account, from, block.num).await {
                        Ok(Some(views)) => {
                            self.delivered = block.num;
                            if !views.is_empty() {
                                let items = views
                                    .into_iter()
                                    .map(|v| Ok(TransferEvent::Transfer(v)))
                                    .collect();
                                return Some((items, self));
                            }
                        }
                        // Busy: the next event reads the same blocks and more.
                        Ok(None) => {}
                        Err(e) => return Some((vec![Err(e)], self)),
                    }
                }
                TokenEvent::Block { .. } => {}
            }
        }
    }
}

// The return types spell `Result` because the macro recognises results by that name.
#[Subscription]
impl TokenSubscription {
    /// The token's block events from now on: `HEAD` after each committed
    /// batch, `IRREVERSIBLE` when committed blocks become final, `REORG`
    /// when the token goes back (a fork or a rollback).
    async fn blocks(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = BlockEvent>> {
        let (entry, slow) = connection(ctx)?;
        let rx = entry.subscribe();
        Ok(stream::unfold((rx, slow), |(mut rx, slow)| async move {
            let event = next_event(&mut rx, &slow).await?;
            Some((BlockEvent::from_event(event), (rx, slow)))
        }))
    }

    /// Transfers from or to `account` as their blocks commit, oldest first,
    /// starting after the token's current block. A `Reorg` item voids the
    /// transfers above its `toBlock`; the corrected ones follow.
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        account: String,
    ) -> async_graphql::Result<impl Stream<Item = GqlResult<TransferEvent>>> {
        check_account(&account)?;
        let (entry, slow) = connection(ctx)?;
        // Subscribe before reading the block, so no commit falls in between.
        let rx = entry.subscribe();
        let projection = open_projection(&entry).map_err(gql_error)?;
        let delivered = projection
            .meta()
            .map_err(|e| gql_error(ApiError::from_state(e)))?
            .cursor
            .map_or(0, |c| c.num);
        drop(projection);
        let watch = TransferWatch {
            rx,
            slow,
            entry,
            account,
            delivered,
        };
        Ok(stream::unfold(watch, TransferWatch::next).flat_map(stream::iter))
    }

    /// `name`'s figures: now, then each time a committed block changes
    /// them, and once after every reorg (the corrected value).
    async fn account(
        &self,
        ctx: &Context<'_>,
        name: String,
    ) -> async_graphql::Result<impl Stream<Item = GqlResult<AccountView>>> {
        check_account(&name)?;
        let (entry, slow) = connection(ctx)?;
        let rx = entry.subscribe();
        // Refuse now rather than stay silent while the token is busy.
        open_projection(&entry).map_err(gql_error)?;
        let watch = AccountWatch {
            rx,
            slow,
            entry,
            name,
            last: None,
            force: false,
        };
        Ok(stream::unfold(watch, AccountWatch::next))
    }
}
