//! Token amounts: parsing (contract.md §3) and display with decimals.

/// Largest amount an operation may carry: 2^63-1.
pub const MAX_AMOUNT: u64 = i64::MAX as u64;

/// Parses an `amount` field: a JSON integer, or a string of 1-20 ASCII
/// digits, with a value from 0 to 2^63-1. Everything else is `None`.
pub fn parse_amount(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => {
            // `as_u64` is `None` for negatives and floats, so "1.0" and "1e3" fail.
            n.as_u64().filter(|v| *v <= MAX_AMOUNT)
        }
        serde_json::Value::String(s) => parse_amount_str(s),
        _ => None,
    }
}

/// Parses a string of 1-20 ASCII digits with a value up to 2^63-1.
pub fn parse_amount_str(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= MAX_AMOUNT)
}

/// Formats base units with `decimals` places: `format_amount(12345, 3)` is `"12.345"`.
pub fn format_amount(raw: u128, decimals: u8) -> String {
    if decimals == 0 {
        return raw.to_string();
    }
    let scale = 10u128.pow(u32::from(decimals));
    format!(
        "{}.{:0width$}",
        raw / scale,
        raw % scale,
        width = usize::from(decimals)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn accepts_integers_and_digit_strings() {
        assert_eq!(parse_amount(&json!(0)), Some(0));
        assert_eq!(parse_amount(&json!(1000)), Some(1000));
        assert_eq!(parse_amount(&json!("0042")), Some(42));
        assert_eq!(parse_amount(&json!(MAX_AMOUNT)), Some(MAX_AMOUNT));
        assert_eq!(
            parse_amount(&json!("9223372036854775807")),
            Some(MAX_AMOUNT)
        );
    }

    #[test]
    fn rejects_everything_else() {
        for value in [
            json!(-1),
            json!(1.5),
            json!(1.0),
            json!("12abc"),
            json!("1e3"),
            json!(""),
            json!(" 12"),
            json!("-3"),
            json!("+3"),
            json!(true),
            json!(null),
            json!([1]),
            json!({"a": 1}),
            json!(9_223_372_036_854_775_808u64),
            json!("9223372036854775808"),
            json!("000000000000000000001"),
        ] {
            assert_eq!(parse_amount(&value), None, "{value}");
        }
        let huge: serde_json::Value = serde_json::from_str("1e400").unwrap_or(json!(null));
        assert_eq!(parse_amount(&huge), None);
    }

    #[test]
    fn formats_with_decimals() {
        assert_eq!(format_amount(12_345, 3), "12.345");
        assert_eq!(format_amount(5, 3), "0.005");
        assert_eq!(format_amount(0, 3), "0.000");
        assert_eq!(format_amount(7, 0), "7");
        assert_eq!(
            format_amount(u128::from(u64::MAX), 8),
            "184467440737.09551615"
        );
    }

    proptest! {
        #[test]
        fn digit_strings_round_trip(v in 0..=MAX_AMOUNT) {
            prop_assert_eq!(parse_amount_str(&v.to_string()), Some(v));
            prop_assert_eq!(parse_amount(&json!(v)), Some(v));
        }

        #[test]
        fn never_panics_on_any_string(s in ".{0,40}") {
            let _ = parse_amount_str(&s);
        }
    }
}
