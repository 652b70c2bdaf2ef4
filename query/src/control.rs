//! The registry-write side that the binary implements: [`Control`], the
//! `PUT` body [`TokenPatch`] and [`ControlError`].

use serde::{Deserialize, Serialize};
use state::token::GenesisSpec;
use state::{Features, StateError, TokenConfig, TokenSpec};

/// Registry writes, implemented by the binary (it owns the registry file,
/// datasets and ingest). Methods are synchronous and may block briefly: the
/// HTTP layer calls them on a blocking thread.
pub trait Control: Send + Sync + 'static {
    /// Every registered token's definition.
    fn tokens(&self) -> Vec<TokenConfig>;
    /// Validates, stores, opens and starts indexing a new token.
    fn add_token(&self, spec: TokenSpec) -> Result<TokenConfig, ControlError>;
    /// Changes name, description, contractAddress, decimals or features (not
    /// symbol, opPrefix, startBlock, genesis, powerDownInterval).
    fn update_token(&self, symbol: &str, patch: TokenPatch) -> Result<TokenConfig, ControlError>;
    /// Stops indexing; with `purge` destroys the token's data too.
    fn remove_token(&self, symbol: &str, purge: bool) -> Result<(), ControlError>;
    /// Takes a checkpoint of the token now, at its current block; answers
    /// the checkpoint's description (`name`, `block`, `stateHash`, ...).
    fn checkpoint(&self, symbol: &str) -> Result<serde_json::Value, ControlError>;
    /// The token's checkpoints, oldest first.
    fn checkpoints(&self, symbol: &str) -> Result<Vec<serde_json::Value>, ControlError>;
    /// Undoes everything above `to_block` (a bad fork); answers where the
    /// token landed. The token answers 503 while its projection is swapped.
    /// `from_checkpoint` restores a checkpoint even where the undo journal
    /// reaches.
    fn rollback(
        &self,
        symbol: &str,
        to_block: u64,
        from_checkpoint: bool,
    ) -> Result<serde_json::Value, ControlError>;
    /// Rebuilds the projection from a checkpoint (or genesis) and the log, up
    /// to `to_block` (or the end of the log).
    fn replay(
        &self,
        symbol: &str,
        from_snapshot: Option<String>,
        to_block: Option<u64>,
    ) -> Result<serde_json::Value, ControlError>;
}

/// Body of `PUT /registry/tokens/:symbol`: the fields that may change.
/// Fields that may not change (`symbol`, `opPrefix`, `startBlock`, `genesis`,
/// `powerDownInterval`, `historyBlocks`) are rejected by the route with a 400
/// naming the field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenPatch {
    /// New display name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New `@account` that runs the token.
    pub contract_address: Option<String>,
    /// New number of decimals (0 to 8).
    pub decimals: Option<serde_json::Value>,
    /// New feature switches.
    pub features: Option<Features>,
}

/// Fields of a token that a `PUT` may not change, in the API's spelling.
pub(crate) const IMMUTABLE_FIELDS: [&str; 6] = [
    "symbol",
    "opPrefix",
    "startBlock",
    "genesis",
    "powerDownInterval",
    "historyBlocks",
];

impl TokenPatch {
    /// The config with the patch applied, validated exactly as
    /// [`TokenSpec::resolve`] validates a new token.
    pub fn apply(&self, config: &TokenConfig) -> Result<TokenConfig, ControlError> {
        let to_values = |map: &std::collections::BTreeMap<String, u64>| {
            map.iter()
                .map(|(account, raw)| (account.clone(), serde_json::Value::from(*raw)))
                .collect()
        };
        // Going through TokenSpec keeps one set of validation rules.
        let spec = TokenSpec {
            symbol: Some(config.symbol.clone()),
            name: Some(self.name.clone().unwrap_or_else(|| config.name.clone())),
            description: Some(
                self.description
                    .clone()
                    .unwrap_or_else(|| config.description.clone()),
            ),
            contract_address: Some(
                self.contract_address
                    .clone()
                    .unwrap_or_else(|| config.contract_address.clone()),
            ),
            decimals: Some(
                self.decimals
                    .clone()
                    .unwrap_or_else(|| serde_json::Value::from(config.decimals)),
            ),
            features: Some(
                self.features
                    .clone()
                    .unwrap_or_else(|| config.features.clone()),
            ),
            op_prefix: Some(config.op_prefix.clone()),
            start_block: Some(serde_json::Value::from(config.start_block)),
            power_down_interval: Some(serde_json::Value::from(config.power_down_interval)),
            genesis: Some(GenesisSpec {
                balances: to_values(&config.genesis.balances),
                power: to_values(&config.genesis.power),
            }),
            history_blocks: config.history_blocks.map(serde_json::Value::from),
        };
        let mut patched = spec.resolve(config.start_block)?;
        // Resolving drops zero genesis entries; the genesis itself never changes.
        patched.genesis = config.genesis.clone();
        Ok(patched)
    }
}

/// Why a registry write failed; each variant has its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// A field is invalid (400 `INVALID_FIELD`).
    #[error("invalid field `{field}`: {reason}")]
    Invalid {
        /// The field, in the API's spelling.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The symbol or prefix is taken (409 `CONFLICT`).
    #[error("conflict: {0}")]
    Conflict(String),
    /// No such token (404 `TOKEN_NOT_FOUND`).
    #[error("token {0} is not registered")]
    NotFound(String),
    /// The registry cannot take writes right now (503 `UNAVAILABLE`).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The write failed (500 `INTERNAL`).
    #[error("{0}")]
    Failed(String),
}

impl From<StateError> for ControlError {
    fn from(e: StateError) -> Self {
        match e {
            StateError::InvalidToken { field, reason } => ControlError::Invalid {
                field: field.to_string(),
                reason,
            },
            StateError::Conflict(message) => ControlError::Conflict(message),
            StateError::UnknownToken(symbol) => ControlError::NotFound(symbol),
            other => ControlError::Failed(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TokenConfig {
        let mut genesis = state::Genesis::default();
        genesis.balances.insert("alice".into(), 5);
        TokenConfig {
            symbol: "ABC".into(),
            name: "Abc".into(),
            description: "d".into(),
            contract_address: "@abc".into(),
            decimals: 3,
            features: Features::default(),
            op_prefix: "abc_".into(),
            start_block: 10,
            power_down_interval: 20,
            genesis,
            history_blocks: None,
        }
    }

    #[test]
    fn patch_changes_only_the_given_fields() {
        let patch = TokenPatch {
            name: Some("New".into()),
            decimals: Some(serde_json::json!(0)),
            ..TokenPatch::default()
        };
        let patched = patch.apply(&config()).unwrap();
        assert_eq!(patched.name, "New");
        assert_eq!(patched.decimals, 0);
        assert_eq!(
            TokenConfig {
                name: "Abc".into(),
                decimals: 3,
                ..patched
            },
            config()
        );
    }

    #[test]
    fn patch_is_validated_like_a_new_token() {
        let cases = [
            (
                TokenPatch {
                    decimals: Some(serde_json::json!(9)),
                    ..TokenPatch::default()
                },
                "decimals",
            ),
            (
                TokenPatch {
                    contract_address: Some("nope".into()),
                    ..TokenPatch::default()
                },
                "contractAddress",
            ),
            (
                TokenPatch {
                    name: Some("x".repeat(101)),
                    ..TokenPatch::default()
                },
                "name",
            ),
        ];
        for (patch, field) in cases {
            match patch.apply(&config()) {
                Err(ControlError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected {field} to be refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn state_errors_map_to_statuses() {
        assert!(matches!(
            ControlError::from(StateError::Conflict("x".into())),
            ControlError::Conflict(_)
        ));
        assert!(matches!(
            ControlError::from(StateError::UnknownToken("X".into())),
            ControlError::NotFound(_)
        ));
        assert!(matches!(
            ControlError::from(StateError::InvalidArgument("x".into())),
            ControlError::Failed(_)
        ));
    }
}
