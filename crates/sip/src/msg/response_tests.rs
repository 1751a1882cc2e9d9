use super::*;
use crate::msg::{parse_request, parse_response, Framing};

const REGISTER: &[u8] = b"REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP phone.example.com:5062;rport;branch=z9hG4bKabc\r\n\
Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKdef\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=a1\r\n\
To: <sip:alice@example.com>\r\n\
Call-ID: reg-1@phone\r\n\
CSeq: 7 REGISTER\r\n\
Content-Length: 0\r\n\r\n";

#[test]
fn response_copies_request_headers() {
    let request = parse_request(REGISTER, Framing::Datagram).unwrap();
    let bytes = ResponseBuilder::for_request(&request, None, 200, "OK")
        .to_tag("srv")
        .build();
    let response = parse_response(&bytes, Framing::Stream).unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.headers.vias().count(), 2);
    assert_eq!(response.top_via().branch, Some("z9hG4bKabc"));
    assert_eq!(response.from().tag(), Some("a1"));
    assert_eq!(response.to().tag(), Some("srv"));
    assert_eq!(response.call_id(), "reg-1@phone");
    assert_eq!(response.cseq(), request.cseq());
}

#[test]
fn response_keeps_existing_to_tag() {
    let raw = String::from_utf8(REGISTER.to_vec()).unwrap().replace(
        "To: <sip:alice@example.com>",
        "To: <sip:alice@example.com>;tag=old",
    );
    let request = parse_request(raw.as_bytes(), Framing::Datagram).unwrap();
    let bytes = ResponseBuilder::for_request(&request, None, 200, "OK")
        .to_tag("new")
        .build();
    let response = parse_response(&bytes, Framing::Stream).unwrap();
    assert_eq!(response.to().tag(), Some("old"));
}

#[test]
fn response_stamps_received_and_rport() {
    let request = parse_request(REGISTER, Framing::Datagram).unwrap();
    let source: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let bytes = ResponseBuilder::for_request(&request, Some(source), 200, "OK").build();
    let response = parse_response(&bytes, Framing::Stream).unwrap();
    let top = response.top_via();
    assert_eq!(top.received, Some(source.ip()));
    assert_eq!(top.rport, Some(Some(40000)));
    assert_eq!(response.headers.vias().nth(1).unwrap().received, None);
}

#[test]
fn stamp_via_skips_received_when_sent_by_matches() {
    let raw = String::from_utf8(REGISTER.to_vec())
        .unwrap()
        .replace("phone.example.com:5062;rport;", "127.0.0.1:5062;");
    let request = parse_request(raw.as_bytes(), Framing::Datagram).unwrap();
    let stamped = stamp_via(request.top_via(), "127.0.0.1:5062".parse().unwrap());
    assert_eq!(stamped, "SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc");
}

#[test]
fn error_response_copies_raw_headers() {
    let raw = b"OPTIONS sip:user@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: sip:user@example.com\r\nFrom: sip:c@example.net;tag=9\r\nCall-ID: x\r\nCSeq: 99999999999999999999 OPTIONS\r\n\r\n";
    let bytes = error_response(raw, 400, "Invalid CSeq Header", "t1").unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("SIP/2.0 400 Invalid CSeq Header\r\n"));
    assert!(text.contains("\r\nTo: sip:user@example.com;tag=t1\r\n"));
    assert!(text.contains("\r\nCSeq: 99999999999999999999 OPTIONS\r\n"));
}

#[test]
fn error_response_unfolds_via() {
    let raw = b"OPTIONS sip:u@h SIP/2.0\r\nVia: SIP/2.0/UDP\r\n h;branch=z9hG4bK1\r\n\r\n";
    let text = String::from_utf8(error_response(raw, 400, "Bad Request", "t").unwrap()).unwrap();
    assert!(text.contains("\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"));
}

#[test]
fn error_response_needs_request_with_via() {
    assert!(error_response(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", 400, "Bad", "t").is_none());
    assert!(error_response(b"OPTIONS sip:a@b SIP/2.0\r\nTo: x\r\n\r\n", 400, "Bad", "t").is_none());
}

#[test]
fn builder_strips_control_characters_from_reason() {
    let bytes = ResponseBuilder::new(400, "Bad\r\nInjected: yes").build();
    assert!(bytes.starts_with(b"SIP/2.0 400 BadInjected: yes\r\n"));
}
