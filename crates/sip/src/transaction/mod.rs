//! The transaction layer of RFC 3261 section 17 as pure state machines.
//!
//! Each machine is driven by events: a request or response received, a
//! response the TU sends, timers coming due, a transport error. The current
//! time comes in as an [`Instant`], and each event returns the [`Action`]s
//! for the driver to carry out. Nothing here sleeps, reads a clock or touches a socket,
//! so tests run every timer in simulated time.
//!
//! Timers keep their RFC names: A, B and D for a client INVITE transaction;
//! E, F and K for a client non-INVITE one; G, H and I for a server INVITE
//! one; J for a server non-INVITE one.

mod client_invite;
mod client_non_invite;
mod key;
mod server_invite;
mod server_non_invite;
#[cfg(test)]
mod test_support;
mod timers;

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use client_invite::{ClientInvite, ClientInviteState};
pub use client_non_invite::{ClientNonInvite, ClientNonInviteState};
pub use key::{ClientKey, ServerKey};
pub use server_invite::{ServerInvite, ServerInviteState};
pub use server_non_invite::{ServerNonInvite, ServerNonInviteState};

/// Timer base values (RFC 3261 section 17.1.1.1 and table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the round-trip time estimate: 500 ms by default.
    pub t1: Duration,
    /// T2, the longest retransmit interval for non-INVITE requests and INVITE
    /// responses: 4 s by default.
    pub t2: Duration,
    /// T4, the longest time a message stays in the network: 5 s by default.
    pub t4: Duration,
    /// Timer D on unreliable transports; RFC 3261 requires at least 32 s.
    pub timer_d: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            timer_d: Duration::from_secs(32),
        }
    }
}

impl TimerConfig {
    /// Returns 64*T1, the duration of timers B, F, H and J.
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// A transaction timer, named as in RFC 3261 table 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE request retransmission interval (unreliable transports).
    A,
    /// INVITE transaction timeout.
    B,
    /// Wait time for response retransmissions after an INVITE failed.
    D,
    /// Non-INVITE request retransmission interval (unreliable transports).
    E,
    /// Non-INVITE transaction timeout.
    F,
    /// Wait time for response retransmissions after a non-INVITE completed.
    K,
    /// INVITE final response retransmission interval (unreliable transports).
    G,
    /// Wait time for the ACK.
    H,
    /// Wait time for ACK retransmissions.
    I,
    /// Wait time for non-INVITE request retransmissions.
    J,
}

/// Something the driver of a transaction must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the transaction's peer.
    Transmit(Arc<[u8]>),
    /// Pass the message that was just given to the machine up to the TU.
    PassToTu,
    /// Tell the TU that the transaction timed out (timer B, F or H).
    Timeout,
    /// Tell the TU that the transport reported a failure.
    TransportError,
    /// Call `on_timer` at this time (or later) for this timer.
    Schedule(Timer, Instant),
    /// The transaction is over; the driver may drop it.
    Terminated,
}

/// Whether the transport retransmits for us (TCP, TLS) or not (UDP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// UDP: the transaction retransmits and waits for stray copies.
    Unreliable,
    /// TCP or TLS: no retransmissions, and no waiting in completed states.
    Reliable,
}
