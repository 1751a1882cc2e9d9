//! Host names, IP addresses and ports as in `hostport` (RFC 3261 section 25.1).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::scan::{parse_digits, Cursor, Invalid};

/// The host part of a SIP URI or Via sent-by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A host name as written, compared case-insensitively.
    Domain(&'a str),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address, written in brackets.
    Ipv6(Ipv6Addr),
}

impl<'a> Host<'a> {
    /// Parses a whole string as a `host`.
    pub fn parse(text: &'a str) -> Result<Self, Invalid> {
        let mut cursor = Cursor::new(text);
        let host = parse_host(&mut cursor)?;
        if cursor.at_end() {
            Ok(host)
        } else {
            Err("invalid character in host")
        }
    }

    /// Returns the address when the host is an IP address.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        }
    }

    /// Compares hosts as RFC 3261 section 19.1.4 does: names case-insensitively.
    pub fn matches(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }

    /// Returns the host in lower case, IPv6 addresses in brackets.
    pub fn to_lowercase(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(name) => f.write_str(name),
            Host::Ipv4(ip) => write!(f, "{ip}"),
            Host::Ipv6(ip) => write!(f, "[{ip}]"),
        }
    }
}

/// Consumes a `host` at the cursor.
pub(crate) fn parse_host<'a>(cursor: &mut Cursor<'a>) -> Result<Host<'a>, Invalid> {
    if cursor.eat(b'[') {
        let inner = cursor.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !cursor.eat(b']') {
            return Err("unterminated IPv6 reference");
        }
        return inner
            .parse()
            .map(Host::Ipv6)
            .map_err(|_| "invalid IPv6 address");
    }
    let text = cursor.take_while(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    classify(text)
}

fn classify(text: &str) -> Result<Host<'_>, Invalid> {
    if text.is_empty() {
        return Err("missing host");
    }
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_ipv4(text).map(Host::Ipv4);
    }
    if is_hostname(text) {
        Ok(Host::Domain(text))
    } else {
        Err("invalid host name")
    }
}

/// Parses an `IPv4address`: four decimal octets, each at most three digits.
fn parse_ipv4(text: &str) -> Result<Ipv4Addr, Invalid> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next().ok_or("invalid IPv4 address")?;
        if part.len() > 3 {
            return Err("invalid IPv4 address");
        }
        *octet = parse_digits(part, 255).map_err(|_| "invalid IPv4 address")? as u8;
    }
    if parts.next().is_some() {
        return Err("invalid IPv4 address");
    }
    Ok(Ipv4Addr::from(octets))
}

/// Checks `hostname = *( domainlabel "." ) toplabel [ "." ]`.
fn is_hostname(text: &str) -> bool {
    let text = text.strip_suffix('.').unwrap_or(text);
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
    };
    let Some((top, rest)) = labels.split_last() else {
        return false;
    };
    rest.iter().all(|label| label_ok(label))
        && label_ok(top)
        && top.as_bytes()[0].is_ascii_alphabetic()
}

/// Consumes `[ COLON port ]` and returns the port if present.
pub(crate) fn parse_port(cursor: &mut Cursor<'_>) -> Result<Option<u16>, Invalid> {
    if !cursor.eat(b':') {
        return Ok(None);
    }
    let digits = cursor.take_while(|b| b.is_ascii_digit());
    parse_digits(digits, u64::from(u16::MAX))
        .map(|port| Some(port as u16))
        .map_err(|_| "invalid port")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parses_names_and_addresses() {
        assert_eq!(Host::parse("example.com"), Ok(Host::Domain("example.com")));
        assert_eq!(
            Host::parse("example.com."),
            Ok(Host::Domain("example.com."))
        );
        assert_eq!(
            Host::parse("192.0.2.1"),
            Ok(Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)))
        );
        assert_eq!(
            Host::parse("[2001:db8::1]"),
            Ok(Host::Ipv6("2001:db8::1".parse().unwrap()))
        );
    }

    #[test]
    fn host_rejects_malformed() {
        assert!(Host::parse("256.0.0.1").is_err());
        assert!(Host::parse("1.2.3").is_err());
        assert!(Host::parse("-bad.example.com").is_err());
        assert!(Host::parse("example.123").is_err());
        assert!(Host::parse("[2001:db8::1").is_err());
        assert!(Host::parse("").is_err());
    }

    #[test]
    fn host_matches_names_case_insensitively() {
        assert!(Host::Domain("Example.COM").matches(&Host::Domain("example.com")));
    }
}
