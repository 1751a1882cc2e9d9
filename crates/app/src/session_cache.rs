//! An in-memory cache of live portal sessions by the hash of their token, so that a portal
//! request needs no database round trip to find its user, memberships and two-factor state.
//!
//! Every use case that changes what a session grants removes the affected entries after its
//! transaction commits: signing out removes one session, and a change to a user's password,
//! name, memberships, sessions or authenticator removes all of that user's sessions. A change
//! to a white label's two-factor requirement empties the cache. A generation counter, bumped
//! under the same lock, keeps a lookup that read the rows before such a change from caching
//! them afterwards.

use std::collections::HashMap;
use std::sync::Mutex;

use tandem_domain::UserId;
use tandem_store::memberships::MembershipRow;
use tandem_store::users::UserRow;

/// How long a cached session is trusted before it is read again. This bounds how long a change
/// made by another process (another server on the same database, or `tandem admin`) takes to
/// reach sessions cached here.
// NOTE: invalidation is immediate only within the process that made the change. Servers that
// share a database keep serving a session revoked, or a membership removed, elsewhere for up
// to this long.
pub(crate) const SESSION_TTL_US: i64 = 30_000_000;

/// Entries kept at most; the cache empties itself when full rather than tracking use.
const MAX_ENTRIES: usize = 100_000;

/// The user, memberships and two-factor state of a live session, as read from the database.
#[derive(Debug, Clone)]
pub(crate) struct CachedSession {
    pub(crate) user: UserRow,
    pub(crate) memberships: Vec<MembershipRow>,
    pub(crate) csrf_token: String,
    /// The session's expiry, in microseconds since the Unix epoch.
    pub(crate) expires_us: i64,
    pub(crate) must_enrol_two_factor: bool,
}

#[derive(Default)]
pub(crate) struct SessionCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    sessions: HashMap<String, Entry>,
}

struct Entry {
    session: CachedSession,
    fetched_us: i64,
}

impl SessionCache {
    /// Returns the cached session for `token_hash` if it was read within [`SESSION_TTL_US`] of
    /// `now_us` and has not expired.
    pub(crate) fn get(&self, token_hash: &str, now_us: i64) -> Option<CachedSession> {
        let inner = self.inner.lock().expect("session cache lock");
        let entry = inner.sessions.get(token_hash)?;
        let fresh = now_us - entry.fetched_us < SESSION_TTL_US;
        let live = entry.session.expires_us > now_us;
        (fresh && live).then(|| entry.session.clone())
    }

    /// Returns the generation to pass to [`SessionCache::put`] for rows read after this call.
    pub(crate) fn generation(&self) -> u64 {
        self.inner.lock().expect("session cache lock").generation
    }

    /// Caches a session read from the database, unless an invalidation happened since
    /// `generation`.
    pub(crate) fn put(
        &self,
        token_hash: &str,
        session: CachedSession,
        generation: u64,
        now_us: i64,
    ) {
        let mut inner = self.inner.lock().expect("session cache lock");
        if inner.generation != generation {
            return;
        }
        if inner.sessions.len() >= MAX_ENTRIES {
            inner.sessions.clear();
        }
        inner.sessions.insert(
            token_hash.to_string(),
            Entry {
                session,
                fetched_us: now_us,
            },
        );
    }

    /// Drops one session, such as at sign-out. Call it after the change commits.
    pub(crate) fn forget_session(&self, token_hash: &str) {
        let mut inner = self.inner.lock().expect("session cache lock");
        inner.generation += 1;
        inner.sessions.remove(token_hash);
    }

    /// Drops every session of a user whose password, name, memberships, sessions or
    /// authenticator changed. Call it after the change commits.
    pub(crate) fn forget_user(&self, user_id: &UserId) {
        let mut inner = self.inner.lock().expect("session cache lock");
        inner.generation += 1;
        inner
            .sessions
            .retain(|_, entry| &entry.session.user.id != user_id);
    }

    /// Drops every session, for a change that affects users not named one by one, such as a
    /// white label's two-factor requirement. Call it after the change commits.
    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock().expect("session cache lock");
        inner.generation += 1;
        inner.sessions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(user_id: &UserId, expires_us: i64) -> CachedSession {
        CachedSession {
            user: UserRow {
                id: user_id.clone(),
                email: "mere@example.com".into(),
                name: "Mere".into(),
                password_hash: None,
                status: "active".into(),
                created_us: 0,
                last_sign_in_us: None,
            },
            memberships: Vec::new(),
            csrf_token: "csrf".into(),
            expires_us,
            must_enrol_two_factor: false,
        }
    }

    #[test]
    fn cached_session_served() {
        let cache = SessionCache::default();
        let user = UserId::new();
        cache.put("hash", session(&user, 100), cache.generation(), 0);
        assert!(cache.get("hash", 1).is_some());
    }

    #[test]
    fn forgotten_session_not_served() {
        let cache = SessionCache::default();
        let user = UserId::new();
        cache.put("a", session(&user, 100), cache.generation(), 0);
        cache.put("b", session(&user, 100), cache.generation(), 0);
        cache.forget_session("a");
        assert!(cache.get("a", 1).is_none());
        assert!(cache.get("b", 1).is_some());
    }

    #[test]
    fn forgotten_user_loses_every_session() {
        let cache = SessionCache::default();
        let (user, other) = (UserId::new(), UserId::new());
        cache.put("a", session(&user, 100), cache.generation(), 0);
        cache.put("b", session(&user, 100), cache.generation(), 0);
        cache.put("c", session(&other, 100), cache.generation(), 0);
        cache.forget_user(&user);
        assert!(cache.get("a", 1).is_none());
        assert!(cache.get("b", 1).is_none());
        assert!(cache.get("c", 1).is_some());
    }

    #[test]
    fn cleared_cache_serves_nothing() {
        let cache = SessionCache::default();
        let user = UserId::new();
        cache.put("a", session(&user, 100), cache.generation(), 0);
        cache.clear();
        assert!(cache.get("a", 1).is_none());
    }

    #[test]
    fn rows_read_before_invalidation_not_cached() {
        let cache = SessionCache::default();
        let user = UserId::new();
        let generation = cache.generation();
        cache.forget_user(&UserId::new());
        cache.put("a", session(&user, 100), generation, 0);
        assert!(cache.get("a", 1).is_none());
    }

    #[test]
    fn expired_session_not_served() {
        let cache = SessionCache::default();
        let user = UserId::new();
        cache.put("a", session(&user, 100), cache.generation(), 0);
        assert!(cache.get("a", 99).is_some());
        assert!(cache.get("a", 100).is_none());
    }

    #[test]
    fn stale_entry_read_again() {
        let cache = SessionCache::default();
        let user = UserId::new();
        cache.put("a", session(&user, i64::MAX), cache.generation(), 0);
        assert!(cache.get("a", SESSION_TTL_US).is_none());
    }
}
