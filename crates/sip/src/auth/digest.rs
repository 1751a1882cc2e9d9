//! Digest computations of RFC 7616 section 3.4.1 with MD5 and SHA-256 (RFC 8760).

use md5::Md5;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

/// A digest algorithm. The `-sess` variants are not supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// MD5, the default when `algorithm` is absent.
    Md5,
    /// SHA-256.
    Sha256,
}

impl Algorithm {
    /// Maps an `algorithm` directive value (case-insensitive); `None` means MD5.
    pub fn from_directive(value: Option<&str>) -> Option<Self> {
        match value {
            None => Some(Algorithm::Md5),
            Some(v) if v.eq_ignore_ascii_case("MD5") => Some(Algorithm::Md5),
            Some(v) if v.eq_ignore_ascii_case("SHA-256") => Some(Algorithm::Sha256),
            Some(_) => None,
        }
    }

    /// Returns the directive value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Returns `H(data)` as lower-case hex.
    pub fn hash_hex(&self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data)),
            Algorithm::Sha256 => hex(&Sha256::digest(data)),
        }
    }
}

/// Prints `bytes` as lower-case hexadecimal.
pub(super) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Returns `HA1 = H(username ":" realm ":" password)`.
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hash_hex(format!("{username}:{realm}:{password}").as_bytes())
}

/// Returns `HA2 = H(method ":" uri)` for qop `auth` or no qop.
pub fn ha2(algorithm: Algorithm, method: &str, uri: &str) -> String {
    algorithm.hash_hex(format!("{method}:{uri}").as_bytes())
}

/// The client values that enter the response when qop is `auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QopAuth<'a> {
    /// `nc`, eight hex digits as sent.
    pub nc: &'a str,
    /// `cnonce`.
    pub cnonce: &'a str,
}

/// Returns the `response` directive:
/// `H(HA1 ":" nonce ":" nc ":" cnonce ":" "auth" ":" HA2)` with qop `auth`,
/// or `H(HA1 ":" nonce ":" HA2)` without qop (RFC 2069 compatibility).
pub fn response(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<QopAuth<'_>>,
    ha2: &str,
) -> String {
    let data = match qop {
        Some(QopAuth { nc, cnonce }) => format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"),
        None => format!("{ha1}:{nonce}:{ha2}"),
    };
    algorithm.hash_hex(data.as_bytes())
}

/// Compares two digests in time that depends only on their lengths, ignoring
/// the case of hex letters.
pub fn digests_equal(expected: &str, received: &str) -> bool {
    let received = received.to_ascii_lowercase();
    expected.as_bytes().ct_eq(received.as_bytes()).into()
}

/// A user's stored secret: the HA1 digest for each algorithm, never the password.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredCredential {
    /// `MD5(username ":" realm ":" password)` as hex.
    pub md5_ha1: Option<String>,
    /// `SHA-256(username ":" realm ":" password)` as hex.
    pub sha256_ha1: Option<String>,
}

impl StoredCredential {
    /// Derives both HA1 values from a password, for provisioning and tests.
    pub fn from_password(username: &str, realm: &str, password: &str) -> Self {
        Self {
            md5_ha1: Some(ha1(Algorithm::Md5, username, realm, password)),
            sha256_ha1: Some(ha1(Algorithm::Sha256, username, realm, password)),
        }
    }

    /// Returns the HA1 for `algorithm`, if stored.
    pub fn ha1(&self, algorithm: Algorithm) -> Option<&str> {
        match algorithm {
            Algorithm::Md5 => self.md5_ha1.as_deref(),
            Algorithm::Sha256 => self.sha256_ha1.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 section 3.9.1: GET /dir/index.html as Mufasa with password
    // "Circle of Life" (lower-case "of", per verified erratum 4495).
    const REALM: &str = "http-auth@example.org";
    const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc7616_response(algorithm: Algorithm) -> String {
        let ha1 = ha1(algorithm, "Mufasa", REALM, "Circle of Life");
        let ha2 = ha2(algorithm, "GET", "/dir/index.html");
        let qop = QopAuth {
            nc: "00000001",
            cnonce: CNONCE,
        };
        response(algorithm, &ha1, NONCE, Some(qop), &ha2)
    }

    #[test]
    fn response_matches_rfc7616_md5_vector() {
        assert_eq!(
            rfc7616_response(Algorithm::Md5),
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn response_matches_rfc7616_sha256_vector() {
        assert_eq!(
            rfc7616_response(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn response_without_qop_uses_rfc2069_form() {
        let ha1 = ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        let ha2 = ha2(Algorithm::Md5, "GET", "/dir/index.html");
        let nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
        // MD5 of "HA1:nonce:HA2", computed independently.
        let expected = Algorithm::Md5.hash_hex(format!("{ha1}:{nonce}:{ha2}").as_bytes());
        assert_eq!(response(Algorithm::Md5, &ha1, nonce, None, &ha2), expected);
        assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
    }

    #[test]
    fn algorithm_directive_defaults_to_md5() {
        assert_eq!(Algorithm::from_directive(None), Some(Algorithm::Md5));
        assert_eq!(
            Algorithm::from_directive(Some("sha-256")),
            Some(Algorithm::Sha256)
        );
        assert_eq!(Algorithm::from_directive(Some("MD5-sess")), None);
    }

    #[test]
    fn digests_equal_ignores_hex_case_only() {
        assert!(digests_equal("8ca523f5", "8CA523F5"));
        assert!(!digests_equal("8ca523f5", "8ca523f6"));
        assert!(!digests_equal("8ca523f5", "8ca523f"));
    }
}
