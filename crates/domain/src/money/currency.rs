//! The ISO 4217 currencies Tandem bills in, with their minor units and display symbols.

use std::fmt;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// An ISO 4217 currency that Tandem can bill in.
// The variants are the ISO codes themselves, which readers recognise in upper case.
#[allow(clippy::upper_case_acronyms)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Currency {
    /// New Zealand dollar.
    NZD,
    /// Australian dollar.
    AUD,
    /// United States dollar.
    USD,
    /// Pound sterling.
    GBP,
    /// Euro.
    EUR,
    /// Canadian dollar.
    CAD,
    /// Japanese yen.
    JPY,
    /// Singapore dollar.
    SGD,
}

impl Currency {
    /// Every supported currency, in the order shown in pickers.
    pub const ALL: [Currency; 8] = [
        Currency::NZD,
        Currency::AUD,
        Currency::USD,
        Currency::GBP,
        Currency::EUR,
        Currency::CAD,
        Currency::JPY,
        Currency::SGD,
    ];

    /// Parses an ISO 4217 code in any case, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let upper = trimmed.to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|currency| currency.as_str() == upper)
            .ok_or_else(|| {
                let supported: Vec<&str> = Self::ALL.iter().map(Currency::as_str).collect();
                ValueError::new(
                    "invalid_currency",
                    format!(
                        "'{trimmed}' is not a supported currency: enter one of {}.",
                        supported.join(", ")
                    ),
                )
            })
    }

    /// Returns the upper-case ISO 4217 code, such as `NZD`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Currency::NZD => "NZD",
            Currency::AUD => "AUD",
            Currency::USD => "USD",
            Currency::GBP => "GBP",
            Currency::EUR => "EUR",
            Currency::CAD => "CAD",
            Currency::JPY => "JPY",
            Currency::SGD => "SGD",
        }
    }

    /// Returns the number of decimal places in an amount, per ISO 4217 (0 for JPY, else 2).
    pub fn minor_units(&self) -> u32 {
        match self {
            Currency::JPY => 0,
            _ => 2,
        }
    }

    /// Returns the symbol written before amounts, such as `$` or `€`.
    pub fn symbol(&self) -> &'static str {
        match self {
            Currency::NZD | Currency::AUD | Currency::USD | Currency::CAD | Currency::SGD => "$",
            Currency::GBP => "£",
            Currency::EUR => "€",
            Currency::JPY => "¥",
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(Currency);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_parse_valid_cases() {
        let valid = [
            ("NZD", Currency::NZD),
            ("nzd", Currency::NZD),
            (" aud ", Currency::AUD),
            ("USD", Currency::USD),
            ("GBP", Currency::GBP),
            ("EUR", Currency::EUR),
            ("CAD", Currency::CAD),
            ("JPY", Currency::JPY),
            ("SGD", Currency::SGD),
        ];
        for (input, expected) in valid {
            assert_eq!(Currency::parse(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn currency_parse_invalid_cases() {
        for input in ["XYZ", "NZ", "NZDD", "$", "dollars"] {
            let error = Currency::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_currency", "{input}");
        }
    }

    #[test]
    fn currency_parse_empty_is_required() {
        assert_eq!(Currency::parse(" ").unwrap_err().code, "required");
    }

    #[test]
    fn currency_minor_units() {
        assert_eq!(Currency::JPY.minor_units(), 0);
        assert_eq!(Currency::NZD.minor_units(), 2);
        assert_eq!(Currency::EUR.minor_units(), 2);
    }

    #[test]
    fn currency_symbols() {
        let cases = [
            (Currency::NZD, "$"),
            (Currency::AUD, "$"),
            (Currency::USD, "$"),
            (Currency::CAD, "$"),
            (Currency::SGD, "$"),
            (Currency::GBP, "£"),
            (Currency::EUR, "€"),
            (Currency::JPY, "¥"),
        ];
        for (currency, symbol) in cases {
            assert_eq!(currency.symbol(), symbol, "{currency}");
        }
    }

    #[test]
    fn currency_as_str_round_trips() {
        for currency in Currency::ALL {
            assert_eq!(Currency::parse(currency.as_str()), Ok(currency));
        }
    }

    #[test]
    fn currency_serde_round_trip() {
        assert_eq!(serde_json::to_string(&Currency::GBP).unwrap(), "\"GBP\"");
        let back: Currency = serde_json::from_str("\"gbp\"").unwrap();
        assert_eq!(back, Currency::GBP);
    }
}
