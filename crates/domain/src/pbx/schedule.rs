//! Opening hours of a time condition: weekly hours plus dated exceptions such as public
//! holidays, read in the account's time zone.

use std::fmt;

use jiff::civil::{Date, Time, Weekday};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::ValueError;
use crate::serde_string::string_serde;
use crate::time_zone::TimeZoneName;

/// A day of the week, written `mon` to `sun`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    /// Every day, Monday first.
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    /// Parses `mon` … `sun`, in any case.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let lower = input.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|day| day.as_str() == lower)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_day",
                    format!(
                        "'{}' is not a day: use mon, tue, wed, thu, fri, sat or sun.",
                        input.trim()
                    ),
                )
            })
    }

    /// Returns the three-letter name, such as `mon`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }

    fn of(weekday: Weekday) -> Self {
        match weekday {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

/// A time of day to the minute, written `HH:MM`; `24:00` means the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClockTime {
    minutes: u16,
    text: [u8; 5],
}

impl ClockTime {
    /// Parses `HH:MM` from `00:00` to `24:00`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        let invalid = || {
            ValueError::new(
                "invalid_time",
                format!("'{trimmed}' is not a time of day: write it as HH:MM, such as 08:30."),
            )
        };
        let (hours, minutes) = trimmed.split_once(':').ok_or_else(invalid)?;
        if hours.len() != 2 || minutes.len() != 2 {
            return Err(invalid());
        }
        let hours: u16 = hours.parse().map_err(|_| invalid())?;
        let minutes: u16 = minutes.parse().map_err(|_| invalid())?;
        if minutes > 59 || hours > 24 || (hours == 24 && minutes != 0) {
            return Err(invalid());
        }
        let mut text = [0u8; 5];
        text.copy_from_slice(trimmed.as_bytes());
        Ok(Self {
            minutes: hours * 60 + minutes,
            text,
        })
    }

    /// Minutes since midnight.
    pub fn minutes(&self) -> u16 {
        self.minutes
    }

    /// Returns the `HH:MM` text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or("00:00")
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(ClockTime);

/// A calendar date, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CalendarDate(Date);

impl CalendarDate {
    /// Parses `YYYY-MM-DD`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.len() != 10 {
            return Err(Self::invalid(trimmed));
        }
        trimmed
            .parse::<Date>()
            .map(Self)
            .map_err(|_| Self::invalid(trimmed))
    }

    fn invalid(text: &str) -> ValueError {
        ValueError::new(
            "invalid_date",
            format!("'{text}' is not a date: write it as YYYY-MM-DD, such as 2026-12-25."),
        )
    }

    /// The date.
    pub fn date(&self) -> Date {
        self.0
    }

    /// Returns the `YYYY-MM-DD` text.
    pub fn as_string(&self) -> String {
        self.0.to_string()
    }
}

impl Serialize for CalendarDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.as_string())
    }
}

impl<'de> Deserialize<'de> for CalendarDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Open from `open` until `close` (exclusive) on one day of the week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyHours {
    pub day: Day,
    pub open: ClockTime,
    pub close: ClockTime,
}

/// A date whose hours replace the weekly hours: closed all day when `hours` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatedException {
    pub date: CalendarDate,
    pub name: String,
    /// Opening and closing times on that date.
    pub hours: Vec<(ClockTime, ClockTime)>,
}

/// Weekly hours and dated exceptions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub weekly: Vec<WeeklyHours>,
    pub exceptions: Vec<DatedException>,
}

/// Why a schedule was refused.
fn range_error(open: ClockTime, close: ClockTime) -> ValueError {
    ValueError::new(
        "invalid_hours",
        format!("{open}–{close} closes before it opens: the closing time must be later."),
    )
}

impl Schedule {
    /// Checks that every range closes after it opens and that no date is listed twice.
    pub fn check(&self) -> Result<(), ValueError> {
        for hours in &self.weekly {
            if hours.close <= hours.open {
                return Err(range_error(hours.open, hours.close));
            }
        }
        let mut dates = Vec::new();
        for exception in &self.exceptions {
            if dates.contains(&exception.date) {
                return Err(ValueError::new(
                    "duplicate_date",
                    format!(
                        "{} is listed twice: give each date one exception.",
                        exception.date.as_string()
                    ),
                ));
            }
            dates.push(exception.date);
            for (open, close) in &exception.hours {
                if close <= open {
                    return Err(range_error(*open, *close));
                }
            }
        }
        Ok(())
    }

    /// Whether the schedule is open at `at`, read in `zone`, and the exception that decided
    /// it, if one did.
    pub fn is_open(&self, at: Timestamp, zone: &TimeZoneName) -> (bool, Option<&DatedException>) {
        let local = at.to_zoned(zone.to_tz());
        let minute = local_minute(local.time());
        let date = local.date();
        if let Some(exception) = self.exceptions.iter().find(|e| e.date.date() == date) {
            let open = exception
                .hours
                .iter()
                .any(|(open, close)| open.minutes() <= minute && minute < close.minutes());
            return (open, Some(exception));
        }
        let day = Day::of(local.weekday());
        let open = self.weekly.iter().any(|hours| {
            hours.day == day && hours.open.minutes() <= minute && minute < hours.close.minutes()
        });
        (open, None)
    }
}

fn local_minute(time: Time) -> u16 {
    (time.hour() as u16) * 60 + time.minute() as u16
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Office hours, Monday to Friday 08:30–17:00, closed on Christmas Day 2026.
    pub(crate) fn office_hours() -> Schedule {
        let weekly = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri]
            .into_iter()
            .map(|day| WeeklyHours {
                day,
                open: ClockTime::parse("08:30").unwrap(),
                close: ClockTime::parse("17:00").unwrap(),
            })
            .collect();
        Schedule {
            weekly,
            exceptions: vec![DatedException {
                date: CalendarDate::parse("2026-12-25").unwrap(),
                name: "Christmas Day".into(),
                hours: Vec::new(),
            }],
        }
    }

    /// Converts a local time in Pacific/Auckland to a timestamp.
    pub(crate) fn at(local: &str) -> Timestamp {
        let zone = TimeZoneName::parse("Pacific/Auckland").unwrap();
        local
            .parse::<jiff::civil::DateTime>()
            .unwrap()
            .to_zoned(zone.to_tz())
            .unwrap()
            .timestamp()
    }

    #[test]
    fn weekly_hours_in_the_account_zone() {
        let zone = TimeZoneName::parse("Pacific/Auckland").unwrap();
        let schedule = office_hours();
        // Thursday 2026-12-03.
        assert!(schedule.is_open(at("2026-12-03T08:30"), &zone).0);
        assert!(schedule.is_open(at("2026-12-03T16:59"), &zone).0);
        assert!(!schedule.is_open(at("2026-12-03T17:00"), &zone).0);
        assert!(!schedule.is_open(at("2026-12-05T10:00"), &zone).0);
    }

    #[test]
    fn dated_exception_overrides_weekly_hours() {
        let zone = TimeZoneName::parse("Pacific/Auckland").unwrap();
        let schedule = office_hours();
        let (open, exception) = schedule.is_open(at("2026-12-25T10:00"), &zone);
        assert!(!open);
        assert_eq!(exception.unwrap().name, "Christmas Day");
    }

    #[test]
    fn clock_time_and_date_parsing() {
        assert_eq!(ClockTime::parse("24:00").unwrap().minutes(), 1440);
        assert_eq!(ClockTime::parse("24:01").unwrap_err().code, "invalid_time");
        assert_eq!(ClockTime::parse("9:00").unwrap_err().code, "invalid_time");
        assert_eq!(
            CalendarDate::parse("2026-02-30").unwrap_err().code,
            "invalid_date"
        );
    }

    #[test]
    fn schedule_check_refuses_backwards_hours() {
        let mut schedule = office_hours();
        schedule.weekly[0].close = ClockTime::parse("08:00").unwrap();
        assert_eq!(schedule.check().unwrap_err().code, "invalid_hours");
    }
}
