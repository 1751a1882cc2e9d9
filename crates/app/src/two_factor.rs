//! Two-factor sign-in with authenticator apps: TOTP (RFC 6238) over HMAC-SHA-1, 6 digits,
//! 30-second steps, and single-use recovery codes.
//!
//! Enrolment stores a pending secret and activates it only when the user enters a valid code.
//! A sign-in of an enrolled user stops after the password at a challenge bound to the browser,
//! which holds a random token in a cookie while the database keeps its SHA-256. A session opens
//! only when a code passes. A code is accepted once, because the last accepted time step is
//! stored and only later steps pass. Codes and secrets are never logged or audited.

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use sha1::Sha1;
use tandem_domain::{Role, UserId};
use tandem_store::memberships::MembershipRow;
use tandem_store::two_factor as store;
use tandem_store::{users, Conn};

use crate::access::{Actor, Principal, WhiteLabelAdmin};
use crate::audit::{record, Change};
use crate::auth::{
    hashes_match, random_token, token_hash, verify_password, NewSession, MAX_FAILURES_PER_EMAIL,
    MAX_FAILURES_PER_SOURCE,
};
use crate::{App, AppError, AppResult, FieldError};

/// The length of a TOTP step, in seconds (RFC 6238's default).
pub const STEP_SECS: i64 = 30;
/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Steps before and after the current one whose codes are also accepted, for clock drift.
pub const ALLOWED_DRIFT_STEPS: i64 = 1;
/// Bytes of a new secret (160 bits, the size RFC 4226 recommends for HMAC-SHA-1).
pub const SECRET_BYTES: usize = 20;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// How long a sign-in waits for its second factor, in microseconds (5 minutes).
pub const CHALLENGE_TTL_US: i64 = 5 * 60 * 1_000_000;
/// Wrong codes one challenge takes before it is dropped and the password is asked again.
pub const MAX_CHALLENGE_FAILURES: i64 = 5;

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes bytes as RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(
                BASE32_ALPHABET[((buffer >> bits) & 31) as usize],
            ));
        }
    }
    if bits > 0 {
        out.push(char::from(
            BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize],
        ));
    }
    out
}

/// Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let upper = c.to_ascii_uppercase() as u8;
        let value = BASE32_ALPHABET.iter().position(|&a| a == upper)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// Computes the HOTP value (RFC 4226) of `secret` for counter `step`, as `digits` decimal
/// digits with leading zeros. TOTP is HOTP with the counter set to the Unix time divided by
/// [`STEP_SECS`].
pub fn totp(secret: &[u8], step: i64, digits: u32) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    let value = u64::from(binary) % 10u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// Returns the TOTP step of a time in microseconds since the Unix epoch.
pub fn step_at(now_us: i64) -> i64 {
    now_us.div_euclid(1_000_000).div_euclid(STEP_SECS)
}

/// Builds the `otpauth://` URI that authenticator apps read, labelled `issuer:account`, in the
/// Key Uri Format of Google Authenticator that other apps follow too.
pub fn otpauth_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    let encode = |s: &str| -> String {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}\
         &period={STEP_SECS}",
        encode(issuer),
        encode(account),
        encode(issuer)
    )
}

/// Generates a recovery code: 10 characters from the base32 alphabet in two groups of five, such as
/// `ab3cd-ef7gh` (50 random bits).
fn new_recovery_code() -> String {
    let mut bytes = [0u8; 10];
    OsRng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(BASE32_ALPHABET[usize::from(b & 31)]).to_ascii_lowercase())
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Hashes a recovery code for storage: the SHA-256 of its characters, lower case, without the
/// dash or spaces, so that `AB3CD EF7GH` matches `ab3cd-ef7gh`.
fn recovery_code_hash(code: &str) -> String {
    let normalised: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    token_hash(&normalised)
}

/// Returns the digits of `input` if it is a TOTP code once spaces are removed.
fn as_totp_code(input: &str) -> Option<String> {
    let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.chars().all(|c| c.is_ascii_digit()))
        .then_some(digits)
}

/// Finds the step within the allowed drift around `now_step` whose code is `code`.
fn matching_step(secret: &[u8], code: &str, now_step: i64) -> Option<i64> {
    (now_step - ALLOWED_DRIFT_STEPS..=now_step + ALLOWED_DRIFT_STEPS)
        .find(|step| hashes_match(&totp(secret, *step, DIGITS), code))
}

/// An authenticator being enrolled: the secret to type or the URI to open in the app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_uri: String,
}

/// The state of a user's two-factor sign-in.
#[derive(Debug, Clone)]
pub enum TwoFactorStatus {
    /// No authenticator.
    Off,
    /// A secret was issued and waits for a valid code.
    Pending(Enrolment),
    /// Enrolled, so sign-in requires a code.
    Active { unused_recovery_codes: i64 },
}

/// A sign-in that passed the password and waits for a code: `token` goes in a cookie of the
/// browser that signed in and nowhere else.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub token: String,
}

fn wrong_code() -> AppError {
    AppError::Invalid(vec![FieldError::custom(
        "code",
        "wrong_code",
        "that code is not right: enter the 6-digit code your authenticator app shows now, or \
         one of your recovery codes",
    )])
}

fn person(principal: &Principal) -> AppResult<&users::UserRow> {
    principal
        .user_row()
        .ok_or_else(|| AppError::Forbidden("API keys do not use two-factor sign-in".into()))
}

/// Returns whether the memberships include a role for which a white label requires a second
/// factor: an administrator of that white label, or an Account Administrator of its customers.
pub(crate) async fn required_for(
    conn: &mut Conn,
    memberships: &[MembershipRow],
) -> AppResult<bool> {
    for membership in memberships {
        let Some(white_label_id) = &membership.white_label_id else {
            continue;
        };
        let covered = membership.customer_id.is_none()
            || membership.role == Role::AccountAdministrator.as_str();
        if covered && store::required_by(conn, white_label_id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

impl App {
    /// Reads the state of the signed-in user's two-factor sign-in. `issuer` names the portal in
    /// the authenticator app: the white label's name, or the platform's.
    pub async fn two_factor_status(
        &self,
        principal: &Principal,
        issuer: &str,
    ) -> AppResult<TwoFactorStatus> {
        let user = person(principal)?;
        let mut conn = self.store.conn().await?;
        let Some(row) = store::get(&mut conn, &user.id).await? else {
            return Ok(TwoFactorStatus::Off);
        };
        if row.is_active() {
            let unused_recovery_codes = store::unused_recovery_codes(&mut conn, &user.id).await?;
            return Ok(TwoFactorStatus::Active {
                unused_recovery_codes,
            });
        }
        Ok(TwoFactorStatus::Pending(Enrolment {
            otpauth_uri: otpauth_uri(issuer, &user.email, &row.secret_base32),
            secret_base32: row.secret_base32,
        }))
    }

    /// Issues a new 160-bit secret for the signed-in user, pending until confirmed with
    /// [`App::confirm_two_factor`]. Fails if they already have an active authenticator.
    pub async fn start_two_factor(
        &self,
        principal: &Principal,
        issuer: &str,
    ) -> AppResult<Enrolment> {
        let user = person(principal)?;
        let mut secret = [0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut secret);
        let secret_base32 = base32_encode(&secret);
        let mut tx = self.store.begin().await?;
        if !store::put_pending(&mut tx, &user.id, &secret_base32, self.now_us()).await? {
            return Err(AppError::Conflict {
                code: "two_factor_active",
                message: "two-factor sign-in is already on: turn it off first to enrol another \
                          authenticator"
                    .into(),
                field: None,
            });
        }
        tx.commit().await?;
        Ok(Enrolment {
            otpauth_uri: otpauth_uri(issuer, &user.email, &secret_base32),
            secret_base32,
        })
    }

    /// Activates the pending authenticator when `code` is valid for it, and returns the
    /// recovery codes, which are shown once: only their hashes are stored.
    pub async fn confirm_two_factor(
        &self,
        principal: &Principal,
        code: &str,
    ) -> AppResult<Vec<String>> {
        let user = person(principal)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let row = store::get(&mut tx, &user.id)
            .await?
            .filter(|row| !row.is_active())
            .ok_or(AppError::NotFound("pending two-factor enrolment"))?;
        let secret = base32_decode(&row.secret_base32)
            .ok_or_else(|| AppError::Internal("stored TOTP secret is not base32".into()))?;

        let step = as_totp_code(code).and_then(|code| matching_step(&secret, &code, step_at(now)));
        let Some(step) = step else {
            drop(tx);
            self.record_failed_code(principal.actor(), &user.id, "enrolment")
                .await?;
            return Err(wrong_code());
        };

        store::activate(&mut tx, &user.id, step, now).await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| recovery_code_hash(c)).collect();
        store::replace_recovery_codes(&mut tx, &user.id, &hashes, now).await?;
        record(
            &mut tx,
            now,
            principal.actor(),
            Change {
                action: "two_factor.enabled",
                object_kind: "user",
                object_id: user.id.as_str(),
                after: Some(serde_json::json!({"recovery_codes": RECOVERY_CODES})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user.id);
        tracing::info!(user.id = %user.id, "two-factor sign-in enabled");
        Ok(codes)
    }

    /// Turns two-factor sign-in off for the signed-in user, who proves it is them with their
    /// password and a current code or an unused recovery code.
    pub async fn disable_two_factor(
        &self,
        principal: &Principal,
        password: &str,
        code: &str,
    ) -> AppResult<()> {
        let user = person(principal)?;
        let stored = user.password_hash.clone().unwrap_or_default();
        if !verify_password(password.to_string(), stored).await {
            return Err(AppError::field(
                "password",
                tandem_domain::ValueError::new(
                    "wrong_password",
                    "that is not your password: enter the password you sign in with",
                ),
            ));
        }

        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let row = store::get(&mut tx, &user.id)
            .await?
            .ok_or(AppError::NotFound("two-factor authenticator"))?;
        if row.is_active() && !self.check_code(&mut tx, &row, code, now).await? {
            drop(tx);
            self.record_failed_code(principal.actor(), &user.id, "removal")
                .await?;
            return Err(wrong_code());
        }

        store::delete(&mut tx, &user.id).await?;
        store::delete_challenges_for_user(&mut tx, &user.id).await?;
        record(
            &mut tx,
            now,
            principal.actor(),
            Change {
                action: "two_factor.disabled",
                object_kind: "user",
                object_id: user.id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.session_cache.forget_user(&user.id);
        tracing::info!(user.id = %user.id, "two-factor sign-in disabled");
        Ok(())
    }

    /// Sets whether a white label's administrators and its customers' Account Administrators
    /// must sign in with a second factor.
    pub async fn set_two_factor_requirement(
        &self,
        admin: &WhiteLabelAdmin,
        required: bool,
    ) -> AppResult<()> {
        admin.require(tandem_domain::Permission::ManageWhiteLabelSettings)?;
        let mut tx = self.store.begin().await?;
        let before = store::required_by(&mut tx, admin.white_label_id()).await?;
        store::set_required_by(&mut tx, admin.white_label_id(), required).await?;
        record(
            &mut tx,
            self.now_us(),
            admin.actor(),
            Change {
                white_label_id: Some(admin.white_label_id()),
                on_behalf_of: admin.on_behalf_of(),
                action: "white_label.two_factor_requirement_changed",
                object_kind: "white_label",
                object_id: admin.white_label_id().as_str(),
                before: Some(serde_json::json!({"require_two_factor": before})),
                after: Some(serde_json::json!({"require_two_factor": required})),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        // The requirement applies to every administrator of the white label and of its
        // customers, so every cached session is read again.
        self.session_cache.clear();
        Ok(())
    }

    /// Returns whether a white label requires a second factor of its administrators and its
    /// customers' Account Administrators.
    pub async fn two_factor_requirement(&self, admin: &WhiteLabelAdmin) -> AppResult<bool> {
        let mut conn = self.store.conn().await?;
        Ok(store::required_by(&mut conn, admin.white_label_id()).await?)
    }

    /// Starts the second step of a sign-in for a user with an active authenticator.
    pub(crate) async fn open_challenge(&self, user_id: &UserId) -> AppResult<PendingSignIn> {
        let token = random_token();
        let now = self.now_us();
        let mut conn = self.store.conn().await?;
        store::delete_expired_challenges(&mut conn, now).await?;
        store::insert_challenge(
            &mut conn,
            &token_hash(&token),
            user_id,
            now,
            now + CHALLENGE_TTL_US,
        )
        .await?;
        Ok(PendingSignIn { token })
    }

    /// Opens a session for a user who has just proved their password, unless they have an
    /// authenticator: then opens a pending sign-in that waits for their code.
    pub(crate) async fn session_or_challenge(
        &self,
        user_id: &UserId,
        source_ip: Option<&str>,
    ) -> AppResult<crate::auth::SignInStep> {
        if self.has_active_two_factor(user_id).await? {
            let pending = self.open_challenge(user_id).await?;
            return Ok(crate::auth::SignInStep::SecondFactor(pending));
        }
        let session = self.open_session(user_id, source_ip).await?;
        Ok(crate::auth::SignInStep::Complete(session))
    }

    /// Returns whether a user has an active authenticator.
    pub(crate) async fn has_active_two_factor(&self, user_id: &UserId) -> AppResult<bool> {
        let mut conn = self.store.conn().await?;
        Ok(store::get(&mut conn, user_id)
            .await?
            .is_some_and(|row| row.is_active()))
    }

    /// Completes a sign-in waiting at its second step: `challenge` is the browser's token and
    /// `code` a current TOTP code or an unused recovery code. A wrong code counts as a failed
    /// sign-in of the user's email and the source address, and the challenge is dropped after
    /// [`MAX_CHALLENGE_FAILURES`]. Fails with `NotFound` when the challenge is unknown or
    /// expired, so the password must be entered again.
    pub async fn complete_two_factor_sign_in(
        &self,
        challenge: &str,
        code: &str,
        source_ip: Option<String>,
    ) -> AppResult<NewSession> {
        let now = self.now_us();
        let challenge_hash = token_hash(challenge);
        let mut conn = self.store.conn().await?;
        let Some(pending) = store::find_live_challenge(&mut conn, &challenge_hash, now).await?
        else {
            return Err(AppError::NotFound("sign-in waiting for a code"));
        };
        let user = users::get(&mut conn, &pending.user_id)
            .await?
            .filter(|user| user.status == "active")
            .ok_or(AppError::Unauthenticated)?;
        drop(conn);

        let email_limit_key = format!("email:{}", user.email.trim().to_lowercase());
        let source_limit_key = format!("source:{}", source_ip.as_deref().unwrap_or("unknown"));
        let locked = self
            .sign_in_limiter
            .locked(&email_limit_key, now)
            .or_else(|| self.sign_in_limiter.locked(&source_limit_key, now));
        if let Some(retry_after_secs) = locked {
            tracing::warn!(
                source_ip = source_ip.as_deref(),
                "second step refused: locked out"
            );
            return Err(AppError::RateLimited { retry_after_secs });
        }

        let mut tx = self.store.begin().await?;
        let row = store::get(&mut tx, &user.id)
            .await?
            .filter(|row| row.is_active())
            .ok_or(AppError::NotFound("sign-in waiting for a code"))?;
        let used_recovery = as_totp_code(code).is_none();
        if !self.check_code(&mut tx, &row, code, now).await? {
            drop(tx);
            self.sign_in_limiter
                .fail(&email_limit_key, MAX_FAILURES_PER_EMAIL, now);
            self.sign_in_limiter
                .fail(&source_limit_key, MAX_FAILURES_PER_SOURCE, now);
            let mut conn = self.store.conn().await?;
            if pending.failures + 1 >= MAX_CHALLENGE_FAILURES {
                store::delete_challenge(&mut conn, &challenge_hash).await?;
            } else {
                store::fail_challenge(&mut conn, &challenge_hash).await?;
            }
            drop(conn);
            let actor = sign_in_actor(&user, source_ip.as_deref());
            self.record_failed_code(&actor, &user.id, "sign_in").await?;
            tracing::info!(user.id = %user.id, source_ip = source_ip.as_deref(), "second step failed");
            return Err(AppError::Unauthenticated);
        }
        if !store::delete_challenge(&mut tx, &challenge_hash).await? {
            return Err(AppError::NotFound("sign-in waiting for a code"));
        }
        if used_recovery {
            let actor = sign_in_actor(&user, source_ip.as_deref());
            record(
                &mut tx,
                now,
                &actor,
                Change {
                    action: "two_factor.recovery_code_used",
                    object_kind: "user",
                    object_id: user.id.as_str(),
                    ..Change::default()
                },
            )
            .await?;
        }
        tx.commit().await?;
        self.sign_in_limiter.clear(&email_limit_key);
        let session = self.open_session(&user.id, source_ip.as_deref()).await?;
        tracing::info!(user.id = %user.id, "signed in with a second factor");
        Ok(session)
    }

    /// Checks a TOTP code (claiming its step, so it passes once) or a recovery code (marking
    /// it used) inside the caller's transaction.
    async fn check_code(
        &self,
        conn: &mut Conn,
        row: &store::TwoFactorRow,
        code: &str,
        now: i64,
    ) -> AppResult<bool> {
        if let Some(code) = as_totp_code(code) {
            let secret = base32_decode(&row.secret_base32)
                .ok_or_else(|| AppError::Internal("stored TOTP secret is not base32".into()))?;
            let Some(step) = matching_step(&secret, &code, step_at(now)) else {
                return Ok(false);
            };
            return Ok(store::claim_step(conn, &row.user_id, step).await?);
        }
        let trimmed = code.trim();
        if trimmed.is_empty() || trimmed.len() > 64 {
            return Ok(false);
        }
        let hash = recovery_code_hash(trimmed);
        Ok(store::use_recovery_code(conn, &row.user_id, &hash, now).await?)
    }

    /// Audits a wrong code in its own transaction, so the record stays when the use case
    /// fails. `during` is `enrolment`, `removal` or `sign_in`.
    async fn record_failed_code(
        &self,
        actor: &Actor,
        user_id: &UserId,
        during: &str,
    ) -> AppResult<()> {
        let mut conn = self.store.conn().await?;
        record(
            &mut conn,
            self.now_us(),
            actor,
            Change {
                action: "two_factor.failed",
                object_kind: "user",
                object_id: user_id.as_str(),
                reason: Some(during),
                ..Change::default()
            },
        )
        .await
    }
}

fn sign_in_actor(user: &users::UserRow, source_ip: Option<&str>) -> Actor {
    Actor {
        user_id: Some(user.id.clone()),
        api_key_id: None,
        label: user.email.clone(),
        source_ip: source_ip.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The SHA-1 seed of RFC 6238 appendix B: the ASCII string "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn totp_matches_rfc6238_sha1_vectors() {
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (unix_secs, expected) in vectors {
            assert_eq!(
                totp(RFC_SECRET, unix_secs / STEP_SECS, 8),
                expected,
                "T = {unix_secs}"
            );
        }
    }

    #[test]
    fn six_digit_code_is_low_digits() {
        assert_eq!(totp(RFC_SECRET, 59 / STEP_SECS, 6), "287082");
    }

    #[test]
    fn base32_round_trips_rfc4648_vectors() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("mzxw 6ytb oi==").unwrap(), b"foobar");
        assert!(base32_decode("MZ1").is_none());
    }

    #[test]
    fn step_window_allows_one_step_drift() {
        let now_step = 1_000;
        for (step, accepted) in [
            (998, false),
            (999, true),
            (1_000, true),
            (1_001, true),
            (1_002, false),
        ] {
            let code = totp(RFC_SECRET, step, DIGITS);
            assert_eq!(
                matching_step(RFC_SECRET, &code, now_step).is_some(),
                accepted,
                "step {step}"
            );
        }
    }

    #[test]
    fn otpauth_uri_encodes_issuer_and_account() {
        let uri = otpauth_uri("Harbour Voice", "mere@kauri.example", "JBSWY3DP");
        assert_eq!(
            uri,
            "otpauth://totp/Harbour%20Voice:mere%40kauri.example?secret=JBSWY3DP\
             &issuer=Harbour%20Voice&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_code_hash_ignores_case_and_dash() {
        let code = new_recovery_code();
        assert_eq!(code.len(), 11);
        assert_eq!(
            recovery_code_hash(&code),
            recovery_code_hash(&code.to_uppercase().replace('-', " "))
        );
    }
}
