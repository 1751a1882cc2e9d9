use super::super::test_support::*;
use super::*;
use crate::auth::{authorization, ClientCredentials};
use crate::msg::{AuthValue, Response};

#[test]
fn register_without_credentials_is_challenged() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = send(
        &mut registrar,
        &register("101", "a.example", 1, CONTACT),
        at(0),
    );
    let response = parsed(&bytes);
    assert_eq!(response.status, 401);
    assert!(response.to().tag().is_some());
    let challenges: Vec<&AuthValue<'_>> = response
        .headers
        .auth(crate::msg::HeaderName::WwwAuthenticate)
        .collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0].param("realm").as_deref(), Some("a.example"));
    assert_eq!(challenges[0].param("algorithm").as_deref(), Some("SHA-256"));
    assert_eq!(challenges[1].param("algorithm").as_deref(), Some("MD5"));
}

#[test]
fn register_with_credentials_binds_contact() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = register_with_auth(
        &mut registrar,
        ("101", "a.example", "pw-a"),
        1,
        CONTACT,
        at(0),
    );
    let response = parsed(&bytes);
    assert_eq!(response.status, 200);
    assert_eq!(
        contacts(&response),
        ["<sip:101@127.0.0.1:40000>;expires=600"]
    );
    assert!(response.headers.text("Date").is_some());
    let stored = registrar.location().get("sip:101@a.example", at(0));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source, PHONE.parse().unwrap());
}

#[test]
fn register_wrong_password_and_unknown_user_look_alike() {
    let mut registrar = registrar(RegistrarConfig::default());
    let wrong = register_with_auth(
        &mut registrar,
        ("101", "a.example", "nope"),
        1,
        CONTACT,
        at(0),
    );
    let unknown = register_with_auth(
        &mut registrar,
        ("999", "a.example", "pw-a"),
        1,
        CONTACT,
        at(0),
    );
    let (wrong, unknown) = (parsed(&wrong), parsed(&unknown));
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let header_names = |r: &Response<'_>| {
        r.headers
            .iter()
            .map(|h| h.name.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(header_names(&wrong), header_names(&unknown));
}

#[test]
fn register_realms_are_isolated() {
    let mut registrar = registrar(RegistrarConfig::default());
    let cross = register_with_auth(
        &mut registrar,
        ("101", "b.example", "pw-a"),
        1,
        CONTACT,
        at(0),
    );
    assert_eq!(
        parsed(&cross).status,
        401,
        "a.example's password does not open b.example"
    );
    let ok = register_with_auth(
        &mut registrar,
        ("101", "b.example", "pw-b"),
        1,
        CONTACT,
        at(0),
    );
    assert_eq!(parsed(&ok).status, 200);
    assert!(registrar
        .location()
        .get("sip:101@a.example", at(0))
        .is_empty());
    assert_eq!(
        registrar.location().get("sip:101@b.example", at(0)).len(),
        1
    );
}

#[test]
fn register_for_another_user_is_forbidden() {
    let mut registrar = registrar(RegistrarConfig::default());
    let challenge = send(
        &mut registrar,
        &register("102", "a.example", 1, CONTACT),
        at(0),
    );
    let challenge = parsed(&challenge);
    let value = challenge
        .headers
        .auth(crate::msg::HeaderName::WwwAuthenticate)
        .next()
        .unwrap();
    let credentials = ClientCredentials {
        username: "101",
        password: "pw-a",
    };
    let answer = authorization(value, credentials, "REGISTER", "sip:a.example", "c", 1).unwrap();
    let raw = register(
        "102",
        "a.example",
        2,
        &format!("{CONTACT}Authorization: {answer}\r\n"),
    );
    assert_eq!(parsed(&send(&mut registrar, &raw, at(0))).status, 403);
}

#[test]
fn register_unknown_require_gets_420() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = send(
        &mut registrar,
        &register("101", "a.example", 1, "Require: gruu\r\n"),
        at(0),
    );
    let response = parsed(&bytes);
    assert_eq!(response.status, 420);
    assert_eq!(response.headers.text("Unsupported"), Some("gruu"));
}

#[test]
fn register_unserved_domain_gets_404() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = send(
        &mut registrar,
        &register("101", "c.invalid", 1, CONTACT),
        at(0),
    );
    assert_eq!(parsed(&bytes).status, 404);
}

#[test]
fn register_blocks_after_repeated_failures() {
    let config = RegistrarConfig {
        lockout: LockoutConfig {
            max_failures: 3,
            ..LockoutConfig::default()
        },
        ..RegistrarConfig::default()
    };
    let mut registrar = registrar(config);
    for i in 0..3 {
        let bytes = register_with_auth(
            &mut registrar,
            ("101", "a.example", "bad"),
            1 + 2 * i,
            CONTACT,
            at(0),
        );
        assert_eq!(parsed(&bytes).status, 401);
    }
    let bytes = send(
        &mut registrar,
        &register("101", "a.example", 9, CONTACT),
        at(1),
    );
    assert_eq!(parsed(&bytes).status, 403);
    let later = send(
        &mut registrar,
        &register("101", "a.example", 11, CONTACT),
        at(1_000),
    );
    assert_eq!(parsed(&later).status, 401, "block lapses");
}

#[test]
fn register_refreshing_phone_never_counts_as_failing() {
    let config = RegistrarConfig {
        lockout: LockoutConfig {
            max_failures: 2,
            ..LockoutConfig::default()
        },
        ..RegistrarConfig::default()
    };
    let mut registrar = registrar(config);
    for round in 0..5u32 {
        let bytes = register_with_auth(
            &mut registrar,
            ("101", "a.example", "pw-a"),
            1 + 2 * round,
            CONTACT,
            at(u64::from(round) * 400),
        );
        assert_eq!(parsed(&bytes).status, 200, "round {round}");
    }
}

#[test]
fn register_stale_nonce_gets_stale_challenge() {
    let mut registrar = registrar(RegistrarConfig::default());
    let challenge = send(
        &mut registrar,
        &register("101", "a.example", 1, CONTACT),
        at(0),
    );
    let challenge = parsed(&challenge);
    let value = challenge
        .headers
        .auth(crate::msg::HeaderName::WwwAuthenticate)
        .next()
        .unwrap();
    let credentials = ClientCredentials {
        username: "101",
        password: "pw-a",
    };
    let answer = authorization(value, credentials, "REGISTER", "sip:a.example", "c", 1).unwrap();

    let raw = register(
        "101",
        "a.example",
        2,
        &format!("{CONTACT}Authorization: {answer}\r\n"),
    );
    let bytes = send(&mut registrar, &raw, at(301));
    let response = parsed(&bytes);
    assert_eq!(response.status, 401);
    let stale = response
        .headers
        .auth(crate::msg::HeaderName::WwwAuthenticate)
        .next()
        .unwrap();
    assert_eq!(stale.param("stale").as_deref(), Some("true"));
}

#[test]
fn register_unknown_auth_scheme_is_challenged() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Authorization: NoOneKnowsThisScheme opaque-data=here\r\n";
    let bytes = send(
        &mut registrar,
        &register("101", "a.example", 1, extra),
        at(0),
    );
    assert_eq!(parsed(&bytes).status, 401);
}

#[test]
fn digest_uri_may_name_this_server() {
    let servers: Vec<SocketAddr> = vec!["127.0.0.1:5070".parse().unwrap()];
    assert!(names_server("sip:127.0.0.1:5070", &servers));
    assert!(!names_server("sip:127.0.0.1:5071", &servers));
    assert!(!names_server("sip:101@127.0.0.1:5070", &servers));
    assert!(!names_server("sips:127.0.0.1:5070", &servers));
}

#[test]
fn register_with_max_forwards_zero_is_served() {
    // The registrar is the request's destination, so nothing is forwarded and 483 does not
    // apply (RFC 3261 section 16.3 is about proxies).
    let mut registrar = registrar(RegistrarConfig::default());
    let raw =
        register("101", "a.example", 1, CONTACT).replace("Max-Forwards: 70", "Max-Forwards: 0");
    let response = parsed(&send(&mut registrar, &raw, at(0))).status;
    assert_eq!(response, 401);
}

#[test]
fn failures_count_against_the_claimed_user() {
    let config = RegistrarConfig {
        lockout: crate::registrar::LockoutConfig {
            max_failures: 3,
            ..Default::default()
        },
        ..RegistrarConfig::default()
    };
    let mut registrar = registrar(config);
    // Guesses for 101's password sent with another user in To.
    for cseq in 1..=3 {
        let challenge = send(
            &mut registrar,
            &register("999", "a.example", cseq * 2, CONTACT),
            at(0),
        );
        let challenge = parsed(&challenge);
        let value = challenge
            .headers
            .auth(crate::msg::HeaderName::WwwAuthenticate)
            .last()
            .unwrap();
        let guess = ClientCredentials {
            username: "101",
            password: "guess",
        };
        let answer = authorization(value, guess, "REGISTER", "sip:a.example", "c1", 1).unwrap();
        let extra = format!("{CONTACT}Authorization: {answer}\r\n");
        send(
            &mut registrar,
            &register("999", "a.example", cseq * 2 + 1, &extra),
            at(0),
        );
    }
    let blocked: Vec<String> = registrar
        .take_events()
        .into_iter()
        .filter_map(|event| match event {
            RegistrarEvent::Blocked { value, .. } => Some(value),
            RegistrarEvent::AuthFailed { .. } => None,
        })
        .collect();
    assert_eq!(blocked, ["127.0.0.1", "sip:101@a.example"]);
}
