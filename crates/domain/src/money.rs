//! Money as an integer count of minor units (cents, or whole yen) in one currency, so sums are
//! exact and never pass through floating point. Parsing of typed amounts lives in `parse`, tax
//! rates in `tax_rate` and currencies in `currency`.

mod currency;
mod parse;
mod tax_rate;

use serde::{Deserialize, Serialize};

pub use self::currency::Currency;
pub use self::parse::{AmountRule, MAX_AMOUNT_MINOR};
pub use self::tax_rate::TaxRate;

/// An amount of money: a signed count of minor units and its currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    amount_minor: i64,
    currency: Currency,
}

impl Money {
    /// Creates an amount from minor units, such as cents for NZD.
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    /// Creates a zero amount in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// Returns the amount in minor units.
    pub fn amount_minor(&self) -> i64 {
        self.amount_minor
    }

    /// Returns the currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Adds two amounts, returning `None` if the currencies differ or the sum overflows.
    pub fn checked_add(&self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        let sum = self.amount_minor.checked_add(other.amount_minor)?;
        Some(Money::new(sum, self.currency))
    }

    /// Subtracts `other`, returning `None` if the currencies differ or the result overflows.
    pub fn checked_sub(&self, other: Money) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        let difference = self.amount_minor.checked_sub(other.amount_minor)?;
        Some(Money::new(difference, self.currency))
    }

    /// Returns the amount with its sign flipped; `i64::MIN` saturates to `i64::MAX`.
    pub fn negate(&self) -> Money {
        Money::new(self.amount_minor.saturating_neg(), self.currency)
    }

    /// Returns true if the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.amount_minor < 0
    }

    /// Formats the amount for people, such as `$2,557.68`, `-$0.10` or `¥1,000`.
    pub fn format(&self) -> String {
        let units = self.currency.minor_units();
        let magnitude = self.amount_minor.unsigned_abs();
        let divisor = 10u64.pow(units);
        let whole = group_thousands(magnitude / divisor);
        let sign = if self.is_negative() { "-" } else { "" };
        let symbol = self.currency.symbol();
        if units == 0 {
            format!("{sign}{symbol}{whole}")
        } else {
            let fraction = magnitude % divisor;
            let width = units as usize;
            format!("{sign}{symbol}{whole}.{fraction:0width$}")
        }
    }

    /// Formats the amount as a bare decimal that [`Money::parse`] reads back, such as `2557.68`.
    pub fn format_plain(&self) -> String {
        let units = self.currency.minor_units();
        let magnitude = self.amount_minor.unsigned_abs();
        let divisor = 10u64.pow(units);
        let sign = if self.is_negative() { "-" } else { "" };
        if units == 0 {
            format!("{sign}{magnitude}")
        } else {
            let width = units as usize;
            format!(
                "{sign}{}.{:0width$}",
                magnitude / divisor,
                magnitude % divisor
            )
        }
    }

    /// Formats the amount with its ISO code first, such as `NZD $2,557.68`.
    pub fn format_with_code(&self) -> String {
        format!("{} {}", self.currency.as_str(), self.format())
    }
}

/// Writes `value` with a comma between each group of three digits.
fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_format_plain_round_trips() {
        for (minor, currency, text) in [
            (255768, Currency::NZD, "2557.68"),
            (-10, Currency::NZD, "-0.10"),
            (0, Currency::AUD, "0.00"),
            (1000, Currency::JPY, "1000"),
        ] {
            let money = Money::new(minor, currency);
            assert_eq!(money.format_plain(), text);
            assert_eq!(
                Money::parse(text, currency, AmountRule::Any).unwrap(),
                money
            );
        }
    }

    #[test]
    fn money_format_cases() {
        let cases = [
            (255_768, Currency::NZD, "$2,557.68"),
            (-10, Currency::NZD, "-$0.10"),
            (0, Currency::AUD, "$0.00"),
            (5, Currency::USD, "$0.05"),
            (100_000, Currency::GBP, "£1,000.00"),
            (123_456_789, Currency::EUR, "€1,234,567.89"),
            (1_000, Currency::JPY, "¥1,000"),
            (-999, Currency::JPY, "-¥999"),
            (i64::MIN, Currency::USD, "-$92,233,720,368,547,758.08"),
        ];
        for (amount, currency, expected) in cases {
            assert_eq!(
                Money::new(amount, currency).format(),
                expected,
                "{amount} {currency}"
            );
        }
    }

    #[test]
    fn money_format_with_code() {
        assert_eq!(
            Money::new(255_768, Currency::NZD).format_with_code(),
            "NZD $2,557.68"
        );
        assert_eq!(
            Money::new(-10, Currency::AUD).format_with_code(),
            "AUD -$0.10"
        );
    }

    #[test]
    fn money_checked_add_same_currency() {
        let sum = Money::new(150, Currency::NZD).checked_add(Money::new(-50, Currency::NZD));
        assert_eq!(sum, Some(Money::new(100, Currency::NZD)));
    }

    #[test]
    fn money_checked_add_currency_mismatch() {
        let sum = Money::new(150, Currency::NZD).checked_add(Money::new(50, Currency::AUD));
        assert_eq!(sum, None);
    }

    #[test]
    fn money_checked_add_overflow() {
        let sum = Money::new(i64::MAX, Currency::USD).checked_add(Money::new(1, Currency::USD));
        assert_eq!(sum, None);
    }

    #[test]
    fn money_checked_sub_cases() {
        let nzd = |amount| Money::new(amount, Currency::NZD);
        assert_eq!(nzd(100).checked_sub(nzd(250)), Some(nzd(-150)));
        assert_eq!(nzd(100).checked_sub(Money::new(1, Currency::JPY)), None);
        assert_eq!(nzd(i64::MIN).checked_sub(nzd(1)), None);
    }

    #[test]
    fn money_negate_and_sign() {
        let amount = Money::new(250, Currency::NZD);
        assert_eq!(amount.negate(), Money::new(-250, Currency::NZD));
        assert!(amount.negate().is_negative());
        assert!(!amount.is_negative());
        assert!(!Money::zero(Currency::NZD).is_negative());
        assert_eq!(
            Money::new(i64::MIN, Currency::NZD).negate().amount_minor(),
            i64::MAX
        );
    }

    #[test]
    fn money_zero() {
        let zero = Money::zero(Currency::JPY);
        assert_eq!(zero.amount_minor(), 0);
        assert_eq!(zero.currency(), Currency::JPY);
    }

    #[test]
    fn money_serde_shape() {
        let json = serde_json::to_string(&Money::new(255_768, Currency::NZD)).unwrap();
        assert_eq!(json, r#"{"amount_minor":255768,"currency":"NZD"}"#);
        let back: Money = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Money::new(255_768, Currency::NZD));
    }

    #[test]
    fn money_deserialize_rejects_unknown_currency() {
        let result: Result<Money, _> =
            serde_json::from_str(r#"{"amount_minor":1,"currency":"XYZ"}"#);
        assert!(result.is_err());
    }

    #[test]
    fn group_thousands_cases() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (12_345, "12,345"),
            (1_234_567, "1,234,567"),
        ];
        for (value, expected) in cases {
            assert_eq!(group_thousands(value), expected);
        }
    }
}
