//! Dynamic global properties, shaped like a 2025 mainnet node's answer.

use serde_json::{json, Value};

use crate::hash::Id20;
use crate::timefmt;

/// What the simulator fills in; everything else is a fixed 2025 sample.
pub(crate) struct Globals {
    pub(crate) head: u64,
    pub(crate) head_id: Id20,
    pub(crate) head_time: u64,
    pub(crate) irreversible: u64,
    pub(crate) witness: &'static str,
}

/// The `database_api` form (NAI assets, with `id`).
pub(crate) fn database(g: &Globals) -> Value {
    let nai = |amount: &str, nai: &str, precision: u8| json!({"amount": amount, "nai": nai, "precision": precision});
    // Two halves: one json! literal this size exceeds the macro recursion limit.
    let mut v = json!({
        "available_account_subsidies": 36853823,
        "content_reward_percent": 6500,
        "current_aslot": g.head + 464_895,
        "current_hbd_supply": nai("34865644294", "@@000000013", 3),
        "current_remove_threshold": 200,
        "current_supply": nai("479079425004", "@@000000021", 3),
        "current_witness": g.witness,
        "delegation_return_period": 432000,
        "dhf_interval_ledger": nai("29400", "@@000000013", 3),
        "downvote_pool_percent": 2500,
        "early_voting_seconds": 86400,
        "hbd_interest_rate": 1500,
        "hbd_print_rate": 10000,
        "hbd_start_percent": 2000,
        "hbd_stop_percent": 2000,
        "head_block_id": hex::encode(g.head_id),
        "head_block_number": g.head,
        "id": 0,
        "init_hbd_supply": nai("0", "@@000000013", 3),
    });
    let rest = json!({
        "last_budget_time": timefmt::format(g.head_time - g.head_time % 3600),
        "last_irreversible_block_num": g.irreversible,
        "max_consecutive_recurrent_transfer_failures": 10,
        "max_open_recurrent_transfers": 255,
        "max_recurrent_transfer_end_date": 730,
        "maximum_block_size": 2097152,
        "mid_voting_seconds": 172800,
        "min_recurrent_transfers_recurrence": 24,
        "next_daily_maintenance_time": timefmt::format(g.head_time - g.head_time % 86_400 + 86_400),
        "next_maintenance_time": timefmt::format(g.head_time - g.head_time % 3600 + 3600),
        "num_pow_witnesses": 172,
        "participation_count": 127,
        "pending_rewarded_vesting_hive": nai("1102477777", "@@000000021", 3),
        "pending_rewarded_vesting_shares": nai("1938619142331887", "@@000000037", 6),
        "proposal_fund_percent": 1000,
        "recent_slots_filled": "340282366920938463463374607431768211455",
        "reverse_auction_seconds": 0,
        "time": timefmt::format(g.head_time),
        "total_pow": 514415,
        "total_reward_fund_hive": nai("0", "@@000000021", 3),
        "total_reward_shares2": "0",
        "total_vesting_fund_hive": nai("186431971795", "@@000000021", 3),
        "total_vesting_shares": nai("311147778100419527", "@@000000037", 6),
        "vesting_reward_percent": 1500,
        "virtual_supply": nai("625573728760", "@@000000021", 3),
        "vote_power_reserve_rate": 10
    });
    if let (Value::Object(m), Value::Object(r)) = (&mut v, rest) {
        m.extend(r);
    }
    v
}

/// The `condenser_api` form: the same with legacy asset strings and no `id`.
pub(crate) fn condenser(g: &Globals) -> Value {
    let mut v = database(g);
    if let Value::Object(m) = &mut v {
        m.remove("id");
        for value in m.values_mut() {
            if let Some(s) = legacy_asset(value) {
                *value = Value::String(s);
            }
        }
    }
    v
}

/// `{"amount":"1500","nai":"@@000000021","precision":3}` → `"1.500 HIVE"`.
fn legacy_asset(v: &Value) -> Option<String> {
    let amount: u128 = v.get("amount")?.as_str()?.parse().ok()?;
    let precision = u32::try_from(v.get("precision")?.as_u64()?).ok()?;
    let symbol = match v.get("nai")?.as_str()? {
        "@@000000021" => "HIVE",
        "@@000000013" => "HBD",
        "@@000000037" => "VESTS",
        _ => return None,
    };
    let scale = 10u128.pow(precision);
    Some(format!(
        "{}.{:0width$} {symbol}",
        amount / scale,
        amount % scale,
        width = precision as usize
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condenser_assets_are_legacy_strings() {
        let g = Globals {
            head: 5,
            head_id: [0; 20],
            head_time: timefmt::GENESIS_UNIX,
            irreversible: 3,
            witness: "gtg",
        };
        let v = condenser(&g);
        assert_eq!(v["current_supply"], "479079425.004 HIVE");
        assert_eq!(v["total_vesting_shares"], "311147778100.419527 VESTS");
        assert_eq!(v["time"], "2025-07-08T00:00:00");
        assert!(v.get("id").is_none());
        assert_eq!(database(&g)["id"], 0);
    }
}
