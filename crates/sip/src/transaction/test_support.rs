//! Messages and clock helpers shared by the transaction tests.

use std::time::{Duration, Instant};

use super::{Action, Timer};

/// Builds a request with the given method and branch.
pub(crate) fn request(method: &str, branch: &str) -> Vec<u8> {
    format!(
        "{method} sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
Route: <sip:proxy.example.com;lr>\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: call-1\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Builds a response with `status` to a request with `method` and `branch`.
pub(crate) fn response(status: u16, method: &str, branch: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 {status} Status\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch={branch}\r\n\
From: <sip:alice@example.com>;tag=a1\r\n\
To: <sip:bob@example.com>;tag=b2\r\n\
Call-ID: call-1\r\n\
CSeq: 1 {method}\r\n\
Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Returns `start + ms` milliseconds.
pub(crate) fn at(start: Instant, ms: u64) -> Instant {
    start + Duration::from_millis(ms)
}

/// Returns the times at which `timer` was scheduled, in milliseconds after `start`.
pub(crate) fn scheduled(actions: &[Action], timer: Timer, start: Instant) -> Vec<u64> {
    actions
        .iter()
        .filter_map(|action| match action {
            Action::Schedule(t, when) if *t == timer => Some((*when - start).as_millis() as u64),
            _ => None,
        })
        .collect()
}

/// Counts the transmissions in `actions`.
pub(crate) fn transmissions(actions: &[Action]) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Transmit(_)))
        .count()
}

/// Returns the text of the first transmission.
pub(crate) fn first_transmitted(actions: &[Action]) -> String {
    actions
        .iter()
        .find_map(|a| match a {
            Action::Transmit(bytes) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        })
        .expect("a transmission")
}
