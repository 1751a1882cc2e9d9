//! Stripe webhook signatures: the `Stripe-Signature` header carries a Unix timestamp `t` and one
//! or more `v1` signatures, each the hex HMAC-SHA256 of `"{t}.{raw body}"` keyed with the
//! endpoint's signing secret (`whsec_…`). A header can carry several `v1` entries, one per
//! active secret while a secret is being rolled. Other schemes, such as `v0`, are ignored so
//! that a sender cannot substitute a weaker one.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::SignatureError;

type HmacSha256 = Hmac<Sha256>;

/// Verifies a `Stripe-Signature` header value for `body`.
///
/// The body must be the raw request bytes, because re-serialised JSON would differ from what
/// Stripe signed. Any one `v1` signature that matches suffices, and the comparison runs in
/// constant time. Entries with other keys (`v0`, future schemes) are ignored. The signature is
/// checked before the timestamp, so [`SignatureError::TimestampOutOfTolerance`] is returned only
/// for authentic events, and an event signed exactly `tolerance_secs` away from `now_unix` (in
/// either direction) is still accepted.
pub fn verify_signature(
    header: &str,
    body: &[u8],
    secret: &str,
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let parsed = parse_header(header)?;
    let mac = signed_payload_mac(body, secret, parsed.timestamp);

    let matched = parsed.signatures.iter().any(|candidate| {
        // A candidate that is not hex cannot match; it is skipped like a wrong signature.
        let Ok(candidate_bytes) = hex::decode(candidate) else {
            return false;
        };
        mac.clone().verify_slice(&candidate_bytes).is_ok()
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }

    let skew = now_unix.abs_diff(parsed.timestamp);
    if skew > tolerance_secs.max(0).unsigned_abs() {
        return Err(SignatureError::TimestampOutOfTolerance);
    }
    Ok(())
}

/// Builds a `Stripe-Signature` header value (`t=…,v1=…`) for `body` signed at Unix time `t`.
pub fn sign(body: &[u8], secret: &str, t: i64) -> String {
    let signature = signed_payload_mac(body, secret, t).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(signature))
}

/// The timestamp and `v1` signatures of a `Stripe-Signature` header.
struct ParsedHeader<'a> {
    timestamp: i64,
    signatures: Vec<&'a str>,
}

fn parse_header(header: &str) -> Result<ParsedHeader<'_>, SignatureError> {
    let header = header.trim();
    if header.is_empty() {
        return Err(SignatureError::Missing);
    }

    let mut timestamp = None;
    let mut signatures = Vec::new();
    for element in header.split(',') {
        let Some((key, value)) = element.trim().split_once('=') else {
            return Err(SignatureError::Malformed);
        };
        match key {
            "t" => {
                // A second timestamp would make it ambiguous which one was signed.
                if timestamp.is_some() {
                    return Err(SignatureError::Malformed);
                }
                let parsed = value
                    .parse::<i64>()
                    .map_err(|_| SignatureError::Malformed)?;
                timestamp = Some(parsed);
            }
            "v1" => signatures.push(value),
            _ => {}
        }
    }

    let Some(timestamp) = timestamp else {
        return Err(SignatureError::Missing);
    };
    if signatures.is_empty() {
        return Err(SignatureError::Missing);
    }
    Ok(ParsedHeader {
        timestamp,
        signatures,
    })
}

/// Keys an HMAC-SHA256 with `secret` and feeds it the signed payload `"{t}.{body}"`.
fn signed_payload_mac(body: &[u8], secret: &str, t: i64) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}
