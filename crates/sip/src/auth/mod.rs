//! Digest authentication for SIP (RFC 7616 as profiled by RFC 8760 and
//! RFC 3261 section 22): hashes, stateless nonces, nonce-count replay
//! protection, challenges and credential checks.

mod client;
mod digest;
mod nonce;
mod nonce_count;
mod verify;

pub use client::{authorization, ClientCredentials};
pub use digest::{digests_equal, ha1, ha2, response, Algorithm, QopAuth, StoredCredential};
pub use nonce::{NonceIssuer, NonceState};
pub use nonce_count::{parse_nc, NonceCounts};
pub use verify::{AuthOutcome, DigestAuthenticator, DigestConfig};
