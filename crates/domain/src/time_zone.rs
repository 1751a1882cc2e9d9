//! IANA time zone names such as `Pacific/Auckland`, checked against the time zone database
//! bundled into `jiff`, and the formatting of timestamps for people in a given zone.

use std::fmt;
use std::hash::{Hash, Hasher};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// A time zone known to the bundled IANA database, stored under its canonical spelling.
#[derive(Debug, Clone)]
pub struct TimeZoneName {
    name: String,
    zone: TimeZone,
}

impl TimeZoneName {
    /// Parses an IANA time zone name in any case, such as `pacific/auckland`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let zone = TimeZone::get(trimmed).map_err(|_| {
            ValueError::new(
                "invalid_time_zone",
                format!(
                    "'{trimmed}' is not a known time zone: enter an IANA name such as \
                     Pacific/Auckland or Australia/Sydney."
                ),
            )
        })?;
        // The database lookup ignores case; storing its spelling keeps one form per zone.
        let name = zone.iana_name().unwrap_or(trimmed).to_owned();
        Ok(Self { name, zone })
    }

    /// Returns the IANA name, such as `Pacific/Auckland`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// Returns the zone's rules for converting timestamps to local time.
    pub fn to_tz(&self) -> TimeZone {
        self.zone.clone()
    }
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZoneName {}

impl Hash for TimeZoneName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

string_serde!(TimeZoneName);

/// Formats `timestamp` as local time in `zone` for people, such as `4 Dec 2026, 3:58 pm NZDT`.
pub fn format_timestamp(timestamp: Timestamp, zone: &TimeZoneName) -> String {
    timestamp
        .to_zoned(zone.to_tz())
        .strftime("%-d %b %Y, %-I:%M %P %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zone_valid_cases() {
        let valid = [
            ("Pacific/Auckland", "Pacific/Auckland"),
            ("pacific/auckland", "Pacific/Auckland"),
            (" Australia/Sydney ", "Australia/Sydney"),
            ("America/New_York", "America/New_York"),
            ("Europe/London", "Europe/London"),
            ("UTC", "UTC"),
        ];
        for (input, expected) in valid {
            let zone = TimeZoneName::parse(input);
            assert_eq!(
                zone.as_ref().map(TimeZoneName::as_str),
                Ok(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn time_zone_invalid_cases() {
        let invalid = [
            "Mars/Olympus_Mons",
            "Auckland",
            "NZST",
            "Pacific/",
            "+13:00",
            "local",
        ];
        for input in invalid {
            let error = TimeZoneName::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_time_zone", "{input}");
        }
    }

    #[test]
    fn time_zone_empty_is_required() {
        assert_eq!(TimeZoneName::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn format_timestamp_cases() {
        let auckland = TimeZoneName::parse("Pacific/Auckland").unwrap();
        let sydney = TimeZoneName::parse("Australia/Sydney").unwrap();
        let cases = [
            (
                "2026-12-04T02:58:00Z",
                &auckland,
                "4 Dec 2026, 3:58 pm NZDT",
            ),
            (
                "2026-07-01T00:05:00Z",
                &auckland,
                "1 Jul 2026, 12:05 pm NZST",
            ),
            ("2026-07-01T00:05:00Z", &sydney, "1 Jul 2026, 10:05 am AEST"),
        ];
        for (instant, zone, expected) in cases {
            let timestamp: Timestamp = instant.parse().unwrap();
            assert_eq!(
                format_timestamp(timestamp, zone),
                expected,
                "{instant} in {zone}"
            );
        }
    }

    #[test]
    fn time_zone_to_tz_matches_name() {
        let zone = TimeZoneName::parse("europe/london").unwrap();
        assert_eq!(zone.to_tz().iana_name(), Some("Europe/London"));
    }

    #[test]
    fn time_zone_serde_round_trip() {
        let zone = TimeZoneName::parse("Pacific/Auckland").unwrap();
        assert_eq!(
            serde_json::to_string(&zone).unwrap(),
            "\"Pacific/Auckland\""
        );
        let back: TimeZoneName = serde_json::from_str("\"pacific/auckland\"").unwrap();
        assert_eq!(back, zone);
    }
}
