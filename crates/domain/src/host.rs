//! Host names that white labels serve their portal on, such as `portal.example.co.nz` or
//! `localhost:8080`, as typed into settings or received in a request's Host header.

use std::fmt;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Maximum length of a host name without the port, from RFC 1035's 255-octet wire limit.
const HOST_MAX_LEN: usize = 253;

/// Maximum length of one dot-separated label, from RFC 1035.
const LABEL_MAX_LEN: usize = 63;

/// A lowercase DNS host name with an optional port, such as `portal.example.com:8443`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostName {
    value: String,
    host_len: usize,
}

impl HostName {
    /// Parses a host name with an optional `:port`, lowercasing it and removing a trailing dot.
    ///
    /// Labels are ASCII letters, digits and hyphens, so internationalised names must be given
    /// in their `xn--` form. IPv6 literals are rejected.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let lower = trimmed.to_ascii_lowercase();
        let (host, port) = match lower.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (lower.as_str(), None),
        };
        let host = host.strip_suffix('.').unwrap_or(host);

        let port = match port {
            Some(text) => Some(parse_port(trimmed, text)?),
            None => None,
        };
        check_host(trimmed, host)?;

        let value = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self {
            value,
            host_len: host.len(),
        })
    }

    /// Returns the host name with its port, if one was given.
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Returns the host name without its port.
    pub fn host_without_port(&self) -> &str {
        &self.value[..self.host_len]
    }

    /// Returns the port, if one was given.
    pub fn port(&self) -> Option<u16> {
        self.value[self.host_len..]
            .strip_prefix(':')
            .and_then(|port| port.parse().ok())
    }
}

/// Parses a port from 1 to 65535 written in ASCII digits; `input` is quoted in errors.
fn parse_port(input: &str, text: &str) -> Result<u16, ValueError> {
    let digits_only = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
    match text.parse::<u16>() {
        Ok(port) if digits_only && port > 0 => Ok(port),
        _ => Err(invalid(
            input,
            "the port after ':' must be a number from 1 to 65535",
        )),
    }
}

/// Checks the length and labels of `host`; `input` is quoted in errors.
fn check_host(input: &str, host: &str) -> Result<(), ValueError> {
    if host.is_empty() {
        return Err(invalid(input, "it has no name before the port"));
    }
    if host.len() > HOST_MAX_LEN {
        return Err(invalid(input, "a host name has at most 253 characters"));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err(invalid(input, "it has an empty part between dots"));
        }
        if label.len() > LABEL_MAX_LEN {
            return Err(invalid(
                input,
                "each part between dots has at most 63 characters",
            ));
        }
        if !label
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        {
            return Err(invalid(
                input,
                "only letters a-z, digits and hyphens are allowed; write accented names in \
                 their xn-- form",
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid(
                input,
                "no part between dots may start or end with a hyphen",
            ));
        }
    }
    Ok(())
}

/// Builds the `invalid_host` error for `input` with a `reason`.
fn invalid(input: &str, reason: &str) -> ValueError {
    ValueError::new(
        "invalid_host",
        format!(
            "'{input}' is not a valid host name because {reason}. Enter a name such as \
             portal.example.com."
        ),
    )
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

string_serde!(HostName);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_valid_cases() {
        let valid = [
            (
                "portal.example.com",
                "portal.example.com",
                "portal.example.com",
                None,
            ),
            (
                "Portal.Example.COM",
                "portal.example.com",
                "portal.example.com",
                None,
            ),
            ("example.com.", "example.com", "example.com", None),
            (
                " localhost:8080 ",
                "localhost:8080",
                "localhost",
                Some(8080),
            ),
            (
                "example.com.:443",
                "example.com:443",
                "example.com",
                Some(443),
            ),
            (
                "a-b.c1.nz:65535",
                "a-b.c1.nz:65535",
                "a-b.c1.nz",
                Some(65535),
            ),
            (
                "xn--mller-kva.de",
                "xn--mller-kva.de",
                "xn--mller-kva.de",
                None,
            ),
            ("host:080", "host:80", "host", Some(80)),
            ("127.0.0.1:3000", "127.0.0.1:3000", "127.0.0.1", Some(3000)),
        ];
        for (input, full, host, port) in valid {
            let parsed = HostName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.as_str(), full, "{input}");
            assert_eq!(parsed.host_without_port(), host, "{input}");
            assert_eq!(parsed.port(), port, "{input}");
        }
    }

    #[test]
    fn host_invalid_cases() {
        let long_label = format!("{}.com", "a".repeat(64));
        let long_host = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        let invalid = [
            "exa mple.com",
            "example..com",
            ".example.com",
            "-example.com",
            "example-.com",
            "exam_ple.com",
            "müller.de",
            "example.com:0",
            "example.com:65536",
            "example.com:",
            "example.com:http",
            "example.com:+80",
            ":8080",
            "[::1]:8080",
            "::1",
            "https://example.com",
            "example.com/path",
            long_label.as_str(),
            long_host.as_str(),
        ];
        for input in invalid {
            let error = HostName::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_host", "{input}");
        }
    }

    #[test]
    fn host_max_length_accepted() {
        // Three labels of 63 characters, one of 61 and 3 dots make exactly 253 characters.
        let host = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "b".repeat(61));
        assert_eq!(host.len(), 253);
        assert!(HostName::parse(&host).is_ok());
        let error = HostName::parse(&format!("{host}b")).unwrap_err();
        assert!(error.message.contains("at most 253"), "{}", error.message);
    }

    #[test]
    fn host_empty_is_required() {
        assert_eq!(HostName::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn host_serde_round_trip() {
        let host = HostName::parse("Portal.Example.com").unwrap();
        assert_eq!(
            serde_json::to_string(&host).unwrap(),
            "\"portal.example.com\""
        );
        let back: HostName = serde_json::from_str("\"portal.example.com\"").unwrap();
        assert_eq!(back, host);
    }
}
