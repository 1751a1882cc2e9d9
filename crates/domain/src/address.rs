//! Postal addresses of customers, used on invoices and as the service address for emergency
//! calls. `AddressInput` is the raw form as submitted. `Address::parse` checks every field and
//! reports all problems at once, keyed by field name, so a form can show them together.

use serde::{Deserialize, Serialize};

use crate::country::Country;
use crate::error::ValueError;
use crate::postcode::Postcode;
use crate::text::{Name, OptionalText};

/// Maximum characters in each street line.
pub const ADDRESS_LINE_MAX_CHARS: usize = 100;

/// Maximum characters in the suburb, city and region.
pub const ADDRESS_AREA_MAX_CHARS: usize = 60;

/// An address as submitted by a form or API client, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddressInput {
    /// Street address, such as `Level 2, 10 Customhouse Quay`.
    pub line1: String,
    /// Optional second street line.
    pub line2: String,
    /// Optional suburb or locality.
    pub suburb: String,
    /// Town or city.
    pub city: String,
    /// Optional state, province or region.
    pub region: String,
    /// Postcode in the format of `country`.
    pub postcode: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// A validated postal address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    line1: Name,
    line2: Option<Name>,
    suburb: Option<Name>,
    city: Name,
    region: Option<Name>,
    postcode: Postcode,
    country: Country,
}

/// Field errors from `Address::parse`, keyed by field name such as `"postcode"`.
pub type AddressErrors = Vec<(&'static str, ValueError)>;

impl Address {
    /// Parses every field of `input`, returning all field errors if any field is invalid.
    ///
    /// The postcode is checked against the country's format, so when the country itself is
    /// invalid only a missing postcode is reported for that field.
    pub fn parse(input: &AddressInput) -> Result<Address, AddressErrors> {
        let mut errors = AddressErrors::new();
        let line1 = keep(
            &mut errors,
            "line1",
            Name::parse(&input.line1, ADDRESS_LINE_MAX_CHARS),
        );
        let line2 = keep(
            &mut errors,
            "line2",
            OptionalText::parse(&input.line2, ADDRESS_LINE_MAX_CHARS),
        );
        let suburb = keep(
            &mut errors,
            "suburb",
            OptionalText::parse(&input.suburb, ADDRESS_AREA_MAX_CHARS),
        );
        let city = keep(
            &mut errors,
            "city",
            Name::parse(&input.city, ADDRESS_AREA_MAX_CHARS),
        );
        let region = keep(
            &mut errors,
            "region",
            OptionalText::parse(&input.region, ADDRESS_AREA_MAX_CHARS),
        );
        let country = keep(&mut errors, "country", Country::parse(&input.country));
        let postcode = match country {
            Some(country) => keep(
                &mut errors,
                "postcode",
                Postcode::parse(&input.postcode, country),
            ),
            None if input.postcode.trim().is_empty() => {
                errors.push(("postcode", ValueError::required()));
                None
            }
            None => None,
        };

        match (line1, line2, suburb, city, region, postcode, country) {
            (
                Some(line1),
                Some(line2),
                Some(suburb),
                Some(city),
                Some(region),
                Some(postcode),
                Some(country),
            ) if errors.is_empty() => Ok(Address {
                line1,
                line2,
                suburb,
                city,
                region,
                postcode,
                country,
            }),
            _ => Err(errors),
        }
    }

    /// Returns the first street line.
    pub fn line1(&self) -> &Name {
        &self.line1
    }

    /// Returns the second street line, if any.
    pub fn line2(&self) -> Option<&Name> {
        self.line2.as_ref()
    }

    /// Returns the suburb or locality, if any.
    pub fn suburb(&self) -> Option<&Name> {
        self.suburb.as_ref()
    }

    /// Returns the town or city.
    pub fn city(&self) -> &Name {
        &self.city
    }

    /// Returns the state, province or region, if any.
    pub fn region(&self) -> Option<&Name> {
        self.region.as_ref()
    }

    /// Returns the postcode.
    pub fn postcode(&self) -> &Postcode {
        &self.postcode
    }

    /// Returns the country.
    pub fn country(&self) -> Country {
        self.country
    }

    /// Converts back to the raw form, for prefilling an edit form.
    pub fn to_input(&self) -> AddressInput {
        let text = |value: Option<&Name>| {
            value
                .map(|name| name.as_str().to_owned())
                .unwrap_or_default()
        };
        AddressInput {
            line1: self.line1.as_str().to_owned(),
            line2: text(self.line2()),
            suburb: text(self.suburb()),
            city: self.city.as_str().to_owned(),
            region: text(self.region()),
            postcode: self.postcode.as_str().to_owned(),
            country: self.country.as_str().to_owned(),
        }
    }
}

/// Returns the parsed value, or records its error under `field` and returns `None`.
fn keep<T>(
    errors: &mut AddressErrors,
    field: &'static str,
    result: Result<T, ValueError>,
) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push((field, error));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wellington() -> AddressInput {
        AddressInput {
            line1: "Level 2, 10 Customhouse Quay".to_owned(),
            line2: String::new(),
            suburb: "Te Aro".to_owned(),
            city: "Wellington".to_owned(),
            region: " ".to_owned(),
            postcode: "6011".to_owned(),
            country: "nz".to_owned(),
        }
    }

    fn fields(errors: &AddressErrors) -> Vec<&'static str> {
        errors.iter().map(|(field, _)| *field).collect()
    }

    #[test]
    fn address_parse_valid() {
        let address = Address::parse(&wellington()).unwrap();
        assert_eq!(address.line1().as_str(), "Level 2, 10 Customhouse Quay");
        assert_eq!(address.line2(), None);
        assert_eq!(address.suburb().map(Name::as_str), Some("Te Aro"));
        assert_eq!(address.city().as_str(), "Wellington");
        assert_eq!(address.region(), None);
        assert_eq!(address.postcode().as_str(), "6011");
        assert_eq!(address.country(), Country::NZ);
    }

    #[test]
    fn address_parse_reports_every_field() {
        let input = AddressInput {
            line1: String::new(),
            line2: "Line\nbreak".to_owned(),
            suburb: "s".repeat(61),
            city: "  ".to_owned(),
            region: "\u{7}".to_owned(),
            postcode: "60111".to_owned(),
            country: "NZ".to_owned(),
        };
        let errors = Address::parse(&input).unwrap_err();
        assert_eq!(
            fields(&errors),
            ["line1", "line2", "suburb", "city", "region", "postcode"]
        );
    }

    #[test]
    fn address_parse_error_codes() {
        let mut input = wellington();
        input.city = String::new();
        input.postcode = "60".to_owned();
        let errors = Address::parse(&input).unwrap_err();
        assert_eq!(errors[0].0, "city");
        assert_eq!(errors[0].1.code, "required");
        assert_eq!(errors[1].0, "postcode");
        assert_eq!(errors[1].1.code, "invalid_postcode");
    }

    #[test]
    fn address_parse_invalid_country_skips_postcode_format() {
        let mut input = wellington();
        input.country = "ZZ".to_owned();
        let errors = Address::parse(&input).unwrap_err();
        assert_eq!(fields(&errors), ["country"]);
    }

    #[test]
    fn address_parse_missing_country_and_postcode() {
        let mut input = wellington();
        input.country = String::new();
        input.postcode = String::new();
        let errors = Address::parse(&input).unwrap_err();
        assert_eq!(fields(&errors), ["country", "postcode"]);
    }

    #[test]
    fn address_postcode_follows_country() {
        let mut input = wellington();
        input.country = "GB".to_owned();
        input.postcode = "sw1a1aa".to_owned();
        let address = Address::parse(&input).unwrap();
        assert_eq!(address.postcode().as_str(), "SW1A 1AA");
    }

    #[test]
    fn address_input_deserializes_with_defaults() {
        let input: AddressInput = serde_json::from_str(r#"{"line1":"1 Main St"}"#).unwrap();
        assert_eq!(input.line1, "1 Main St");
        assert_eq!(input.country, "");
    }

    #[test]
    fn address_serializes_flat() {
        let address = Address::parse(&wellington()).unwrap();
        let json = serde_json::to_value(&address).unwrap();
        assert_eq!(json["line1"], "Level 2, 10 Customhouse Quay");
        assert_eq!(json["line2"], serde_json::Value::Null);
        assert_eq!(json["postcode"], "6011");
        assert_eq!(json["country"], "NZ");
    }

    #[test]
    fn address_to_input_round_trips() {
        let address = Address::parse(&wellington()).unwrap();
        assert_eq!(Address::parse(&address.to_input()), Ok(address));
    }
}
