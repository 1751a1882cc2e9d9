//! Counters and gauges of the SIP service, printed in the Prometheus text format.
//!
//! Every figure is an atomic, so the serve loop updates them without locks and an HTTP
//! handler on another task reads them at any time.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::msg::Method;

/// Methods counted under their own label; the rest count as `other`.
const METHODS: [&str; 8] = [
    "REGISTER",
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "SUBSCRIBE",
    "other",
];

/// The SIP service's figures.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; METHODS.len()],
    responses: [AtomicU64; 6],
    auth_failures: AtomicU64,
    blocks: AtomicU64,
    blocked: AtomicU64,
    bindings: AtomicU64,
    transactions: AtomicU64,
    dropped_oversized: AtomicU64,
    dropped_flood: AtomicU64,
    unparsable: AtomicU64,
}

fn add(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    /// Creates zeroed figures.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a received request.
    pub fn request(&self, method: &Method<'_>) {
        let name = method.as_str();
        let index = METHODS
            .iter()
            .position(|m| *m == name)
            .unwrap_or(METHODS.len() - 1);
        add(&self.requests[index]);
    }

    /// Counts a response sent by the service (retransmissions excluded).
    pub fn response(&self, status: u16) {
        if let Some(counter) = usize::from(status / 100)
            .checked_sub(1)
            .and_then(|i| self.responses.get(i))
        {
            add(counter);
        }
    }

    /// Counts a failed digest authentication.
    pub fn auth_failure(&self) {
        add(&self.auth_failures);
    }

    /// Counts a block started by failed authentications.
    pub fn block_started(&self) {
        add(&self.blocks);
    }

    /// Counts a message dropped for its size.
    pub fn dropped_oversized(&self) {
        add(&self.dropped_oversized);
    }

    /// Counts a message dropped because its source sent too many.
    pub fn dropped_flood(&self) {
        add(&self.dropped_flood);
    }

    /// Counts a message that could not be parsed.
    pub fn unparsable(&self) {
        add(&self.unparsable);
    }

    /// Sets the gauges: blocked sources and addresses-of-record, contacts
    /// bound, and server transactions in progress.
    pub fn set_gauges(&self, blocked: usize, bindings: usize, transactions: usize) {
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        self.blocked.store(as_u64(blocked), Ordering::Relaxed);
        self.bindings.store(as_u64(bindings), Ordering::Relaxed);
        self.transactions
            .store(as_u64(transactions), Ordering::Relaxed);
    }

    /// Returns the contacts bound, as last set.
    pub fn bindings(&self) -> u64 {
        self.bindings.load(Ordering::Relaxed)
    }

    /// Returns the failed authentications counted so far.
    pub fn auth_failures(&self) -> u64 {
        self.auth_failures.load(Ordering::Relaxed)
    }

    /// Prints every figure in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        out.push_str(
            "# HELP tandem_sip_requests_total SIP requests received, by method.\n\
             # TYPE tandem_sip_requests_total counter\n",
        );
        for (method, counter) in METHODS.iter().zip(&self.requests) {
            let _ = writeln!(
                out,
                "tandem_sip_requests_total{{method=\"{method}\"}} {}",
                get(counter)
            );
        }
        out.push_str(
            "# HELP tandem_sip_responses_total SIP responses sent, by status class.\n\
             # TYPE tandem_sip_responses_total counter\n",
        );
        for (class, counter) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "tandem_sip_responses_total{{class=\"{}xx\"}} {}",
                class + 1,
                get(counter)
            );
        }
        let singles = [
            (
                "tandem_sip_auth_failures_total",
                "counter",
                "Digest authentications that failed: wrong password or unknown user.",
                &self.auth_failures,
            ),
            (
                "tandem_sip_blocks_total",
                "counter",
                "Blocks of a source address or an address-of-record started by failures.",
                &self.blocks,
            ),
            (
                "tandem_sip_blocked",
                "gauge",
                "Source addresses and addresses-of-record blocked now.",
                &self.blocked,
            ),
            (
                "tandem_sip_bindings",
                "gauge",
                "Contacts bound to addresses-of-record.",
                &self.bindings,
            ),
            (
                "tandem_sip_server_transactions",
                "gauge",
                "Server transactions in progress.",
                &self.transactions,
            ),
            (
                "tandem_sip_dropped_oversized_total",
                "counter",
                "Messages dropped for exceeding the size limit.",
                &self.dropped_oversized,
            ),
            (
                "tandem_sip_dropped_flood_total",
                "counter",
                "Messages dropped because their source exceeded its rate.",
                &self.dropped_flood,
            ),
            (
                "tandem_sip_unparsable_total",
                "counter",
                "Messages that could not be parsed.",
                &self.unparsable,
            ),
        ];
        for (name, kind, help, counter) in singles {
            let _ = write!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                get(counter)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_counts_by_method_and_class() {
        let metrics = Metrics::new();
        metrics.request(&Method::Register);
        metrics.request(&Method::Register);
        metrics.request(&Method::Extension("PUBLISH"));
        metrics.response(401);
        metrics.response(200);
        metrics.response(200);
        metrics.response(42);
        metrics.auth_failure();
        metrics.set_gauges(3, 7, 1);
        let text = metrics.render();
        assert!(text.contains("tandem_sip_requests_total{method=\"REGISTER\"} 2\n"));
        assert!(text.contains("tandem_sip_requests_total{method=\"other\"} 1\n"));
        assert!(text.contains("tandem_sip_responses_total{class=\"2xx\"} 2\n"));
        assert!(text.contains("tandem_sip_responses_total{class=\"4xx\"} 1\n"));
        assert!(text.contains("tandem_sip_auth_failures_total 1\n"));
        assert!(text.contains("tandem_sip_blocked 3\n"));
        assert!(text.contains("tandem_sip_bindings 7\n"));
        assert!(text.contains("tandem_sip_server_transactions 1\n"));
    }
}
