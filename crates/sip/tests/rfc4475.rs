//! The RFC 4475 torture messages, each with the verdict this parser gives.
//!
//! Sections 3.1.1 (valid) and 3.1.2 (invalid) are parser verdicts. For the
//! transaction and application cases of sections 3.2 and 3.3, the table contains
//! the outcome where it is decided at parse or request-check time; the rest
//! must simply parse.

use std::path::PathBuf;

use tandem_sip::msg::{
    check_request, error_response, parse_message, parse_request, Contacts, Framing, HeaderName,
    Message, Method, ParseError, Rejection, Uri,
};

/// What a file must produce.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    /// Parses as a request and passes the UAS checks.
    Request,
    /// Parses as a response.
    Response,
    /// Fails to parse as a request; the response code is given.
    RejectRequest(u16),
    /// Parses, then the UAS checks reject it with this code.
    RejectChecked(u16),
    /// Fails to parse as a response, so it is dropped.
    DropResponse,
}

use Verdict::*;

const TABLE: [(&str, Verdict); 49] = [
    // 3.1.1: valid messages.
    ("wsinv", Request),
    ("intmeth", Request),
    ("esc01", Request),
    ("escnull", Request),
    ("esc02", Request),
    ("lwsdisp", Request),
    ("longreq", Request),
    ("dblreq", Request),
    ("semiuri", Request),
    ("transports", Request),
    ("mpart01", Request),
    ("unreason", Response),
    ("noreason", Response),
    // 3.1.2: invalid messages.
    ("badinv01", RejectRequest(400)),
    ("clerr", RejectRequest(400)),
    ("ncl", RejectRequest(400)),
    ("scalar02", RejectRequest(400)),
    ("scalarlg", DropResponse),
    ("quotbal", RejectRequest(400)),
    ("ltgtruri", RejectRequest(400)),
    ("lwsruri", RejectRequest(400)),
    ("lwsstart", RejectRequest(400)),
    ("trws", RejectRequest(400)),
    ("escruri", RejectRequest(400)),
    ("baddate", RejectRequest(400)),
    ("regbadct", RejectRequest(400)),
    ("badaspec", RejectRequest(400)),
    ("baddn", RejectRequest(400)),
    ("badvers", RejectRequest(505)),
    ("mismatch01", RejectRequest(400)),
    ("mismatch02", RejectRequest(400)),
    ("bigcode", DropResponse),
    // 3.2: transaction layer semantics.
    ("badbranch", Request),
    // 3.3: application layer semantics.
    ("insuf", RejectRequest(400)),
    ("unkscm", RejectChecked(416)),
    ("novelsc", RejectChecked(416)),
    ("unksm2", Request),
    ("bext01", RejectChecked(420)),
    ("invut", Request),
    ("regaut01", Request),
    ("multi01", RejectRequest(400)),
    ("mcl01", RejectRequest(400)),
    ("bcast", Response),
    ("zeromf", Request),
    ("cparam01", Request),
    ("cparam02", Request),
    ("regescrt", Request),
    ("sdp01", Request),
    ("inv2543", Request),
];

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc4475")
}

fn load(name: &str) -> Vec<u8> {
    let path = data_dir().join(format!("{name}.dat"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn corpus_table_covers_every_file() {
    let mut files: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|name| name.strip_suffix(".dat").map(str::to_owned))
        .collect();
    files.sort();
    let mut listed: Vec<String> = TABLE.iter().map(|(name, _)| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(files, listed);
}

#[test]
fn corpus_verdicts_match_table() {
    let mut failures = Vec::new();
    for (name, verdict) in TABLE {
        let buf = load(name);
        let actual = match parse_message(&buf, Framing::Datagram) {
            Ok(Message::Request(request)) => match check_request(&request, &[]) {
                Ok(()) => Request,
                Err(rejection) => RejectChecked(rejection.status_code()),
            },
            Ok(Message::Response(_)) => Response,
            Err(error) if tandem_sip::msg::looks_like_response(&buf) => {
                let _ = error;
                DropResponse
            }
            Err(error) => RejectRequest(error.status_code()),
        };
        if actual != verdict {
            let detail = parse_message(&buf, Framing::Datagram).err();
            failures.push(format!(
                "{name}: expected {verdict:?}, got {actual:?} ({detail:?})"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "verdict mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn corpus_rejected_requests_get_an_error_response() {
    for (name, verdict) in TABLE {
        let RejectRequest(code) = verdict else {
            continue;
        };
        let buf = load(name);
        let error = parse_request(&buf, Framing::Datagram).unwrap_err();
        let response = error_response(&buf, code, &error.reason_phrase(), "tag1")
            .unwrap_or_else(|| panic!("{name}: no error response"));
        let expected = format!("SIP/2.0 {code} ");
        assert!(
            response.starts_with(expected.as_bytes()),
            "{name}: wrong status line"
        );
    }
}

fn request(name: &str) -> Vec<u8> {
    load(name)
}

#[test]
fn wsinv_fields_survive_white_space() {
    let buf = request("wsinv");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.method, Method::Invite);
    assert_eq!(req.headers.max_forwards(), Some(68));
    assert_eq!(req.cseq().seq, 9);
    assert_eq!(req.to().tag(), Some("1918181833n"));
    assert_eq!(req.from().tag(), Some("98asjd8"));
    assert_eq!(req.from().display_name.unwrap().text(), "J Rosenberg \\\"");
    let branches: Vec<_> = req.headers.vias().map(|v| v.branch.unwrap()).collect();
    assert_eq!(branches, ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]);
    let Some(Contacts::List(contacts)) = req.headers.contacts() else {
        panic!("no contacts")
    };
    assert_eq!(
        contacts[0].display_name.unwrap().text(),
        "Quoted string \"\""
    );
    assert_eq!(contacts[0].params.value("q"), Some("0.33"));
    assert_eq!(req.headers.text("Subject"), Some(""));
    assert_eq!(req.body.len(), 150);
}

#[test]
fn intmeth_keeps_unknown_method_and_odd_uri() {
    let buf = request("intmeth");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(
        req.method,
        Method::Extension("!interesting-Method0123456789_*+`.%indeed'~")
    );
    let uri = req.uri.as_sip().unwrap();
    assert_eq!(
        uri.password,
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(
        req.to().display_name.unwrap().text(),
        "BEL:\x07 NUL:\x00 DEL:\x7f"
    );
}

#[test]
fn esc02_extension_method_and_unknown_header() {
    let buf = request("esc02");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.method, Method::Extension("RE%47IST%45R"));
    let Some(Contacts::List(contacts)) = req.headers.contacts() else {
        panic!("no contacts")
    };
    assert_eq!(contacts.len(), 2, "C%6Fntact is not Contact");
    assert_eq!(req.headers.named(HeaderName::Other("C%6Fntact")).count(), 1);
}

#[test]
fn dblreq_ignores_octets_after_content_length() {
    let buf = request("dblreq");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.method, Method::Register);
    assert!(req.body.is_empty());
}

#[test]
fn mpart01_keeps_binary_body_and_rport_flag() {
    let buf = request("mpart01");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.body.len(), 553);
    assert_eq!(req.top_via().rport, Some(None));
}

#[test]
fn transports_keep_unknown_transport() {
    let buf = request("transports");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    let transports: Vec<_> = req.headers.vias().map(|v| v.transport).collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn longreq_counts_every_via() {
    let buf = request("longreq");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.headers.vias().count(), 34);
    assert_eq!(req.body.len(), 150);
}

#[test]
fn badbranch_parses_without_rfc3261_cookie() {
    let buf = request("badbranch");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.top_via().branch, Some("z9hG4bK"));
    assert!(!req.top_via().has_rfc3261_branch());
}

#[test]
fn zeromf_parses_with_max_forwards_zero() {
    let buf = request("zeromf");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.headers.max_forwards(), Some(0));
}

#[test]
fn cparam01_parameter_belongs_to_contact() {
    let buf = request("cparam01");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    let Some(Contacts::List(contacts)) = req.headers.contacts() else {
        panic!("no contacts")
    };
    assert!(!contacts[0].bracketed);
    assert!(contacts[0].params.contains("unknownparam"));
    assert!(contacts[0].uri.as_sip().unwrap().params.is_empty());
}

#[test]
fn cparam02_parameter_belongs_to_uri() {
    let buf = request("cparam02");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    let Some(Contacts::List(contacts)) = req.headers.contacts() else {
        panic!("no contacts")
    };
    assert!(contacts[0].params.is_empty());
    assert!(contacts[0]
        .uri
        .as_sip()
        .unwrap()
        .params
        .contains("unknownparam"));
}

#[test]
fn regescrt_keeps_escaped_uri_header() {
    let buf = request("regescrt");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    let Some(Contacts::List(contacts)) = req.headers.contacts() else {
        panic!("no contacts")
    };
    let uri = contacts[0].uri.as_sip().unwrap();
    assert_eq!(
        uri.headers.value("Route"),
        Some("%3Csip:sip.example.com%3E")
    );
    assert_eq!(
        uri.to_string(),
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
    );
}

#[test]
fn unksm2_keeps_other_schemes_in_headers() {
    let buf = request("unksm2");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(
        req.to().uri,
        Uri::Other {
            scheme: "isbn",
            rest: "2983792873"
        }
    );
    assert_eq!(
        req.from().uri,
        Uri::Other {
            scheme: "http",
            rest: "//www.example.com"
        }
    );
}

#[test]
fn bext01_lists_both_unsupported_extensions() {
    let buf = request("bext01");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    let expected = vec![
        "nothingSupportsThis".to_owned(),
        "nothingSupportsThisEither".to_owned(),
    ];
    assert_eq!(
        check_request(&req, &[]),
        Err(Rejection::BadExtension(expected))
    );
}

#[test]
fn inv2543_accepted_without_branch_or_max_forwards() {
    let buf = request("inv2543");
    let req = parse_request(&buf, Framing::Datagram).unwrap();
    assert_eq!(req.top_via().branch, None);
    assert_eq!(req.headers.max_forwards(), None);
    assert_eq!(req.from().tag(), None);
}

#[test]
fn rejection_reasons_name_the_problem() {
    let cases = [
        ("mismatch01", ParseError::CSeqMethodMismatch),
        ("mcl01", ParseError::Duplicate("Content-Length")),
        ("multi01", ParseError::Duplicate("CSeq")),
        ("insuf", ParseError::Missing("From")),
        ("clerr", ParseError::BodyLength),
        ("badvers", ParseError::VersionNotSupported),
    ];
    for (name, expected) in cases {
        let buf = request(name);
        assert_eq!(
            parse_request(&buf, Framing::Datagram).unwrap_err(),
            expected,
            "{name}"
        );
    }
    let buf = request("scalar02");
    let reason = parse_request(&buf, Framing::Datagram)
        .unwrap_err()
        .reason_phrase();
    assert_eq!(reason, "Invalid CSeq Header");
}

#[test]
fn baddn_rejects_unquoted_comma_even_when_terminated() {
    // The corpus file has no empty line after its last header, which is
    // already a 400; this checks the display name itself.
    let mut buf = request("baddn");
    buf.extend_from_slice(b"\r\n");
    let error = parse_request(&buf, Framing::Datagram).unwrap_err();
    assert!(
        matches!(error, ParseError::Header { header: "From", .. }),
        "{error:?}"
    );
}

#[test]
fn corpus_valid_messages_print_and_reparse() {
    for (name, verdict) in TABLE {
        if !matches!(verdict, Request | Response | RejectChecked(_)) {
            continue;
        }
        let buf = request(name);
        let printed = match parse_message(&buf, Framing::Datagram).unwrap() {
            Message::Request(request) => request.to_bytes(),
            Message::Response(response) => response.to_bytes(),
        };
        let reprinted = match parse_message(&printed, Framing::Stream) {
            Ok(Message::Request(request)) => request.to_bytes(),
            Ok(Message::Response(response)) => response.to_bytes(),
            Err(error) => panic!("{name}: printed form does not parse: {error}"),
        };
        assert_eq!(printed, reprinted, "{name}: printing is not stable");
    }
}
