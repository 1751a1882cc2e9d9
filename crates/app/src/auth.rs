//! Sign-in, sessions, API keys and passwords.
//!
//! Passwords are hashed with Argon2id (the argon2 crate's defaults: 19 MiB, 2 passes, 1 lane)
//! on a few dedicated threads so the async runtime never stalls. Session tokens, CSRF tokens and API
//! keys are 256 random bits; the database keeps only the SHA-256 of tokens and keys.

use std::sync::{mpsc, Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tandem_domain::{ApiKeyId, EmailAddress, MembershipId, Name, Role, UserId, WhiteLabelId};
use tandem_store::{api_keys, memberships, sessions, users};

use crate::access::{Principal, WhiteLabelAdmin};
use crate::audit::{record, Change};
use crate::session_cache::CachedSession;
use crate::two_factor::PendingSignIn;
use crate::validate::Fields;
use crate::{App, AppError, AppResult};

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted; longer input is rejected rather than hashed.
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The prefix of every API key, so leaked keys are easy to recognise.
pub const API_KEY_PREFIX: &str = "tdm_";

/// Failed sign-ins allowed per email address within [`FAILURE_WINDOW_US`] before it is locked.
pub const MAX_FAILURES_PER_EMAIL: usize = 10;
/// Failed sign-ins allowed per source address within [`FAILURE_WINDOW_US`].
pub const MAX_FAILURES_PER_SOURCE: usize = 30;
/// The window in which failures count, in microseconds (15 minutes).
pub const FAILURE_WINDOW_US: i64 = 15 * 60 * 1_000_000;
/// How long a locked email or source stays locked, in microseconds (15 minutes).
pub const LOCKOUT_US: i64 = 15 * 60 * 1_000_000;

/// Counts failed sign-ins per email address and per source address, and locks either out for
/// a while once it passes its limit; a correct password does not open a lock.
// NOTE: the counts live in this process only; behind several servers each one counts apart.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    entries: std::sync::Mutex<std::collections::HashMap<String, Attempts>>,
}

#[derive(Debug, Default)]
struct Attempts {
    failures: Vec<i64>,
    locked_until: i64,
}

impl SignInLimiter {
    /// Seconds until `key` may try again, if it is locked.
    pub(crate) fn locked(&self, key: &str, now: i64) -> Option<u64> {
        let entries = self.entries.lock().expect("limiter lock");
        let until = entries.get(key).map(|a| a.locked_until).unwrap_or(0);
        (until > now).then(|| ((until - now) / 1_000_000).max(1) as u64)
    }

    /// Records a failure for `key`, locking it once `limit` failures fall in the window.
    pub(crate) fn fail(&self, key: &str, limit: usize, now: i64) {
        let mut entries = self.entries.lock().expect("limiter lock");
        if entries.len() > 100_000 {
            entries.retain(|_, a| {
                a.locked_until > now
                    || a.failures
                        .last()
                        .is_some_and(|t| now - t < FAILURE_WINDOW_US)
            });
        }
        let attempts = entries.entry(key.to_string()).or_default();
        attempts.failures.retain(|t| now - t < FAILURE_WINDOW_US);
        attempts.failures.push(now);
        if attempts.failures.len() >= limit {
            attempts.locked_until = now + LOCKOUT_US;
            attempts.failures.clear();
        }
    }

    /// Counts an attempt at something limited by volume, whether or not it succeeds; fails
    /// once `limit` attempts fall in the window, until the lock ends.
    pub fn throttle(&self, key: &str, limit: usize, now: i64) -> Result<(), u64> {
        if let Some(wait) = self.locked(key, now) {
            return Err(wait);
        }
        self.fail(key, limit, now);
        Ok(())
    }

    pub(crate) fn clear(&self, key: &str) {
        self.entries.lock().expect("limiter lock").remove(key);
    }
}

/// A new session: the cookie value and the CSRF token of its forms.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user_id: UserId,
}

/// The state of a sign-in after the password passed.
#[derive(Debug, Clone)]
pub enum SignInStep {
    /// Signed in: the new session.
    Complete(NewSession),
    /// The user has an authenticator: no session yet, and the browser must send a code with
    /// the pending sign-in's token to [`App::complete_two_factor_sign_in`].
    SecondFactor(PendingSignIn),
}

/// A session found for a cookie.
#[derive(Debug, Clone)]
pub struct SessionPrincipal {
    pub principal: Principal,
    pub csrf_token: String,
    /// True when a white label requires this user to sign in with a second factor and they
    /// have no authenticator yet: until they enrol, the portal lets them only enrol or sign out.
    pub must_enrol_two_factor: bool,
}

/// A newly created API key; `secret` is shown once and never again.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    pub id: ApiKeyId,
    pub secret: String,
    pub key_prefix: String,
}

/// Returns 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a token, hex-encoded, as stored.
pub fn token_hash(token: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(2 * digest.len());
    for byte in digest {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Compares two hashes in constant time.
pub fn hashes_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Checks a new password against the length rules.
pub fn check_password(password: &str) -> Result<(), tandem_domain::ValueError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(tandem_domain::ValueError::new(
            "password_too_short",
            format!("use at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(tandem_domain::ValueError::new(
            "password_too_long",
            format!("use at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Bounds how many Argon2id jobs are handed to the hashing threads at once: two per thread,
/// one computing and one waiting, so a thread that finishes a job starts the next at once. With
/// one job per thread, the next job waited for a runtime thread to take the freed permit. While
/// the hashing threads kept every CPU busy, that wait could take milliseconds. Further sign-ins
/// wait here and hold no hashing memory.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(2 * hashing_threads()))
}

/// The prefix of each password hashing thread's name, which the thread's index follows. Linux
/// keeps only the first 15 bytes of a thread's name, so the prefix must stay shorter than that.
pub const HASHING_THREAD_PREFIX: &str = "tandem-argon2-";

/// One hashing thread per CPU, and at least two.
fn hashing_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

type HashingJob = Box<dyn FnOnce() + Send>;

/// The queue of the threads that run Argon2id. A fixed set of threads bounds the memory that
/// the allocator keeps after each 19 MiB computation: glibc keeps freed large blocks in the
/// arena of the thread that used them, so running them on Tokio's blocking pool, which starts
/// new threads as it needs, left hundreds of MiB resident after a burst of sign-ins.
fn hashing_queue() -> &'static Mutex<mpsc::Sender<HashingJob>> {
    static QUEUE: OnceLock<Mutex<mpsc::Sender<HashingJob>>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (sender, receiver) = mpsc::channel::<HashingJob>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..hashing_threads() {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{HASHING_THREAD_PREFIX}{index}"))
                .spawn(move || loop {
                    let job = match receiver.lock() {
                        Ok(receiver) => receiver.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "starting a password hashing thread failed");
            }
        }
        Mutex::new(sender)
    })
}

/// Runs `work` on a hashing thread and waits for its result.
async fn on_hashing_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> AppResult<T> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let job: HashingJob = Box::new(move || {
        let _ = sender.send(work());
    });
    hashing_queue()
        .lock()
        .map_err(|_| AppError::Internal("password hashing queue poisoned".into()))?
        .send(job)
        .map_err(|_| AppError::Internal("no password hashing thread is running".into()))?;
    receiver
        .await
        .map_err(|_| AppError::Internal("password hashing task failed".into()))
}

/// Hashes a password with Argon2id on a hashing thread.
pub async fn hash_password(password: String) -> AppResult<String> {
    on_hashing_thread(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
    })
    .await?
}

/// Verifies a password against a stored hash on a hashing thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    on_hashing_thread(move || verify_with_thread_memory(password.as_bytes(), &hash))
        .await
        .unwrap_or(false)
}

thread_local! {
    /// The Argon2 working memory of one hashing thread, kept between verifications so that
    /// each does not allocate and free 19 MiB.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC-format Argon2 hash, computing in this thread's reused
/// working memory. Any malformed hash fails verification.
fn verify_with_thread_memory(password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let mut salt_buffer = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buffer) else {
        return false;
    };
    let mut output = vec![0u8; expected.len()];
    let blocks = params.block_count();
    let computed = ARGON2_MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password,
            salt,
            &mut output,
            &mut memory[..blocks],
        )
    });
    if computed.is_err() {
        return false;
    }
    // Output's equality is constant-time.
    argon2::password_hash::Output::new(&output).is_ok_and(|output| output == expected)
}

/// A hash of a random password, verified against when the email is unknown so that a wrong
/// email costs as much time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(random_token().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .unwrap_or_default()
    })
}

impl App {
    /// Signs in a user who has no authenticator, with email and password, and opens a new
    /// session. A user with an authenticator fails with `Forbidden` here: the portal signs
    /// them in with [`App::sign_in_with_password`] and the second step.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        source_ip: Option<String>,
    ) -> AppResult<NewSession> {
        match self
            .sign_in_with_password(email, password, source_ip)
            .await?
        {
            SignInStep::Complete(session) => Ok(session),
            SignInStep::SecondFactor(_) => Err(AppError::Forbidden(
                "this user signs in with a second factor: use the portal's sign-in page".into(),
            )),
        }
    }

    /// Checks a user's email and password. Opens a session at once for a user without an
    /// authenticator; for one with an authenticator, opens a pending sign-in that waits for a
    /// code. A wrong password and an unknown email fail the same way and take about the same
    /// time.
    pub async fn sign_in_with_password(
        &self,
        email: &str,
        password: &str,
        source_ip: Option<String>,
    ) -> AppResult<SignInStep> {
        let email_key = email.trim().to_lowercase();
        let now = self.now_us();
        let email_limit_key = format!("email:{email_key}");
        let source_limit_key = format!("source:{}", source_ip.as_deref().unwrap_or("unknown"));
        let locked = self
            .sign_in_limiter
            .locked(&email_limit_key, now)
            .or_else(|| self.sign_in_limiter.locked(&source_limit_key, now));
        if let Some(retry_after_secs) = locked {
            tracing::warn!(
                source_ip = source_ip.as_deref(),
                "sign-in refused: locked out"
            );
            return Err(AppError::RateLimited { retry_after_secs });
        }
        let mut conn = self.store.conn().await?;
        let found = users::find_for_sign_in(&mut conn, &email_key).await?;
        drop(conn);
        let (user, two_factor) = match found {
            Some((user, two_factor)) => (Some(user), two_factor),
            None => (None, false),
        };

        let hash = match &user {
            Some(user) if user.status == "active" => user.password_hash.clone(),
            _ => None,
        };
        let decoy = hash.is_none();
        let hash = hash.unwrap_or_else(|| decoy_hash().to_string());
        let verified = verify_password(password.to_string(), hash).await;
        let user = match user {
            Some(user) if verified && !decoy => user,
            _ => {
                self.sign_in_limiter
                    .fail(&email_limit_key, MAX_FAILURES_PER_EMAIL, now);
                self.sign_in_limiter
                    .fail(&source_limit_key, MAX_FAILURES_PER_SOURCE, now);
                self.record_failed_sign_in(&email_key, source_ip.as_deref(), now)
                    .await?;
                tracing::info!(source_ip = source_ip.as_deref(), "sign-in failed");
                return Err(AppError::Unauthenticated);
            }
        };
        if two_factor {
            // The email's failure count is cleared only once the code passes too, so wrong
            // codes after a right password still lead to the lockout.
            let pending = self.open_challenge(&user.id).await?;
            tracing::info!(user.id = %user.id, "password accepted; waiting for a code");
            return Ok(SignInStep::SecondFactor(pending));
        }
        self.sign_in_limiter.clear(&email_limit_key);

        let session = self.open_session(&user.id, source_ip.as_deref()).await?;
        tracing::info!(user.id = %user.id, "signed in");
        Ok(SignInStep::Complete(session))
    }

    /// Counts an attempt under `key` (such as `reset:source:192.0.2.1`), failing with
    /// `RateLimited` once `limit` attempts fall within 15 minutes.
    pub fn throttle(&self, key: &str, limit: usize) -> AppResult<()> {
        self.sign_in_limiter
            .throttle(key, limit, self.now_us())
            .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
    }

    async fn record_failed_sign_in(
        &self,
        email_key: &str,
        source_ip: Option<&str>,
        now: i64,
    ) -> AppResult<()> {
        let mut conn = self.store.conn().await?;
        let actor = crate::access::Actor {
            user_id: None,
            api_key_id: None,
            label: email_key.chars().take(254).collect(),
            source_ip: source_ip.map(str::to_string),
        };
        record(
            &mut conn,
            now,
            &actor,
            Change {
                action: "sign_in.failed",
                object_kind: "user",
                object_id: email_key,
                ..Change::default()
            },
        )
        .await
    }

    /// Opens a new session for a user who has just proved who they are.
    pub(crate) async fn open_session(
        &self,
        user_id: &UserId,
        source_ip: Option<&str>,
    ) -> AppResult<NewSession> {
        let session = NewSession {
            token: random_token(),
            csrf_token: random_token(),
            user_id: user_id.clone(),
        };
        let now = self.now_us();
        let expires = now + self.settings.session_ttl.as_micros() as i64;
        let row = sessions::NewSessionRow {
            token_hash: &token_hash(&session.token),
            user_id,
            csrf_token: &session.csrf_token,
            source_ip,
            created_us: now,
            expires_us: expires,
        };
        let mut conn = self.store.conn().await?;
        sessions::open(&mut conn, &row).await?;
        self.session_cache.forget_user(user_id);
        Ok(session)
    }

    /// Finds the principal of a session cookie, if the session is live. A session read within
    /// the last 30 seconds comes from the in-memory cache, which the use cases that change a
    /// user, their memberships or sessions clear.
    pub async fn session(
        &self,
        token: &str,
        source_ip: Option<String>,
    ) -> AppResult<Option<SessionPrincipal>> {
        let hash = token_hash(token);
        let now = self.now_us();
        let session = match self.session_cache.get(&hash, now) {
            Some(session) => session,
            None => {
                let generation = self.session_cache.generation();
                let Some(session) = self.read_session(&hash, now).await? else {
                    return Ok(None);
                };
                self.session_cache
                    .put(&hash, session.clone(), generation, now);
                session
            }
        };
        Ok(Some(SessionPrincipal {
            principal: Principal::user(session.user, session.memberships, source_ip),
            csrf_token: session.csrf_token,
            must_enrol_two_factor: session.must_enrol_two_factor,
        }))
    }

    /// Reads a live session, its active user, the user's active memberships and whether they
    /// must enrol an authenticator.
    async fn read_session(&self, hash: &str, now: i64) -> AppResult<Option<CachedSession>> {
        let mut conn = self.store.conn().await?;
        let Some(session) = sessions::find_live(&mut conn, hash, now).await? else {
            return Ok(None);
        };
        let Some(user) = users::get(&mut conn, &session.user_id).await? else {
            return Ok(None);
        };
        if user.status != "active" {
            return Ok(None);
        }
        let memberships = memberships::active_for_user(&mut conn, &user.id).await?;
        let must_enrol_two_factor = crate::two_factor::required_for(&mut conn, &memberships)
            .await?
            && !tandem_store::two_factor::get(&mut conn, &user.id)
                .await?
                .is_some_and(|row| row.is_active());
        Ok(Some(CachedSession {
            user,
            memberships,
            csrf_token: session.csrf_token,
            expires_us: session.expires_us,
            must_enrol_two_factor,
        }))
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> AppResult<()> {
        let hash = token_hash(token);
        let mut conn = self.store.conn().await?;
        sessions::delete(&mut conn, &hash).await?;
        self.session_cache.forget_session(&hash);
        Ok(())
    }

    /// Finds the principal of an API key, if the key exists and is not revoked.
    pub async fn api_key_principal(
        &self,
        secret: &str,
        source_ip: Option<String>,
    ) -> AppResult<Option<Principal>> {
        if !secret.starts_with(API_KEY_PREFIX) {
            return Ok(None);
        }
        let hash = token_hash(secret);
        let now = self.now_us();
        let key = match self.api_key_cache.get(&hash, now) {
            Some(key) => key,
            None => {
                let generation = self.api_key_cache.generation();
                let mut conn = self.store.conn().await?;
                let Some(key) = api_keys::find_active_by_hash(&mut conn, &hash).await? else {
                    return Ok(None);
                };
                self.api_key_cache.put(&hash, key.clone(), generation, now);
                key
            }
        };
        // The last use is recorded at most once a minute; skipping the UPDATE otherwise keeps
        // every request from taking SQLite's write lock.
        if key.last_used_us.is_none_or(|last| now - last >= 60_000_000) {
            let mut conn = self.store.conn().await?;
            api_keys::touch(&mut conn, &key.id, now).await?;
            self.api_key_cache.touched(&hash, now);
        }
        Ok(Some(Principal::api_key(key, source_ip)))
    }

    /// Creates a White Label API key; the secret is in the result and nowhere else.
    pub async fn create_api_key(
        &self,
        admin: &WhiteLabelAdmin,
        name: &str,
    ) -> AppResult<CreatedApiKey> {
        admin.require(tandem_domain::Permission::ManageApiKeys)?;
        let name = Name::parse(name, 80).map_err(|e| AppError::field("name", e))?;
        let secret = format!("{API_KEY_PREFIX}{}", random_token());
        let key_prefix: String = secret.chars().take(API_KEY_PREFIX.len() + 6).collect();
        let id = ApiKeyId::new();

        let mut tx = self.store.begin().await?;
        let new_key = api_keys::NewApiKey {
            id: &id,
            white_label_id: admin.white_label_id(),
            customer_id: None,
            role: Role::WhiteLabel.as_str(),
            name: name.as_str(),
            key_prefix: &key_prefix,
            key_hash: &token_hash(&secret),
            created_by: admin.actor().user_id(),
        };
        api_keys::insert(&mut tx, &new_key, self.now_us()).await?;
        let after =
            serde_json::json!({"name": name.as_str(), "role": "white_label", "prefix": key_prefix});
        record(
            &mut tx,
            self.now_us(),
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "api_key.created",
                object_kind: "api_key",
                object_id: id.as_str(),
                after: Some(after),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiKey {
            id,
            secret,
            key_prefix,
        })
    }

    /// Lists a white label's API keys (never their secrets).
    pub async fn list_api_keys(
        &self,
        admin: &WhiteLabelAdmin,
    ) -> AppResult<Vec<api_keys::ApiKeyRow>> {
        admin.require(tandem_domain::Permission::ManageApiKeys)?;
        let mut conn = self.store.conn().await?;
        Ok(api_keys::list(&mut conn, admin.white_label_id()).await?)
    }

    /// Revokes one of the white label's API keys.
    pub async fn revoke_api_key(&self, admin: &WhiteLabelAdmin, id: &ApiKeyId) -> AppResult<()> {
        admin.require(tandem_domain::Permission::ManageApiKeys)?;
        let mut tx = self.store.begin().await?;
        if !api_keys::revoke(&mut tx, admin.white_label_id(), id, self.now_us()).await? {
            return Err(AppError::NotFound("API key"));
        }
        record(
            &mut tx,
            self.now_us(),
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "api_key.revoked",
                object_kind: "api_key",
                object_id: id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.api_key_cache.forget(id);
        Ok(())
    }

    /// Creates a user with a password and a membership, or adds the membership to the existing
    /// user with that email. Used by the command line and the demo; the team pages build on it.
    pub async fn ensure_user_with_role(
        &self,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        white_label_id: Option<&WhiteLabelId>,
    ) -> AppResult<UserId> {
        let mut fields = Fields::default();
        let email = fields.check("email", EmailAddress::parse(email));
        let name = fields.check("name", Name::parse(name, 120));
        fields.check("password", check_password(password));
        if role.scope() != tandem_domain::ScopeKind::Platform && white_label_id.is_none() {
            fields.push(crate::FieldError::custom(
                "white_label_id",
                "required",
                "name the white label this role applies to",
            ));
        }
        fields.finish()?;
        let (email, name) = (email.expect("checked"), name.expect("checked"));
        let hash = hash_password(password.to_string()).await?;

        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let user_id = match users::find_by_email_key(&mut tx, &email.key()).await? {
            Some(user) => {
                users::set_password_hash(&mut tx, &user.id, &hash).await?;
                user.id
            }
            None => {
                let id = UserId::new();
                users::insert(
                    &mut tx,
                    &id,
                    email.as_str(),
                    &email.key(),
                    name.as_str(),
                    Some(&hash),
                    now,
                )
                .await?;
                id
            }
        };
        let scope = match white_label_id {
            Some(wl) if role.scope() == tandem_domain::ScopeKind::WhiteLabel => {
                memberships::Scope::WhiteLabel(wl)
            }
            _ => memberships::Scope::Platform,
        };
        let membership_id = MembershipId::new();
        memberships::insert_if_absent(&mut tx, &membership_id, &user_id, role.as_str(), scope, now)
            .await?;
        record(
            &mut tx,
            now,
            &crate::access::Actor::command_line(),
            Change {
                white_label_id,
                action: "membership.created",
                object_kind: "user",
                object_id: user_id.as_str(),
                after: Some(serde_json::json!({"email": email.as_str(), "role": role.as_str()})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user_id);
        Ok(user_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn random_token_has_256_bits() {
        assert_eq!(URL_SAFE_NO_PAD.decode(random_token()).unwrap().len(), 32);
    }

    #[test]
    fn password_too_short_rejected() {
        assert_eq!(
            check_password("short").unwrap_err().code,
            "password_too_short"
        );
    }

    #[tokio::test]
    async fn password_hash_verifies() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), hash).await);
    }

    #[test]
    fn thread_memory_verifies_crate_hashes() {
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        let hash = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify_with_thread_memory(b"correct horse battery", &hash));
        assert!(verify_with_thread_memory(b"correct horse battery", &hash));
        assert!(!verify_with_thread_memory(b"wrong horse battery", &hash));
        assert!(!verify_with_thread_memory(
            b"correct horse battery",
            "not a hash"
        ));
    }
}
