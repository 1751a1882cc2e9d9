//! Business registration numbers: the New Zealand Business Number (NZBN), the Australian
//! Business Number (ABN), and free-form numbers elsewhere. Tax numbers live in `tax_number`.

mod tax_number;

use std::fmt;

use crate::country::Country;
use crate::error::ValueError;
use crate::serde_string::string_serde;

pub use self::tax_number::TaxNumber;

/// Maximum length of a business or tax number for countries without a specific rule.
pub(crate) const FREE_FORM_MAX_LEN: usize = 32;

/// ABN digit weights, from the Australian Business Register's published check algorithm.
const ABN_WEIGHTS: [u32; 11] = [10, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19];

/// A business registration number, digits only for NZ and AU.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BusinessNumber {
    value: String,
    country: Country,
}

impl BusinessNumber {
    /// Parses an NZBN for NZ, an ABN for AU, or a free-form number for other countries.
    ///
    /// Spaces are allowed between digits of an NZBN or ABN and are removed.
    pub fn parse(input: &str, country: Country) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let value = match country.as_str() {
            "NZ" => parse_nzbn(trimmed)?,
            "AU" => parse_abn(trimmed)?,
            _ => free_form(trimmed, "invalid_business_number", "business number")?,
        };
        Ok(Self { value, country })
    }

    /// Returns the number, digits only for an NZBN or ABN.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Returns the country that issued the number.
    pub fn country(&self) -> Country {
        self.country
    }
}

/// Parses a 13-digit NZBN and checks its GS1 check digit.
fn parse_nzbn(input: &str) -> Result<String, ValueError> {
    let invalid = |reason: &str| {
        ValueError::new(
            "invalid_nzbn",
            format!("'{input}' is not a valid NZBN: {reason}. Copy it from the NZBN register."),
        )
    };
    let digits = digits_without_spaces(input)
        .filter(|digits| digits.len() == 13)
        .ok_or_else(|| invalid("an NZBN is 13 digits"))?;
    // NZBNs are GS1 Global Location Numbers issued under GS1 New Zealand's prefix 94.
    if !digits.starts_with("94") {
        return Err(invalid("every NZBN starts with 94"));
    }
    if gs1_check_digit(&digits[..12]) != digits.as_bytes()[12] - b'0' {
        return Err(invalid(
            "the last digit does not match the others, so a digit is wrong",
        ));
    }
    Ok(digits)
}

/// Computes the GS1 mod-10 check digit: weights 3 and 1 alternate from the rightmost digit.
fn gs1_check_digit(payload: &str) -> u8 {
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(index, byte)| {
            let digit = u32::from(byte - b'0');
            if index % 2 == 0 {
                digit * 3
            } else {
                digit
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Parses an 11-digit ABN and checks its modulus-89 checksum.
fn parse_abn(input: &str) -> Result<String, ValueError> {
    let invalid = |reason: &str| {
        ValueError::new(
            "invalid_abn",
            format!("'{input}' is not a valid ABN: {reason}. Check it on ABN Lookup."),
        )
    };
    let digits = digits_without_spaces(input)
        .filter(|digits| digits.len() == 11)
        .ok_or_else(|| invalid("an ABN is 11 digits"))?;
    // The first two digits are check digits from 10 to 99, so a leading 0 is never valid.
    if digits.starts_with('0') {
        return Err(invalid("an ABN never starts with 0"));
    }
    let sum: u32 = digits
        .bytes()
        .zip(ABN_WEIGHTS)
        .enumerate()
        .map(|(index, (byte, weight))| {
            let digit = u32::from(byte - b'0');
            // The published algorithm subtracts 1 from the first digit before weighting.
            let adjusted = if index == 0 { digit - 1 } else { digit };
            adjusted * weight
        })
        .sum();
    if !sum.is_multiple_of(89) {
        return Err(invalid(
            "its check digits do not match, so a digit is wrong",
        ));
    }
    Ok(digits)
}

/// Returns the ASCII digits of `input` with spaces removed, or `None` if anything else appears.
fn digits_without_spaces(input: &str) -> Option<String> {
    let mut digits = String::with_capacity(input.len());
    for character in input.chars() {
        match character {
            '0'..='9' => digits.push(character),
            ' ' => {}
            _ => return None,
        }
    }
    Some(digits)
}

/// Accepts 1 to 32 printable characters (no control characters), as typed.
pub(crate) fn free_form(input: &str, code: &'static str, noun: &str) -> Result<String, ValueError> {
    if input.chars().any(char::is_control) {
        return Err(ValueError::new(
            code,
            format!("This {noun} contains a line break or control character: remove it."),
        ));
    }
    let length = input.chars().count();
    if length > FREE_FORM_MAX_LEN {
        return Err(ValueError::new(
            code,
            format!(
                "'{input}' is {length} characters long, but a {noun} has at most \
                 {FREE_FORM_MAX_LEN}: check it was entered correctly."
            ),
        ));
    }
    Ok(input.to_owned())
}

impl fmt::Display for BusinessNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

string_serde!(@serialize BusinessNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_number_nzbn_valid_cases() {
        let valid = [
            ("9429041234563", "9429041234563"),
            ("94 2904 1234 563", "9429041234563"),
            (" 9429000000000 ", "9429000000000"),
            ("9429076543210", "9429076543210"),
        ];
        for (input, expected) in valid {
            let number = BusinessNumber::parse(input, Country::NZ);
            assert_eq!(number.map(|n| n.value), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn business_number_nzbn_invalid_cases() {
        let invalid = [
            ("9429041234560", "wrong check digit"),
            ("9429041234564", "wrong check digit"),
            ("942904123456", "12 digits"),
            ("94290412345630", "14 digits"),
            ("1234567890128", "not 94 prefix"),
            ("9429-0412-34563", "dashes"),
            ("94290412345x3", "letter"),
        ];
        for (input, case) in invalid {
            let error = BusinessNumber::parse(input, Country::NZ).expect_err(case);
            assert_eq!(error.code, "invalid_nzbn", "{case}");
        }
    }

    #[test]
    fn business_number_abn_valid_cases() {
        let valid = [
            ("51 824 753 556", "51824753556"),
            ("51824753556", "51824753556"),
            ("33 051 775 556", "33051775556"),
            ("53 004 085 616", "53004085616"),
        ];
        for (input, expected) in valid {
            let number = BusinessNumber::parse(input, Country::AU);
            assert_eq!(number.map(|n| n.value), Ok(expected.to_owned()), "{input}");
        }
    }

    #[test]
    fn business_number_abn_invalid_cases() {
        let invalid = [
            ("51 824 753 557", "last digit changed"),
            ("15 824 753 556", "first digits swapped"),
            ("51 824 753 55", "10 digits"),
            ("51 824 753 5566", "12 digits"),
            ("01 824 753 556", "leading zero"),
            ("51-824-753-556", "dashes"),
        ];
        for (input, case) in invalid {
            let error = BusinessNumber::parse(input, Country::AU).expect_err(case);
            assert_eq!(error.code, "invalid_abn", "{case}");
        }
    }

    #[test]
    fn business_number_other_countries_free_form() {
        let gb = Country::GB;
        assert_eq!(
            BusinessNumber::parse(" 01234567 ", gb).unwrap().as_str(),
            "01234567"
        );
        assert_eq!(
            BusinessNumber::parse("SC-123 456", gb).unwrap().as_str(),
            "SC-123 456"
        );
        assert_eq!(
            BusinessNumber::parse(&"9".repeat(32), gb)
                .unwrap()
                .as_str()
                .len(),
            32
        );
    }

    #[test]
    fn business_number_other_countries_invalid() {
        let too_long = "9".repeat(33);
        for input in [too_long.as_str(), "12\n34", "12\u{7}34"] {
            let error = BusinessNumber::parse(input, Country::US).expect_err(input);
            assert_eq!(error.code, "invalid_business_number", "{input:?}");
        }
    }

    #[test]
    fn business_number_empty_is_required() {
        for country in [Country::NZ, Country::AU, Country::US] {
            let error = BusinessNumber::parse(" ", country).unwrap_err();
            assert_eq!(error.code, "required", "{country}");
        }
    }

    #[test]
    fn gs1_check_digit_known_values() {
        // The EAN-13 barcode 4006381333931 ends in check digit 1.
        assert_eq!(gs1_check_digit("400638133393"), 1);
        assert_eq!(gs1_check_digit("942904123456"), 3);
    }

    #[test]
    fn business_number_serializes_as_string() {
        let number = BusinessNumber::parse("51 824 753 556", Country::AU).unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"51824753556\"");
    }
}
