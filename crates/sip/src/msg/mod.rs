//! SIP messages: a strict parser that borrows from the received bytes, typed
//! header values, and printers for messages and responses.
//!
//! The grammar is RFC 3261 section 25. Where the RFC lets a receiver be
//! liberal, as with white space in the request line or a Date that is not GMT,
//! this parser rejects the message. The RFC 4475 torture tests in
//! `tests/rfc4475.rs` pin each verdict.

mod auth_header;
mod error;
mod fields;
mod header;
mod host;
mod message;
mod method;
mod name_addr;
mod params;
mod parse;
mod print;
mod response;
mod scan;
mod uri;
mod validate;
mod via;

pub use auth_header::AuthValue;
pub use error::{ParseError, Rejection};
pub use fields::{format_date, CSeq, MediaType, MAX_CSEQ};
pub use header::{Header, HeaderName, HeaderValue};
pub use host::Host;
pub use message::{Headers, Message, Request, Response};
pub use method::Method;
pub use name_addr::{Contacts, DisplayName, NameAddr};
pub use params::{Param, Params};
pub use parse::{looks_like_response, parse_message, parse_request, parse_response, Framing};
pub use print::header_value_text;
pub use response::{error_response, stamp_via, ResponseBuilder};
pub use uri::{SipUri, Uri};
pub use validate::{check_proxy_require, check_request};
pub use via::{Via, BRANCH_COOKIE};
