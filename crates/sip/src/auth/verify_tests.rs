use super::*;
use crate::auth::client::{authorization, ClientCredentials};

const REALM: &str = "a.example.com";
const NOW: u64 = 1_700_000_000;

fn authenticator() -> DigestAuthenticator {
    DigestAuthenticator::new(DigestConfig::default(), NonceIssuer::new([3u8; 32], 300))
}

fn store(user: &str) -> Option<StoredCredential> {
    (user == "101").then(|| StoredCredential::from_password("101", REALM, "secret"))
}

/// Builds the Authorization value for the challenge with `algorithm`.
fn answer(challenges: &[String], algorithm: &str, user: &str, password: &str, nc: u32) -> String {
    let challenge = challenges.iter().find(|c| c.contains(algorithm)).unwrap();
    let parsed = AuthValue::parse(challenge).unwrap();
    let credentials = ClientCredentials {
        username: user,
        password,
    };
    authorization(
        &parsed,
        credentials,
        "REGISTER",
        "sip:a.example.com",
        "c0ffee",
        nc,
    )
    .unwrap()
}

fn check(auth: &mut DigestAuthenticator, value: &str, now: u64) -> AuthOutcome {
    let parsed = AuthValue::parse(value).unwrap();
    auth.verify(Some(&parsed), REALM, "REGISTER", store, now)
}

#[test]
fn verify_accepts_both_algorithms() {
    let mut auth = authenticator();
    assert!(
        auth.challenge(REALM, false, NOW)[0].contains("algorithm=SHA-256"),
        "SHA-256 first"
    );
    for (algorithm, expected) in [("SHA-256", Algorithm::Sha256), ("MD5", Algorithm::Md5)] {
        let challenges = auth.challenge(REALM, false, NOW);
        let value = answer(&challenges, algorithm, "101", "secret", 1);
        let outcome = check(&mut auth, &value, NOW);
        assert_eq!(
            outcome,
            AuthOutcome::Authenticated {
                username: "101".into(),
                algorithm: expected
            }
        );
    }
}

#[test]
fn verify_fails_wrong_password_and_unknown_user_alike() {
    let mut auth = authenticator();
    let challenges = auth.challenge(REALM, false, NOW);
    let wrong = answer(&challenges, "MD5", "101", "guess", 1);
    assert_eq!(
        check(&mut auth, &wrong, NOW),
        AuthOutcome::Failed {
            username: "101".into()
        }
    );
    let unknown = answer(&challenges, "MD5", "999", "secret", 1);
    assert_eq!(
        check(&mut auth, &unknown, NOW),
        AuthOutcome::Failed {
            username: "999".into()
        }
    );
}

#[test]
fn verify_rejects_replayed_nonce_count() {
    let mut auth = authenticator();
    let challenges = auth.challenge(REALM, false, NOW);
    let first = answer(&challenges, "SHA-256", "101", "secret", 1);
    assert!(matches!(
        check(&mut auth, &first, NOW),
        AuthOutcome::Authenticated { .. }
    ));
    assert_eq!(check(&mut auth, &first, NOW), AuthOutcome::Stale);
    let second = answer(&challenges, "SHA-256", "101", "secret", 2);
    assert!(matches!(
        check(&mut auth, &second, NOW),
        AuthOutcome::Authenticated { .. }
    ));
}

#[test]
fn verify_reports_stale_only_for_correct_response() {
    let mut auth = authenticator();
    let challenges = auth.challenge(REALM, false, NOW);
    let good = answer(&challenges, "MD5", "101", "secret", 1);
    assert_eq!(check(&mut auth, &good, NOW + 301), AuthOutcome::Stale);
    let bad = answer(&challenges, "MD5", "101", "guess", 1);
    assert_eq!(
        check(&mut auth, &bad, NOW + 301),
        AuthOutcome::Failed {
            username: "101".into()
        }
    );
}

#[test]
fn verify_ignores_foreign_realm_and_nonce() {
    let mut auth = authenticator();
    let challenges = auth.challenge("b.example.com", false, NOW);
    let value = answer(&challenges, "MD5", "101", "secret", 1);
    assert_eq!(
        check(&mut auth, &value, NOW),
        AuthOutcome::Missing,
        "realm differs"
    );
    let other = DigestAuthenticator::new(DigestConfig::default(), NonceIssuer::new([4u8; 32], 300));
    let value = answer(
        &other.challenge(REALM, false, NOW),
        "MD5",
        "101",
        "secret",
        1,
    );
    assert_eq!(
        check(&mut auth, &value, NOW),
        AuthOutcome::Missing,
        "nonce not ours"
    );
}

#[test]
fn verify_without_credentials_is_missing() {
    let mut auth = authenticator();
    assert_eq!(
        auth.verify(None, REALM, "REGISTER", store, NOW),
        AuthOutcome::Missing
    );
    let other = AuthValue::parse("NoOneKnowsThisScheme opaque-data=here").unwrap();
    assert_eq!(
        auth.verify(Some(&other), REALM, "REGISTER", store, NOW),
        AuthOutcome::Missing
    );
}

#[test]
fn verify_without_qop_uses_rfc2069_form() {
    let mut auth = authenticator();
    let challenges = auth.challenge(REALM, false, NOW);
    let nonce = challenges[0]
        .split("nonce=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let ha1 = crate::auth::ha1(Algorithm::Md5, "101", REALM, "secret");
    let ha2 = crate::auth::ha2(Algorithm::Md5, "REGISTER", "sip:a.example.com");
    let digest = crate::auth::response(Algorithm::Md5, &ha1, nonce, None, &ha2);
    let value = format!("Digest username=\"101\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:a.example.com\", response=\"{digest}\"");
    assert!(matches!(
        check(&mut auth, &value, NOW),
        AuthOutcome::Authenticated { .. }
    ));
    let mut strict = DigestAuthenticator::new(
        DigestConfig {
            require_qop: true,
            ..DigestConfig::default()
        },
        NonceIssuer::new([3u8; 32], 300),
    );
    assert_eq!(check(&mut strict, &value, NOW), AuthOutcome::Missing);
}

#[test]
fn challenge_marks_stale_and_quotes_realm() {
    let auth = authenticator();
    let challenges = auth.challenge("we\"ird", true, NOW);
    assert_eq!(challenges.len(), 2);
    assert!(challenges[1].starts_with("Digest realm=\"we\\\"ird\", nonce=\""));
    assert!(challenges[1].ends_with(", algorithm=MD5, qop=\"auth\", stale=true"));
}
