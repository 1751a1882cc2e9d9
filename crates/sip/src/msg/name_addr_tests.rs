use super::*;
use crate::msg::host::Host;

#[test]
fn name_addr_parses_quoted_display_name_with_escapes() {
    let text = "\"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8";
    let addr = parse_name_addr(text, true).unwrap();
    assert_eq!(addr.display_name.unwrap().text(), "J Rosenberg \\\"");
    assert_eq!(addr.tag(), Some("98asjd8"));
    assert!(addr.bracketed);
}

#[test]
fn name_addr_parses_token_display_name_without_space() {
    let addr = parse_name_addr("caller<sip:caller@example.com>;tag=323", true).unwrap();
    assert_eq!(addr.display_name, Some(DisplayName::Tokens("caller")));
    assert_eq!(addr.tag(), Some("323"));
}

#[test]
fn name_addr_parses_multi_token_display_name() {
    let addr = parse_name_addr("A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe", true).unwrap();
    assert_eq!(addr.display_name, Some(DisplayName::Tokens("A. Bell")));
}

#[test]
fn name_addr_unbracketed_params_belong_to_header() {
    let addr = parse_name_addr(
        "sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n",
        true,
    )
    .unwrap();
    assert!(!addr.bracketed);
    assert_eq!(addr.tag(), Some("1918181833n"));
    let uri = addr.uri.as_sip().unwrap();
    assert_eq!(uri.host, Host::Domain("chair-dnrc.example.com"));
}

#[test]
fn name_addr_rejects_comma_in_unquoted_display_name() {
    assert!(parse_name_addr("Bell, Alexander <sip:a.g.bell@example.com>;tag=43", true).is_err());
}

#[test]
fn name_addr_rejects_space_inside_brackets() {
    assert!(parse_name_addr("\"Watson, Thomas\" < sip:t.watson@example.org >", true).is_err());
}

#[test]
fn name_addr_rejects_unbalanced_quote() {
    assert!(parse_name_addr("\"Mr. J. User <sip:j.user@example.com>", true).is_err());
}

#[test]
fn name_addr_keeps_other_schemes() {
    let addr = parse_name_addr("isbn:2983792873", true).unwrap();
    assert_eq!(
        addr.uri,
        Uri::Other {
            scheme: "isbn",
            rest: "2983792873"
        }
    );
}

#[test]
fn name_addr_display_prints_brackets() {
    let addr = parse_name_addr("sip:watson@example.com;tag=Dk", true).unwrap();
    assert_eq!(addr.to_string(), "<sip:watson@example.com>;tag=Dk");
}

#[test]
fn contacts_parse_star_and_lists() {
    assert_eq!(parse_contacts("*"), Ok(Contacts::Star));
    let Contacts::List(list) =
        parse_contacts("<sip:a@h1>;q=0.7;expires=60, \"B\" <sip:b@h2>").unwrap()
    else {
        panic!("expected a list");
    };
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].params.value("expires"), Some("60"));
}

#[test]
fn contacts_reject_bad_parameters() {
    assert!(parse_contacts("<sip:a@h>;q=1.5").is_err());
    assert!(parse_contacts("<sip:a@h>;expires=280297596632815").is_err());
    assert!(parse_contacts("\"Joe\" <sip:joe@example.org>;;;;").is_err());
    assert!(parse_contacts("<sip:a@h>,").is_err());
}

#[test]
fn routes_require_brackets() {
    assert!(parse_routes("<sip:p1.example.com;lr>, <sip:p2.example.com;lr>").is_ok());
    assert!(parse_routes("sip:p1.example.com").is_err());
}
