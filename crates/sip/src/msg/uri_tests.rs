use super::*;

fn sip(text: &str) -> SipUri<'_> {
    match Uri::parse(text) {
        Ok(Uri::Sip(uri)) => uri,
        other => panic!("{text}: expected a SIP URI, got {other:?}"),
    }
}

#[test]
fn uri_parses_user_password_host_port_params_headers() {
    let uri =
        sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent");
    assert!(uri.secure);
    assert_eq!(uri.user, Some("alice"));
    assert_eq!(uri.password, Some("secret"));
    assert_eq!(uri.host, Host::Ipv6("2001:db8::1".parse().unwrap()));
    assert_eq!(uri.port, Some(5061));
    assert_eq!(uri.params.value("transport"), Some("tcp"));
    assert!(uri.params.contains("lr"));
    assert_eq!(uri.headers.value("Priority"), Some("urgent"));
}

#[test]
fn uri_accepts_unusual_user_characters() {
    let text = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
    let uri = sip(text);
    assert_eq!(
        uri.user,
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        uri.password,
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(uri.host, Host::Domain("example.com"));
}

#[test]
fn uri_user_may_contain_semicolons() {
    let uri = sip("sip:user;par=u%40example.net@example.com");
    assert_eq!(uri.user, Some("user;par=u%40example.net"));
    assert!(uri.params.is_empty());
}

#[test]
fn uri_keeps_other_schemes() {
    assert_eq!(
        Uri::parse("tel:+1-201-555-0123"),
        Ok(Uri::Other {
            scheme: "tel",
            rest: "+1-201-555-0123"
        })
    );
    assert_eq!(
        Uri::parse("soap.beep://192.0.2.103:3002"),
        Ok(Uri::Other {
            scheme: "soap.beep",
            rest: "//192.0.2.103:3002"
        })
    );
}

#[test]
fn uri_rejects_malformed() {
    assert!(Uri::parse("<sip:user@example.com>").is_err());
    assert!(Uri::parse("sip:user@example.com; lr").is_err());
    assert!(Uri::parse("sip:@example.com").is_err());
    assert!(Uri::parse("sip:user@example.com:99999").is_err());
    assert!(Uri::parse("sip:us%zzer@example.com").is_err());
    assert!(Uri::parse("nocolon").is_err());
}

#[test]
fn uri_display_round_trips() {
    for text in [
        "sip:alice@example.com",
        "sips:bob:pw@192.0.2.1:5061;transport=tls",
        "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
        "sip:[2001:db8::1];lr",
    ] {
        assert_eq!(sip(text).to_string(), text);
    }
}

#[test]
fn unbracketed_uri_leaves_parameters_to_the_header() {
    let mut cursor = Cursor::new("sip:+19725552222@gw1.example.net;unknownparam");
    let uri = parse_unbracketed(&mut cursor).unwrap();
    assert_eq!(cursor.rest(), ";unknownparam");
    assert!(uri.as_sip().unwrap().params.is_empty());
}

#[test]
fn unbracketed_uri_rejects_headers() {
    let mut cursor = Cursor::new("sip:user@example.com?Route=%3Csip:sip.example.com%3E");
    assert!(parse_unbracketed(&mut cursor).is_err());
}

#[test]
fn address_of_record_normalizes() {
    assert_eq!(
        sip("sip:%75se%72@Example.COM;transport=udp").address_of_record(),
        "sip:user@example.com"
    );
    assert_eq!(
        sip("sip:a%20b@example.com").address_of_record(),
        "sip:a%20b@example.com"
    );
}

#[test]
fn matches_follows_comparison_rules() {
    assert!(sip("sip:%61lice@atlanta.com;transport=TCP")
        .matches(&sip("sip:alice@AtLanTa.CoM;Transport=tcp")));
    assert!(!sip("sip:alice@atlanta.com").matches(&sip("sip:ALICE@atlanta.com")));
    assert!(!sip("sip:bob@biloxi.com").matches(&sip("sip:bob@biloxi.com:5060")));
    assert!(!sip("sip:bob@biloxi.com;transport=udp").matches(&sip("sip:bob@biloxi.com")));
    assert!(sip("sip:carol@chicago.com;security=on").matches(&sip("sip:carol@chicago.com")));
}
