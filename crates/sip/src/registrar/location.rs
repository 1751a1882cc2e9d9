//! The location service: contact bindings per address-of-record.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

/// One contact bound to an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// Contact URI as printed from the REGISTER, escapes and headers kept.
    pub contact: String,
    /// Contact header parameters other than `expires`, such as `;q=0.5`.
    pub params: String,
    /// When the binding lapses.
    pub expires_at: SystemTime,
    /// Call-ID of the REGISTER that last refreshed the binding.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Address the REGISTER came from, where requests for this contact can
    /// be sent through a NAT.
    pub source: SocketAddr,
    /// Transport of the REGISTER's top Via, such as `UDP` or `TCP`.
    pub transport: String,
    /// The User-Agent header of the REGISTER, or empty.
    pub user_agent: String,
}

impl Binding {
    /// Returns the whole seconds left before the binding lapses at `now`.
    pub fn remaining_secs(&self, now: SystemTime) -> u64 {
        self.expires_at
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
            .as_secs()
    }
}

/// Storage for bindings, keyed by the canonical address-of-record
/// (`sip:user@domain`, see [`crate::msg::SipUri::address_of_record`]).
///
/// The registrar reads an AOR's bindings, decides, and writes the whole list
/// back, so an implementation must make `put` replace the list atomically.
pub trait LocationStore {
    /// Returns the bindings of `aor` that have not lapsed at `now`.
    fn get(&self, aor: &str, now: SystemTime) -> Vec<Binding>;

    /// Replaces the bindings of `aor`; an empty list removes the AOR.
    fn put(&mut self, aor: &str, bindings: Vec<Binding>);

    /// Drops bindings that have lapsed at `now`. Stores that expire rows by
    /// themselves may keep the default, which does nothing.
    fn purge_expired(&mut self, now: SystemTime) {
        let _ = now;
    }

    /// Returns the number of contacts held, lapsed ones included.
    fn contact_count(&self) -> usize;
}

/// A [`LocationStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryLocationStore {
    bindings: HashMap<String, Vec<Binding>>,
    contacts: usize,
}

impl MemoryLocationStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the number of AORs with bindings, lapsed ones included.
    pub fn len(&self) -> usize {
        self.bindings.len()
    }

    /// Returns whether the store contains no AOR.
    pub fn is_empty(&self) -> bool {
        self.bindings.is_empty()
    }
}

impl LocationStore for MemoryLocationStore {
    fn get(&self, aor: &str, now: SystemTime) -> Vec<Binding> {
        self.bindings
            .get(aor)
            .map(|list| {
                list.iter()
                    .filter(|b| b.expires_at > now)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    fn put(&mut self, aor: &str, bindings: Vec<Binding>) {
        let added = bindings.len();
        let removed = if bindings.is_empty() {
            self.bindings.remove(aor)
        } else {
            self.bindings.insert(aor.to_owned(), bindings)
        };
        self.contacts = self.contacts + added - removed.map_or(0, |old| old.len());
    }

    fn purge_expired(&mut self, now: SystemTime) {
        let mut contacts = 0;
        self.bindings.retain(|_, list| {
            list.retain(|b| b.expires_at > now);
            contacts += list.len();
            !list.is_empty()
        });
        self.contacts = contacts;
    }

    fn contact_count(&self) -> usize {
        self.contacts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(contact: &str, expires_at: SystemTime) -> Binding {
        Binding {
            contact: contact.to_owned(),
            params: String::new(),
            expires_at,
            call_id: "c".to_owned(),
            cseq: 1,
            source: "127.0.0.1:5060".parse().unwrap(),
            transport: "UDP".to_owned(),
            user_agent: String::new(),
        }
    }

    #[test]
    fn memory_store_hides_lapsed_bindings() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut store = MemoryLocationStore::new();
        store.put(
            "sip:101@a.example",
            vec![
                binding("sip:a@h", t0 + Duration::from_secs(10)),
                binding("sip:b@h", t0),
            ],
        );
        let live = store.get("sip:101@a.example", t0);
        assert_eq!(live.len(), 1);
        assert_eq!(live[0].remaining_secs(t0), 10);
        assert!(store.get("sip:101@b.example", t0).is_empty());
    }

    #[test]
    fn memory_store_purges_and_removes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut store = MemoryLocationStore::new();
        store.put(
            "sip:1@a",
            vec![binding("sip:a@h", t0 + Duration::from_secs(5))],
        );
        store.put(
            "sip:2@a",
            vec![binding("sip:b@h", t0 + Duration::from_secs(50))],
        );
        assert_eq!(store.contact_count(), 2);
        store.purge_expired(t0 + Duration::from_secs(5));
        assert_eq!(store.len(), 1);
        assert_eq!(store.contact_count(), 1);
        store.put("sip:2@a", Vec::new());
        assert!(store.is_empty());
        assert_eq!(store.contact_count(), 0);
    }
}
