//! WWW-Authenticate, Proxy-Authenticate, Authorization and Proxy-Authorization
//! values (RFC 3261 section 25.1, RFC 7616 section 3.3 and 3.4).

use std::borrow::Cow;
use std::fmt;

use super::params::Param;
use super::scan::{unquote, Cursor, Invalid};

/// An authentication scheme with its comma-separated `name=value` parameters.
///
/// The same shape serves a challenge and credentials. Values keep the quotes
/// of a quoted string; [`AuthValue::param`] removes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthValue<'a> {
    /// Scheme such as `Digest`, compared case-insensitively.
    pub scheme: &'a str,
    /// Parameters in order.
    pub params: Vec<Param<'a>>,
}

impl<'a> AuthValue<'a> {
    /// Parses a WWW-Authenticate or Authorization value on its own.
    pub fn parse(text: &'a str) -> Result<Self, &'static str> {
        parse_auth_value(text)
    }

    /// Returns whether the scheme is Digest.
    pub fn is_digest(&self) -> bool {
        self.scheme.eq_ignore_ascii_case("Digest")
    }

    /// Returns the value of `name` (case-insensitive) without quotes.
    pub fn param(&self, name: &str) -> Option<Cow<'a, str>> {
        let value = self
            .params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))?
            .value?;
        Some(
            match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => unquote(inner),
                None => Cow::Borrowed(value),
            },
        )
    }
}

impl fmt::Display for AuthValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scheme)?;
        for (i, param) in self.params.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ", " })?;
            write!(f, "{}={}", param.name, param.value.unwrap_or(""))?;
        }
        Ok(())
    }
}

/// Parses `auth-scheme LWS auth-param *(COMMA auth-param)`, where
/// `auth-param = token EQUAL ( token / quoted-string )`.
///
/// For the Digest scheme each directive may appear once, and `nc` must be
/// eight hexadecimal digits.
pub(crate) fn parse_auth_value(text: &str) -> Result<AuthValue<'_>, Invalid> {
    let mut cursor = Cursor::new(text);
    let scheme = cursor
        .token()
        .map_err(|_| "invalid authentication scheme")?;
    if !cursor.skip_lws() {
        return Err("missing parameters after authentication scheme");
    }
    let mut params = Vec::new();
    loop {
        let name = cursor.token().map_err(|_| "invalid parameter name")?;
        if !cursor.eat_separator(b'=') {
            return Err("parameter without value");
        }
        let value = cursor
            .token_or_quoted()
            .map_err(|_| "invalid parameter value")?;
        params.push(Param {
            name,
            value: Some(value),
        });
        if !cursor.eat_separator(b',') {
            break;
        }
    }
    cursor.skip_lws();
    if !cursor.at_end() {
        return Err("unexpected text after parameters");
    }
    let value = AuthValue { scheme, params };
    if value.is_digest() {
        check_digest(&value)?;
    }
    Ok(value)
}

fn check_digest(value: &AuthValue<'_>) -> Result<(), Invalid> {
    for (i, param) in value.params.iter().enumerate() {
        let repeated = value.params[..i]
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(param.name));
        if repeated {
            return Err("repeated Digest parameter");
        }
    }
    if let Some(nc) = value.param("nc") {
        if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("nc must be eight hexadecimal digits");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_value_parses_digest_credentials() {
        let text = "Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\", uri=\"/dir/index.html\", algorithm=SHA-256, nc=00000001, qop=auth, response=\"753927fa\"";
        let value = parse_auth_value(text).unwrap();
        assert!(value.is_digest());
        assert_eq!(value.param("username").as_deref(), Some("Mufasa"));
        assert_eq!(value.param("ALGORITHM").as_deref(), Some("SHA-256"));
        assert_eq!(value.param("nc").as_deref(), Some("00000001"));
        assert_eq!(value.param("cnonce"), None);
    }

    #[test]
    fn auth_value_keeps_unknown_schemes() {
        let value = parse_auth_value("NoOneKnowsThisScheme opaque-data=here").unwrap();
        assert!(!value.is_digest());
        assert_eq!(value.param("opaque-data").as_deref(), Some("here"));
    }

    #[test]
    fn auth_value_rejects_malformed() {
        assert!(parse_auth_value("Digest").is_err());
        assert!(parse_auth_value("Digest realm").is_err());
        assert!(parse_auth_value("Digest realm=\"a\", realm=\"b\"").is_err());
        assert!(parse_auth_value("Digest nc=1").is_err());
        assert!(parse_auth_value("Digest realm=\"open").is_err());
    }

    #[test]
    fn auth_value_display_round_trips() {
        let text = "Digest realm=\"example.com\", nonce=\"abc\", algorithm=MD5, qop=\"auth\"";
        assert_eq!(parse_auth_value(text).unwrap().to_string(), text);
    }
}
