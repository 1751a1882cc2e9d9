//! Framing and the start line: from bytes to a [`Message`] (RFC 3261 sections 7 and 18.3).

use super::error::ParseError;
use super::header::{canonical_static, Header, HeaderName, HeaderValue};
use super::message::{Core, Headers, Message, Request, Response};
use super::method::Method;
use super::scan::{is_token_str, trim_lws};
use super::uri::Uri;

/// How the message arrived, which decides how Content-Length frames the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One message per datagram (UDP). Content-Length may be absent, in which
    /// case the body runs to the end of the datagram; octets after
    /// Content-Length are ignored (RFC 3261 section 18.3).
    Datagram,
    /// A message cut from a stream (TCP) by its Content-Length, which must be
    /// present and equal to the body length.
    Stream,
}

/// Returns whether `buf` starts like a response (`SIP/`), after any leading CRLFs.
pub fn looks_like_response(buf: &[u8]) -> bool {
    let start = skip_leading_crlf(buf);
    buf.len() >= start + 4 && buf[start..start + 4].eq_ignore_ascii_case(b"SIP/")
}

/// Parses a request or a response.
pub fn parse_message(buf: &[u8], framing: Framing) -> Result<Message<'_>, ParseError> {
    if looks_like_response(buf) {
        parse_response(buf, framing).map(Message::Response)
    } else {
        parse_request(buf, framing).map(Message::Request)
    }
}

/// Parses and validates a request.
pub fn parse_request(buf: &[u8], framing: Framing) -> Result<Request<'_>, ParseError> {
    let (start_line, headers, body) = split(buf, framing)?;
    let (method, uri) = parse_request_line(start_line)?;
    let core = check_core(&headers)?;
    if core.cseq.method != method {
        return Err(ParseError::CSeqMethodMismatch);
    }
    Ok(Request {
        method,
        uri,
        headers,
        body,
        core,
    })
}

/// Parses and validates a response.
pub fn parse_response(buf: &[u8], framing: Framing) -> Result<Response<'_>, ParseError> {
    let (start_line, headers, body) = split(buf, framing)?;
    let (status, reason) = parse_status_line(start_line)?;
    let core = check_core(&headers)?;
    Ok(Response {
        status,
        reason,
        headers,
        body,
        core,
    })
}

fn skip_leading_crlf(buf: &[u8]) -> usize {
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    start
}

/// Splits a message into start line, parsed headers and body.
fn split(buf: &[u8], framing: Framing) -> Result<(&str, Headers<'_>, &[u8]), ParseError> {
    let start = skip_leading_crlf(buf);
    if buf[start..].iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    // The header section is the UTF-8 prefix up to the first empty line; the
    // body after it may be binary.
    let text = match std::str::from_utf8(&buf[start..]) {
        Ok(text) => text,
        Err(error) => std::str::from_utf8(&buf[start..start + error.valid_up_to()]).unwrap_or(""),
    };
    let Some(head_len) = text.find("\r\n\r\n") else {
        let terminated = buf[start..].windows(4).any(|w| w == b"\r\n\r\n");
        return Err(if terminated {
            ParseError::NotUtf8
        } else {
            ParseError::Unterminated
        });
    };
    let head = &text[..head_len];
    let body = &buf[start + head_len + 4..];

    let (start_line, rest) = match head.find("\r\n") {
        Some(i) => (&head[..i], Some(&head[i + 2..])),
        None => (head, None),
    };
    if start_line.contains(['\r', '\n']) {
        return Err(ParseError::BareLineBreak);
    }
    let mut headers = Vec::with_capacity(16);
    if let Some(rest) = rest {
        for line in logical_lines(rest) {
            headers.push(parse_header_line(line?)?);
        }
    }
    let headers = Headers(headers);
    let body = frame_body(&headers, body, framing)?;
    Ok((start_line, headers, body))
}

/// Yields each header line with its continuation lines (folding) attached.
fn logical_lines(text: &str) -> impl Iterator<Item = Result<&str, ParseError>> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= bytes.len() {
            return None;
        }
        let start = pos;
        if matches!(bytes[start], b' ' | b'\t') {
            pos = bytes.len();
            return Some(Err(ParseError::HeaderLine(
                "continuation line before the first header",
            )));
        }
        loop {
            let line_end = text[pos..].find('\r').map_or(bytes.len(), |i| pos + i);
            let bare_cr = line_end < bytes.len() && bytes.get(line_end + 1) != Some(&b'\n');
            if bare_cr || text[pos..line_end].contains('\n') {
                pos = bytes.len();
                return Some(Err(ParseError::BareLineBreak));
            }
            let next = line_end + 2;
            if next < bytes.len() && matches!(bytes[next], b' ' | b'\t') {
                pos = next;
                continue;
            }
            pos = next;
            return Some(Ok(&text[start..line_end]));
        }
    })
}

/// Parses `field-name HCOLON field-value`, where `HCOLON = *( SP / HTAB ) ":" SWS`.
fn parse_header_line(line: &str) -> Result<Header<'_>, ParseError> {
    let colon = line
        .find(':')
        .ok_or(ParseError::HeaderLine("missing colon"))?;
    let name = line[..colon].trim_end_matches([' ', '\t']);
    if !is_token_str(name) {
        return Err(ParseError::HeaderLine("invalid header name"));
    }
    let value = trim_lws(&line[colon + 1..]);
    Header::parse(HeaderName::parse(name), value)
}

/// Applies Content-Length to the octets after the header section.
fn frame_body<'a>(
    headers: &Headers<'a>,
    body: &'a [u8],
    framing: Framing,
) -> Result<&'a [u8], ParseError> {
    let mut lengths = headers.named(HeaderName::ContentLength);
    let declared = lengths.next().map(|h| match h.parsed {
        HeaderValue::Number(n) => n as usize,
        _ => usize::MAX,
    });
    if lengths.next().is_some() {
        return Err(ParseError::Duplicate("Content-Length"));
    }
    match (declared, framing) {
        (None, Framing::Datagram) => Ok(body),
        (None, Framing::Stream) => Err(ParseError::MissingContentLength),
        (Some(n), _) if body.len() < n => Err(ParseError::BodyLength),
        (Some(n), Framing::Stream) if body.len() > n => Err(ParseError::BodyLength),
        (Some(n), _) => Ok(&body[..n]),
    }
}

/// Checks that each single-valued header appears at most once and that the
/// mandatory ones are present, and locates them.
fn check_core<'a>(headers: &Headers<'a>) -> Result<Core<'a>, ParseError> {
    const SINGLE: [HeaderName<'static>; 9] = [
        HeaderName::From,
        HeaderName::To,
        HeaderName::CallId,
        HeaderName::CSeq,
        HeaderName::MaxForwards,
        HeaderName::Expires,
        HeaderName::MinExpires,
        HeaderName::ContentType,
        HeaderName::Date,
    ];
    let mut found = [None; SINGLE.len()];
    for (index, header) in headers.iter().enumerate() {
        if let Some(slot) = SINGLE.iter().position(|name| *name == header.name) {
            if found[slot].is_some() {
                return Err(ParseError::Duplicate(canonical_static(header.name)));
            }
            found[slot] = Some(index);
        }
    }
    if headers.vias().next().is_none() {
        return Err(ParseError::Missing("Via"));
    }
    let locate =
        |slot: usize| found[slot].ok_or(ParseError::Missing(canonical_static(SINGLE[slot])));
    let (from, to, call_id, cseq) = (locate(0)?, locate(1)?, locate(2)?, locate(3)?);
    let call_id = match headers.0[call_id].parsed {
        HeaderValue::CallId(id) => id,
        _ => return Err(ParseError::Missing("Call-ID")),
    };
    let cseq = match headers.0[cseq].parsed {
        HeaderValue::CSeq(cseq) => cseq,
        _ => return Err(ParseError::Missing("CSeq")),
    };
    Ok(Core {
        from,
        to,
        call_id,
        cseq,
    })
}

/// Checks `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT`, case-insensitively,
/// and that it is 2.0.
fn check_version(text: &str, invalid: ParseError) -> Result<(), ParseError> {
    let number = match text.get(..4) {
        Some(prefix) if prefix.eq_ignore_ascii_case("SIP/") => &text[4..],
        _ => return Err(invalid),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match number.split_once('.') {
        Some((major, minor)) if digits(major) && digits(minor) => {
            if number == "2.0" {
                Ok(())
            } else {
                Err(ParseError::VersionNotSupported)
            }
        }
        _ => Err(invalid),
    }
}

/// Parses `Method SP Request-URI SP SIP-Version`; single spaces only.
fn parse_request_line(line: &str) -> Result<(Method<'_>, Uri<'_>), ParseError> {
    let (method, rest) = line
        .split_once(' ')
        .ok_or(ParseError::RequestLine("missing Request-URI"))?;
    if !is_token_str(method) {
        return Err(ParseError::RequestLine("invalid method"));
    }
    let (uri, version) = rest
        .split_once(' ')
        .ok_or(ParseError::RequestLine("missing SIP version"))?;
    check_version(version, ParseError::RequestLine("invalid SIP version"))?;
    let uri = Uri::parse(uri).map_err(ParseError::RequestUri)?;
    if uri.as_sip().is_some_and(|sip| !sip.headers.is_empty()) {
        // RFC 3261 section 19.1.1 forbids headers in a Request-URI.
        return Err(ParseError::RequestUri(
            "headers are not allowed in a Request-URI",
        ));
    }
    Ok((Method::from_token(method), uri))
}

/// Parses `SIP-Version SP Status-Code SP Reason-Phrase`.
fn parse_status_line(line: &str) -> Result<(u16, &str), ParseError> {
    let (version, rest) = line
        .split_once(' ')
        .ok_or(ParseError::StatusLine("missing status code"))?;
    check_version(version, ParseError::StatusLine("invalid SIP version"))?;
    let (code, reason) = rest
        .split_once(' ')
        .ok_or(ParseError::StatusLine("missing reason phrase"))?;
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::StatusLine("status code must be three digits"));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| ParseError::StatusLine("invalid status code"))?;
    if !(100..=699).contains(&status) {
        return Err(ParseError::StatusLine("status code out of range"));
    }
    if reason.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ParseError::StatusLine("control character in reason phrase"));
    }
    Ok((status, reason))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
