//! Money on the wire is `{ "amount": "123.45", "currency": "CNY" }` (a decimal string); in the
//! database it is an integer of minor units plus the currency (never a float, never NUMERIC).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::platform::fields::Checks;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Decimal string with at most the currency's minor digits.
    #[schema(value_type = String, example = "1280.00", pattern = r"^-?[0-9]+(\.[0-9]+)?$")]
    pub amount: Decimal,
    /// ISO 4217.
    #[schema(example = "CNY", pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

/// Digits after the decimal point (ISO 4217); 2 unless listed.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "VND" | "VUV"
        | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// Checks `m` and returns it in minor units; `expected` is the currency it must be in.
pub fn to_minor(c: &mut Checks, field: &str, m: &Money, expected: Option<&str>) -> Option<i64> {
    let currency = c.currency(&format!("{field}.currency"), &m.currency)?;
    if let Some(exp) = expected {
        if exp != currency {
            c.fail(
                format!("{field}.currency"),
                format!("must be the property's currency {exp}"),
            );
            return None;
        }
    }
    let digits = minor_digits(&currency);
    if m.amount.scale() > digits && m.amount.normalize().scale() > digits {
        c.fail(
            format!("{field}.amount"),
            format!("{currency} has {digits} decimal digits"),
        );
        return None;
    }
    // `checked_mul`: Decimal's `*` panics when the product leaves its 96-bit range.
    let scaled = m.amount.checked_mul(Decimal::from(10i64.pow(digits)));
    match scaled.map(|s| i64::try_from(s.trunc())) {
        Some(Ok(v)) if v.unsigned_abs() <= 1_000_000_000_000_000 => Some(v),
        _ => {
            c.fail(format!("{field}.amount"), "out of range");
            None
        }
    }
}

pub fn from_minor(minor: i64, currency: &str) -> Money {
    Money {
        amount: Decimal::new(minor, minor_digits(currency)),
        currency: currency.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn m(a: &str, c: &str) -> Money {
        Money {
            amount: Decimal::from_str(a).unwrap(),
            currency: c.into(),
        }
    }

    #[test]
    fn minor_units_by_currency() {
        let mut c = Checks::new();
        assert_eq!(to_minor(&mut c, "x", &m("123.45", "CNY"), None), Some(12345));
        assert_eq!(to_minor(&mut c, "x", &m("1200", "JPY"), None), Some(1200));
        assert_eq!(to_minor(&mut c, "x", &m("1.250", "KWD"), None), Some(1250));
        assert_eq!(to_minor(&mut c, "x", &m("10.50", "EUR"), None), Some(1050));
        assert_eq!(to_minor(&mut c, "x", &m("-5.00", "EUR"), None), Some(-500));
        assert!(c.finish().is_ok());
        let mut c = Checks::new();
        assert_eq!(to_minor(&mut c, "x", &m("1.234", "CNY"), None), None);
        assert_eq!(to_minor(&mut c, "x", &m("1.5", "JPY"), None), None);
        assert_eq!(to_minor(&mut c, "x", &m("1", "EUR"), Some("CNY")), None);
        assert!(c.finish().is_err());
        let mut c = Checks::new();
        assert_eq!(
            to_minor(&mut c, "x", &m("79228162514264337593543950335", "CNY"), None),
            None
        );
        assert_eq!(
            to_minor(&mut c, "x", &m("-79228162514264337593543950335", "KWD"), None),
            None
        );
        assert_eq!(to_minor(&mut c, "x", &m("10000000000000001", "CNY"), None), None);
        assert!(c.finish().is_err());
        assert_eq!(from_minor(12345, "CNY"), m("123.45", "CNY"));
        assert_eq!(
            serde_json::to_value(from_minor(12345, "CNY")).unwrap()["amount"],
            "123.45"
        );
    }
}
