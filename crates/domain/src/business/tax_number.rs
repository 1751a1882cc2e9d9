//! Tax registration numbers: New Zealand IRD numbers (also used as GST numbers), checked with
//! Inland Revenue's modulus-11 algorithm, and free-form numbers for other countries.

use std::fmt;

use super::free_form;
use crate::country::Country;
use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Primary IRD check weights, from Inland Revenue's IRD number validation specification.
const IRD_PRIMARY_WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];

/// Secondary IRD weights, used when the primary weights give a check digit of 10.
const IRD_SECONDARY_WEIGHTS: [u32; 8] = [7, 4, 3, 2, 5, 2, 7, 6];

/// Range of IRD numbers in issue; numbers outside it are invalid whatever their check digit.
const IRD_RANGE: std::ops::RangeInclusive<u32> = 10_000_000..=150_000_000;

/// A tax registration number: for NZ nine IRD digits, elsewhere the text as typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaxNumber {
    value: String,
    country: Country,
}

impl TaxNumber {
    /// Parses an IRD or GST number for NZ, or a free-form tax number for other countries.
    ///
    /// An IRD number has 8 or 9 digits, with dashes or spaces allowed between them. It is
    /// stored as 9 digits with a leading zero where needed, so `49-091-850` becomes
    /// `049091850`.
    pub fn parse(input: &str, country: Country) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let value = match country.as_str() {
            "NZ" => parse_ird(trimmed)?,
            _ => free_form(trimmed, "invalid_tax_number", "tax number")?,
        };
        Ok(Self { value, country })
    }

    /// Returns the number: nine digits for NZ, the text as typed elsewhere.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Returns the country that issued the number.
    pub fn country(&self) -> Country {
        self.country
    }
}

/// Parses an IRD number, returning it as nine digits.
fn parse_ird(input: &str) -> Result<String, ValueError> {
    let invalid = |reason: &str| {
        ValueError::new(
            "invalid_ird_number",
            format!(
                "'{input}' is not a valid IRD number: {reason}. Copy it from a letter or \
                 myIR, such as 49-091-850."
            ),
        )
    };
    let mut digits = String::with_capacity(9);
    for character in input.chars() {
        match character {
            '0'..='9' => digits.push(character),
            ' ' | '-' => {}
            _ => return Err(invalid("it may contain only digits, spaces and dashes")),
        }
    }
    if !(8..=9).contains(&digits.len()) {
        return Err(invalid("an IRD number has 8 or 9 digits"));
    }
    let number: u32 = digits
        .parse()
        .map_err(|_| invalid("an IRD number has 8 or 9 digits"))?;
    if !IRD_RANGE.contains(&number) {
        return Err(invalid("IRD numbers run from 10-000-000 to 150-000-000"));
    }
    let padded = format!("{number:09}");
    if !has_valid_ird_check_digit(&padded) {
        return Err(invalid(
            "the last digit does not match the others, so a digit is wrong",
        ));
    }
    Ok(padded)
}

/// Checks the last of nine IRD digits with the modulus-11 algorithm.
fn has_valid_ird_check_digit(nine_digits: &str) -> bool {
    let digits: Vec<u32> = nine_digits
        .bytes()
        .map(|byte| u32::from(byte - b'0'))
        .collect();
    // For an 8-digit number the base starts with the padding zero, as the specification
    // requires.
    let (base, check) = (&digits[..8], digits[8]);
    for weights in [IRD_PRIMARY_WEIGHTS, IRD_SECONDARY_WEIGHTS] {
        let sum: u32 = base
            .iter()
            .zip(weights)
            .map(|(digit, weight)| digit * weight)
            .sum();
        let remainder = sum % 11;
        let expected = if remainder == 0 { 0 } else { 11 - remainder };
        if expected != 10 {
            return expected == check;
        }
    }
    // Both weightings gave 10, which no issued number has.
    false
}

impl fmt::Display for TaxNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

string_serde!(@serialize TaxNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_number_ird_valid_cases() {
        let valid = [
            ("49091850", "049091850"),
            ("49-091-850", "049091850"),
            ("049-091-850", "049091850"),
            ("35901981", "035901981"),
            ("49098576", "049098576"),
            ("136410132", "136410132"),
            ("136 410 132", "136410132"),
        ];
        for (input, expected) in valid {
            let number = TaxNumber::parse(input, Country::NZ);
            assert_eq!(number.map(|n| n.value), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn tax_number_ird_invalid_cases() {
        let invalid = [
            ("136410133", "wrong check digit"),
            ("49091851", "wrong check digit"),
            ("9125568", "7 digits, below range"),
            ("09125568", "below range"),
            ("150000001", "above range"),
            ("1234567890", "10 digits"),
            ("49.091.850", "dots"),
            ("GST49091850", "letters"),
        ];
        for (input, case) in invalid {
            let error = TaxNumber::parse(input, Country::NZ).expect_err(case);
            assert_eq!(error.code, "invalid_ird_number", "{case}");
        }
    }

    #[test]
    fn tax_number_other_countries_free_form() {
        let number = TaxNumber::parse(" GB 123 4567 89 ", Country::GB).unwrap();
        assert_eq!(number.as_str(), "GB 123 4567 89");
        assert_eq!(number.country(), Country::GB);
    }

    #[test]
    fn tax_number_other_countries_invalid() {
        let too_long = "1".repeat(33);
        for input in [too_long.as_str(), "12\t34"] {
            let error = TaxNumber::parse(input, Country::AU).expect_err(input);
            assert_eq!(error.code, "invalid_tax_number", "{input:?}");
        }
    }

    #[test]
    fn tax_number_empty_is_required() {
        assert_eq!(
            TaxNumber::parse("", Country::NZ).unwrap_err().code,
            "required"
        );
    }
}
