//! Small header values: CSeq, Call-ID, numbers, media types, option tags and Date.

use std::fmt;

use super::method::Method;
use super::params::{parse_header_params, Params};
use super::scan::{is_token_str, is_word, parse_digits, split_commas, Cursor, Invalid};

/// The largest CSeq sequence number: RFC 3261 section 8.1.1.5 requires it to be
/// less than 2**31.
pub const MAX_CSEQ: u32 = (1 << 31) - 1;

/// A CSeq value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// Sequence number, at most [`MAX_CSEQ`].
    pub seq: u32,
    /// Method.
    pub method: Method<'a>,
}

impl fmt::Display for CSeq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Parses `CSeq = 1*DIGIT LWS Method`.
pub(crate) fn parse_cseq(value: &str) -> Result<CSeq<'_>, Invalid> {
    let mut cursor = Cursor::new(value);
    let digits = cursor.take_while(|b| b.is_ascii_digit());
    let seq = parse_digits(digits, u64::from(MAX_CSEQ)).map_err(|_| "invalid sequence number")?;
    if !cursor.skip_lws() {
        return Err("missing white space before method");
    }
    let method = cursor.token().map_err(|_| "invalid method")?;
    if !cursor.at_end() {
        return Err("unexpected text after method");
    }
    Ok(CSeq {
        seq: seq as u32,
        method: Method::from_token(method),
    })
}

/// Checks `callid = word [ "@" word ]`.
pub(crate) fn parse_call_id(value: &str) -> Result<&str, Invalid> {
    let (left, right) = match value.split_once('@') {
        Some((left, right)) => (left, Some(right)),
        None => (value, None),
    };
    let word = |w: &str| !w.is_empty() && w.bytes().all(is_word);
    if word(left) && right.is_none_or(word) {
        Ok(value)
    } else {
        Err("invalid Call-ID")
    }
}

/// Parses a decimal value of at most `max`, as in Max-Forwards and Expires.
pub(crate) fn parse_number(value: &str, max: u32) -> Result<u32, Invalid> {
    parse_digits(value, u64::from(max)).map(|n| n as u32)
}

/// A media type from Content-Type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    /// Top-level type such as `application`.
    pub kind: &'a str,
    /// Subtype such as `sdp`.
    pub subtype: &'a str,
    /// Parameters such as `boundary`.
    pub params: Params<'a>,
}

impl MediaType<'_> {
    /// Returns whether this is `kind/subtype`, ignoring case.
    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }
}

impl fmt::Display for MediaType<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.kind, self.subtype, self.params)
    }
}

/// Parses `media-type = m-type SLASH m-subtype *(SEMI m-parameter)`.
pub(crate) fn parse_media_type(value: &str) -> Result<MediaType<'_>, Invalid> {
    let mut cursor = Cursor::new(value);
    let kind = cursor.token().map_err(|_| "invalid media type")?;
    if !cursor.eat_separator(b'/') {
        return Err("missing '/' in media type");
    }
    let subtype = cursor.token().map_err(|_| "invalid media subtype")?;
    let params = parse_header_params(&mut cursor)?;
    if params.iter().any(|p| p.value.is_none()) {
        return Err("media type parameter without value");
    }
    cursor.skip_lws();
    if !cursor.at_end() {
        return Err("unexpected text after media type");
    }
    Ok(MediaType {
        kind,
        subtype,
        params,
    })
}

/// Parses a comma-separated list of option tags (Require, Supported...).
/// An empty value is an empty list, which only Supported allows.
pub(crate) fn parse_option_tags(value: &str, allow_empty: bool) -> Result<Vec<&str>, Invalid> {
    if value.is_empty() {
        return if allow_empty {
            Ok(Vec::new())
        } else {
            Err("empty option tag list")
        };
    }
    let tags = split_commas(value)?;
    if tags.iter().all(|tag| is_token_str(tag)) {
        Ok(tags)
    } else {
        Err("invalid option tag")
    }
}

/// Checks `rfc1123-date = wkday "," SP date1 SP time SP "GMT"`, as in
/// `Sat, 13 Nov 2010 23:29:00 GMT`. SIP allows only GMT (RFC 3261 section 20.17).
pub(crate) fn check_date(value: &str) -> Result<(), Invalid> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = value.split(' ').collect();
    let [day, date, month, year, time, zone] = parts.as_slice() else {
        return Err("invalid date format");
    };
    let day_ok = day.strip_suffix(',').is_some_and(|d| DAYS.contains(&d));
    let time_ok = {
        let fields: Vec<&str> = time.split(':').collect();
        fields.len() == 3 && fields.iter().all(|f| digits(f, 2))
    };
    if day_ok && digits(date, 2) && MONTHS.contains(month) && digits(year, 4) && time_ok {
        if *zone == "GMT" {
            Ok(())
        } else {
            Err("time zone must be GMT")
        }
    } else {
        Err("invalid date format")
    }
}

/// Formats `time` as an `rfc1123-date` for the Date header, such as
/// `Sat, 13 Nov 2010 23:29:00 GMT`.
pub fn format_date(time: std::time::SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let (hour, minute, second) = (secs % 86_400 / 3_600, secs % 3_600 / 60, secs % 60);

    // Days since 1970-01-01 to a proleptic Gregorian date, counting in
    // 400-year eras that start on March 1 so that leap days come last.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);

    format!(
        "{}, {day:02} {} {year:04} {hour:02}:{minute:02}:{second:02} GMT",
        DAYS[(days.rem_euclid(7)) as usize],
        MONTHS[(month - 1) as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_parses_folded_value() {
        assert_eq!(
            parse_cseq("0009\r\n  INVITE"),
            Ok(CSeq {
                seq: 9,
                method: Method::Invite
            })
        );
    }

    #[test]
    fn cseq_rejects_out_of_range() {
        assert!(parse_cseq("2147483647 REGISTER").is_ok());
        assert!(parse_cseq("2147483648 REGISTER").is_err());
        assert!(parse_cseq("36893488147419103232 REGISTER").is_err());
        assert!(parse_cseq("1").is_err());
        assert!(parse_cseq("1 INVITE x").is_err());
    }

    #[test]
    fn call_id_accepts_word_characters() {
        assert!(parse_call_id("intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{").is_ok());
        assert!(parse_call_id("a@b@c").is_err());
        assert!(parse_call_id("has space").is_err());
        assert!(parse_call_id("").is_err());
    }

    #[test]
    fn media_type_parses_parameters() {
        let media = parse_media_type("multipart/mixed;boundary=7a9cbec02ceef655").unwrap();
        assert!(media.is("Multipart", "MIXED"));
        assert_eq!(media.params.value("boundary"), Some("7a9cbec02ceef655"));
        assert!(parse_media_type("application").is_err());
    }

    #[test]
    fn option_tags_allow_empty_only_when_asked() {
        assert_eq!(
            parse_option_tags("100rel, timer", false),
            Ok(vec!["100rel", "timer"])
        );
        assert!(parse_option_tags("", false).is_err());
        assert_eq!(parse_option_tags("", true), Ok(vec![]));
        assert!(parse_option_tags("a,,b", false).is_err());
    }

    #[test]
    fn format_date_matches_known_dates() {
        let at = |secs| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(format_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            format_date(at(1_289_690_940)),
            "Sat, 13 Nov 2010 23:29:00 GMT"
        );
        assert_eq!(
            format_date(at(951_782_400)),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
        assert_eq!(
            format_date(at(4_107_542_399)),
            "Sun, 28 Feb 2100 23:59:59 GMT"
        );
        assert!(check_date(&format_date(at(1_700_000_000))).is_ok());
    }

    #[test]
    fn date_requires_gmt() {
        assert!(check_date("Sat, 15 Oct 2005 04:44:56 GMT").is_ok());
        assert_eq!(
            check_date("Fri, 01 Jan 2010 16:00:00 EST"),
            Err("time zone must be GMT")
        );
        assert!(check_date("yesterday").is_err());
    }
}
