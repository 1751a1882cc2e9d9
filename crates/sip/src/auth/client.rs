//! The client side of digest authentication: Authorization values for challenges.
//!
//! Tandem uses this in tests and will use it for registrations it sends.

use super::digest::{ha1, ha2, response, Algorithm, QopAuth};
use crate::msg::AuthValue;

/// A client's username and password.
#[derive(Debug, Clone, Copy)]
pub struct ClientCredentials<'a> {
    /// Username.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
}

/// Builds the Authorization value for `challenge`, `method` and `uri`, using
/// qop `auth` with `cnonce` and `nc` when the challenge offers it.
///
/// Returns `None` for a challenge that is not Digest, lacks realm or nonce,
/// or names an unsupported algorithm.
pub fn authorization(
    challenge: &AuthValue<'_>,
    credentials: ClientCredentials<'_>,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Option<String> {
    if !challenge.is_digest() {
        return None;
    }
    let realm = challenge.param("realm")?;
    let nonce = challenge.param("nonce")?;
    let algorithm = Algorithm::from_directive(challenge.param("algorithm").as_deref())?;
    let offers_auth = challenge.param("qop").is_some_and(|qop| {
        qop.split(',')
            .any(|q| q.trim().eq_ignore_ascii_case("auth"))
    });

    let nc_text = format!("{nc:08x}");
    let qop = offers_auth.then_some(QopAuth {
        nc: &nc_text,
        cnonce,
    });
    let ha1 = ha1(
        algorithm,
        credentials.username,
        &realm,
        credentials.password,
    );
    let ha2 = ha2(algorithm, method, uri);
    let digest = response(algorithm, &ha1, &nonce, qop, &ha2);

    let mut value = format!(
        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{digest}\", algorithm={}",
        credentials.username,
        algorithm.as_str()
    );
    if let Some(qop) = qop {
        value.push_str(&format!(
            ", qop=auth, nc={}, cnonce=\"{}\"",
            qop.nc, qop.cnonce
        ));
    }
    Some(value)
}
