//! Server-side digest authentication: challenges and credential checks.

use super::digest::{digests_equal, ha2, response, Algorithm, QopAuth, StoredCredential};
use super::nonce::{NonceIssuer, NonceState};
use super::nonce_count::{parse_nc, NonceCounts};
use crate::msg::AuthValue;

/// Settings for digest authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// Algorithms offered in challenges, most preferred first. The default
    /// offers SHA-256, then MD5 for phones that lack SHA-256.
    pub algorithms: Vec<Algorithm>,
    /// Seconds a nonce stays fresh; after that a correct response gets
    /// `stale=true`.
    pub nonce_lifetime_secs: u64,
    /// Maximum number of nonces whose nonce-count is tracked. A nonce that leaves the table
    /// before it goes stale gets a new challenge with `stale=true`, which costs its phone one more
    /// round trip, so this should cover the nonces first used within a nonce lifetime.
    pub nonce_count_capacity: usize,
    /// Whether to reject credentials without `qop=auth`. Without qop there is
    /// no nonce-count, so a captured request can be replayed while its nonce
    /// is fresh.
    pub require_qop: bool,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
            nonce_lifetime_secs: 300,
            nonce_count_capacity: 100_000,
            require_qop: false,
        }
    }
}

/// The result of checking credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// The response is correct for a fresh nonce with a new nonce-count.
    Authenticated {
        /// The authenticated username.
        username: String,
        /// The algorithm used.
        algorithm: Algorithm,
    },
    /// No Digest credentials for this realm, or credentials this server cannot
    /// check (a nonce it did not issue, a missing directive, an unsupported
    /// algorithm or qop). The caller sends a fresh challenge; no password
    /// was tested.
    Missing,
    /// The response is correct but the nonce is stale or its nonce-count was
    /// already used. The caller sends a challenge with `stale=true`.
    Stale,
    /// The response is wrong or the user is unknown. Both give the same
    /// outcome so that a client cannot tell them apart.
    Failed {
        /// The username the client claimed.
        username: String,
    },
}

/// Issues challenges and checks Digest credentials for one server.
#[derive(Debug)]
pub struct DigestAuthenticator {
    config: DigestConfig,
    issuer: NonceIssuer,
    counts: NonceCounts,
}

impl DigestAuthenticator {
    /// Creates an authenticator whose nonces are signed with `issuer`'s secret.
    pub fn new(config: DigestConfig, issuer: NonceIssuer) -> Self {
        let counts = NonceCounts::new(config.nonce_count_capacity);
        Self {
            config,
            issuer,
            counts,
        }
    }

    /// Creates an authenticator with a random nonce secret.
    pub fn with_random_secret(config: DigestConfig) -> Self {
        let issuer = NonceIssuer::with_random_secret(config.nonce_lifetime_secs);
        Self::new(config, issuer)
    }

    /// Returns one WWW-Authenticate value per configured algorithm, sharing
    /// one new nonce, at `now` (seconds since the Unix epoch).
    pub fn challenge(&self, realm: &str, stale: bool, now: u64) -> Vec<String> {
        self.challenge_offering(realm, &self.config.algorithms, stale, now)
    }

    /// Like [`Self::challenge`], offering `algorithms` instead of the
    /// configured ones, for realms that allow fewer.
    pub fn challenge_offering(
        &self,
        realm: &str,
        algorithms: &[Algorithm],
        stale: bool,
        now: u64,
    ) -> Vec<String> {
        let nonce = self.issuer.issue(realm, now);
        let realm = quote(realm);
        algorithms
            .iter()
            .map(|algorithm| {
                let mut value = format!(
                    "Digest realm={realm}, nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
                    algorithm.as_str()
                );
                if stale {
                    value.push_str(", stale=true");
                }
                value
            })
            .collect()
    }

    /// Checks `credentials` (an Authorization value, if any) for a request
    /// with `method` in `realm`. `lookup` returns the stored HA1 values of a
    /// username. The caller checks that the `uri` directive names the
    /// Request-URI.
    pub fn verify(
        &mut self,
        credentials: Option<&AuthValue<'_>>,
        realm: &str,
        method: &str,
        lookup: impl FnOnce(&str) -> Option<StoredCredential>,
        now: u64,
    ) -> AuthOutcome {
        let algorithms = self.config.algorithms.clone();
        self.verify_offering(credentials, realm, method, &algorithms, lookup, now)
    }

    /// Like [`Self::verify`], accepting only `algorithms`; credentials with
    /// another algorithm get [`AuthOutcome::Missing`], so a fresh challenge.
    pub fn verify_offering(
        &mut self,
        credentials: Option<&AuthValue<'_>>,
        realm: &str,
        method: &str,
        algorithms: &[Algorithm],
        lookup: impl FnOnce(&str) -> Option<StoredCredential>,
        now: u64,
    ) -> AuthOutcome {
        let Some(credentials) = credentials.filter(|c| c.is_digest()) else {
            return AuthOutcome::Missing;
        };
        if credentials.param("realm").as_deref() != Some(realm) {
            return AuthOutcome::Missing;
        }
        let directives = ["username", "nonce", "uri", "response"].map(|n| credentials.param(n));
        let [Some(username), Some(nonce), Some(uri), Some(received)] = directives else {
            return AuthOutcome::Missing;
        };
        let algorithm = credentials.param("algorithm");
        let Some(algorithm) = Algorithm::from_directive(algorithm.as_deref()) else {
            return AuthOutcome::Missing;
        };
        if !algorithms.contains(&algorithm) {
            return AuthOutcome::Missing;
        }
        let (nc_text, cnonce) = (credentials.param("nc"), credentials.param("cnonce"));
        let qop = match credentials.param("qop") {
            None if self.config.require_qop => return AuthOutcome::Missing,
            None => None,
            Some(qop) if qop.eq_ignore_ascii_case("auth") => match (&nc_text, &cnonce) {
                (Some(nc), Some(cnonce)) => Some(QopAuth { nc, cnonce }),
                _ => return AuthOutcome::Missing,
            },
            Some(_) => return AuthOutcome::Missing,
        };
        let (issued_at, stale) = match self.issuer.check(&nonce, realm, now) {
            NonceState::Invalid => return AuthOutcome::Missing,
            NonceState::Fresh { issued_at } => (issued_at, false),
            NonceState::Stale { issued_at } => (issued_at, true),
        };

        // An unknown user is checked against a random HA1 so that the work,
        // and the outcome, match a wrong password.
        let stored = lookup(&username);
        let known_ha1 = stored
            .as_ref()
            .and_then(|s| s.ha1(algorithm))
            .map(str::to_owned);
        let ha1 = known_ha1
            .clone()
            .unwrap_or_else(|| algorithm.hash_hex(&rand::random::<[u8; 16]>()));
        let ha2 = ha2(algorithm, method, &uri);
        let expected = response(algorithm, &ha1, &nonce, qop, &ha2);
        if !digests_equal(&expected, &received) || known_ha1.is_none() {
            return AuthOutcome::Failed {
                username: username.into_owned(),
            };
        }

        if stale {
            return AuthOutcome::Stale;
        }
        if let Some(qop) = qop {
            let Some(nc) = parse_nc(qop.nc) else {
                return AuthOutcome::Missing;
            };
            let expired_before = now.saturating_sub(self.issuer.lifetime_secs());
            if !self.counts.accept(&nonce, issued_at, nc, expired_before) {
                return AuthOutcome::Stale;
            }
        }
        AuthOutcome::Authenticated {
            username: username.into_owned(),
            algorithm,
        }
    }
}

/// Writes `text` as a quoted string, escaping `"` and `\`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
