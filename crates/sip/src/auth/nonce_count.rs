//! Replay protection: the highest nonce-count seen for each nonce, in a
//! bounded table.
//!
//! A nonce that has left the table cannot be checked any more, so the table
//! remembers the newest issue time it has evicted and rejects untracked
//! nonces issued at or before it. The client then gets a fresh nonce, which is
//! how RFC 7616 section 3.3 expects a server to end a nonce's use.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Highest nonce-count per nonce, for at most `capacity` nonces. When the table is full, the
/// nonce tracked longest leaves it, so each call takes constant time however full it is.
#[derive(Debug)]
pub struct NonceCounts {
    capacity: usize,
    entries: HashMap<Arc<str>, Entry>,
    /// The tracked nonces, in the order they were first accepted.
    order: VecDeque<Arc<str>>,
    evicted_up_to: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    issued_at: u64,
    highest: u32,
}

impl NonceCounts {
    /// Creates a table for at most `capacity` nonces (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
            evicted_up_to: 0,
        }
    }

    /// Returns the number of nonces tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Returns whether no nonce is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records `nc` for `nonce` and returns whether it is higher than every
    /// count seen before for that nonce. Call this only after the digest
    /// response has been verified, so that guesses cannot use up counts.
    ///
    /// `expired_before` is the issue time below which nonces are stale anyway;
    /// such nonces at the front of the table are dropped first.
    pub fn accept(&mut self, nonce: &str, issued_at: u64, nc: u32, expired_before: u64) -> bool {
        if let Some(entry) = self.entries.get_mut(nonce) {
            if nc > entry.highest {
                entry.highest = nc;
                return true;
            }
            return false;
        }
        if issued_at <= self.evicted_up_to {
            return false;
        }
        while self
            .order
            .front()
            .is_some_and(|front| self.entries[front].issued_at < expired_before)
        {
            self.evict_front();
        }
        while self.entries.len() >= self.capacity {
            self.evict_front();
        }
        let nonce: Arc<str> = nonce.into();
        self.order.push_back(nonce.clone());
        self.entries.insert(
            nonce,
            Entry {
                issued_at,
                highest: nc,
            },
        );
        true
    }

    /// Drops the nonce tracked longest. Nonces issued at or before it cannot be checked any
    /// more, so they are rejected from now on.
    fn evict_front(&mut self) {
        if let Some(nonce) = self.order.pop_front() {
            if let Some(entry) = self.entries.remove(&nonce) {
                self.evicted_up_to = self.evicted_up_to.max(entry.issued_at);
            }
        }
    }
}

/// Parses `nc`, eight hexadecimal digits.
pub fn parse_nc(text: &str) -> Option<u32> {
    if text.len() == 8 {
        u32::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_counts_reject_replayed_and_lower_counts() {
        let mut counts = NonceCounts::new(10);
        assert!(counts.accept("n1", 100, 1, 0));
        assert!(!counts.accept("n1", 100, 1, 0));
        assert!(counts.accept("n1", 100, 3, 0));
        assert!(!counts.accept("n1", 100, 2, 0));
        assert!(counts.accept("n2", 100, 1, 0), "counts are per nonce");
    }

    #[test]
    fn nonce_counts_drop_expired_nonces_first() {
        let mut counts = NonceCounts::new(2);
        assert!(counts.accept("old", 100, 1, 0));
        assert!(counts.accept("new", 500, 1, 0));
        assert!(counts.accept("newer", 600, 1, 200));
        assert_eq!(counts.len(), 2);
        assert!(
            counts.accept("new", 500, 2, 200),
            "unexpired nonce kept its count"
        );
    }

    #[test]
    fn nonce_counts_reject_evicted_nonces() {
        let mut counts = NonceCounts::new(2);
        assert!(counts.accept("a", 100, 1, 0));
        assert!(counts.accept("b", 200, 1, 0));
        assert!(counts.accept("c", 300, 1, 0));
        assert_eq!(counts.len(), 2);
        assert!(
            !counts.accept("a", 100, 2, 0),
            "evicted nonce cannot be checked"
        );
        assert!(
            !counts.accept("a", 100, 1, 0),
            "and its old count cannot be replayed"
        );
        assert!(counts.accept("d", 400, 1, 0));
    }

    #[test]
    fn nonce_counts_drop_longest_tracked_when_full() {
        let mut counts = NonceCounts::new(2);
        assert!(counts.accept("a", 100, 1, 0));
        assert!(counts.accept("b", 200, 1, 0));
        assert!(
            counts.accept("a", 100, 2, 0),
            "a later count of a tracked nonce"
        );
        assert!(counts.accept("c", 300, 1, 0));
        assert_eq!(counts.len(), 2);
        assert!(
            !counts.accept("a", 100, 3, 0),
            "a left first, however recently used"
        );
        assert!(!counts.accept("b", 200, 1, 0), "b kept its count");
        assert!(counts.accept("b", 200, 2, 0));
    }

    #[test]
    fn parse_nc_requires_eight_hex_digits() {
        assert_eq!(parse_nc("00000001"), Some(1));
        assert_eq!(parse_nc("0000000a"), Some(10));
        assert_eq!(parse_nc("1"), None);
        assert_eq!(parse_nc("0000000g"), None);
    }
}
