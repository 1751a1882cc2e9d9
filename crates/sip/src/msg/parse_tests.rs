use super::*;
use crate::msg::HeaderValue;

const OPTIONS: &str = "OPTIONS sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1\r\n\
From: <sip:alice@example.com>;tag=1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: c1\r\n\
CSeq: 1 OPTIONS\r\n\
Content-Length: 4\r\n\r\nbody";

fn with(replace: &str, by: &str) -> Vec<u8> {
    assert!(OPTIONS.contains(replace), "{replace}");
    OPTIONS.replacen(replace, by, 1).into_bytes()
}

#[test]
fn parse_request_reads_core_fields() {
    let request = parse_request(OPTIONS.as_bytes(), Framing::Stream).unwrap();
    assert_eq!(request.method, Method::Options);
    assert_eq!(request.call_id(), "c1");
    assert_eq!(request.cseq().seq, 1);
    assert_eq!(request.body, b"body");
    assert_eq!(request.to().tag(), None);
}

#[test]
fn parse_skips_leading_crlf() {
    let raw = format!("\r\n\r\n{OPTIONS}");
    assert!(parse_request(raw.as_bytes(), Framing::Stream).is_ok());
}

#[test]
fn parse_rejects_keepalive_as_empty() {
    assert_eq!(
        parse_message(b"\r\n\r\n", Framing::Datagram),
        Err(ParseError::Empty)
    );
}

#[test]
fn parse_rejects_unterminated_head() {
    let raw = "OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n";
    assert_eq!(
        parse_request(raw.as_bytes(), Framing::Datagram),
        Err(ParseError::Unterminated)
    );
}

#[test]
fn parse_rejects_bare_line_feed() {
    let raw = with("Call-ID: c1\r\n", "Call-ID: c1\nX: y\r\n");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::BareLineBreak)
    );
}

#[test]
fn parse_rejects_invalid_utf8_in_head() {
    let mut raw = with("Call-ID: c1", "X-Bad: \u{1}");
    let index = raw.iter().position(|b| *b == 1).unwrap();
    raw[index] = 0xff;
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::NotUtf8)
    );
}

#[test]
fn parse_request_line_versions() {
    let raw = with("SIP/2.0\r\nVia", "sip/2.0\r\nVia");
    assert!(
        parse_request(&raw, Framing::Stream).is_ok(),
        "version is case-insensitive"
    );
    let raw = with("SIP/2.0\r\nVia", "SIP/3.0\r\nVia");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::VersionNotSupported)
    );
    let raw = with("SIP/2.0\r\nVia", "SIP/2\r\nVia");
    assert!(matches!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::RequestLine(_))
    ));
}

#[test]
fn parse_request_method_is_exact() {
    let raw = OPTIONS.replace("OPTIONS", "OPTIONSX");
    let request = parse_request(raw.as_bytes(), Framing::Stream).unwrap();
    assert_eq!(request.method, Method::Extension("OPTIONSX"));
    let raw = with("OPTIONS sip", "OPTIONSX sip");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::CSeqMethodMismatch)
    );
}

#[test]
fn parse_stream_requires_exact_content_length() {
    let raw = with("Content-Length: 4", "Content-Length: 3");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::BodyLength)
    );
    assert_eq!(parse_request(&raw, Framing::Datagram).unwrap().body, b"bod");
    let raw = with("Content-Length: 4\r\n", "");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::MissingContentLength)
    );
    assert_eq!(
        parse_request(&raw, Framing::Datagram).unwrap().body,
        b"body"
    );
}

#[test]
fn parse_rejects_body_shorter_than_content_length() {
    let raw = with("Content-Length: 4", "Content-Length: 40");
    assert_eq!(
        parse_request(&raw, Framing::Datagram),
        Err(ParseError::BodyLength)
    );
}

#[test]
fn parse_rejects_missing_and_duplicate_headers() {
    let raw = with("Call-ID: c1\r\n", "");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::Missing("Call-ID"))
    );
    let raw = with("Call-ID: c1\r\n", "Call-ID: c1\r\ni: c2\r\n");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::Duplicate("Call-ID"))
    );
    let raw = with("Via: SIP/2.0/UDP pc.example.com;branch=z9hG4bK1\r\n", "");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::Missing("Via"))
    );
}

#[test]
fn parse_rejects_header_line_errors() {
    let raw = with("Call-ID: c1\r\n", "Call-ID: c1\r\nNoColon\r\n");
    assert_eq!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::HeaderLine("missing colon"))
    );
    let raw = with("Call-ID: c1\r\n", "Call-ID: c1\r\nBad Name: x\r\n");
    assert!(matches!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::HeaderLine(_))
    ));
}

#[test]
fn parse_rejects_request_uri_headers() {
    let raw = with(
        "sip:bob@example.com SIP",
        "sip:bob@example.com?Subject=x SIP",
    );
    assert!(matches!(
        parse_request(&raw, Framing::Stream),
        Err(ParseError::RequestUri(_))
    ));
}

#[test]
fn parse_keeps_tel_request_uri() {
    let raw = with("sip:bob@example.com SIP", "tel:+15551234 SIP");
    let request = parse_request(&raw, Framing::Stream).unwrap();
    assert_eq!(
        request.uri,
        Uri::Other {
            scheme: "tel",
            rest: "+15551234"
        }
    );
}

#[test]
fn parse_response_status_line() {
    let raw = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let response = parse_response(raw.as_bytes(), Framing::Stream).unwrap();
    assert_eq!(response.status, 180);
    assert_eq!(response.reason, "Ringing");
    for bad in [
        "SIP/2.0 099 Low",
        "SIP/2.0 700 High",
        "SIP/2.0 1800 Long",
        "SIP/2.0 180",
    ] {
        let raw = raw.replace("SIP/2.0 180 Ringing", bad);
        assert!(
            parse_response(raw.as_bytes(), Framing::Stream).is_err(),
            "{bad}"
        );
    }
}

#[test]
fn parse_types_every_known_header() {
    let raw = with(
        "Call-ID: c1\r\n",
        "Call-ID: c1\r\nMax-Forwards: 70\r\nExpires: 3600\r\nMin-Expires: 60\r\nc: application/sdp\r\nk: path, outbound\r\nSupported:\r\nRoute: <sip:p.example.com;lr>\r\nAuthorization: Digest username=\"a\"\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\n",
    );
    let request = parse_request(&raw, Framing::Stream).unwrap();
    assert_eq!(request.headers.max_forwards(), Some(70));
    assert_eq!(request.headers.expires(), Some(3600));
    assert_eq!(request.headers.min_expires(), Some(60));
    assert!(request
        .headers
        .content_type()
        .unwrap()
        .is("application", "sdp"));
    let supported: Vec<_> = request.headers.option_tags(HeaderName::Supported).collect();
    assert_eq!(supported, ["path", "outbound"]);
    assert_eq!(request.headers.routes(HeaderName::Route).count(), 1);
    let auth = request
        .headers
        .auth(HeaderName::Authorization)
        .next()
        .unwrap();
    assert_eq!(auth.param("username").as_deref(), Some("a"));
    let date = request.headers.named(HeaderName::Date).next().unwrap();
    assert_eq!(date.parsed, HeaderValue::Text);
}
