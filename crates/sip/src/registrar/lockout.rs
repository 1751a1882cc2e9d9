//! Counting failed authentications per source address and per
//! address-of-record, and blocking either after too many.
//!
//! Only a wrong digest response (or an unknown user) counts. A REGISTER
//! without credentials, a stale nonce or a replayed nonce-count does not, so a
//! phone that refreshes its registration correctly never gets blocked.
//!
//! A block of an address-of-record stops guessing spread over many source
//! addresses. It does not apply to the sources the address-of-record last
//! authenticated from, so the extension's own phones keep registering while
//! someone else guesses its password. Requests from other sources are still
//! checked while it lasts: a wrong password counts against their source, and
//! even a right one is refused.
//!
//! NOTE: a phone that moves to a new address while its extension is blocked
//! (a reboot behind a new NAT address, say) is refused until the block ends or
//! is lifted.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// Thresholds for blocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutConfig {
    /// Failures within `window` that trigger a block.
    pub max_failures: u32,
    /// Time over which failures are counted.
    pub window: Duration,
    /// How long a block lasts.
    pub block_for: Duration,
    /// Maximum number of addresses (and, separately, AORs) tracked.
    pub max_tracked: usize,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(300),
            block_for: Duration::from_secs(900),
            max_tracked: 100_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    failures: u32,
    window_start: SystemTime,
    blocked_until: Option<SystemTime>,
}

/// Failure counts for one kind of key.
#[derive(Debug)]
struct Counters<K> {
    entries: HashMap<K, Counter>,
}

impl<K: Eq + Hash + Clone> Counters<K> {
    fn new() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }

    fn is_blocked(&self, key: &K, now: SystemTime) -> bool {
        self.entries
            .get(key)
            .and_then(|c| c.blocked_until)
            .is_some_and(|until| now < until)
    }

    /// Counts a failure of `key`; returns the end of the block it started, if it started one.
    fn record(&mut self, key: &K, now: SystemTime, config: &LockoutConfig) -> Option<SystemTime> {
        if !self.entries.contains_key(key) && self.entries.len() >= config.max_tracked {
            self.make_room(now, config);
        }
        let counter = self.entries.entry(key.clone()).or_insert(Counter {
            failures: 0,
            window_start: now,
            blocked_until: None,
        });
        let window_over = now
            .duration_since(counter.window_start)
            .unwrap_or(Duration::ZERO)
            >= config.window;
        if window_over {
            counter.failures = 0;
            counter.window_start = now;
        }
        counter.failures += 1;
        if counter.failures < config.max_failures {
            return None;
        }
        let until = now + config.block_for;
        counter.blocked_until = Some(until);
        counter.failures = 0;
        counter.window_start = now;
        Some(until)
    }

    fn clear(&mut self, key: &K) -> bool {
        self.entries.remove(key).is_some()
    }

    fn blocked_count(&self, now: SystemTime) -> usize {
        self.entries
            .values()
            .filter(|c| c.blocked_until.is_some_and(|until| now < until))
            .count()
    }

    /// Drops idle entries; if none is idle, drops the one whose window is oldest.
    fn make_room(&mut self, now: SystemTime, config: &LockoutConfig) {
        self.entries.retain(|_, c| {
            let blocked = c.blocked_until.is_some_and(|until| now < until);
            let counting =
                now.duration_since(c.window_start).unwrap_or(Duration::ZERO) < config.window;
            blocked || counting
        });
        if self.entries.len() < config.max_tracked {
            return;
        }
        let oldest = self
            .entries
            .iter()
            .min_by_key(|(_, c)| c.window_start)
            .map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.entries.remove(&key);
        }
    }
}

/// The blocks one failure started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewBlocks {
    /// End of the block of the source address, if this failure started one.
    pub source_until: Option<SystemTime>,
    /// End of the block of the address-of-record, if this failure started one.
    pub aor_until: Option<SystemTime>,
}

/// Sources an address-of-record authenticated from, most recent last.
const TRUSTED_PER_AOR: usize = 4;

/// The effect of blocks on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// Nothing blocks it.
    No,
    /// Its source address is blocked: refuse it unread.
    Source,
    /// Its address-of-record is blocked and its source is not one the
    /// address-of-record authenticated from: check it, count a failure against
    /// the source, and refuse it either way.
    Aor,
}

/// Failed-authentication counters with blocking.
#[derive(Debug)]
pub struct FailureLimiter {
    config: LockoutConfig,
    sources: Counters<IpAddr>,
    aors: Counters<String>,
    trusted: HashMap<String, Vec<IpAddr>>,
}

impl FailureLimiter {
    /// Creates a limiter with `config`.
    pub fn new(config: LockoutConfig) -> Self {
        Self {
            config,
            sources: Counters::new(),
            aors: Counters::new(),
            trusted: HashMap::new(),
        }
    }

    /// Returns whether requests from `source` or for `aor` are blocked at `now`.
    pub fn is_blocked(&self, source: IpAddr, aor: &str, now: SystemTime) -> bool {
        self.check(source, aor, now) != Blocked::No
    }

    /// Returns what blocks a request from `source` for `aor` at `now`.
    pub fn check(&self, source: IpAddr, aor: &str, now: SystemTime) -> Blocked {
        if self.sources.is_blocked(&source, now) {
            return Blocked::Source;
        }
        let trusted = self
            .trusted
            .get(aor)
            .is_some_and(|sources| sources.contains(&source));
        if !trusted && self.aors.is_blocked(&aor.to_owned(), now) {
            return Blocked::Aor;
        }
        Blocked::No
    }

    /// Counts a failed authentication against `source` alone, for a request
    /// whose address-of-record is already blocked.
    pub fn record_source_failure(&mut self, source: IpAddr, now: SystemTime) -> NewBlocks {
        NewBlocks {
            source_until: self.sources.record(&source, now, &self.config),
            aor_until: None,
        }
    }

    /// Counts a failed authentication from `source` for `aor` and returns the
    /// blocks it started.
    pub fn record_failure(&mut self, source: IpAddr, aor: &str, now: SystemTime) -> NewBlocks {
        NewBlocks {
            source_until: self.sources.record(&source, now, &self.config),
            aor_until: self.aors.record(&aor.to_owned(), now, &self.config),
        }
    }

    /// Forgets the failures and any block of `source`; returns whether it had any.
    pub fn clear_source(&mut self, source: IpAddr) -> bool {
        self.sources.clear(&source)
    }

    /// Forgets the failures and any block of `aor`; returns whether it had any.
    pub fn clear_aor(&mut self, aor: &str) -> bool {
        self.aors.clear(&aor.to_owned())
    }

    /// Returns how many sources and addresses-of-record are blocked at `now`.
    pub fn blocked_count(&self, now: SystemTime) -> usize {
        self.sources.blocked_count(now) + self.aors.blocked_count(now)
    }

    /// Remembers that `aor` authenticated from `source`, and clears the
    /// failure count of `aor` unless it is blocked. The source's count stays,
    /// so that one valid account does not reset a guesser's count for another.
    pub fn record_success(&mut self, source: IpAddr, aor: &str, now: SystemTime) {
        let key = aor.to_owned();
        if !self.aors.is_blocked(&key, now) {
            self.aors.clear(&key);
        }
        if !self.trusted.contains_key(aor) && self.trusted.len() >= self.config.max_tracked {
            // Forget an arbitrary address-of-record; its phones become ordinary sources.
            if let Some(evicted) = self.trusted.keys().next().cloned() {
                self.trusted.remove(&evicted);
            }
        }
        let sources = self.trusted.entry(key).or_default();
        sources.retain(|s| *s != source);
        sources.push(source);
        if sources.len() > TRUSTED_PER_AOR {
            sources.remove(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LockoutConfig {
        LockoutConfig {
            max_failures: 3,
            window: Duration::from_secs(60),
            block_for: Duration::from_secs(600),
            max_tracked: 100,
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    const PHONE: &str = "sip:101@a.example";

    #[test]
    fn limiter_blocks_source_after_threshold() {
        let mut limiter = FailureLimiter::new(config());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..2 {
            limiter.record_failure(ip, &format!("sip:{i}@a.example"), at(i));
            assert!(!limiter.is_blocked(ip, "sip:other@a.example", at(i)));
        }
        let started = limiter.record_failure(ip, "sip:9@a.example", at(2));
        assert_eq!(started.source_until, Some(at(602)));
        assert_eq!(started.aor_until, None);
        assert!(limiter.is_blocked(ip, "sip:other@a.example", at(2)));
        assert_eq!(limiter.blocked_count(at(2)), 1);
        assert!(limiter.is_blocked(ip, "sip:other@a.example", at(601)));
        assert!(!limiter.is_blocked(ip, "sip:other@a.example", at(602)));
        assert_eq!(limiter.blocked_count(at(602)), 0);
    }

    #[test]
    fn limiter_clear_lifts_a_block() {
        let mut limiter = FailureLimiter::new(config());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for i in 0..3 {
            limiter.record_failure(ip, PHONE, at(i));
        }
        assert!(limiter.is_blocked(ip, "sip:other@a.example", at(3)));
        assert!(limiter.clear_source(ip));
        assert!(!limiter.is_blocked(ip, "sip:other@a.example", at(3)));
        assert!(limiter.is_blocked("127.0.0.2".parse().unwrap(), PHONE, at(3)));
        assert!(limiter.clear_aor(PHONE));
        assert!(!limiter.clear_aor(PHONE));
        assert!(!limiter.is_blocked(ip, PHONE, at(3)));
    }

    #[test]
    fn limiter_blocks_aor_across_sources() {
        let mut limiter = FailureLimiter::new(config());
        for i in 1..=3u8 {
            limiter.record_failure(IpAddr::from([127, 0, 0, i]), PHONE, at(u64::from(i)));
        }
        assert!(limiter.is_blocked("127.0.0.9".parse().unwrap(), PHONE, at(4)));
        assert!(!limiter.is_blocked("127.0.0.9".parse().unwrap(), "sip:102@a.example", at(4)));
    }

    #[test]
    fn limiter_forgets_failures_outside_window() {
        let mut limiter = FailureLimiter::new(config());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        limiter.record_failure(ip, PHONE, at(0));
        limiter.record_failure(ip, PHONE, at(1));
        limiter.record_failure(ip, PHONE, at(70));
        assert!(!limiter.is_blocked(ip, PHONE, at(70)));
    }

    #[test]
    fn limiter_success_clears_aor_only() {
        let mut limiter = FailureLimiter::new(config());
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        limiter.record_failure(ip, PHONE, at(0));
        limiter.record_failure(ip, PHONE, at(1));
        limiter.record_success("127.0.0.9".parse().unwrap(), PHONE, at(1));
        limiter.record_failure("127.0.0.2".parse().unwrap(), PHONE, at(2));
        assert!(!limiter.is_blocked("127.0.0.2".parse().unwrap(), PHONE, at(2)));
        limiter.record_failure(ip, "sip:102@a.example", at(3));
        assert!(
            limiter.is_blocked(ip, "sip:103@a.example", at(3)),
            "source count survived"
        );
    }

    #[test]
    fn aor_block_spares_the_extensions_own_phones() {
        let mut limiter = FailureLimiter::new(config());
        let phone: IpAddr = "127.0.0.4".parse().unwrap();
        let stranger: IpAddr = "127.0.0.5".parse().unwrap();
        limiter.record_success(phone, PHONE, at(0));
        for i in 1..=3u8 {
            limiter.record_failure(IpAddr::from([127, 0, 1, i]), PHONE, at(u64::from(i)));
        }
        assert_eq!(limiter.check(phone, PHONE, at(4)), Blocked::No);
        assert_eq!(limiter.check(stranger, PHONE, at(4)), Blocked::Aor);
        // The phone's refresh does not lift the block for the others.
        limiter.record_success(phone, PHONE, at(5));
        assert_eq!(limiter.check(stranger, PHONE, at(5)), Blocked::Aor);
        // Guessing on a blocked address-of-record still blocks the guesser.
        for i in 0..3 {
            limiter.record_source_failure(stranger, at(6 + i));
        }
        assert_eq!(
            limiter.check(stranger, "sip:102@a.example", at(9)),
            Blocked::Source
        );
    }

    #[test]
    fn limiter_stays_bounded() {
        let mut limiter = FailureLimiter::new(LockoutConfig {
            max_tracked: 4,
            ..config()
        });
        for i in 0..50u8 {
            limiter.record_failure(IpAddr::from([127, 0, 1, i]), &format!("sip:{i}@a"), at(0));
        }
        assert!(limiter.sources.entries.len() <= 4);
        assert!(limiter.aors.entries.len() <= 4);
    }
}
