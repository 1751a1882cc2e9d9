//! SIP and SIPS URIs (RFC 3261 section 19.1), and other schemes kept opaque.

use std::fmt;

use super::host::{parse_host, parse_port, Host};
use super::params::{parse_uri_params, Param, Params};
use super::scan::{check_escaped, is_lws, is_reserved, is_unreserved, unescape, Cursor, Invalid};

/// A URI: a parsed SIP or SIPS URI, or any other `absoluteURI` kept as text.
///
/// Other schemes such as `tel:` parse, so that a request naming one gets 416
/// (Unsupported URI Scheme) instead of 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri<'a> {
    /// A `sip:` or `sips:` URI.
    Sip(SipUri<'a>),
    /// An absolute URI of another scheme.
    Other {
        /// Scheme as written, without the colon.
        scheme: &'a str,
        /// Everything after the colon.
        rest: &'a str,
    },
}

/// A `sip:` or `sips:` URI. Text fields keep their escapes as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// Whether the scheme is `sips`.
    pub secure: bool,
    /// User part, escaped as written.
    pub user: Option<&'a str>,
    /// Password, escaped as written.
    pub password: Option<&'a str>,
    /// Host.
    pub host: Host<'a>,
    /// Port, when written.
    pub port: Option<u16>,
    /// URI parameters such as `transport` and `lr`.
    pub params: Params<'a>,
    /// URI headers after `?`, each with a value.
    pub headers: Params<'a>,
}

impl<'a> Uri<'a> {
    /// Parses a whole string as a URI, as in the Request-URI or between `<` and `>`.
    pub fn parse(text: &'a str) -> Result<Self, Invalid> {
        let (scheme, rest) = split_scheme(text)?;
        if is_sip_scheme(scheme) {
            let mut cursor = Cursor::new(rest);
            let uri = parse_sip(&mut cursor, scheme, rest, true)?;
            if !cursor.at_end() {
                return Err("invalid character in SIP URI");
            }
            Ok(Uri::Sip(uri))
        } else {
            if rest.is_empty() || !check_escaped(rest, |b| is_reserved(b) || is_unreserved(b)) {
                return Err("invalid absolute URI");
            }
            Ok(Uri::Other { scheme, rest })
        }
    }

    /// Returns the SIP URI, if this is one.
    pub fn as_sip(&self) -> Option<&SipUri<'a>> {
        match self {
            Uri::Sip(uri) => Some(uri),
            Uri::Other { .. } => None,
        }
    }
}

/// Consumes an `addr-spec` that is not in angle brackets, as in
/// `To: sip:user@example.com;tag=1`. Parameters after it belong to the header
/// field (RFC 3261 section 20.10), so the URI ends at the host and port, and a
/// `?` is not allowed.
pub(crate) fn parse_unbracketed<'a>(cursor: &mut Cursor<'a>) -> Result<Uri<'a>, Invalid> {
    let text = cursor.rest();
    let end = text
        .bytes()
        .position(|b| is_lws(b) || matches!(b, b',' | b'"' | b'<' | b'>'))
        .unwrap_or(text.len());
    let candidate = &text[..end];
    let (scheme, rest) = split_scheme(candidate)?;
    let scheme_len = scheme.len() + 1;
    if is_sip_scheme(scheme) {
        let mut inner = Cursor::new(rest);
        let uri = parse_sip(&mut inner, scheme, rest, false)?;
        if inner.peek() == Some(b'?') {
            return Err("URI with headers must be in angle brackets");
        }
        cursor.advance(scheme_len + inner.position());
        Ok(Uri::Sip(uri))
    } else {
        let len = rest.bytes().position(|b| b == b';').unwrap_or(rest.len());
        let opaque = &rest[..len];
        if opaque.is_empty() || !check_escaped(opaque, |b| is_reserved(b) || is_unreserved(b)) {
            return Err("invalid absolute URI");
        }
        cursor.advance(scheme_len + len);
        Ok(Uri::Other {
            scheme,
            rest: opaque,
        })
    }
}

fn split_scheme(text: &str) -> Result<(&str, &str), Invalid> {
    let colon = text.find(':').ok_or("missing URI scheme")?;
    let scheme = &text[..colon];
    let bytes = scheme.as_bytes();
    let valid = !bytes.is_empty()
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !valid {
        return Err("invalid URI scheme");
    }
    Ok((scheme, &text[colon + 1..]))
}

fn is_sip_scheme(scheme: &str) -> bool {
    scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")
}

fn is_user_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/')
}

fn is_password_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'&' | b'=' | b'+' | b'$' | b',')
}

fn is_header_char(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b'?' | b':' | b'+' | b'$')
}

/// Parses the part of a SIP URI after the scheme. Only `full` URIs may carry
/// URI parameters and headers.
fn parse_sip<'a>(
    cursor: &mut Cursor<'a>,
    scheme: &str,
    rest: &'a str,
    full: bool,
) -> Result<SipUri<'a>, Invalid> {
    // Neither URI parameters, headers nor the host may contain an unescaped
    // '@', so the first one ends the userinfo.
    let (user, password) = match rest.find('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let (user, password) = match userinfo.find(':') {
                Some(colon) => (&userinfo[..colon], Some(&userinfo[colon + 1..])),
                None => (userinfo, None),
            };
            if user.is_empty() || !check_escaped(user, is_user_char) {
                return Err("invalid user part");
            }
            if password.is_some_and(|p| !check_escaped(p, is_password_char)) {
                return Err("invalid password");
            }
            cursor.advance(at + 1);
            (Some(user), password)
        }
        None => (None, None),
    };
    let host = parse_host(cursor)?;
    let port = parse_port(cursor)?;
    let (params, headers) = if full {
        let params = parse_uri_params(cursor)?;
        let headers = if cursor.eat(b'?') {
            parse_uri_headers(cursor)?
        } else {
            Params::default()
        };
        (params, headers)
    } else {
        (Params::default(), Params::default())
    };
    Ok(SipUri {
        secure: scheme.eq_ignore_ascii_case("sips"),
        user,
        password,
        host,
        port,
        params,
        headers,
    })
}

fn parse_uri_headers<'a>(cursor: &mut Cursor<'a>) -> Result<Params<'a>, Invalid> {
    let mut headers = Vec::new();
    loop {
        let name = cursor.take_while(|b| is_header_char(b) || b == b'%');
        if name.is_empty() || !check_escaped(name, is_header_char) || !cursor.eat(b'=') {
            return Err("invalid URI header");
        }
        let value = cursor.take_while(|b| is_header_char(b) || b == b'%');
        if !check_escaped(value, is_header_char) {
            return Err("invalid URI header value");
        }
        headers.push(Param {
            name,
            value: Some(value),
        });
        if !cursor.eat(b'&') {
            return Ok(Params(headers));
        }
    }
}

/// Decodes escapes and escapes again every octet outside `allowed`, with
/// upper-case hex, so that equal URIs compare equal as text.
fn normalize_escapes(text: &str, allowed: fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in unescape(text) {
        if allowed(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl SipUri<'_> {
    /// Returns the address-of-record form of RFC 3261 section 10.3 step 5:
    /// `sip:user@host` with parameters removed, escapes normalized and the
    /// host in lower case.
    pub fn address_of_record(&self) -> String {
        let host = self.host.to_lowercase();
        match self.user {
            Some(user) => format!("sip:{}@{host}", normalize_escapes(user, is_user_char)),
            None => format!("sip:{host}"),
        }
    }

    /// Returns the user part with escapes decoded, if it is UTF-8.
    pub fn user_decoded(&self) -> Option<String> {
        self.user
            .and_then(|user| String::from_utf8(unescape(user)).ok())
    }

    /// Compares two SIP URIs by the rules of RFC 3261 section 19.1.4. User and
    /// password compare case-sensitively after decoding escapes, and the host
    /// case-insensitively. The `user`, `ttl`, `method`, `maddr` and `transport`
    /// parameters must match when either URI has them, other parameters only
    /// when both have them. Headers must all match.
    pub fn matches(&self, other: &SipUri<'_>) -> bool {
        let decode = |s: Option<&str>| s.map(unescape);
        if self.secure != other.secure
            || decode(self.user) != decode(other.user)
            || decode(self.password) != decode(other.password)
            || !self.host.matches(&other.host)
            || self.port != other.port
        {
            return false;
        }
        fn value<'u>(uri: &SipUri<'u>, name: &str) -> Option<Option<&'u str>> {
            uri.params.find(name).map(|p| p.value)
        }
        let same = |a: Option<Option<&str>>, b: Option<Option<&str>>| match (a, b) {
            (Some(a), Some(b)) => {
                a.map(unescape).map(|v| v.to_ascii_lowercase())
                    == b.map(unescape).map(|v| v.to_ascii_lowercase())
            }
            _ => false,
        };
        for name in ["user", "ttl", "method", "maddr", "transport"] {
            let (a, b) = (value(self, name), value(other, name));
            if (a.is_some() || b.is_some()) && !same(a, b) {
                return false;
            }
        }
        for param in self.params.iter() {
            let theirs = value(other, param.name);
            if theirs.is_some() && !same(Some(param.value), theirs) {
                return false;
            }
        }
        let headers = |uri: &SipUri<'_>| {
            let mut list: Vec<(String, Vec<u8>)> = uri
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), unescape(h.value.unwrap_or(""))))
                .collect();
            list.sort();
            list
        };
        headers(self) == headers(other)
    }
}

impl fmt::Display for SipUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = self.user {
            f.write_str(user)?;
            if let Some(password) = self.password {
                write!(f, ":{password}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, header) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            write!(f, "{}={}", header.name, header.value.unwrap_or(""))?;
        }
        Ok(())
    }
}

impl fmt::Display for Uri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(uri) => write!(f, "{uri}"),
            Uri::Other { scheme, rest } => write!(f, "{scheme}:{rest}"),
        }
    }
}

#[cfg(test)]
#[path = "uri_tests.rs"]
mod tests;
