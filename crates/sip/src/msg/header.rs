//! Header field names (with compact forms) and their typed values.

use super::auth_header::{parse_auth_value, AuthValue};
use super::error::ParseError;
use super::fields::{
    check_date, parse_call_id, parse_cseq, parse_media_type, parse_number, parse_option_tags, CSeq,
    MediaType,
};
use super::name_addr::{parse_contacts, parse_name_addr, parse_routes, Contacts, NameAddr};
use super::via::{parse_vias, Via};

/// A header field name. Known names are recognized in any case and in their
/// compact form; any other token is kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderName<'a> {
    /// Via, compact `v`.
    Via,
    /// From, compact `f`.
    From,
    /// To, compact `t`.
    To,
    /// Call-ID, compact `i`.
    CallId,
    /// CSeq.
    CSeq,
    /// Contact, compact `m`.
    Contact,
    /// Max-Forwards.
    MaxForwards,
    /// Expires.
    Expires,
    /// Min-Expires.
    MinExpires,
    /// Content-Length, compact `l`.
    ContentLength,
    /// Content-Type, compact `c`.
    ContentType,
    /// Content-Encoding, compact `e`.
    ContentEncoding,
    /// Subject, compact `s`.
    Subject,
    /// Supported, compact `k`.
    Supported,
    /// Require.
    Require,
    /// Proxy-Require.
    ProxyRequire,
    /// Unsupported.
    Unsupported,
    /// Route.
    Route,
    /// Record-Route.
    RecordRoute,
    /// Authorization.
    Authorization,
    /// Proxy-Authorization.
    ProxyAuthorization,
    /// WWW-Authenticate.
    WwwAuthenticate,
    /// Proxy-Authenticate.
    ProxyAuthenticate,
    /// Date.
    Date,
    /// Any other header field, named as written.
    Other(&'a str),
}

/// Known names: canonical form, compact form, name.
const KNOWN: [(&str, Option<&str>, HeaderName<'static>); 24] = [
    ("Via", Some("v"), HeaderName::Via),
    ("From", Some("f"), HeaderName::From),
    ("To", Some("t"), HeaderName::To),
    ("Call-ID", Some("i"), HeaderName::CallId),
    ("CSeq", None, HeaderName::CSeq),
    ("Contact", Some("m"), HeaderName::Contact),
    ("Max-Forwards", None, HeaderName::MaxForwards),
    ("Expires", None, HeaderName::Expires),
    ("Min-Expires", None, HeaderName::MinExpires),
    ("Content-Length", Some("l"), HeaderName::ContentLength),
    ("Content-Type", Some("c"), HeaderName::ContentType),
    ("Content-Encoding", Some("e"), HeaderName::ContentEncoding),
    ("Subject", Some("s"), HeaderName::Subject),
    ("Supported", Some("k"), HeaderName::Supported),
    ("Require", None, HeaderName::Require),
    ("Proxy-Require", None, HeaderName::ProxyRequire),
    ("Unsupported", None, HeaderName::Unsupported),
    ("Route", None, HeaderName::Route),
    ("Record-Route", None, HeaderName::RecordRoute),
    ("Authorization", None, HeaderName::Authorization),
    ("Proxy-Authorization", None, HeaderName::ProxyAuthorization),
    ("WWW-Authenticate", None, HeaderName::WwwAuthenticate),
    ("Proxy-Authenticate", None, HeaderName::ProxyAuthenticate),
    ("Date", None, HeaderName::Date),
];

impl<'a> HeaderName<'a> {
    /// Maps a field name to a known name, ignoring case; the caller has
    /// checked that it is a token.
    pub fn parse(name: &'a str) -> Self {
        let bytes = name.as_bytes();
        if bytes.len() == 1 {
            let compact = KNOWN.iter().find(|(_, compact, _)| {
                compact.is_some_and(|c| c.as_bytes()[0] == bytes[0].to_ascii_lowercase())
            });
            return compact.map_or(HeaderName::Other(name), |(_, _, known)| *known);
        }
        KNOWN
            .iter()
            .find(|(full, _, _)| full.len() == bytes.len() && full.eq_ignore_ascii_case(name))
            .map_or(HeaderName::Other(name), |(_, _, known)| *known)
    }

    /// Returns the canonical name, such as `Call-ID` for `i`.
    pub fn as_str(&self) -> &'a str {
        match self {
            HeaderName::Other(name) => name,
            known => KNOWN
                .iter()
                .find(|(_, _, k)| k == known)
                .map_or("", |(full, _, _)| full),
        }
    }
}

/// A header value parsed according to its field's grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Via values in order.
    Via(Vec<Via<'a>>),
    /// From or To.
    NameAddr(NameAddr<'a>),
    /// Contact.
    Contact(Contacts<'a>),
    /// Route or Record-Route values in order.
    Routes(Vec<NameAddr<'a>>),
    /// Call-ID.
    CallId(&'a str),
    /// CSeq.
    CSeq(CSeq<'a>),
    /// Max-Forwards, Expires, Min-Expires or Content-Length.
    Number(u32),
    /// Content-Type.
    ContentType(MediaType<'a>),
    /// Require, Proxy-Require, Supported or Unsupported.
    OptionTags(Vec<&'a str>),
    /// Authorization, Proxy-Authorization, WWW-Authenticate or Proxy-Authenticate.
    Auth(AuthValue<'a>),
    /// A field without a typed form here; the text is in [`Header::value`].
    Text,
}

/// One header line after unfolding: name, raw value and typed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// Field name.
    pub name: HeaderName<'a>,
    /// Value with surrounding white space removed; folded lines stay as written.
    pub value: &'a str,
    /// Typed value.
    pub parsed: HeaderValue<'a>,
}

impl<'a> Header<'a> {
    /// Parses `value` according to the grammar of `name`.
    pub fn parse(name: HeaderName<'a>, value: &'a str) -> Result<Self, ParseError> {
        let invalid = |reason| match name {
            HeaderName::Other(_) => ParseError::HeaderLine(reason),
            _ => ParseError::Header {
                header: canonical_static(name),
                reason,
            },
        };
        let parsed = match name {
            HeaderName::Via => HeaderValue::Via(parse_vias(value).map_err(invalid)?),
            HeaderName::From | HeaderName::To => {
                let addr = parse_name_addr(value, true).map_err(invalid)?;
                if addr
                    .params
                    .find("tag")
                    .is_some_and(|tag| tag.value.is_none_or(|v| v.starts_with('"')))
                {
                    return Err(invalid("tag must be a token"));
                }
                HeaderValue::NameAddr(addr)
            }
            HeaderName::Contact => HeaderValue::Contact(parse_contacts(value).map_err(invalid)?),
            HeaderName::Route | HeaderName::RecordRoute => {
                HeaderValue::Routes(parse_routes(value).map_err(invalid)?)
            }
            HeaderName::CallId => HeaderValue::CallId(parse_call_id(value).map_err(invalid)?),
            HeaderName::CSeq => HeaderValue::CSeq(parse_cseq(value).map_err(invalid)?),
            HeaderName::MaxForwards => {
                // RFC 3261 section 20.22 limits Max-Forwards to 0-255.
                HeaderValue::Number(parse_number(value, 255).map_err(invalid)?)
            }
            HeaderName::Expires | HeaderName::MinExpires | HeaderName::ContentLength => {
                HeaderValue::Number(parse_number(value, u32::MAX).map_err(invalid)?)
            }
            HeaderName::ContentType => {
                HeaderValue::ContentType(parse_media_type(value).map_err(invalid)?)
            }
            HeaderName::Require | HeaderName::ProxyRequire | HeaderName::Unsupported => {
                HeaderValue::OptionTags(parse_option_tags(value, false).map_err(invalid)?)
            }
            HeaderName::Supported => {
                HeaderValue::OptionTags(parse_option_tags(value, true).map_err(invalid)?)
            }
            HeaderName::Authorization
            | HeaderName::ProxyAuthorization
            | HeaderName::WwwAuthenticate
            | HeaderName::ProxyAuthenticate => {
                HeaderValue::Auth(parse_auth_value(value).map_err(invalid)?)
            }
            HeaderName::Date => {
                check_date(value).map_err(invalid)?;
                HeaderValue::Text
            }
            HeaderName::ContentEncoding | HeaderName::Subject | HeaderName::Other(_) => {
                HeaderValue::Text
            }
        };
        Ok(Header {
            name,
            value,
            parsed,
        })
    }
}

/// Returns the canonical name of a known header with a static lifetime.
pub(crate) fn canonical_static(name: HeaderName<'_>) -> &'static str {
    KNOWN
        .iter()
        .find(|(_, _, k)| *k == name)
        .map_or("extension", |(full, _, _)| full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_name_recognizes_case_and_compact_forms() {
        assert_eq!(HeaderName::parse("vIa"), HeaderName::Via);
        assert_eq!(HeaderName::parse("i"), HeaderName::CallId);
        assert_eq!(HeaderName::parse("M"), HeaderName::Contact);
        assert_eq!(HeaderName::parse("l"), HeaderName::ContentLength);
        assert_eq!(
            HeaderName::parse("C%6Fntact"),
            HeaderName::Other("C%6Fntact")
        );
        assert_eq!(HeaderName::parse("k").as_str(), "Supported");
    }

    #[test]
    fn header_parse_names_the_field_in_errors() {
        let err = Header::parse(HeaderName::MaxForwards, "300").unwrap_err();
        assert_eq!(
            err,
            ParseError::Header {
                header: "Max-Forwards",
                reason: "number out of range"
            }
        );
    }

    #[test]
    fn header_parse_rejects_quoted_tag() {
        assert!(Header::parse(HeaderName::To, "<sip:a@b>;tag=\"x\"").is_err());
    }
}
