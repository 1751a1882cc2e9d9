use super::super::location::LocationStore;
use super::super::register::RegistrarConfig;
use super::super::test_support::*;

#[test]
fn register_star_with_nonzero_expiry_is_rejected() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Contact: *\r\nExpires: 60\r\n";
    let bytes = register_with_auth(
        &mut registrar,
        ("101", "a.example", "pw-a"),
        1,
        extra,
        at(0),
    );
    assert_eq!(parsed(&bytes).status, 400);
}

#[test]
fn register_below_minimum_gets_423() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Contact: <sip:101@127.0.0.1:40000>;expires=30\r\n";
    let bytes = register_with_auth(
        &mut registrar,
        ("101", "a.example", "pw-a"),
        1,
        extra,
        at(0),
    );
    let response = parsed(&bytes);
    assert_eq!(response.status, 423);
    assert_eq!(response.headers.min_expires(), Some(60));
}

#[test]
fn register_clamps_to_maximum_and_keeps_several_contacts() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Contact: <sip:101@127.0.0.1:40000>;expires=99999, <sip:101@127.0.0.1:40002>;q=0.5\r\nExpires: 120\r\n";
    let bytes = register_with_auth(
        &mut registrar,
        ("101", "a.example", "pw-a"),
        1,
        extra,
        at(0),
    );
    let response = parsed(&bytes);
    assert_eq!(
        contacts(&response),
        [
            "<sip:101@127.0.0.1:40000>;expires=3600",
            "<sip:101@127.0.0.1:40002>;q=0.5;expires=120"
        ]
    );
}

#[test]
fn register_removes_one_then_all() {
    let mut registrar = registrar(RegistrarConfig::default());
    let phone = ("101", "a.example", "pw-a");
    let two = "Contact: <sip:101@127.0.0.1:40000>, <sip:101@127.0.0.1:40002>\r\n";
    register_with_auth(&mut registrar, phone, 1, two, at(0));
    let remove_one = "Contact: <sip:101@127.0.0.1:40002>;expires=0\r\n";
    let bytes = register_with_auth(&mut registrar, phone, 3, remove_one, at(1));
    assert_eq!(
        contacts(&parsed(&bytes)),
        ["<sip:101@127.0.0.1:40000>;expires=3599"]
    );
    let star = "Contact: *\r\nExpires: 0\r\n";
    let bytes = register_with_auth(&mut registrar, phone, 5, star, at(2));
    let response = parsed(&bytes);
    assert_eq!(response.status, 200);
    assert!(contacts(&response).is_empty());
    assert!(registrar
        .location()
        .get("sip:101@a.example", at(2))
        .is_empty());
}

#[test]
fn register_bindings_expire_with_time() {
    let mut registrar = registrar(RegistrarConfig::default());
    register_with_auth(
        &mut registrar,
        ("101", "a.example", "pw-a"),
        1,
        CONTACT,
        at(0),
    );
    assert_eq!(
        registrar.location().get("sip:101@a.example", at(599)).len(),
        1
    );
    assert!(registrar
        .location()
        .get("sip:101@a.example", at(600))
        .is_empty());
    let query = register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 3, "", at(300));
    assert_eq!(
        contacts(&parsed(&query)),
        ["<sip:101@127.0.0.1:40000>;expires=300"]
    );
}

#[test]
fn register_out_of_order_cseq_fails() {
    let mut registrar = registrar(RegistrarConfig::default());
    let phone = ("101", "a.example", "pw-a");
    register_with_auth(&mut registrar, phone, 10, CONTACT, at(0));
    let bytes = register_with_auth(&mut registrar, phone, 5, CONTACT, at(1));
    assert_eq!(parsed(&bytes).status, 500);
}
