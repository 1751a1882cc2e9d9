//! Printing parsed messages back to bytes.
//!
//! Typed header values print in canonical form (full names, single spaces,
//! URIs in angle brackets); other values print as received with line folding
//! removed. Content-Length is written once, from the body actually present.

use std::fmt::Write as _;

use super::header::{Header, HeaderName, HeaderValue};
use super::message::{Request, Response};
use super::name_addr::Contacts;

/// Removes the CRLFs of folded lines; the white space after each one stays.
pub(crate) fn unfold(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains('\r') {
        std::borrow::Cow::Owned(value.replace("\r\n", ""))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

fn join<T: std::fmt::Display>(items: &[T]) -> String {
    let mut out = String::new();
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    out
}

/// Returns the canonical text of a header value.
pub fn header_value_text(header: &Header<'_>) -> String {
    match &header.parsed {
        HeaderValue::Via(vias) => join(vias),
        HeaderValue::NameAddr(addr) => addr.to_string(),
        HeaderValue::Contact(Contacts::Star) => "*".to_owned(),
        HeaderValue::Contact(Contacts::List(list)) => join(list),
        HeaderValue::Routes(routes) => join(routes),
        HeaderValue::CallId(id) => (*id).to_owned(),
        HeaderValue::CSeq(cseq) => cseq.to_string(),
        HeaderValue::Number(n) => n.to_string(),
        HeaderValue::ContentType(media) => media.to_string(),
        HeaderValue::OptionTags(tags) => tags.join(", "),
        HeaderValue::Auth(value) => value.to_string(),
        HeaderValue::Text => unfold(header.value).into_owned(),
    }
}

fn write_headers_and_body(out: &mut Vec<u8>, headers: &[Header<'_>], body: &[u8]) {
    let mut text = String::new();
    for header in headers {
        if header.name == HeaderName::ContentLength {
            continue;
        }
        let _ = write!(
            text,
            "{}: {}\r\n",
            header.name.as_str(),
            header_value_text(header)
        );
    }
    let _ = write!(text, "Content-Length: {}\r\n\r\n", body.len());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(body);
}

impl Request<'_> {
    /// Prints the request.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} SIP/2.0\r\n", self.method, self.uri).into_bytes();
        write_headers_and_body(&mut out, &self.headers.0, self.body);
        out
    }
}

impl Response<'_> {
    /// Prints the response.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, self.reason).into_bytes();
        write_headers_and_body(&mut out, &self.headers.0, self.body);
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::msg::{parse_request, Framing};

    #[test]
    fn request_print_is_canonical_and_reparses() {
        let raw = b"REGISTER sip:example.com SIP/2.0\r\nv: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\r\nf: sip:a@example.com;tag=1\r\nt: sip:a@example.com\r\ni: abc\r\nCSeq:  1\r\n REGISTER\r\nX-Folded: one\r\n two\r\nl: 0\r\n\r\n";
        let request = parse_request(raw, Framing::Datagram).unwrap();
        let printed = request.to_bytes();
        let text = String::from_utf8(printed.clone()).unwrap();
        assert!(text.starts_with("REGISTER sip:example.com SIP/2.0\r\n"));
        assert!(text.contains("\r\nFrom: <sip:a@example.com>;tag=1\r\n"));
        assert!(text.contains("\r\nCSeq: 1 REGISTER\r\n"));
        assert!(text.contains("\r\nX-Folded: one two\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
        let again = parse_request(&printed, Framing::Stream).unwrap();
        assert_eq!(again.to_bytes(), printed);
    }
}
