//! Parsed requests and responses, borrowing from the buffer they came from.

use super::auth_header::AuthValue;
use super::fields::{CSeq, MediaType};
use super::header::{Header, HeaderName, HeaderValue};
use super::method::Method;
use super::name_addr::{Contacts, NameAddr};
use super::uri::Uri;
use super::via::Via;

/// The header fields of a message in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers<'a>(pub Vec<Header<'a>>);

impl<'a> Headers<'a> {
    /// Iterates over all header lines.
    pub fn iter(&self) -> impl Iterator<Item = &Header<'a>> {
        self.0.iter()
    }

    /// Iterates over the header lines named `name`.
    pub fn named(&self, name: HeaderName<'a>) -> impl Iterator<Item = &Header<'a>> + '_ {
        self.0.iter().filter(move |h| h.name == name)
    }

    /// Returns the value of the first header named `name` (any case) as text.
    pub fn text(&self, name: &str) -> Option<&'a str> {
        let name = HeaderName::parse(name);
        self.0.iter().find(|h| h.name == name).map(|h| h.value)
    }

    /// Iterates over all Via values, top first.
    pub fn vias(&self) -> impl Iterator<Item = &Via<'a>> {
        self.0.iter().flat_map(|h| match &h.parsed {
            HeaderValue::Via(vias) => vias.as_slice(),
            _ => &[],
        })
    }

    fn number(&self, name: HeaderName<'a>) -> Option<u32> {
        self.named(name).find_map(|h| match h.parsed {
            HeaderValue::Number(n) => Some(n),
            _ => None,
        })
    }

    /// Returns Max-Forwards, if present.
    pub fn max_forwards(&self) -> Option<u32> {
        self.number(HeaderName::MaxForwards)
    }

    /// Returns Expires, if present.
    pub fn expires(&self) -> Option<u32> {
        self.number(HeaderName::Expires)
    }

    /// Returns Min-Expires, if present.
    pub fn min_expires(&self) -> Option<u32> {
        self.number(HeaderName::MinExpires)
    }

    /// Returns Content-Length, if present.
    pub fn content_length(&self) -> Option<u32> {
        self.number(HeaderName::ContentLength)
    }

    /// Returns Content-Type, if present.
    pub fn content_type(&self) -> Option<&MediaType<'a>> {
        self.0.iter().find_map(|h| match &h.parsed {
            HeaderValue::ContentType(media) if h.name == HeaderName::ContentType => Some(media),
            _ => None,
        })
    }

    /// Iterates over the option tags of every header named `name`
    /// (Require, Proxy-Require, Supported or Unsupported).
    pub fn option_tags(&self, name: HeaderName<'a>) -> impl Iterator<Item = &'a str> + '_ {
        self.named(name).flat_map(|h| match &h.parsed {
            HeaderValue::OptionTags(tags) => tags.clone(),
            _ => Vec::new(),
        })
    }

    /// Returns the Contact values: `Some(Contacts::Star)` if any Contact is `*`.
    pub fn contacts(&self) -> Option<Contacts<'a>> {
        let mut list = Vec::new();
        let mut seen = false;
        for header in self.named(HeaderName::Contact) {
            seen = true;
            match &header.parsed {
                HeaderValue::Contact(Contacts::Star) => return Some(Contacts::Star),
                HeaderValue::Contact(Contacts::List(items)) => list.extend(items.iter().cloned()),
                _ => {}
            }
        }
        seen.then_some(Contacts::List(list))
    }

    /// Returns whether some Contact header is `*`.
    pub fn has_star_contact(&self) -> bool {
        self.named(HeaderName::Contact)
            .any(|h| matches!(h.parsed, HeaderValue::Contact(Contacts::Star)))
    }

    /// Iterates over Route or Record-Route values in order.
    pub fn routes(&self, name: HeaderName<'a>) -> impl Iterator<Item = &NameAddr<'a>> + '_ {
        self.named(name).flat_map(|h| match &h.parsed {
            HeaderValue::Routes(routes) => routes.as_slice(),
            _ => &[],
        })
    }

    /// Iterates over the values of Authorization, Proxy-Authorization,
    /// WWW-Authenticate or Proxy-Authenticate headers.
    pub fn auth(&self, name: HeaderName<'a>) -> impl Iterator<Item = &AuthValue<'a>> + '_ {
        self.named(name).filter_map(|h| match &h.parsed {
            HeaderValue::Auth(value) => Some(value),
            _ => None,
        })
    }

    fn name_addr(&self, index: usize) -> &NameAddr<'a> {
        match &self.0[index].parsed {
            HeaderValue::NameAddr(addr) => addr,
            // The parser stores only From and To indexes, which hold NameAddr values.
            other => unreachable!("From/To index points at {other:?}"),
        }
    }
}

/// The header fields every request and response carries, located once by the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Core<'a> {
    pub(crate) from: usize,
    pub(crate) to: usize,
    pub(crate) call_id: &'a str,
    pub(crate) cseq: CSeq<'a>,
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// Method.
    pub method: Method<'a>,
    /// Request-URI.
    pub uri: Uri<'a>,
    /// Header fields.
    pub headers: Headers<'a>,
    /// Body, cut to Content-Length.
    pub body: &'a [u8],
    pub(crate) core: Core<'a>,
}

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response<'a> {
    /// Status code, 100 to 699.
    pub status: u16,
    /// Reason phrase, possibly empty.
    pub reason: &'a str,
    /// Header fields.
    pub headers: Headers<'a>,
    /// Body, cut to Content-Length.
    pub body: &'a [u8],
    pub(crate) core: Core<'a>,
}

/// A parsed request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// A request.
    Request(Request<'a>),
    /// A response.
    Response(Response<'a>),
}

macro_rules! core_accessors {
    ($ty:ident) => {
        impl<'a> $ty<'a> {
            /// Returns the From value.
            pub fn from(&self) -> &NameAddr<'a> {
                self.headers.name_addr(self.core.from)
            }

            /// Returns the To value.
            pub fn to(&self) -> &NameAddr<'a> {
                self.headers.name_addr(self.core.to)
            }

            /// Returns the Call-ID.
            pub fn call_id(&self) -> &'a str {
                self.core.call_id
            }

            /// Returns the CSeq.
            pub fn cseq(&self) -> CSeq<'a> {
                self.core.cseq
            }

            /// Returns the top Via; the parser guarantees there is one.
            pub fn top_via(&self) -> &Via<'a> {
                match self.headers.vias().next() {
                    Some(via) => via,
                    None => unreachable!("the parser rejects messages without Via"),
                }
            }
        }
    };
}

core_accessors!(Request);
core_accessors!(Response);
