//! Tests of Stripe webhook signing and verification against vectors computed independently by
//! the documented scheme: hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the endpoint secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tandem_payments::stripe::{sign, verify_signature, DEFAULT_TOLERANCE_SECS};
use tandem_payments::SignatureError;

const SECRET: &str = "whsec_5ffb3d7e2c1a4b9e8d0f6a7c";
const BODY: &[u8] =
    br#"{"id":"evt_1TestVector","object":"event","type":"checkout.session.completed"}"#;
const T: i64 = 1_700_000_000;

/// HMAC-SHA256 of `1700000000.` followed by `BODY`, keyed with `SECRET`, as printed by Python's
/// `hmac.new(key, msg, hashlib.sha256).hexdigest()` and `openssl dgst -sha256 -hmac`.
const EXPECTED_V1: &str = "4ed03e7588f1bd84816622719eaded3bd706ce9e84ca5265091e2be5740e6669";

/// Computes a v1 signature with the hmac crate directly, independently of the crate under test.
fn reference_v1(body: &[u8], secret: &str, t: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn verify_at(header: &str, now: i64) -> Result<(), SignatureError> {
    verify_signature(header, BODY, SECRET, now, DEFAULT_TOLERANCE_SECS)
}

#[test]
fn sign_matches_fixed_vector() {
    assert_eq!(sign(BODY, SECRET, T), format!("t={T},v1={EXPECTED_V1}"));
}

#[test]
fn sign_matches_hmac_crate() {
    let body = b"{\"id\":\"evt_other\",\"data\":{\"object\":{}}}";
    let expected = format!(
        "t=1712345678,v1={}",
        reference_v1(body, "whsec_other", 1712345678)
    );
    assert_eq!(sign(body, "whsec_other", 1712345678), expected);
}

#[test]
fn reference_v1_matches_fixed_vector() {
    // Guards the independent helper itself, so the tests below rest on a checked computation.
    assert_eq!(reference_v1(BODY, SECRET, T), EXPECTED_V1);
}

#[test]
fn verify_accepts_valid_signature() {
    assert_eq!(verify_at(&format!("t={T},v1={EXPECTED_V1}"), T), Ok(()));
}

#[test]
fn verify_accepts_signature_within_tolerance() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T + DEFAULT_TOLERANCE_SECS), Ok(()));
    assert_eq!(verify_at(&header, T - DEFAULT_TOLERANCE_SECS), Ok(()));
}

#[test]
fn verify_rejects_wrong_secret() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    let result = verify_signature(&header, BODY, "whsec_wrong", T, DEFAULT_TOLERANCE_SECS);
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn verify_rejects_signature_made_with_wrong_secret() {
    let header = format!("t={T},v1={}", reference_v1(BODY, "whsec_wrong", T));
    assert_eq!(verify_at(&header, T), Err(SignatureError::Mismatch));
}

#[test]
fn verify_rejects_tampered_body() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    let tampered =
        br#"{"id":"evt_1TestVector","object":"event","type":"checkout.session.expired"}"#;
    let result = verify_signature(&header, tampered, SECRET, T, DEFAULT_TOLERANCE_SECS);
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn verify_rejects_trailing_whitespace_in_body() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    let mut padded = BODY.to_vec();
    padded.push(b' ');
    let result = verify_signature(&header, &padded, SECRET, T, DEFAULT_TOLERANCE_SECS);
    assert_eq!(result, Err(SignatureError::Mismatch));
}

#[test]
fn verify_rejects_changed_timestamp() {
    // The timestamp is part of the signed payload, so moving it invalidates the signature.
    let header = format!("t={},v1={EXPECTED_V1}", T + 1);
    assert_eq!(verify_at(&header, T), Err(SignatureError::Mismatch));
}

#[test]
fn verify_rejects_timestamp_too_old() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    let now = T + DEFAULT_TOLERANCE_SECS + 1;
    assert_eq!(
        verify_at(&header, now),
        Err(SignatureError::TimestampOutOfTolerance)
    );
}

#[test]
fn verify_rejects_timestamp_too_new() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    let now = T - DEFAULT_TOLERANCE_SECS - 1;
    assert_eq!(
        verify_at(&header, now),
        Err(SignatureError::TimestampOutOfTolerance)
    );
}

#[test]
fn verify_uses_given_tolerance() {
    let header = format!("t={T},v1={EXPECTED_V1}");
    assert_eq!(verify_signature(&header, BODY, SECRET, T + 10, 10), Ok(()));
    assert_eq!(
        verify_signature(&header, BODY, SECRET, T + 11, 10),
        Err(SignatureError::TimestampOutOfTolerance)
    );
}

#[test]
fn verify_reports_mismatch_before_stale_timestamp() {
    let header = format!("t={T},v1={}", reference_v1(BODY, "whsec_wrong", T));
    let now = T + 10 * DEFAULT_TOLERANCE_SECS;
    assert_eq!(verify_at(&header, now), Err(SignatureError::Mismatch));
}

#[test]
fn verify_handles_extreme_timestamps() {
    let header = format!("t={},v1={}", i64::MIN, reference_v1(BODY, SECRET, i64::MIN));
    assert_eq!(
        verify_at(&header, i64::MAX),
        Err(SignatureError::TimestampOutOfTolerance)
    );
}

#[test]
fn verify_accepts_one_valid_among_several_v1() {
    let stale = reference_v1(BODY, "whsec_rotated_out", T);
    let header = format!("t={T},v1={stale},v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Ok(()));

    let header = format!("t={T},v1={EXPECTED_V1},v1={stale}");
    assert_eq!(verify_at(&header, T), Ok(()));
}

#[test]
fn verify_rejects_several_v1_none_valid() {
    let first = reference_v1(BODY, "whsec_a", T);
    let second = reference_v1(BODY, "whsec_b", T);
    let header = format!("t={T},v1={first},v1={second}");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Mismatch));
}

#[test]
fn verify_ignores_v0_and_unknown_schemes() {
    // A v0 entry holding the correct digest must not count: only v1 is Stripe's signature.
    let header = format!("t={T},v0={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Missing));

    let header = format!("t={T},v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39,v2=abc,v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Ok(()));
}

#[test]
fn verify_treats_non_hex_v1_as_mismatch() {
    let header = format!("t={T},v1=not-hex");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Mismatch));

    let header = format!("t={T},v1=zz,v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Ok(()));
}

#[test]
fn verify_rejects_truncated_v1() {
    let header = format!("t={T},v1={}", &EXPECTED_V1[..62]);
    assert_eq!(verify_at(&header, T), Err(SignatureError::Mismatch));
}

#[test]
fn verify_accepts_upper_case_hex() {
    let header = format!("t={T},v1={}", EXPECTED_V1.to_ascii_uppercase());
    assert_eq!(verify_at(&header, T), Ok(()));
}

#[test]
fn verify_tolerates_spaces_around_elements() {
    let header = format!(" t={T} , v1={EXPECTED_V1} ");
    assert_eq!(verify_at(&header, T), Ok(()));
}

#[test]
fn verify_rejects_empty_header() {
    assert_eq!(verify_at("", T), Err(SignatureError::Missing));
    assert_eq!(verify_at("   ", T), Err(SignatureError::Missing));
}

#[test]
fn verify_rejects_header_without_timestamp() {
    let header = format!("v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Missing));
}

#[test]
fn verify_rejects_header_without_v1() {
    assert_eq!(
        verify_at(&format!("t={T}"), T),
        Err(SignatureError::Missing)
    );
}

#[test]
fn verify_rejects_non_integer_timestamp() {
    let header = format!("t=yesterday,v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Malformed));

    let header = format!("t=,v1={EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Malformed));
}

#[test]
fn verify_rejects_duplicate_timestamp() {
    let header = format!("t={T},t={},v1={EXPECTED_V1}", T + 1);
    assert_eq!(verify_at(&header, T), Err(SignatureError::Malformed));
}

#[test]
fn verify_rejects_element_without_equals_sign() {
    let header = format!("t={T},{EXPECTED_V1}");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Malformed));

    let header = format!("t={T},v1={EXPECTED_V1},");
    assert_eq!(verify_at(&header, T), Err(SignatureError::Malformed));
}

#[test]
fn verify_accepts_own_signature_over_binary_body() {
    let body = [0u8, 159, 146, 150, 255];
    let header = sign(&body, SECRET, T);
    assert_eq!(verify_signature(&header, &body, SECRET, T, 0), Ok(()));
}
