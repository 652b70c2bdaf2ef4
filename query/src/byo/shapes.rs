//! The JSON shapes BYO fields read: which keys an account, a transfer, the
//! stats, ... have, and what each key holds. The same names as the REST
//! JSON (interfaces.md), so a BYO schema and the REST API agree.

/// What a key of a shape holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// A string, number, boolean or null.
    Scalar,
    /// An object of that shape.
    Object(Shape),
    /// A list of objects of that shape.
    List(Shape),
}

/// A JSON object the projection reads produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Account,
    Transfer,
    Op,
    Stats,
    Meta,
    Block,
    Token,
    Features,
    AccountPage,
    TransferPage,
    PageInfo,
    /// The root of `@state(path:)`: `token`, `stats` and `meta`.
    State,
}

impl Shape {
    /// How the shape is named in messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Account => "account",
            Shape::Transfer => "transfer",
            Shape::Op => "operation outcome",
            Shape::Stats => "stats",
            Shape::Meta => "meta",
            Shape::Block => "block",
            Shape::Token => "token",
            Shape::Features => "features",
            Shape::AccountPage => "page of accounts",
            Shape::TransferPage => "page of transfers",
            Shape::PageInfo => "pageInfo",
            Shape::State => "state",
        }
    }

    /// The name with its article (`an account`, `a transfer`).
    pub(crate) fn a_name(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }

    /// The keys of the shape.
    pub(crate) fn keys(self) -> &'static [(&'static str, Slot)] {
        use Slot::{List, Object, Scalar};
        match self {
            Shape::Account => &[
                ("account", Scalar),
                ("balance", Scalar),
                ("balanceRaw", Scalar),
                ("power", Scalar),
                ("powerRaw", Scalar),
                ("grantedIn", Scalar),
                ("grantedInRaw", Scalar),
                ("grantedOut", Scalar),
                ("grantedOutRaw", Scalar),
                ("block", Scalar),
            ],
            Shape::Transfer => &[
                ("block", Scalar),
                ("trxId", Scalar),
                ("opIndex", Scalar),
                ("from", Scalar),
                ("to", Scalar),
                ("amount", Scalar),
                ("amountRaw", Scalar),
                ("memo", Scalar),
                ("timestamp", Scalar),
            ],
            Shape::Op => &[
                ("block", Scalar),
                ("trxId", Scalar),
                ("trxIndex", Scalar),
                ("opIndex", Scalar),
                ("name", Scalar),
                ("sender", Scalar),
                ("outcome", Scalar),
                ("reason", Scalar),
            ],
            Shape::Stats => &[
                ("symbol", Scalar),
                ("lastBlock", Scalar),
                ("lastBlockId", Scalar),
                ("lastBlockTimestamp", Scalar),
                ("irreversibleBlock", Scalar),
                ("supply", Scalar),
                ("supplyRaw", Scalar),
                ("holders", Scalar),
                ("accounts", Scalar),
                ("logLength", Scalar),
                ("status", Scalar),
                ("stateHash", Scalar),
                ("earliestBlock", Scalar),
                ("error", Scalar),
            ],
            Shape::Meta => &[
                ("block", Object(Shape::Block)),
                ("irreversibleBlock", Scalar),
                ("targetBlock", Scalar),
                ("stateHash", Scalar),
                ("logLength", Scalar),
                ("status", Scalar),
                ("error", Scalar),
                ("earliestBlock", Scalar),
            ],
            Shape::Block => &[("number", Scalar), ("hash", Scalar), ("timestamp", Scalar)],
            Shape::Token => &[
                ("symbol", Scalar),
                ("name", Scalar),
                ("description", Scalar),
                ("contractAddress", Scalar),
                ("decimals", Scalar),
                ("features", Object(Shape::Features)),
                ("opPrefix", Scalar),
                ("startBlock", Scalar),
                ("powerDownInterval", Scalar),
            ],
            Shape::Features => &[
                ("transfers", Scalar),
                ("balances", Scalar),
                ("staking", Scalar),
                ("rewards", Scalar),
            ],
            Shape::AccountPage => &[
                ("nodes", List(Shape::Account)),
                ("pageInfo", Object(Shape::PageInfo)),
            ],
            Shape::TransferPage => &[
                ("nodes", List(Shape::Transfer)),
                ("pageInfo", Object(Shape::PageInfo)),
            ],
            Shape::PageInfo => &[("hasNextPage", Scalar), ("endCursor", Scalar)],
            Shape::State => &[
                ("token", Object(Shape::Token)),
                ("stats", Object(Shape::Stats)),
                ("meta", Object(Shape::Meta)),
            ],
        }
    }

    /// What `key` holds, if the shape has it.
    pub(crate) fn slot(self, key: &str) -> Option<Slot> {
        self.keys()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, slot)| *slot)
    }

    /// The keys, comma-separated, for messages.
    pub(crate) fn key_list(self) -> String {
        self.keys()
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Where a dotted `@state` path leads from the state root.
pub(crate) fn follow_path(path: &str) -> Result<Slot, String> {
    let mut slot = Slot::Object(Shape::State);
    for part in path.split('.') {
        let Slot::Object(shape) = slot else {
            return Err(format!(
                "`{path}`: `{part}` is below a value that has no fields"
            ));
        };
        slot = shape.slot(part).ok_or_else(|| {
            format!(
                "`{path}`: {} has no `{part}` (it has {})",
                shape.a_name(),
                shape.key_list()
            )
        })?;
    }
    Ok(slot)
}
