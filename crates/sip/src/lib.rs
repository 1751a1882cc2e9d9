//! Tandem's SIP service foundation.
//!
//! - [`msg`]: parsing and printing SIP messages (RFC 3261 sections 7, 20 and 25).
//! - [`auth`]: digest authentication with MD5 and SHA-256 (RFC 7616, RFC 8760).
//! - [`transaction`]: the four transaction state machines of RFC 3261 section 17,
//!   without I/O.
//! - [`registrar`]: REGISTER handling (RFC 3261 section 10.3) over storage traits.
//! - [`metrics`]: the service's counters in the Prometheus text format.
//! - [`transport`]: UDP and TCP with tokio, and a serve loop that ties the layers together.

pub mod auth;
pub mod metrics;
pub mod msg;
pub mod registrar;
pub mod transaction;
pub mod transport;
