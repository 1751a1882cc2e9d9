//! Building responses to requests (RFC 3261 section 8.2.6), including
//! responses to requests that failed to parse.

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::header::HeaderName;
use super::message::Request;
use super::print::unfold;
use super::via::Via;

/// A response under construction. Header values are owned text.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    to_index: Option<usize>,
    to_has_tag: bool,
    body: Vec<u8>,
}

impl ResponseBuilder {
    /// Starts a response with no header fields.
    pub fn new(status: u16, reason: &str) -> Self {
        Self {
            status,
            reason: sanitize(reason),
            headers: Vec::new(),
            to_index: None,
            to_has_tag: false,
            body: Vec::new(),
        }
    }

    /// Starts a response to `request`, copying Via, From, To, Call-ID and CSeq
    /// as RFC 3261 section 8.2.6.2 requires. With `source`, the top Via gets the
    /// `received` and `rport` parameters of RFC 3261 section 18.2.1 and RFC 3581.
    pub fn for_request(
        request: &Request<'_>,
        source: Option<SocketAddr>,
        status: u16,
        reason: &str,
    ) -> Self {
        let mut builder = Self::new(status, reason);
        for (i, via) in request.headers.vias().enumerate() {
            let value = match (i, source) {
                (0, Some(source)) => stamp_via(via, source),
                _ => via.to_string(),
            };
            builder.headers.push(("Via".to_owned(), value));
        }
        for name in [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            if let Some(header) = request.headers.named(name).next() {
                if name == HeaderName::To {
                    builder.to_index = Some(builder.headers.len());
                    builder.to_has_tag = request.to().tag().is_some();
                }
                builder
                    .headers
                    .push((name.as_str().to_owned(), unfold(header.value).into_owned()));
            }
        }
        builder
    }

    /// Adds `tag` to the To header unless the request's To already had one.
    /// A UAS must tag every response except 100 Trying (RFC 3261 section 8.2.6.2).
    pub fn to_tag(mut self, tag: &str) -> Self {
        if let Some(index) = self.to_index.filter(|_| !self.to_has_tag) {
            let _ = write!(self.headers[index].1, ";tag={tag}");
            self.to_has_tag = true;
        }
        self
    }

    /// Appends a header field.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.body = body;
        self
    }

    /// Returns the status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Prints the response, ending the header section with Content-Length.
    pub fn build(&self) -> Vec<u8> {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum();
        let mut text = String::with_capacity(headers + self.reason.len() + 64 + self.body.len());
        let _ = write!(text, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        for (name, value) in &self.headers {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
            text.push_str("\r\n");
        }
        let _ = write!(text, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = text.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Removes characters a reason phrase cannot carry.
fn sanitize(reason: &str) -> String {
    reason.chars().filter(|c| !c.is_control()).collect()
}

/// Prints `via` with `received` set to the source address when it differs
/// from sent-by or when `rport` is present, and `rport` filled in.
pub fn stamp_via(via: &Via<'_>, source: SocketAddr) -> String {
    let needs_received = via.rport.is_some() || via.host.ip() != Some(source.ip());
    let mut out = format!(
        "{}/{}/{} {}",
        via.protocol,
        via.version,
        via.transport,
        via.sent_by()
    );
    for param in via.params.iter() {
        if param.name.eq_ignore_ascii_case("received") && needs_received {
            continue;
        }
        if param.name.eq_ignore_ascii_case("rport") {
            let _ = write!(out, ";rport={}", source.port());
            continue;
        }
        out.push(';');
        out.push_str(param.name);
        if let Some(value) = param.value {
            let _ = write!(out, "={value}");
        }
    }
    if needs_received {
        let _ = write!(out, ";received={}", source.ip());
    }
    out
}

/// Builds a response to bytes that failed to parse as a request, copying the
/// raw Via, From, To, Call-ID and CSeq lines that can be found.
///
/// Returns `None` when the bytes look like a response (a response never
/// gets one) or carry no Via, because the client could not match a response
/// without one.
pub fn error_response(buf: &[u8], status: u16, reason: &str, to_tag: &str) -> Option<Vec<u8>> {
    if super::parse::looks_like_response(buf) {
        return None;
    }
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(buf.len());
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut builder = ResponseBuilder::new(status, reason);
    let mut seen = [false; 4];
    let mut has_via = false;
    for line in unfolded_lines(&head).iter().skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = HeaderName::parse(name.trim_end_matches([' ', '\t']));
        let value = value.trim();
        if value.chars().any(|c| c.is_control() && c != '\t') {
            continue;
        }
        let slot = [
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ]
        .iter()
        .position(|n| *n == name);
        match (name, slot) {
            (HeaderName::Via, _) => {
                has_via = true;
                builder.headers.push(("Via".to_owned(), value.to_owned()));
            }
            (_, Some(slot)) if !seen[slot] => {
                seen[slot] = true;
                let mut value = value.to_owned();
                if name == HeaderName::To && !value.contains(";tag=") {
                    let _ = write!(value, ";tag={to_tag}");
                }
                builder.headers.push((name.as_str().to_owned(), value));
            }
            _ => {}
        }
    }
    has_via.then(|| builder.build())
}

/// Joins folded continuation lines to the line they continue.
fn unfolded_lines(head: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        match lines.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push_str(line),
            _ => lines.push(line.to_owned()),
        }
    }
    lines
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
