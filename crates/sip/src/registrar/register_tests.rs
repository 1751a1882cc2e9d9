use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::*;
use crate::auth::{authorization, ClientCredentials, DigestConfig, NonceIssuer};
use crate::msg::{parse_request, parse_response, AuthValue, Contacts, Framing, Response};
use crate::registrar::location::MemoryLocationStore;

/// Users by (realm, name), stored as HA1 only.
struct Users(HashMap<(String, String), StoredCredential>);

impl Users {
    fn new(entries: &[(&str, &str, &str)]) -> Self {
        let map = entries
            .iter()
            .map(|(realm, user, password)| {
                let key = ((*realm).to_owned(), (*user).to_owned());
                (key, StoredCredential::from_password(user, realm, password))
            })
            .collect();
        Self(map)
    }
}

impl Credentials for Users {
    fn lookup(&self, realm: &str, user: &str) -> Option<StoredCredential> {
        self.0.get(&(realm.to_owned(), user.to_owned())).cloned()
    }

    fn serves_domain(&self, domain: &str) -> bool {
        domain.ends_with(".example")
    }
}

const T0: u64 = 1_700_000_000;
const PHONE: &str = "127.0.0.1:40000";

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn registrar(config: RegistrarConfig) -> Registrar<Users, MemoryLocationStore> {
    let users = Users::new(&[("a.example", "101", "pw-a"), ("b.example", "101", "pw-b")]);
    let auth = DigestAuthenticator::new(DigestConfig::default(), NonceIssuer::new([9u8; 32], 300));
    Registrar::new(config, users, MemoryLocationStore::new(), auth)
}

/// A REGISTER for `user@domain` with extra header lines.
fn register(user: &str, domain: &str, cseq: u32, extra: &str) -> String {
    format!(
        "REGISTER sip:{domain} SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:40000;rport;branch=z9hG4bK{cseq}\r\n\
Max-Forwards: 70\r\n\
From: <sip:{user}@{domain}>;tag=f1\r\n\
To: <sip:{user}@{domain}>\r\n\
Call-ID: reg-{user}-{domain}\r\n\
CSeq: {cseq} REGISTER\r\n\
{extra}Content-Length: 0\r\n\r\n"
    )
}

/// Sends `raw` and returns the response bytes.
fn send(registrar: &mut Registrar<Users, MemoryLocationStore>, raw: &str, now: SystemTime) -> Vec<u8> {
    let request = parse_request(raw.as_bytes(), Framing::Datagram).unwrap();
    registrar.handle(&request, PHONE.parse().unwrap(), now).build()
}

fn parsed(bytes: &[u8]) -> Response<'_> {
    parse_response(bytes, Framing::Stream).unwrap()
}

/// Runs the challenge and answers it, returning the final response bytes.
fn register_with_auth(
    registrar: &mut Registrar<Users, MemoryLocationStore>,
    (user, domain, password): (&str, &str, &str),
    cseq: u32,
    extra: &str,
    now: SystemTime,
) -> Vec<u8> {
    let challenge = send(registrar, &register(user, domain, cseq, extra), now);
    let challenge = parsed(&challenge);
    assert_eq!(challenge.status, 401);
    let value = challenge.headers.auth(crate::msg::HeaderName::WwwAuthenticate).next().unwrap();
    let credentials = ClientCredentials { username: user, password };
    let uri = format!("sip:{domain}");
    let answer = authorization(value, credentials, "REGISTER", &uri, "abc123", 1).unwrap();
    let extra = format!("{extra}Authorization: {answer}\r\n");
    send(registrar, &register(user, domain, cseq + 1, &extra), now)
}

fn contacts(response: &Response<'_>) -> Vec<String> {
    match response.headers.contacts() {
        Some(Contacts::List(list)) => list.iter().map(|c| c.to_string()).collect(),
        _ => Vec::new(),
    }
}

const CONTACT: &str = "Contact: <sip:101@127.0.0.1:40000>\r\nExpires: 600\r\n";

#[test]
fn register_without_credentials_is_challenged() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = send(&mut registrar, &register("101", "a.example", 1, CONTACT), at(0));
    let response = parsed(&bytes);
    assert_eq!(response.status, 401);
    assert!(response.to().tag().is_some());
    let challenges: Vec<&AuthValue<'_>> =
        response.headers.auth(crate::msg::HeaderName::WwwAuthenticate).collect();
    assert_eq!(challenges.len(), 2);
    assert_eq!(challenges[0].param("realm").as_deref(), Some("a.example"));
    assert_eq!(challenges[0].param("algorithm").as_deref(), Some("SHA-256"));
    assert_eq!(challenges[1].param("algorithm").as_deref(), Some("MD5"));
}

#[test]
fn register_with_credentials_binds_contact() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 1, CONTACT, at(0));
    let response = parsed(&bytes);
    assert_eq!(response.status, 200);
    assert_eq!(contacts(&response), ["<sip:101@127.0.0.1:40000>;expires=600"]);
    assert!(response.headers.text("Date").is_some());
    let stored = registrar.location().get("sip:101@a.example", at(0));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].source, PHONE.parse().unwrap());
}

#[test]
fn register_wrong_password_and_unknown_user_look_alike() {
    let mut registrar = registrar(RegistrarConfig::default());
    let wrong = register_with_auth(&mut registrar, ("101", "a.example", "nope"), 1, CONTACT, at(0));
    let unknown = register_with_auth(&mut registrar, ("999", "a.example", "pw-a"), 1, CONTACT, at(0));
    let (wrong, unknown) = (parsed(&wrong), parsed(&unknown));
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let header_names = |r: &Response<'_>| r.headers.iter().map(|h| h.name.as_str().to_owned()).collect::<Vec<_>>();
    assert_eq!(header_names(&wrong), header_names(&unknown));
}

#[test]
fn register_realms_are_isolated() {
    let mut registrar = registrar(RegistrarConfig::default());
    let cross = register_with_auth(&mut registrar, ("101", "b.example", "pw-a"), 1, CONTACT, at(0));
    assert_eq!(parsed(&cross).status, 401, "a.example's password does not open b.example");
    let ok = register_with_auth(&mut registrar, ("101", "b.example", "pw-b"), 1, CONTACT, at(0));
    assert_eq!(parsed(&ok).status, 200);
    assert!(registrar.location().get("sip:101@a.example", at(0)).is_empty());
    assert_eq!(registrar.location().get("sip:101@b.example", at(0)).len(), 1);
}

#[test]
fn register_for_another_user_is_forbidden() {
    let mut registrar = registrar(RegistrarConfig::default());
    let challenge = send(&mut registrar, &register("102", "a.example", 1, CONTACT), at(0));
    let challenge = parsed(&challenge);
    let value = challenge.headers.auth(crate::msg::HeaderName::WwwAuthenticate).next().unwrap();
    let credentials = ClientCredentials { username: "101", password: "pw-a" };
    let answer = authorization(value, credentials, "REGISTER", "sip:a.example", "c", 1).unwrap();
    let raw = register("102", "a.example", 2, &format!("{CONTACT}Authorization: {answer}\r\n"));
    assert_eq!(parsed(&send(&mut registrar, &raw, at(0))).status, 403);
}

#[test]
fn register_star_with_nonzero_expiry_is_rejected() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Contact: *\r\nExpires: 60\r\n";
    let bytes = register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 1, extra, at(0));
    assert_eq!(parsed(&bytes).status, 400);
}

#[test]
fn register_below_minimum_gets_423() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Contact: <sip:101@127.0.0.1:40000>;expires=30\r\n";
    let bytes = register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 1, extra, at(0));
    let response = parsed(&bytes);
    assert_eq!(response.status, 423);
    assert_eq!(response.headers.min_expires(), Some(60));
}

#[test]
fn register_clamps_to_maximum_and_keeps_several_contacts() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Contact: <sip:101@127.0.0.1:40000>;expires=99999, <sip:101@127.0.0.1:40002>;q=0.5\r\nExpires: 120\r\n";
    let bytes = register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 1, extra, at(0));
    let response = parsed(&bytes);
    assert_eq!(
        contacts(&response),
        ["<sip:101@127.0.0.1:40000>;expires=3600", "<sip:101@127.0.0.1:40002>;q=0.5;expires=120"]
    );
}

#[test]
fn register_expires_zero_removes_one_and_star_removes_all() {
    let mut registrar = registrar(RegistrarConfig::default());
    let phone = ("101", "a.example", "pw-a");
    let two = "Contact: <sip:101@127.0.0.1:40000>, <sip:101@127.0.0.1:40002>\r\n";
    register_with_auth(&mut registrar, phone, 1, two, at(0));
    let remove_one = "Contact: <sip:101@127.0.0.1:40002>;expires=0\r\n";
    let bytes = register_with_auth(&mut registrar, phone, 3, remove_one, at(1));
    assert_eq!(contacts(&parsed(&bytes)), ["<sip:101@127.0.0.1:40000>;expires=3599"]);
    let star = "Contact: *\r\nExpires: 0\r\n";
    let bytes = register_with_auth(&mut registrar, phone, 5, star, at(2));
    let response = parsed(&bytes);
    assert_eq!(response.status, 200);
    assert!(contacts(&response).is_empty());
    assert!(registrar.location().get("sip:101@a.example", at(2)).is_empty());
}

#[test]
fn register_bindings_expire_with_time() {
    let mut registrar = registrar(RegistrarConfig::default());
    register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 1, CONTACT, at(0));
    assert_eq!(registrar.location().get("sip:101@a.example", at(599)).len(), 1);
    assert!(registrar.location().get("sip:101@a.example", at(600)).is_empty());
    let query = register_with_auth(&mut registrar, ("101", "a.example", "pw-a"), 3, "", at(300));
    assert_eq!(contacts(&parsed(&query)), ["<sip:101@127.0.0.1:40000>;expires=300"]);
}

#[test]
fn register_out_of_order_cseq_fails() {
    let mut registrar = registrar(RegistrarConfig::default());
    let phone = ("101", "a.example", "pw-a");
    register_with_auth(&mut registrar, phone, 10, CONTACT, at(0));
    let bytes = register_with_auth(&mut registrar, phone, 5, CONTACT, at(1));
    assert_eq!(parsed(&bytes).status, 500);
}

#[test]
fn register_unknown_require_gets_420() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = send(&mut registrar, &register("101", "a.example", 1, "Require: gruu\r\n"), at(0));
    let response = parsed(&bytes);
    assert_eq!(response.status, 420);
    assert_eq!(response.headers.text("Unsupported"), Some("gruu"));
}

#[test]
fn register_unserved_domain_gets_404() {
    let mut registrar = registrar(RegistrarConfig::default());
    let bytes = send(&mut registrar, &register("101", "c.invalid", 1, CONTACT), at(0));
    assert_eq!(parsed(&bytes).status, 404);
}

#[test]
fn register_blocks_after_repeated_failures() {
    let config = RegistrarConfig {
        lockout: LockoutConfig { max_failures: 3, ..LockoutConfig::default() },
        ..RegistrarConfig::default()
    };
    let mut registrar = registrar(config);
    for i in 0..3 {
        let bytes =
            register_with_auth(&mut registrar, ("101", "a.example", "bad"), 1 + 2 * i, CONTACT, at(0));
        assert_eq!(parsed(&bytes).status, 401);
    }
    let bytes = send(&mut registrar, &register("101", "a.example", 9, CONTACT), at(1));
    assert_eq!(parsed(&bytes).status, 403);
    let later = send(&mut registrar, &register("101", "a.example", 11, CONTACT), at(1_000));
    assert_eq!(parsed(&later).status, 401, "block lapses");
}

#[test]
fn register_refreshing_phone_never_counts_as_failing() {
    let config = RegistrarConfig {
        lockout: LockoutConfig { max_failures: 2, ..LockoutConfig::default() },
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
    let challenge = send(&mut registrar, &register("101", "a.example", 1, CONTACT), at(0));
    let challenge = parsed(&challenge);
    let value = challenge.headers.auth(crate::msg::HeaderName::WwwAuthenticate).next().unwrap();
    let credentials = ClientCredentials { username: "101", password: "pw-a" };
    let answer = authorization(value, credentials, "REGISTER", "sip:a.example", "c", 1).unwrap();
    let raw = register("101", "a.example", 2, &format!("{CONTACT}Authorization: {answer}\r\n"));
    let bytes = send(&mut registrar, &raw, at(301));
    let response = parsed(&bytes);
    assert_eq!(response.status, 401);
    let stale = response.headers.auth(crate::msg::HeaderName::WwwAuthenticate).next().unwrap();
    assert_eq!(stale.param("stale").as_deref(), Some("true"));
}

#[test]
fn register_unknown_auth_scheme_is_challenged() {
    let mut registrar = registrar(RegistrarConfig::default());
    let extra = "Authorization: NoOneKnowsThisScheme opaque-data=here\r\n";
    let bytes = send(&mut registrar, &register("101", "a.example", 1, extra), at(0));
    assert_eq!(parsed(&bytes).status, 401);
}
