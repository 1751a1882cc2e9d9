//! Parsing of amounts typed by people, such as `2,557.68` or `-$0.10`, into exact minor units.
//! Digits are read as text and never through floating point, so `2557.68` is exactly 255768.

use super::{Currency, Money};
use crate::error::ValueError;

/// Sign constraint on a parsed amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountRule {
    /// Strictly above zero, as for a top-up or a price.
    Positive,
    /// Zero or above, as for a credit limit.
    NonNegative,
    /// Any sign, as for a balance adjustment.
    Any,
}

impl Money {
    /// Parses a typed amount in `currency` and checks its sign against `rule`.
    ///
    /// Accepts an optional leading `-`, an optional leading `$` for dollar currencies, digits
    /// with `,` between groups of three, and up to `currency.minor_units()` decimals.
    /// Exponent notation, other symbols, `NaN` and amounts beyond `i64` minor units are rejected.
    pub fn parse(input: &str, currency: Currency, rule: AmountRule) -> Result<Money, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let (negative, number) = split_sign_and_symbol(trimmed, currency)?;
        let amount = parse_unsigned(trimmed, number, currency)?;
        let signed = if negative { -amount } else { amount };
        let amount_minor = i64::try_from(signed).map_err(|_| too_large(trimmed))?;
        if amount_minor.unsigned_abs() > MAX_AMOUNT_MINOR as u64 {
            return Err(too_large(trimmed));
        }

        match rule {
            AmountRule::Positive if amount_minor <= 0 => Err(ValueError::new(
                "must_be_positive",
                format!("'{trimmed}' is not above zero: enter an amount greater than 0."),
            )),
            // A minus sign is rejected even on zero, because "-0" suggests a typing mistake.
            AmountRule::NonNegative if negative => Err(ValueError::new(
                "must_not_be_negative",
                format!("'{trimmed}' is negative: enter 0 or more, without a minus sign."),
            )),
            _ => Ok(Money::new(amount_minor, currency)),
        }
    }
}

/// The largest amount accepted from input, in minor units: a trillion (ten billion dollars).
/// Far above any real charge, and far enough below `i64::MAX` that sums of many such amounts
/// and their tax cannot overflow.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// Splits off a leading `-` and `$` (in either order), returning the sign and the digits.
fn split_sign_and_symbol(input: &str, currency: Currency) -> Result<(bool, &str), ValueError> {
    let mut rest = input;
    let mut negative = false;
    if let Some(after) = rest.strip_prefix('-') {
        negative = true;
        rest = after.trim_start();
    }
    if let Some(after) = rest.strip_prefix('$') {
        if currency.symbol() != "$" {
            return Err(ValueError::new(
                "invalid_money",
                format!(
                    "'{input}' has a $ sign, but the amount is in {}: enter only the number.",
                    currency.as_str()
                ),
            ));
        }
        rest = after.trim_start();
    }
    if !negative {
        if let Some(after) = rest.strip_prefix('-') {
            negative = true;
            rest = after;
        }
    }
    Ok((negative, rest))
}

/// Parses unsigned digits with optional grouping commas and decimals into minor units.
fn parse_unsigned(input: &str, number: &str, currency: Currency) -> Result<i128, ValueError> {
    if number.contains(['e', 'E']) && number.chars().any(|c| c.is_ascii_digit()) {
        return Err(ValueError::new(
            "invalid_money",
            format!("'{input}' uses exponent notation: write the amount in full, such as 1000."),
        ));
    }
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    let whole_digits = ungroup(whole).ok_or_else(|| not_an_amount(input))?;
    let fraction_is_digits = fraction.bytes().all(|byte| byte.is_ascii_digit());
    if !fraction_is_digits || (whole_digits.is_empty() && fraction.is_empty()) {
        return Err(not_an_amount(input));
    }

    let units = currency.minor_units();
    if fraction.len() > units as usize {
        return Err(too_many_decimals(input, currency, fraction.len()));
    }

    let mut amount: i128 = 0;
    let padded_fraction = format!("{fraction:0<width$}", width = units as usize);
    for digit in whole_digits.bytes().chain(padded_fraction.bytes()) {
        amount = amount
            .checked_mul(10)
            .and_then(|value| value.checked_add(i128::from(digit - b'0')))
            .ok_or_else(|| too_large(input))?;
    }
    Ok(amount)
}

/// Removes grouping commas from `whole`, checking they sit between groups of three digits.
fn ungroup(whole: &str) -> Option<String> {
    let groups: Vec<&str> = whole.split(',').collect();
    let all_digits = groups
        .iter()
        .all(|group| group.bytes().all(|byte| byte.is_ascii_digit()));
    if !all_digits {
        return None;
    }
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        let rest_ok = groups[1..].iter().all(|group| group.len() == 3);
        if !first_ok || !rest_ok {
            return None;
        }
    }
    Some(groups.concat())
}

/// Builds the general `invalid_money` error for `input`.
fn not_an_amount(input: &str) -> ValueError {
    ValueError::new(
        "invalid_money",
        format!(
            "'{input}' is not an amount: enter digits with an optional decimal point, such as \
             2557.68."
        ),
    )
}

/// Builds the error for an amount outside the range of `i64` minor units.
fn too_large(input: &str) -> ValueError {
    ValueError::new(
        "invalid_money",
        format!("'{input}' is too large to be an amount: check the number of digits."),
    )
}

/// Builds the error for more decimals than `currency` has.
fn too_many_decimals(input: &str, currency: Currency, decimals: usize) -> ValueError {
    let code = currency.as_str();
    let message = match currency.minor_units() {
        0 => format!("'{input}' has decimals, but {code} amounts are whole numbers: remove them."),
        units => format!(
            "'{input}' has {decimals} decimal places, but {code} amounts have at most {units}: \
             round it to {units}."
        ),
    };
    ValueError::new("too_many_decimals", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_nzd(input: &str, rule: AmountRule) -> Result<i64, ValueError> {
        Money::parse(input, Currency::NZD, rule).map(|money| money.amount_minor())
    }

    #[test]
    fn money_parse_rejects_above_maximum() {
        for input in [
            "10000000000.01",
            "92233720368547758.07",
            "-92233720368547758.08",
        ] {
            assert!(parse_nzd(input, AmountRule::Any).is_err(), "{input}");
        }
    }

    #[test]
    fn money_parse_valid_cases() {
        let valid = [
            ("2557.68", 255_768),
            ("2,557.68", 255_768),
            ("$2,557.68", 255_768),
            ("$ 2557.68", 255_768),
            ("  10 ", 1_000),
            ("10.5", 1_050),
            ("0.01", 1),
            (".5", 50),
            ("5.", 500),
            ("1,000,000", 100_000_000),
            ("007", 700),
            ("-0.10", -10),
            ("-$0.10", -10),
            ("$-0.10", -10),
            ("0", 0),
            ("10000000000.00", MAX_AMOUNT_MINOR),
            ("-10000000000.00", -MAX_AMOUNT_MINOR),
        ];
        for (input, expected) in valid {
            assert_eq!(parse_nzd(input, AmountRule::Any), Ok(expected), "{input}");
        }
    }

    #[test]
    fn money_parse_exact_without_float_error() {
        let money = Money::parse("2557.68", Currency::NZD, AmountRule::Positive).unwrap();
        assert_eq!(money, Money::new(255_768, Currency::NZD));
    }

    #[test]
    fn money_parse_invalid_cases() {
        let invalid = [
            ("1e3", "invalid_money"),
            ("1E3", "invalid_money"),
            ("NaN", "invalid_money"),
            ("inf", "invalid_money"),
            ("abc", "invalid_money"),
            ("1,00", "invalid_money"),
            ("1,0000", "invalid_money"),
            ("1000,000", "invalid_money"),
            (",100", "invalid_money"),
            ("1.2.3", "invalid_money"),
            ("1 000", "invalid_money"),
            (".", "invalid_money"),
            ("-", "invalid_money"),
            ("$", "invalid_money"),
            ("--5", "invalid_money"),
            ("+5", "invalid_money"),
            ("£5", "invalid_money"),
            ("5$", "invalid_money"),
            ("1.5.", "invalid_money"),
            ("92233720368547758.08", "invalid_money"),
            ("99999999999999999999999999999999999999999", "invalid_money"),
            ("1.234", "too_many_decimals"),
            ("0.001", "too_many_decimals"),
            ("", "required"),
            ("   ", "required"),
        ];
        for (input, code) in invalid {
            let error = parse_nzd(input, AmountRule::Any).expect_err(input);
            assert_eq!(error.code, code, "{input}: {}", error.message);
        }
    }

    #[test]
    fn money_parse_rules() {
        let cases = [
            ("5", AmountRule::Positive, Ok(500)),
            ("0", AmountRule::Positive, Err("must_be_positive")),
            ("0.00", AmountRule::Positive, Err("must_be_positive")),
            ("-5", AmountRule::Positive, Err("must_be_positive")),
            ("0", AmountRule::NonNegative, Ok(0)),
            ("5", AmountRule::NonNegative, Ok(500)),
            ("-5", AmountRule::NonNegative, Err("must_not_be_negative")),
            ("-0", AmountRule::NonNegative, Err("must_not_be_negative")),
            ("-5", AmountRule::Any, Ok(-500)),
        ];
        for (input, rule, expected) in cases {
            let result = parse_nzd(input, rule).map_err(|error| error.code);
            assert_eq!(result, expected, "{input} {rule:?}");
        }
    }

    #[test]
    fn money_parse_jpy_has_no_decimals() {
        let yen = Money::parse("1,000", Currency::JPY, AmountRule::Positive).unwrap();
        assert_eq!(yen.amount_minor(), 1_000);
        let error = Money::parse("1000.5", Currency::JPY, AmountRule::Positive).unwrap_err();
        assert_eq!(error.code, "too_many_decimals");
        assert!(error.message.contains("whole numbers"), "{}", error.message);
    }

    #[test]
    fn money_parse_dollar_sign_only_for_dollars() {
        let error = Money::parse("$5", Currency::GBP, AmountRule::Positive).unwrap_err();
        assert_eq!(error.code, "invalid_money");
        assert!(Money::parse("$5", Currency::SGD, AmountRule::Positive).is_ok());
    }

    #[test]
    fn money_parse_message_quotes_value() {
        let error = parse_nzd("1.234", AmountRule::Any).unwrap_err();
        assert!(
            error.message.starts_with("'1.234' has 3 decimal places"),
            "{}",
            error.message
        );
    }
}
