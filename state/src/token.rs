//! The token model: what an operator registers, its validation and the presets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::account::is_valid_account;
use crate::amount::parse_amount;
use crate::block::BlockNum;
use crate::error::StateError;

/// Default `powerDownInterval`: one week of 3-second blocks.
pub const DEFAULT_POWER_DOWN_INTERVAL: u64 = 201_600;
/// Longest `opPrefix` we accept: Hive limits custom_json ids to 32 characters
/// and an operation needs at least one character of name after the prefix.
pub const MAX_OP_PREFIX_LEN: usize = 31;
/// Largest `decimals` a token may declare.
pub const MAX_DECIMALS: u8 = 8;

/// Which operations a token allows (contract.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Features {
    /// `send` is allowed.
    pub transfers: bool,
    /// Balances are tracked (always true for contract v1; kept for the seed's schema).
    pub balances: bool,
    /// `power_up`, `power_down` and `power_grant` are allowed.
    pub staking: bool,
    /// Rewards (no operation in contract v1; kept for the seed's schema).
    pub rewards: bool,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            transfers: true,
            balances: true,
            staking: true,
            rewards: false,
        }
    }
}

/// Allocations that exist before `startBlock`, in base units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Genesis {
    /// Liquid balances.
    pub balances: BTreeMap<String, u64>,
    /// Staked power.
    pub power: BTreeMap<String, u64>,
}

impl Genesis {
    /// True when the genesis allocates nothing.
    pub fn is_empty(&self) -> bool {
        self.balances.is_empty() && self.power.is_empty()
    }
}

/// A registered token, fully resolved and validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenConfig {
    /// Upper-case symbol, 3 to 10 characters `[A-Z0-9]`.
    pub symbol: String,
    /// Display name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// `@` plus the Hive account that runs the token.
    pub contract_address: String,
    /// Number of decimals of the display form (0 to 8).
    pub decimals: u8,
    /// Allowed operations.
    pub features: Features,
    /// custom_json id prefix of the token's operations.
    pub op_prefix: String,
    /// First block whose operations count.
    pub start_block: BlockNum,
    /// Blocks between power-down installments.
    pub power_down_interval: u64,
    /// Allocations before `startBlock`.
    pub genesis: Genesis,
    /// How many blocks of balance history the projection keeps for queries
    /// as of a past block; `None` keeps all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_blocks: Option<u64>,
}

/// The body of `POST /registry/tokens` and of `token add --file`: a token as
/// a user writes it, with defaults still to be filled in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenSpec {
    /// See [`TokenConfig::symbol`].
    pub symbol: Option<String>,
    /// See [`TokenConfig::name`]; defaults to the symbol.
    pub name: Option<String>,
    /// See [`TokenConfig::description`].
    pub description: Option<String>,
    /// See [`TokenConfig::contract_address`].
    pub contract_address: Option<String>,
    /// See [`TokenConfig::decimals`]; defaults to 3.
    pub decimals: Option<serde_json::Value>,
    /// See [`TokenConfig::features`].
    pub features: Option<Features>,
    /// See [`TokenConfig::op_prefix`]; defaults to the lower-case symbol plus `_`.
    pub op_prefix: Option<String>,
    /// See [`TokenConfig::start_block`]; defaults to the irreversible head.
    pub start_block: Option<serde_json::Value>,
    /// See [`TokenConfig::power_down_interval`].
    pub power_down_interval: Option<serde_json::Value>,
    /// Genesis allocations; amounts are integers or digit strings.
    pub genesis: Option<GenesisSpec>,
    /// See [`TokenConfig::history_blocks`]; default: keep all history.
    pub history_blocks: Option<serde_json::Value>,
}

/// Genesis as a user writes it: amounts may be integers or digit strings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenesisSpec {
    /// Liquid balances.
    pub balances: BTreeMap<String, serde_json::Value>,
    /// Staked power.
    pub power: BTreeMap<String, serde_json::Value>,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> StateError {
    StateError::InvalidToken {
        field,
        reason: reason.into(),
    }
}

/// Checks a symbol: 3 to 10 characters `[A-Z0-9]`.
pub fn validate_symbol(symbol: &str) -> Result<(), StateError> {
    let ok_chars = symbol
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !(3..=10).contains(&symbol.len()) || !ok_chars {
        return Err(invalid(
            "symbol",
            format!("`{symbol}` must be 3 to 10 characters A-Z or 0-9"),
        ));
    }
    Ok(())
}

/// Checks a custom_json id prefix: 1 to 31 characters `[a-z0-9_.-]`.
pub fn validate_op_prefix(prefix: &str) -> Result<(), StateError> {
    if prefix.is_empty() || prefix.len() > MAX_OP_PREFIX_LEN {
        return Err(invalid(
            "opPrefix",
            format!("must be 1 to {MAX_OP_PREFIX_LEN} characters"),
        ));
    }
    let ok = prefix.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-' || b == b'.'
    });
    if !ok {
        return Err(invalid(
            "opPrefix",
            format!("`{prefix}` may only contain a-z, 0-9, `_`, `-` and `.`"),
        ));
    }
    Ok(())
}

fn uint_field(field: &'static str, value: &serde_json::Value) -> Result<u64, StateError> {
    parse_amount(value).ok_or_else(|| invalid(field, "must be a non-negative integer"))
}

fn genesis_map(
    field: &'static str,
    spec: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, u64>, StateError> {
    let mut out = BTreeMap::new();
    for (account, raw) in spec {
        if !is_valid_account(account) {
            return Err(invalid(
                field,
                format!("`{account}` is not a valid Hive account"),
            ));
        }
        let amount = parse_amount(raw).ok_or_else(|| {
            invalid(
                field,
                format!("amount for `{account}` must be an integer from 0 to 2^63-1"),
            )
        })?;
        if amount > 0 {
            out.insert(account.clone(), amount);
        }
    }
    Ok(out)
}

impl TokenSpec {
    /// Fills in defaults and validates every field. `default_start_block` is
    /// used when the spec gives no `startBlock` (the irreversible head).
    pub fn resolve(&self, default_start_block: BlockNum) -> Result<TokenConfig, StateError> {
        let symbol = self
            .symbol
            .clone()
            .ok_or_else(|| invalid("symbol", "is required"))?;
        validate_symbol(&symbol)?;
        let contract_address = match &self.contract_address {
            Some(address) => address.clone(),
            None => format!("@{}", symbol.to_ascii_lowercase()),
        };
        match contract_address.strip_prefix('@') {
            Some(account) if is_valid_account(account) => {}
            _ => {
                return Err(invalid(
                    "contractAddress",
                    format!("`{contract_address}` must be `@` followed by a valid Hive account"),
                ))
            }
        }
        let decimals = match &self.decimals {
            None => 3,
            Some(value) => {
                let d = value.as_u64().filter(|d| *d <= u64::from(MAX_DECIMALS));
                d.ok_or_else(|| {
                    invalid(
                        "decimals",
                        format!("must be an integer from 0 to {MAX_DECIMALS}"),
                    )
                })? as u8
            }
        };
        let op_prefix = self
            .op_prefix
            .clone()
            .unwrap_or_else(|| format!("{}_", symbol.to_ascii_lowercase()));
        validate_op_prefix(&op_prefix)?;
        let start_block = match &self.start_block {
            None => default_start_block,
            Some(value) => uint_field("startBlock", value)?,
        };
        let power_down_interval = match &self.power_down_interval {
            None => DEFAULT_POWER_DOWN_INTERVAL,
            Some(value) => {
                let v = uint_field("powerDownInterval", value)?;
                if v == 0 || v > u64::from(u32::MAX) {
                    return Err(invalid(
                        "powerDownInterval",
                        "must be from 1 to 4294967295 blocks",
                    ));
                }
                v
            }
        };
        let name = self.name.clone().unwrap_or_else(|| symbol.clone());
        if name.len() > 100 {
            return Err(invalid("name", "must be at most 100 bytes"));
        }
        let description = self.description.clone().unwrap_or_default();
        if description.len() > 4096 {
            return Err(invalid("description", "must be at most 4096 bytes"));
        }
        let history_blocks = match &self.history_blocks {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => {
                let v = uint_field("historyBlocks", value)?;
                if v == 0 {
                    return Err(invalid(
                        "historyBlocks",
                        "must be at least 1 block (leave it out to keep all history)",
                    ));
                }
                Some(v)
            }
        };
        let genesis = match &self.genesis {
            None => Genesis::default(),
            Some(g) => Genesis {
                balances: genesis_map("genesis.balances", &g.balances)?,
                power: genesis_map("genesis.power", &g.power)?,
            },
        };
        Ok(TokenConfig {
            symbol,
            name,
            description,
            contract_address,
            decimals,
            features: self.features.clone().unwrap_or_default(),
            op_prefix,
            start_block,
            power_down_interval,
            genesis,
            history_blocks,
        })
    }
}

/// The real honeycomb tokens of contract.md §7.
pub fn preset(symbol: &str) -> Option<TokenConfig> {
    let (name, contract, prefix, start, decimals, transfers, staking, description) =
        match symbol.to_ascii_uppercase().as_str() {
            "LARYNX" => (
                "LARYNX",
                "@spk-cc",
                "spkcc_",
                62_313_601,
                3,
                true,
                true,
                "Base token of the spkcc honeycomb (SPK Network miners)",
            ),
            "SPK" => (
                "SPK",
                "@spk-cc",
                "spkcc_spk_",
                62_313_601,
                3,
                true,
                true,
                "SPK Network governance token",
            ),
            "BROCA" => (
                "BROCA",
                "@spk-cc",
                "spkcc_broca_",
                62_313_601,
                0,
                false,
                false,
                "SPK Network storage credits",
            ),
            "DLUX" => (
                "DLUX",
                "@dlux-io",
                "dlux_",
                49_988_008,
                3,
                true,
                true,
                "DLUX honeycomb token",
            ),
            _ => return None,
        };
    Some(TokenConfig {
        symbol: name.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        contract_address: contract.to_string(),
        decimals,
        features: Features {
            transfers,
            balances: true,
            staking,
            rewards: false,
        },
        op_prefix: prefix.to_string(),
        start_block: start,
        power_down_interval: DEFAULT_POWER_DOWN_INTERVAL,
        genesis: Genesis::default(),
        history_blocks: None,
    })
}

/// Symbols that [`preset`] knows.
pub const PRESETS: [&str; 4] = ["LARYNX", "SPK", "BROCA", "DLUX"];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> TokenSpec {
        serde_json::from_value(value).expect("spec parses")
    }

    #[test]
    fn defaults_fill_in() {
        let config = spec(json!({"symbol": "ABC"})).resolve(77).expect("valid");
        assert_eq!(config.op_prefix, "abc_");
        assert_eq!(config.start_block, 77);
        assert_eq!(config.decimals, 3);
        assert_eq!(config.contract_address, "@abc");
        assert_eq!(config.power_down_interval, DEFAULT_POWER_DOWN_INTERVAL);
    }

    #[test]
    fn every_field_is_checked() {
        let cases = [
            (json!({"symbol": "ab"}), "symbol"),
            (json!({"symbol": "abc"}), "symbol"),
            (json!({"symbol": "ABCDEFGHIJK"}), "symbol"),
            (
                json!({"symbol": "ABC", "contractAddress": "abc"}),
                "contractAddress",
            ),
            (
                json!({"symbol": "ABC", "contractAddress": "@A"}),
                "contractAddress",
            ),
            (json!({"symbol": "ABC", "decimals": 9}), "decimals"),
            (json!({"symbol": "ABC", "decimals": -1}), "decimals"),
            (json!({"symbol": "ABC", "opPrefix": ""}), "opPrefix"),
            (
                json!({"symbol": "ABC", "opPrefix": "a".repeat(32)}),
                "opPrefix",
            ),
            (json!({"symbol": "ABC", "opPrefix": "Abc_"}), "opPrefix"),
            (json!({"symbol": "ABC", "startBlock": "x"}), "startBlock"),
            (
                json!({"symbol": "ABC", "powerDownInterval": 0}),
                "powerDownInterval",
            ),
            (
                json!({"symbol": "ABC", "historyBlocks": 0}),
                "historyBlocks",
            ),
            (
                json!({"symbol": "ABC", "historyBlocks": "all"}),
                "historyBlocks",
            ),
            (
                json!({"symbol": "ABC", "genesis": {"balances": {"Bad": 1}}}),
                "genesis.balances",
            ),
            (
                json!({"symbol": "ABC", "genesis": {"power": {"alice": -5}}}),
                "genesis.power",
            ),
        ];
        for (body, field) in cases {
            match spec(body.clone()).resolve(1) {
                Err(StateError::InvalidToken { field: f, .. }) => assert_eq!(f, field, "{body}"),
                other => panic!("{body}: expected an error on {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn presets_match_contract_section_7() {
        let spk = preset("spk").expect("SPK preset");
        assert_eq!(
            (spk.op_prefix.as_str(), spk.start_block, spk.decimals),
            ("spkcc_spk_", 62_313_601, 3)
        );
        let broca = preset("BROCA").expect("BROCA preset");
        assert!(!broca.features.transfers);
        assert_eq!(broca.decimals, 0);
        let dlux = preset("DLUX").expect("DLUX preset");
        assert_eq!(
            (dlux.op_prefix.as_str(), dlux.start_block),
            ("dlux_", 49_988_008)
        );
        assert_eq!(preset("LARYNX").expect("LARYNX").op_prefix, "spkcc_");
        assert!(preset("NOPE").is_none());
    }
}
