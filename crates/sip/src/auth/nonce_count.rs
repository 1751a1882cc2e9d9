//! Replay protection: the highest nonce-count seen for each nonce, in a
//! bounded table.
//!
//! A nonce that has left the table cannot be checked any more, so the table
//! remembers the newest issue time it has evicted and rejects untracked
//! nonces issued at or before it. The client then gets a fresh nonce, which is
//! how RFC 7616 section 3.3 expects a server to end a nonce's use.

use std::collections::HashMap;

/// Highest nonce-count per nonce, for at most `capacity` nonces.
#[derive(Debug)]
pub struct NonceCounts {
    capacity: usize,
    entries: HashMap<String, Entry>,
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
    /// `expired_before` is the issue time below which nonces are stale anyway
    /// and may be dropped first when the table is full.
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
        if self.entries.len() >= self.capacity {
            self.make_room(expired_before);
        }
        self.entries.insert(
            nonce.to_owned(),
            Entry {
                issued_at,
                highest: nc,
            },
        );
        true
    }

    fn make_room(&mut self, expired_before: u64) {
        self.entries
            .retain(|_, entry| entry.issued_at >= expired_before);
        if self.entries.len() < self.capacity {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, entry)| entry.issued_at)
            .map(|(nonce, entry)| (nonce.clone(), entry.issued_at));
        if let Some((nonce, issued_at)) = oldest {
            self.entries.remove(&nonce);
            self.evicted_up_to = self.evicted_up_to.max(issued_at);
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
    fn parse_nc_requires_eight_hex_digits() {
        assert_eq!(parse_nc("00000001"), Some(1));
        assert_eq!(parse_nc("0000000a"), Some(10));
        assert_eq!(parse_nc("1"), None);
        assert_eq!(parse_nc("0000000g"), None);
    }
}
