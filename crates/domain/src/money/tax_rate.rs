//! Tax rates such as New Zealand's 15% GST, held in basis points (hundredths of a percent) so
//! that tax is computed in integers.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValueError;

/// Basis points in 100%.
const BASIS_POINTS_PER_WHOLE: i128 = 10_000;

/// A tax rate in basis points: 1500 is 15%, 1250 is 12.5%.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxRate(u32);

impl TaxRate {
    /// Creates a rate from basis points (hundredths of a percent).
    pub fn from_basis_points(basis_points: u32) -> Self {
        Self(basis_points)
    }

    /// Parses a percentage such as `15`, `12.5` or `15%`, with at most two decimals and at
    /// most 100%.
    pub fn parse_percent(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }

        let number = trimmed.strip_suffix('%').unwrap_or(trimmed).trim_end();
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let digits_only = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
        let well_formed = !whole.is_empty()
            && whole.len() <= 3
            && fraction.len() <= 2
            && digits_only(whole)
            && digits_only(fraction);
        let invalid = || {
            ValueError::new(
                "invalid_tax_rate",
                format!(
                    "'{trimmed}' is not a tax rate: enter a percentage from 0 to 100 with at \
                     most two decimals, such as 15 or 12.5."
                ),
            )
        };
        if !well_formed {
            return Err(invalid());
        }

        let whole: u32 = whole.parse().map_err(|_| invalid())?;
        let hundredths: u32 = format!("{fraction:0<2}").parse().map_err(|_| invalid())?;
        let basis_points = whole * 100 + hundredths;
        if basis_points > 10_000 {
            return Err(invalid());
        }
        Ok(Self(basis_points))
    }

    /// Returns the rate in basis points.
    pub fn basis_points(&self) -> u32 {
        self.0
    }

    /// Computes the tax on `amount_minor`, rounding half away from zero to whole minor units.
    ///
    /// Halves round up in size for both signs, so the tax on a refund is exactly the negative
    /// of the tax on the matching charge. A result beyond the `i64` range saturates, which only
    /// happens for rates far above 100% on amounts near the limit.
    pub fn tax_on(&self, amount_minor: i64) -> i64 {
        let product = i128::from(amount_minor) * i128::from(self.0);
        let mut tax = product / BASIS_POINTS_PER_WHOLE;
        let remainder = product % BASIS_POINTS_PER_WHOLE;
        if remainder.abs() * 2 >= BASIS_POINTS_PER_WHOLE {
            tax += product.signum();
        }
        i64::try_from(tax).unwrap_or(if tax < 0 { i64::MIN } else { i64::MAX })
    }
}

impl fmt::Display for TaxRate {
    /// Writes the rate as a percentage without trailing zeros, such as `15%` or `12.5%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 100;
        let hundredths = self.0 % 100;
        if hundredths == 0 {
            write!(f, "{whole}%")
        } else if hundredths.is_multiple_of(10) {
            write!(f, "{whole}.{}%", hundredths / 10)
        } else {
            write!(f, "{whole}.{hundredths:02}%")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rate_display_cases() {
        let cases = [
            (1500, "15%"),
            (1250, "12.5%"),
            (1234, "12.34%"),
            (5, "0.05%"),
            (50, "0.5%"),
            (0, "0%"),
            (10_000, "100%"),
        ];
        for (basis_points, expected) in cases {
            assert_eq!(
                TaxRate::from_basis_points(basis_points).to_string(),
                expected
            );
        }
    }

    #[test]
    fn tax_rate_tax_on_cases() {
        let gst = TaxRate::from_basis_points(1500);
        let cases = [
            (10_000, 1_500),
            (255_768, 38_365),
            (1, 0),
            (3, 0),
            (4, 1),
            (10, 2),
            (-10, -2),
            (-4, -1),
            (-3, 0),
            (0, 0),
        ];
        for (amount, expected) in cases {
            assert_eq!(gst.tax_on(amount), expected, "15% of {amount}");
        }
    }

    #[test]
    fn tax_rate_tax_on_rounds_half_up() {
        let ten_percent = TaxRate::from_basis_points(1000);
        assert_eq!(ten_percent.tax_on(5), 1);
        assert_eq!(ten_percent.tax_on(-5), -1);
        assert_eq!(ten_percent.tax_on(14), 1);
        assert_eq!(ten_percent.tax_on(15), 2);
    }

    #[test]
    fn tax_rate_tax_on_saturates() {
        let huge = TaxRate::from_basis_points(u32::MAX);
        assert_eq!(huge.tax_on(i64::MAX), i64::MAX);
        assert_eq!(huge.tax_on(i64::MIN), i64::MIN);
    }

    #[test]
    fn tax_rate_parse_percent_valid_cases() {
        let valid = [
            ("15", 1500),
            ("15%", 1500),
            (" 12.5 % ", 1250),
            ("0", 0),
            ("0.05", 5),
            ("100", 10_000),
            ("7.", 700),
        ];
        for (input, expected) in valid {
            let rate = TaxRate::parse_percent(input).map(|rate| rate.basis_points());
            assert_eq!(rate, Ok(expected), "{input}");
        }
    }

    #[test]
    fn tax_rate_parse_percent_invalid_cases() {
        let invalid = [
            "100.01",
            "101",
            "1000",
            "-5",
            "1.234",
            "abc",
            "15 percent",
            ".5",
            "1e2",
        ];
        for input in invalid {
            let error = TaxRate::parse_percent(input).expect_err(input);
            assert_eq!(error.code, "invalid_tax_rate", "{input}");
        }
    }

    #[test]
    fn tax_rate_parse_percent_empty_is_required() {
        assert_eq!(TaxRate::parse_percent("").unwrap_err().code, "required");
    }

    #[test]
    fn tax_rate_serde_as_basis_points() {
        assert_eq!(
            serde_json::to_string(&TaxRate::from_basis_points(1500)).unwrap(),
            "1500"
        );
    }
}
