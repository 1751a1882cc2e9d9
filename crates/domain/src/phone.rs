//! Phone numbers as people type them (`021 123 4567`, `(09) 300 1234`, `+64 9 300 1234`),
//! checked against the libphonenumber metadata shipped in the `phonenumber` crate and stored in
//! E.164 form (`+6493001234`).

use std::fmt;

use phonenumber::metadata::{Metadata, DATABASE};
use phonenumber::{Mode, Type};

use crate::country::Country;
use crate::error::ValueError;
use crate::serde_string::string_serde;

/// A valid phone number stored in E.164 form, with the country it belongs to.
#[derive(Debug, Clone)]
pub struct PhoneNumber {
    e164: String,
    country: Country,
    parsed: phonenumber::PhoneNumber,
}

/// Number types that make a national number valid, as in libphonenumber's own check.
const DIALABLE_TYPES: [Type; 10] = [
    Type::FixedLine,
    Type::Mobile,
    Type::TollFree,
    Type::PremiumRate,
    Type::SharedCost,
    Type::PersonalNumber,
    Type::Voip,
    Type::Pager,
    Type::Uan,
    Type::Voicemail,
];

impl PhoneNumber {
    /// Parses a number typed in national form for `country` or in international form.
    ///
    /// International form starts with `+` or with `country`'s international prefix, such as
    /// `00` from New Zealand, and parses the same whatever `country` is. Invisible characters
    /// pasted from documents are removed first.
    pub fn parse(input: &str, country: Country) -> Result<PhoneNumber, ValueError> {
        parse_in(input, Some(country))
    }

    /// Parses a number in international form starting with `+`, such as a stored E.164 value.
    pub fn parse_e164(input: &str) -> Result<PhoneNumber, ValueError> {
        let cleaned = clean(input);
        if !cleaned.is_empty() && !cleaned.starts_with('+') {
            return Err(ValueError::new(
                "invalid_phone",
                format!(
                    "'{cleaned}' is not in international form: start it with + and the country \
                     code, such as +64 9 300 1234."
                ),
            ));
        }
        parse_in(input, None)
    }

    /// Returns the number in E.164 form, such as `+6493001234`.
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// Returns the country the number belongs to, which for international input may differ
    /// from the country passed to `parse`.
    pub fn country(&self) -> Country {
        self.country
    }

    /// Formats the number as dialled within its country, such as `09 300 1234`.
    pub fn format_national(&self) -> String {
        self.parsed.format().mode(Mode::National).to_string()
    }

    /// The area code (national destination code) without the national prefix, such as `9`
    /// for `09 300 1234` or `21` for `021 123 4567`; empty where the plan has none.
    pub fn area_code(&self) -> String {
        let national = self.format_national();
        let first = national
            .trim_start_matches('(')
            .split([' ', ')', '-'])
            .next()
            .unwrap_or_default();
        if first.len() == national.len() {
            return String::new();
        }
        first.trim_start_matches('0').to_owned()
    }

    /// The kind of number by the numbering plan, such as `fixed_line`, `mobile` or
    /// `toll_free`.
    pub fn number_type(&self) -> &'static str {
        match self.parsed.number_type(&DATABASE) {
            Type::FixedLine | Type::FixedLineOrMobile => "fixed_line",
            Type::Mobile => "mobile",
            Type::TollFree => "toll_free",
            Type::PremiumRate => "premium_rate",
            Type::SharedCost => "shared_cost",
            Type::Voip => "voip",
            Type::PersonalNumber => "personal",
            Type::Pager => "pager",
            Type::Uan => "uan",
            Type::Voicemail => "voicemail",
            _ => "other",
        }
    }

    /// Formats the number for dialling from abroad, such as `+64 9 300 1234`.
    pub fn format_international(&self) -> String {
        self.parsed.format().mode(Mode::International).to_string()
    }
}

/// Parses `input` in national form for `country`, or in international form. Without a
/// country, only international form with `+` is accepted.
fn parse_in(input: &str, country: Option<Country>) -> Result<PhoneNumber, ValueError> {
    let cleaned = clean(input);
    if cleaned.is_empty() {
        return Err(ValueError::required());
    }
    let digits = digits_of(&cleaned, country)?;
    let region = country.and_then(region_metadata);
    let international = to_international(&cleaned, &digits, region);

    let text = match &international {
        Some(after_plus) => format!("+{after_plus}"),
        None => digits.clone(),
    };
    // International input is parsed without a region, because phonenumber 0.3 strips the
    // given region's national prefix from any country's number, which breaks Italy's 06.
    let region_id = match international {
        Some(_) => None,
        None => {
            let id = country.and_then(|country| country.as_str().parse().ok());
            // Without numbering data for the country, national input cannot be checked.
            if id.is_none() {
                return Err(not_valid(&cleaned, country));
            }
            id
        }
    };
    let parsed = phonenumber::parse(region_id, &text)
        .ok()
        .filter(phonenumber::is_valid)
        .ok_or_else(|| not_valid(&cleaned, country))?;

    if let Some(after_plus) = &international {
        check_national_prefix(&cleaned, after_plus, &parsed)?;
    }

    let number_country = country_of(&parsed).ok_or_else(|| {
        ValueError::new(
            "invalid_phone",
            format!(
                "'{cleaned}' is an international service number that does not belong to \
                 a country: enter a number from a country's numbering plan."
            ),
        )
    })?;
    let e164 = parsed.format().mode(Mode::E164).to_string();
    Ok(PhoneNumber {
        e164,
        country: number_country,
        parsed,
    })
}

/// Removes invisible characters that arrive with pasted numbers and trims the result.
fn clean(input: &str) -> String {
    let mut cleaned = String::with_capacity(input.len());
    for character in input.chars() {
        match character {
            // Zero-width spaces and joiners, direction marks and embeddings, word joiners and
            // invisible operators, and the byte order mark.
            '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}' => {}
            // No-break and narrow spaces are used as digit-group separators.
            '\u{00A0}' | '\u{2007}' | '\u{202F}' => cleaned.push(' '),
            other => cleaned.push(other),
        }
    }
    cleaned.trim().to_owned()
}

/// Returns the ASCII digits of `cleaned`, rejecting letters and unexpected symbols.
fn digits_of(cleaned: &str, country: Option<Country>) -> Result<String, ValueError> {
    let mut digits = String::with_capacity(cleaned.len());
    for (index, character) in cleaned.chars().enumerate() {
        match character {
            '0'..='9' => digits.push(character),
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            '+' if index == 0 => {}
            _ => {
                return Err(ValueError::new(
                    "invalid_phone",
                    format!(
                        "'{cleaned}' contains '{character}', which is not part of a phone \
                         number: use only digits, spaces, brackets, dashes and a leading +. {}",
                        example_hint(country)
                    ),
                ))
            }
        }
    }
    if digits.is_empty() {
        return Err(not_valid(cleaned, country));
    }
    Ok(digits)
}

/// Returns the digits after the country code marker if the number is in international form:
/// after a leading `+`, or after `region`'s international prefix (such as `00` from NZ).
fn to_international(cleaned: &str, digits: &str, region: Option<&Metadata>) -> Option<String> {
    if cleaned.starts_with('+') {
        return Some(digits.to_owned());
    }
    let prefix = region?.international_prefix()?;
    let found = prefix.find(digits)?;
    (found.start() == 0 && found.end() < digits.len()).then(|| digits[found.end()..].to_owned())
}

/// Rejects `+64 021 …`: a national prefix kept after the country code.
///
/// libphonenumber strips that prefix silently, so the check looks at the typed digits: they
/// start with the region's national prefix, and keeping it makes the number invalid. Italy's
/// `+39 06 …` passes, because Italy has no national prefix and its numbers start with 0.
fn check_national_prefix(
    cleaned: &str,
    after_plus: &str,
    parsed: &phonenumber::PhoneNumber,
) -> Result<(), ValueError> {
    let code = parsed.code().value().to_string();
    let Some(national) = after_plus.strip_prefix(code.as_str()) else {
        return Ok(());
    };
    let Some(regions) = DATABASE.by_code(&parsed.code().value()) else {
        return Ok(());
    };
    let Some(prefix) = regions.iter().find_map(|meta| meta.national_prefix()) else {
        return Ok(());
    };
    if !national.starts_with(prefix) {
        return Ok(());
    }
    let valid_with_prefix = regions
        .iter()
        .any(|meta| is_valid_national_number(meta, national));
    if valid_with_prefix {
        return Ok(());
    }
    let without = parsed.format().mode(Mode::International).to_string();
    Err(ValueError::new(
        "national_prefix_after_country_code",
        format!(
            "'{cleaned}' keeps the national {prefix} after the country code: drop the {prefix} \
             after +{code} ({without})."
        ),
    ))
}

/// Checks `national` against `meta`'s patterns, as libphonenumber's validity check does.
fn is_valid_national_number(meta: &Metadata, national: &str) -> bool {
    let descriptors = meta.descriptors();
    descriptors.general().is_match(national)
        && DIALABLE_TYPES
            .iter()
            .filter_map(|kind| descriptors.get(*kind))
            .any(|descriptor| descriptor.is_match(national))
}

/// Looks up the libphonenumber metadata of `country`, if it has any.
fn region_metadata(country: Country) -> Option<&'static Metadata> {
    DATABASE.by_id(country.as_str())
}

/// Finds the ISO country of `parsed` among the regions that share its calling code.
///
/// This mirrors libphonenumber's region lookup but keeps leading zeros of the national
/// number, which `phonenumber::PhoneNumber::country` drops (so it finds no region for Italy).
fn country_of(parsed: &phonenumber::PhoneNumber) -> Option<Country> {
    let national = parsed.national().to_string();
    let regions = DATABASE.by_code(&parsed.code().value())?;
    let region = if regions.len() == 1 {
        regions[0]
    } else {
        regions
            .into_iter()
            .find(|meta| match meta.leading_digits() {
                Some(pattern) => pattern
                    .find(&national)
                    .is_some_and(|found| found.start() == 0),
                None => is_valid_national_number(meta, &national),
            })?
    };
    match region.id() {
        // Ascension and Tristan da Cunha have their own calling codes but share the ISO code
        // of Saint Helena.
        "AC" | "TA" => Country::parse("SH").ok(),
        // Non-geographic services such as +800 have the region "001", which this rejects.
        id => Country::parse(id).ok(),
    }
}

/// Builds the `invalid_phone` error for a number that is not valid in `country`.
fn not_valid(cleaned: &str, country: Option<Country>) -> ValueError {
    let what = match country {
        Some(country) => format!("a valid {} phone number", country.name()),
        None => "a valid phone number".to_owned(),
    };
    ValueError::new(
        "invalid_phone",
        format!("'{cleaned}' is not {what}. {}", example_hint(country)),
    )
}

/// Describes the accepted forms, with an example from the metadata when there is one.
fn example_hint(country: Option<Country>) -> String {
    let Some(country) = country else {
        return "Enter it in international form, starting with + and the country code.".to_owned();
    };
    let name = country.name();
    let example = region_metadata(country).and_then(|meta| {
        let descriptors = meta.descriptors();
        let national = descriptors
            .fixed_line()
            .and_then(|descriptor| descriptor.example())
            .or_else(|| {
                descriptors
                    .mobile()
                    .and_then(|descriptor| descriptor.example())
            })?;
        let region_id = country.as_str().parse().ok()?;
        let number = phonenumber::parse(Some(region_id), national).ok()?;
        Some(number.format().mode(Mode::National).to_string())
    });
    match example {
        Some(example) => format!(
            "Enter it as dialled within {name}, such as {example}, or in international form \
             starting with +."
        ),
        None => {
            format!("Enter it as dialled within {name}, or in international form starting with +.")
        }
    }
}

// Equality follows the E.164 form, because the parsed value also records how the number was
// typed (with + or in national form), which does not change which line it reaches.
impl PartialEq for PhoneNumber {
    fn eq(&self, other: &Self) -> bool {
        self.e164 == other.e164
    }
}

impl Eq for PhoneNumber {}

impl std::hash::Hash for PhoneNumber {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.e164.hash(state);
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

string_serde!(@serialize PhoneNumber);

impl<'de> serde::Deserialize<'de> for PhoneNumber {
    /// Reads an E.164 string, such as one written by `Serialize`.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PhoneNumber::parse_e164(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
