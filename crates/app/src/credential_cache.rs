//! An in-memory cache of unrevoked API keys by the hash of their secret, so that an API request
//! needs no database round trip to authenticate.
//!
//! Revoking a key through [`crate::App`] removes it from this process's cache after the revoking
//! transaction commits. A generation counter, bumped under the same lock, keeps a lookup that
//! read the row before the revocation from caching it afterwards.

use std::collections::HashMap;
use std::sync::Mutex;

use tandem_domain::ApiKeyId;
use tandem_store::api_keys::ApiKeyRow;

/// How long a cached key is trusted before it is read again. This bounds how long a key revoked
/// by another process (another server on the same database) keeps working here.
// NOTE: revocation is immediate only within the process that revoked the key. Servers that
// share a database accept a key revoked elsewhere for up to this long.
pub(crate) const KEY_TTL_US: i64 = 30_000_000;

/// Entries kept at most; the cache empties itself when full rather than tracking use.
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub(crate) struct ApiKeyCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    keys: HashMap<String, Cached>,
}

struct Cached {
    row: ApiKeyRow,
    fetched_us: i64,
}

impl ApiKeyCache {
    /// Returns the cached row for `key_hash` if it was read within [`KEY_TTL_US`] of `now_us`.
    pub(crate) fn get(&self, key_hash: &str, now_us: i64) -> Option<ApiKeyRow> {
        let inner = self.inner.lock().expect("API key cache lock");
        let cached = inner.keys.get(key_hash)?;
        (now_us - cached.fetched_us < KEY_TTL_US).then(|| cached.row.clone())
    }

    /// Returns the generation to pass to [`ApiKeyCache::put`] for a row read after this call.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().expect("API key cache lock").generation
    }

    /// Caches a row read from the database, unless a key was revoked since `generation`.
    pub(crate) fn put(&self, key_hash: &str, row: ApiKeyRow, generation: u64, now_us: i64) {
        let mut inner = self.inner.lock().expect("API key cache lock");
        if inner.generation != generation {
            return;
        }
        if inner.keys.len() >= MAX_ENTRIES {
            inner.keys.clear();
        }
        inner.keys.insert(
            key_hash.to_string(),
            Cached {
                row,
                fetched_us: now_us,
            },
        );
    }

    /// Records a new last use of a cached key.
    pub(crate) fn touched(&self, key_hash: &str, now_us: i64) {
        let mut inner = self.inner.lock().expect("API key cache lock");
        if let Some(cached) = inner.keys.get_mut(key_hash) {
            cached.row.last_used_us = Some(now_us);
        }
    }

    /// Drops a revoked key. Call it after the revocation commits.
    pub(crate) fn forget(&self, id: &ApiKeyId) {
        let mut inner = self.inner.lock().expect("API key cache lock");
        inner.generation += 1;
        inner.keys.retain(|_, cached| &cached.row.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_domain::WhiteLabelId;

    fn row(id: &ApiKeyId) -> ApiKeyRow {
        ApiKeyRow {
            id: id.clone(),
            white_label_id: WhiteLabelId::new(),
            customer_id: None,
            role: "white_label".into(),
            name: "test".into(),
            key_prefix: "tdm_".into(),
            created_us: 0,
            last_used_us: None,
            revoked_us: None,
        }
    }

    #[test]
    fn forgotten_key_not_served() {
        let cache = ApiKeyCache::default();
        let id = ApiKeyId::new();
        cache.put("hash", row(&id), cache.generation(), 0);
        assert!(cache.get("hash", 1).is_some());
        cache.forget(&id);
        assert!(cache.get("hash", 1).is_none());
    }

    #[test]
    fn row_read_before_revocation_not_cached() {
        let cache = ApiKeyCache::default();
        let id = ApiKeyId::new();
        let generation = cache.generation();
        cache.forget(&id);
        cache.put("hash", row(&id), generation, 0);
        assert!(cache.get("hash", 1).is_none());
    }

    #[test]
    fn stale_entry_expires() {
        let cache = ApiKeyCache::default();
        let id = ApiKeyId::new();
        cache.put("hash", row(&id), cache.generation(), 0);
        assert!(cache.get("hash", KEY_TTL_US).is_none());
    }
}
