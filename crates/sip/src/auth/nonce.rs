//! Stateless nonces: a timestamp and random salt, signed with HMAC-SHA-256
//! under a server secret, so a nonce proves when this server issued it and
//! for which realm without any stored state.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::digest::hex;

type HmacSha256 = Hmac<Sha256>;

/// Hex digits of the timestamp, salt and truncated MAC in a nonce.
const TIME_HEX: usize = 16;
const SALT_HEX: usize = 16;
const MAC_BYTES: usize = 16;
const NONCE_LEN: usize = TIME_HEX + SALT_HEX + MAC_BYTES * 2;

/// The state of a nonce presented by a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceState {
    /// Issued by this server for this realm and within its lifetime.
    Fresh {
        /// Issue time in seconds since the Unix epoch.
        issued_at: u64,
    },
    /// Issued by this server for this realm, but older than its lifetime.
    Stale {
        /// Issue time in seconds since the Unix epoch.
        issued_at: u64,
    },
    /// Not a nonce this server issued for this realm (or from a previous secret).
    Invalid,
}

/// Issues and checks nonces with one server secret.
#[derive(Clone)]
pub struct NonceIssuer {
    secret: [u8; 32],
    lifetime_secs: u64,
}

impl std::fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish()
    }
}

impl NonceIssuer {
    /// Creates an issuer with `secret`, whose nonces stay fresh for `lifetime_secs`.
    /// Servers that share a secret accept each other's nonces.
    pub fn new(secret: [u8; 32], lifetime_secs: u64) -> Self {
        Self {
            secret,
            lifetime_secs,
        }
    }

    /// Creates an issuer with a random secret, so nonces die with the process.
    pub fn with_random_secret(lifetime_secs: u64) -> Self {
        let mut secret = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut secret);
        Self::new(secret, lifetime_secs)
    }

    /// Returns how long a nonce stays fresh, in seconds.
    pub fn lifetime_secs(&self) -> u64 {
        self.lifetime_secs
    }

    /// Issues a nonce for `realm` at `now` (seconds since the Unix epoch).
    ///
    /// The random salt makes nonces issued in the same second differ, which
    /// keeps their nonce-counts apart.
    pub fn issue(&self, realm: &str, now: u64) -> String {
        let mut salt = [0u8; SALT_HEX / 2];
        rand::thread_rng().fill_bytes(&mut salt);
        let head = format!("{now:016x}{}", hex(&salt));
        let mac = self.mac(&head, realm);
        format!("{head}{}", hex(&mac))
    }

    /// Checks a nonce presented for `realm` at `now`.
    pub fn check(&self, nonce: &str, realm: &str, now: u64) -> NonceState {
        if nonce.len() != NONCE_LEN || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return NonceState::Invalid;
        }
        let (head, mac_hex) = nonce.split_at(TIME_HEX + SALT_HEX);
        let expected = hex(&self.mac(head, realm));
        if !bool::from(
            expected
                .as_bytes()
                .ct_eq(mac_hex.to_ascii_lowercase().as_bytes()),
        ) {
            return NonceState::Invalid;
        }
        let Ok(issued_at) = u64::from_str_radix(&head[..TIME_HEX], 16) else {
            return NonceState::Invalid;
        };
        if issued_at > now.saturating_add(1) {
            // From the future: only a clock step back explains it, so do not trust it.
            NonceState::Stale { issued_at }
        } else if now.saturating_sub(issued_at) > self.lifetime_secs {
            NonceState::Stale { issued_at }
        } else {
            NonceState::Fresh { issued_at }
        }
    }

    fn mac(&self, head: &str, realm: &str) -> [u8; MAC_BYTES] {
        let mut mac = match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            // HMAC takes keys of any length, so this branch cannot run.
            Err(_) => unreachable!("HMAC accepts a 32-byte key"),
        };
        mac.update(head.as_bytes());
        mac.update(b":");
        mac.update(realm.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> NonceIssuer {
        NonceIssuer::new([7u8; 32], 300)
    }

    #[test]
    fn nonce_is_fresh_within_lifetime() {
        let nonce = issuer().issue("a.example", 1_000);
        assert_eq!(
            issuer().check(&nonce, "a.example", 1_000),
            NonceState::Fresh { issued_at: 1_000 }
        );
        assert_eq!(
            issuer().check(&nonce, "a.example", 1_300),
            NonceState::Fresh { issued_at: 1_000 }
        );
    }

    #[test]
    fn nonce_goes_stale_after_lifetime() {
        let nonce = issuer().issue("a.example", 1_000);
        assert_eq!(
            issuer().check(&nonce, "a.example", 1_301),
            NonceState::Stale { issued_at: 1_000 }
        );
    }

    #[test]
    fn nonce_is_bound_to_realm_and_secret() {
        let nonce = issuer().issue("a.example", 1_000);
        assert_eq!(
            issuer().check(&nonce, "b.example", 1_000),
            NonceState::Invalid
        );
        let other = NonceIssuer::new([8u8; 32], 300);
        assert_eq!(other.check(&nonce, "a.example", 1_000), NonceState::Invalid);
    }

    #[test]
    fn nonce_rejects_tampering() {
        let nonce = issuer().issue("a.example", 1_000);
        // Moving the timestamp forward breaks the MAC.
        let forged = format!("{:016x}{}", 5_000u64, &nonce[16..]);
        assert_eq!(
            issuer().check(&forged, "a.example", 5_000),
            NonceState::Invalid
        );
        assert_eq!(
            issuer().check("short", "a.example", 1_000),
            NonceState::Invalid
        );
        let not_hex = format!("{}zz", &nonce[..nonce.len() - 2]);
        assert_eq!(
            issuer().check(&not_hex, "a.example", 1_000),
            NonceState::Invalid
        );
    }

    #[test]
    fn nonces_in_same_second_differ() {
        assert_ne!(
            issuer().issue("a.example", 1_000),
            issuer().issue("a.example", 1_000)
        );
    }
}
