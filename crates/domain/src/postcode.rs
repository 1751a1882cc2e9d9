//! Postcodes checked against the format of their country, so that invoices and emergency
//! address records carry a code the postal service recognises. Only the shape is checked, not
//! whether the code is in use.

use std::fmt;

use crate::country::Country;
use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Maximum length of a postcode for countries without a specific rule.
const OTHER_MAX_LEN: usize = 10;

/// Letters Canada Post never uses in postal codes, because they are easily misread.
const CA_EXCLUDED_LETTERS: &[u8] = b"DFIOQU";

/// A postcode in the normalised form of its country, such as `SW1A 1AA` or `K1A 0B1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Postcode {
    value: String,
    country: Country,
}

impl Postcode {
    /// Parses a postcode for `country`, trimming it and normalising case and spacing.
    pub fn parse(input: &str, country: Country) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let normalised = match country.as_str() {
            "NZ" | "AU" => four_digits(trimmed),
            "US" => us_zip(trimmed),
            "GB" => uk_postcode(trimmed),
            "CA" => canadian_postal_code(trimmed),
            _ => other_postcode(trimmed),
        };
        match normalised {
            Some(value) => Ok(Self { value, country }),
            None => Err(ValueError::new(
                "invalid_postcode",
                format!(
                    "'{trimmed}' is not a valid postcode: {}",
                    expected_form(country)
                ),
            )),
        }
    }

    /// Returns the normalised postcode.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Returns the country whose format the postcode follows.
    pub fn country(&self) -> Country {
        self.country
    }
}

/// Describes the accepted form for `country`, ending with a full stop.
fn expected_form(country: Country) -> String {
    match country.as_str() {
        "NZ" => "New Zealand postcodes are four digits, such as 6011.".to_owned(),
        "AU" => "Australian postcodes are four digits, such as 2000.".to_owned(),
        "US" => "US ZIP codes are five digits, or five digits, a dash and four more, such as \
                 20500 or 20500-0003."
            .to_owned(),
        "GB" => "UK postcodes look like SW1A 1AA or M1 1AE.".to_owned(),
        "CA" => "Canadian postal codes look like K1A 0B1: letter, digit, letter, space, digit, \
                 letter, digit."
            .to_owned(),
        _ => format!(
            "postcodes for {} are 1 to {OTHER_MAX_LEN} letters, digits, spaces or dashes.",
            country.name()
        ),
    }
}

/// Accepts exactly four ASCII digits, as used in New Zealand and Australia.
fn four_digits(input: &str) -> Option<String> {
    (input.len() == 4 && input.bytes().all(|byte| byte.is_ascii_digit())).then(|| input.to_owned())
}

/// Accepts a US ZIP code: `12345` or ZIP+4 `12345-6789`.
fn us_zip(input: &str) -> Option<String> {
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let valid = match input.split_once('-') {
        Some((zip, plus_four)) => {
            zip.len() == 5 && plus_four.len() == 4 && all_digits(zip) && all_digits(plus_four)
        }
        None => input.len() == 5 && all_digits(input),
    };
    valid.then(|| input.to_owned())
}

/// Accepts a UK postcode in any case and spacing, returning it upper case with one space.
///
/// The outward code is one of A9, A99, AA9, AA99, A9A or AA9A, and the inward code is a digit
/// and two letters. GIR 0AA, the one historic exception, is accepted too.
fn uk_postcode(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|character| *character != ' ')
        .map(|character| character.to_ascii_uppercase())
        .collect();
    if !compact.is_ascii() || !(5..=7).contains(&compact.len()) {
        return None;
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let inward_bytes = inward.as_bytes();
    let inward_ok = inward_bytes[0].is_ascii_digit()
        && inward_bytes[1].is_ascii_uppercase()
        && inward_bytes[2].is_ascii_uppercase();
    if !inward_ok {
        return None;
    }
    let is_girobank = outward == "GIR" && inward == "0AA";
    if !is_girobank && !is_uk_outward_code(outward) {
        return None;
    }
    Some(format!("{outward} {inward}"))
}

/// Checks the outward half of a UK postcode against the six standard shapes.
fn is_uk_outward_code(outward: &str) -> bool {
    let shape: String = outward
        .bytes()
        .map(|byte| if byte.is_ascii_digit() { '9' } else { 'A' })
        .collect();
    matches!(
        shape.as_str(),
        "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
    )
}

/// Accepts a Canadian postal code such as `k1a0b1`, returning `K1A 0B1`.
fn canadian_postal_code(input: &str) -> Option<String> {
    let compact: Vec<u8> = input
        .bytes()
        .filter(|byte| *byte != b' ' && *byte != b'-')
        .map(|byte| byte.to_ascii_uppercase())
        .collect();
    if compact.len() != 6 {
        return None;
    }
    let letter_ok = |byte: u8| byte.is_ascii_uppercase() && !CA_EXCLUDED_LETTERS.contains(&byte);
    let shape_ok = compact.iter().enumerate().all(|(index, byte)| {
        if index % 2 == 0 {
            letter_ok(*byte)
        } else {
            byte.is_ascii_digit()
        }
    });
    // W and Z are not used as the first letter, which names the province.
    if !shape_ok || matches!(compact[0], b'W' | b'Z') {
        return None;
    }
    let text = String::from_utf8(compact).ok()?;
    Some(format!("{} {}", &text[..3], &text[3..]))
}

/// Accepts 1 to 10 ASCII letters, digits, spaces or dashes, returned in upper case.
fn other_postcode(input: &str) -> Option<String> {
    let allowed = input
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == ' ' || character == '-');
    (allowed && input.len() <= OTHER_MAX_LEN).then(|| input.to_ascii_uppercase())
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

string_serde!(@serialize Postcode);

#[cfg(test)]
mod tests {
    use super::*;

    fn country(code: &str) -> Country {
        Country::parse(code).unwrap()
    }

    #[test]
    fn postcode_valid_cases() {
        let valid = [
            ("6011", "NZ", "6011"),
            (" 0600 ", "NZ", "0600"),
            ("2000", "AU", "2000"),
            ("0800", "AU", "0800"),
            ("20500", "US", "20500"),
            ("20500-0003", "US", "20500-0003"),
            ("SW1A 1AA", "GB", "SW1A 1AA"),
            ("sw1a1aa", "GB", "SW1A 1AA"),
            ("m1 1ae", "GB", "M1 1AE"),
            ("B33 8TH", "GB", "B33 8TH"),
            ("CR2 6XH", "GB", "CR2 6XH"),
            ("DN55 1PT", "GB", "DN55 1PT"),
            ("W1A 0AX", "GB", "W1A 0AX"),
            ("EC1A  1BB", "GB", "EC1A 1BB"),
            ("GIR 0AA", "GB", "GIR 0AA"),
            ("K1A 0B1", "CA", "K1A 0B1"),
            ("k1a0b1", "CA", "K1A 0B1"),
            ("H0H 0H0", "CA", "H0H 0H0"),
            ("75008", "FR", "75008"),
            ("1012 ab", "NL", "1012 AB"),
            ("D02 X285", "IE", "D02 X285"),
            ("100-0001", "JP", "100-0001"),
        ];
        for (input, code, expected) in valid {
            let postcode = Postcode::parse(input, country(code));
            assert_eq!(
                postcode.map(|p| p.value),
                Ok(expected.to_owned()),
                "{input} in {code}"
            );
        }
    }

    #[test]
    fn postcode_invalid_cases() {
        let invalid = [
            ("601", "NZ"),
            ("60111", "NZ"),
            ("6O11", "NZ"),
            ("60 11", "NZ"),
            ("200", "AU"),
            ("2000a", "AU"),
            ("2050", "US"),
            ("20500-003", "US"),
            ("205000003", "US"),
            ("20500 0003", "US"),
            ("SW1A", "GB"),
            ("1AA 1AA", "GB"),
            ("SW1A 1A1", "GB"),
            ("SWAA 1AA", "GB"),
            ("SW1A1 1AA", "GB"),
            ("K1A 0B", "CA"),
            ("D1A 0B1", "CA"),
            ("W1A 0B1", "CA"),
            ("K1O 0B1", "CA"),
            ("KKA 0B1", "CA"),
            ("12345678901", "FR"),
            ("75008!", "FR"),
            ("750\u{0661}8", "FR"),
        ];
        for (input, code) in invalid {
            let error = Postcode::parse(input, country(code)).expect_err(input);
            assert_eq!(error.code, "invalid_postcode", "{input} in {code}");
        }
    }

    #[test]
    fn postcode_empty_is_required() {
        assert_eq!(
            Postcode::parse("  ", Country::NZ).unwrap_err().code,
            "required"
        );
    }

    #[test]
    fn postcode_message_states_country_form() {
        let error = Postcode::parse("601", Country::NZ).unwrap_err();
        assert_eq!(
            error.message,
            "'601' is not a valid postcode: New Zealand postcodes are four digits, such as 6011."
        );
        let other = Postcode::parse("!", country("FR")).unwrap_err();
        assert!(
            other.message.contains("postcodes for France"),
            "{}",
            other.message
        );
    }

    #[test]
    fn postcode_keeps_country() {
        let postcode = Postcode::parse("2000", Country::AU).unwrap();
        assert_eq!(postcode.country(), Country::AU);
        assert_eq!(postcode.as_str(), "2000");
    }

    #[test]
    fn postcode_serializes_as_string() {
        let postcode = Postcode::parse("sw1a 1aa", Country::GB).unwrap();
        assert_eq!(serde_json::to_string(&postcode).unwrap(), "\"SW1A 1AA\"");
    }
}
