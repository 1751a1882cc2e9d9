//! REGISTER builders and a registrar with two users, shared by the registrar tests.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::register::{Credentials, Registrar, RegistrarConfig};
use crate::auth::DigestAuthenticator;
use crate::auth::{authorization, ClientCredentials, DigestConfig, NonceIssuer, StoredCredential};
use crate::msg::{parse_request, parse_response, Contacts, Framing, Response};
use crate::registrar::location::MemoryLocationStore;

/// Users by (realm, name), stored as HA1 only.
pub(crate) struct Users(HashMap<(String, String), StoredCredential>);

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

pub(crate) const T0: u64 = 1_700_000_000;
pub(crate) const PHONE: &str = "127.0.0.1:40000";

pub(crate) fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

pub(crate) fn registrar(config: RegistrarConfig) -> Registrar<Users, MemoryLocationStore> {
    let users = Users::new(&[("a.example", "101", "pw-a"), ("b.example", "101", "pw-b")]);
    let auth = DigestAuthenticator::new(DigestConfig::default(), NonceIssuer::new([9u8; 32], 300));
    Registrar::new(config, users, MemoryLocationStore::new(), auth)
}

/// Builds a REGISTER for `user@domain` with extra header lines.
pub(crate) fn register(user: &str, domain: &str, cseq: u32, extra: &str) -> String {
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
pub(crate) fn send(
    registrar: &mut Registrar<Users, MemoryLocationStore>,
    raw: &str,
    now: SystemTime,
) -> Vec<u8> {
    let request = parse_request(raw.as_bytes(), Framing::Datagram).unwrap();
    registrar
        .handle(&request, PHONE.parse().unwrap(), now)
        .build()
}

pub(crate) fn parsed(bytes: &[u8]) -> Response<'_> {
    parse_response(bytes, Framing::Stream).unwrap()
}

/// Sends a REGISTER, responds to its challenge and returns the final response bytes.
pub(crate) fn register_with_auth(
    registrar: &mut Registrar<Users, MemoryLocationStore>,
    (user, domain, password): (&str, &str, &str),
    cseq: u32,
    extra: &str,
    now: SystemTime,
) -> Vec<u8> {
    let challenge = send(registrar, &register(user, domain, cseq, extra), now);
    let challenge = parsed(&challenge);
    assert_eq!(challenge.status, 401);
    let value = challenge
        .headers
        .auth(crate::msg::HeaderName::WwwAuthenticate)
        .next()
        .unwrap();
    let credentials = ClientCredentials {
        username: user,
        password,
    };
    let uri = format!("sip:{domain}");
    let answer = authorization(value, credentials, "REGISTER", &uri, "abc123", 1).unwrap();
    let extra = format!("{extra}Authorization: {answer}\r\n");
    send(registrar, &register(user, domain, cseq + 1, &extra), now)
}

pub(crate) fn contacts(response: &Response<'_>) -> Vec<String> {
    match response.headers.contacts() {
        Some(Contacts::List(list)) => list.iter().map(|c| c.to_string()).collect(),
        _ => Vec::new(),
    }
}

pub(crate) const CONTACT: &str = "Contact: <sip:101@127.0.0.1:40000>\r\nExpires: 600\r\n";
