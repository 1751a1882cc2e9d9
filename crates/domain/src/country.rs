//! Countries as ISO 3166-1 alpha-2 codes, with the defaults Tandem derives from a customer's
//! country: time zone, currency, display name and emergency number.

mod table;

use std::fmt;

use crate::error::ValueError;
use crate::money::Currency;
use crate::serde_string::string_serde;

use self::table::COUNTRIES;

/// An assigned ISO 3166-1 alpha-2 country code, stored in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country(&'static str);

/// Members of the euro area as of 1 January 2026, when Bulgaria joined.
const EUROZONE: &[&str] = &[
    "AT", "BE", "BG", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV",
    "MT", "NL", "PT", "SI", "SK",
];

/// Countries and territories outside the euro area that use the euro as their currency.
const OTHER_EURO_USERS: &[&str] = &[
    "AD", "AX", "BL", "GF", "GP", "MC", "ME", "MF", "MQ", "PM", "RE", "SM", "TF", "VA", "YT",
];

/// Territories that use the Australian dollar.
const AUD_USERS: &[&str] = &["AU", "CC", "CX", "HM", "KI", "NF", "NR", "TV"];

/// Territories that use the New Zealand dollar.
const NZD_USERS: &[&str] = &["CK", "NU", "NZ", "PN", "TK"];

/// Territories that use the pound sterling.
const GBP_USERS: &[&str] = &["GB", "GG", "IM", "JE"];

impl Country {
    /// New Zealand.
    pub const NZ: Country = Country("NZ");
    /// Australia.
    pub const AU: Country = Country("AU");
    /// United States.
    pub const US: Country = Country("US");
    /// United Kingdom.
    pub const GB: Country = Country("GB");
    /// Canada.
    pub const CA: Country = Country("CA");
    /// Ireland.
    pub const IE: Country = Country("IE");

    /// Parses an alpha-2 code in any case, ignoring surrounding whitespace.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let upper = trimmed.to_ascii_uppercase();
        match COUNTRIES.binary_search_by(|(code, _)| (*code).cmp(upper.as_str())) {
            Ok(index) => Ok(Country(COUNTRIES[index].0)),
            Err(_) => Err(ValueError::new(
                "invalid_country",
                format!(
                    "'{trimmed}' is not a country code: enter the two-letter ISO 3166 code, \
                     such as NZ, AU or US."
                ),
            )),
        }
    }

    /// Returns every assigned country, sorted by code.
    pub fn all() -> impl Iterator<Item = Country> {
        COUNTRIES.iter().map(|(code, _)| Country(code))
    }

    /// Returns the upper-case alpha-2 code, such as `NZ`.
    pub fn as_str(&self) -> &'static str {
        self.0
    }

    /// Returns the short English name, such as `New Zealand`.
    pub fn name(&self) -> &'static str {
        // Every Country comes from the table, so the fallback to the code is never reached in
        // practice; it keeps this total without a panic.
        match COUNTRIES.binary_search_by(|(code, _)| (*code).cmp(self.0)) {
            Ok(index) => COUNTRIES[index].1,
            Err(_) => self.0,
        }
    }

    /// Returns the IANA time zone preselected for new accounts in this country.
    ///
    /// Countries with several zones get the zone of their largest city; countries without a
    /// chosen default get `UTC`, which the customer is expected to change.
    pub fn default_time_zone(&self) -> &'static str {
        match self.0 {
            "NZ" => "Pacific/Auckland",
            "AU" => "Australia/Sydney",
            "US" => "America/New_York",
            "GB" => "Europe/London",
            "CA" => "America/Toronto",
            "IE" => "Europe/Dublin",
            _ => "UTC",
        }
    }

    /// Returns the currency preselected for new accounts in this country, or USD by default.
    pub fn default_currency(&self) -> Currency {
        let code = self.0;
        if NZD_USERS.contains(&code) {
            Currency::NZD
        } else if AUD_USERS.contains(&code) {
            Currency::AUD
        } else if GBP_USERS.contains(&code) {
            Currency::GBP
        } else if EUROZONE.contains(&code) || OTHER_EURO_USERS.contains(&code) {
            Currency::EUR
        } else {
            match code {
                "CA" => Currency::CAD,
                "JP" => Currency::JPY,
                "SG" => Currency::SGD,
                _ => Currency::USD,
            }
        }
    }

    /// Returns the main emergency number dialled from a phone in this country.
    pub fn emergency_number(&self) -> &'static str {
        match self.0 {
            "NZ" => "111",
            "AU" => "000",
            "US" | "CA" => "911",
            "GB" => "999",
            // NOTE: 112 is right for the EU and for GSM mobiles in most places, but some
            // countries without an entry here use other numbers from fixed lines.
            _ => "112",
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

string_serde!(Country);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_table_has_249_sorted_codes() {
        assert_eq!(COUNTRIES.len(), 249);
        for pair in COUNTRIES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
    }

    #[test]
    fn country_parse_valid_cases() {
        let valid = [
            ("NZ", "NZ"),
            ("nz", "NZ"),
            (" Au ", "AU"),
            ("us", "US"),
            ("AX", "AX"),
            ("zw", "ZW"),
        ];
        for (input, expected) in valid {
            assert_eq!(
                Country::parse(input).map(|c| c.as_str()),
                Ok(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn country_parse_invalid_cases() {
        let invalid = [
            "XK",
            "UK",
            "EU",
            "ZZ",
            "NZL",
            "N",
            "1Z",
            "new zealand",
            "N Z",
        ];
        for input in invalid {
            let error = Country::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_country", "{input}");
        }
    }

    #[test]
    fn country_parse_empty_is_required() {
        assert_eq!(Country::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn country_constants_match_parse() {
        assert_eq!(Country::parse("nz"), Ok(Country::NZ));
        assert_eq!(Country::parse("au"), Ok(Country::AU));
        assert_eq!(Country::parse("us"), Ok(Country::US));
    }

    #[test]
    fn country_names() {
        let cases = [
            ("NZ", "New Zealand"),
            ("AU", "Australia"),
            ("US", "United States"),
            ("GB", "United Kingdom"),
            ("CA", "Canada"),
            ("IE", "Ireland"),
        ];
        for (code, name) in cases {
            assert_eq!(Country::parse(code).unwrap().name(), name);
        }
    }

    #[test]
    fn country_default_time_zones() {
        let cases = [
            ("NZ", "Pacific/Auckland"),
            ("AU", "Australia/Sydney"),
            ("US", "America/New_York"),
            ("GB", "Europe/London"),
            ("CA", "America/Toronto"),
            ("IE", "Europe/Dublin"),
            ("FR", "UTC"),
        ];
        for (code, zone) in cases {
            assert_eq!(
                Country::parse(code).unwrap().default_time_zone(),
                zone,
                "{code}"
            );
        }
    }

    #[test]
    fn country_default_time_zones_exist_in_tzdb() {
        for country in Country::all() {
            let zone = country.default_time_zone();
            assert!(jiff::tz::TimeZone::get(zone).is_ok(), "{zone}");
        }
    }

    #[test]
    fn country_default_currencies() {
        let cases = [
            ("NZ", Currency::NZD),
            ("AU", Currency::AUD),
            ("US", Currency::USD),
            ("GB", Currency::GBP),
            ("CA", Currency::CAD),
            ("IE", Currency::EUR),
            ("DE", Currency::EUR),
            ("BG", Currency::EUR),
            ("JP", Currency::JPY),
            ("SG", Currency::SGD),
            ("CK", Currency::NZD),
            ("BR", Currency::USD),
        ];
        for (code, currency) in cases {
            assert_eq!(
                Country::parse(code).unwrap().default_currency(),
                currency,
                "{code}"
            );
        }
    }

    #[test]
    fn country_currency_lists_use_assigned_codes() {
        let lists = [EUROZONE, OTHER_EURO_USERS, AUD_USERS, NZD_USERS, GBP_USERS];
        for code in lists.iter().flat_map(|list| list.iter()) {
            assert!(Country::parse(code).is_ok(), "{code}");
        }
    }

    #[test]
    fn country_emergency_numbers() {
        let cases = [
            ("NZ", "111"),
            ("AU", "000"),
            ("US", "911"),
            ("CA", "911"),
            ("GB", "999"),
            ("DE", "112"),
            ("IE", "112"),
        ];
        for (code, number) in cases {
            assert_eq!(
                Country::parse(code).unwrap().emergency_number(),
                number,
                "{code}"
            );
        }
    }

    #[test]
    fn country_serde_round_trip() {
        let json = serde_json::to_string(&Country::NZ).unwrap();
        assert_eq!(json, "\"NZ\"");
        let back: Country = serde_json::from_str("\"nz\"").unwrap();
        assert_eq!(back, Country::NZ);
    }
}
