//! Two-factor sign-in: each user's TOTP secret, their recovery codes (as SHA-256 hashes) and
//! the sign-ins waiting for a second factor.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{UserId, WhiteLabelId};

use crate::{flag, Conn, StoreResult};

/// A user's authenticator, pending until confirmed with a valid code.
#[derive(Debug, Clone)]
pub struct TwoFactorRow {
    pub user_id: UserId,
    pub secret_base32: String,
    /// `pending` or `active`.
    pub state: String,
    pub last_used_step: Option<i64>,
    pub enabled_us: Option<i64>,
}

/// The `state` of a confirmed authenticator, for which sign-in requires a code.
pub(crate) const ACTIVE: &str = "active";

impl TwoFactorRow {
    /// Whether the authenticator is confirmed and required at sign-in.
    pub fn is_active(&self) -> bool {
        self.state == ACTIVE
    }
}

fn from_row(row: &AnyRow) -> StoreResult<TwoFactorRow> {
    Ok(TwoFactorRow {
        user_id: UserId::from_trusted(row.try_get("user_id")?),
        secret_base32: row.try_get("secret_base32")?,
        state: row.try_get("state")?,
        last_used_step: row.try_get("last_used_step")?,
        enabled_us: row.try_get("enabled_us")?,
    })
}

/// Reads a user's authenticator, pending or active.
pub async fn get(conn: &mut Conn, user_id: &UserId) -> StoreResult<Option<TwoFactorRow>> {
    let row = sqlx::query(
        "SELECT user_id, secret_base32, state, last_used_step, enabled_us FROM two_factor \
         WHERE user_id = $1",
    )
    .bind(user_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stores a new pending secret for a user, replacing a pending one. Returns false, changing
/// nothing, if the user already has an active authenticator.
pub async fn put_pending(
    conn: &mut Conn,
    user_id: &UserId,
    secret_base32: &str,
    now_us: i64,
) -> StoreResult<bool> {
    sqlx::query("DELETE FROM two_factor WHERE user_id = $1 AND state = 'pending'")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    let result = sqlx::query(
        "INSERT INTO two_factor (user_id, secret_base32, state, created_us) \
         SELECT $1, $2, 'pending', $3 \
         WHERE NOT EXISTS (SELECT 1 FROM two_factor WHERE user_id = $4)",
    )
    .bind(user_id.as_str())
    .bind(secret_base32)
    .bind(now_us)
    .bind(user_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks a pending authenticator active, remembering the time step of the code that confirmed
/// it. Returns false if there was no pending authenticator.
pub async fn activate(
    conn: &mut Conn,
    user_id: &UserId,
    step: i64,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE two_factor SET state = 'active', last_used_step = $1, enabled_us = $2 \
         WHERE user_id = $3 AND state = 'pending'",
    )
    .bind(step)
    .bind(now_us)
    .bind(user_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records that the code of `step` was used. Returns false, so the code must be rejected, if
/// that step or a later one was already used. The check and the update are one statement, so
/// two concurrent uses of one code cannot both pass.
pub async fn claim_step(conn: &mut Conn, user_id: &UserId, step: i64) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE two_factor SET last_used_step = $1 \
         WHERE user_id = $2 AND state = 'active' \
         AND (last_used_step IS NULL OR last_used_step < $3)",
    )
    .bind(step)
    .bind(user_id.as_str())
    .bind(step)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes a user's authenticator and recovery codes.
pub async fn delete(conn: &mut Conn, user_id: &UserId) -> StoreResult<()> {
    sqlx::query("DELETE FROM two_factor_recovery_codes WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM two_factor WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces a user's recovery codes with the given hashes.
pub async fn replace_recovery_codes(
    conn: &mut Conn,
    user_id: &UserId,
    code_hashes: &[String],
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM two_factor_recovery_codes WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    for hash in code_hashes {
        sqlx::query(
            "INSERT INTO two_factor_recovery_codes (user_id, code_hash, created_us) \
             VALUES ($1, $2, $3)",
        )
        .bind(user_id.as_str())
        .bind(hash)
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Marks an unused recovery code used. Returns false if the user has no such unused code.
pub async fn use_recovery_code(
    conn: &mut Conn,
    user_id: &UserId,
    code_hash: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE two_factor_recovery_codes SET used_us = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_us IS NULL",
    )
    .bind(now_us)
    .bind(user_id.as_str())
    .bind(code_hash)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Counts a user's unused recovery codes.
pub async fn unused_recovery_codes(conn: &mut Conn, user_id: &UserId) -> StoreResult<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM two_factor_recovery_codes WHERE user_id = $1 AND used_us IS NULL",
    )
    .bind(user_id.as_str())
    .fetch_one(&mut *conn)
    .await?;
    Ok(count)
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub user_id: UserId,
    pub failures: i64,
}

/// Inserts a sign-in challenge for the browser holding the token whose hash is given.
pub async fn insert_challenge(
    conn: &mut Conn,
    token_hash: &str,
    user_id: &UserId,
    now_us: i64,
    expires_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sign_in_challenges (token_hash, user_id, failures, created_us, expires_us) \
         VALUES ($1, $2, 0, $3, $4)",
    )
    .bind(token_hash)
    .bind(user_id.as_str())
    .bind(now_us)
    .bind(expires_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reads a challenge that has not expired at `now_us`.
pub async fn find_live_challenge(
    conn: &mut Conn,
    token_hash: &str,
    now_us: i64,
) -> StoreResult<Option<ChallengeRow>> {
    let row = sqlx::query(
        "SELECT user_id, failures FROM sign_in_challenges \
         WHERE token_hash = $1 AND expires_us > $2",
    )
    .bind(token_hash)
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(ChallengeRow {
            user_id: UserId::from_trusted(row.try_get("user_id")?),
            failures: row.try_get("failures")?,
        })),
        None => Ok(None),
    }
}

/// Counts a failed code against a challenge.
pub async fn fail_challenge(conn: &mut Conn, token_hash: &str) -> StoreResult<()> {
    sqlx::query("UPDATE sign_in_challenges SET failures = failures + 1 WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a challenge. Returns false if it was already gone, so that one challenge can open
/// at most one session.
pub async fn delete_challenge(conn: &mut Conn, token_hash: &str) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM sign_in_challenges WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes challenges that expired before `now_us`.
pub async fn delete_expired_challenges(conn: &mut Conn, now_us: i64) -> StoreResult<u64> {
    let result = sqlx::query("DELETE FROM sign_in_challenges WHERE expires_us <= $1")
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}

/// Deletes every challenge of a user, such as when their authenticator is removed.
pub async fn delete_challenges_for_user(conn: &mut Conn, user_id: &UserId) -> StoreResult<()> {
    sqlx::query("DELETE FROM sign_in_challenges WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a white label requires a second factor of its administrators and its customers'
/// Account Administrators.
pub async fn required_by(conn: &mut Conn, white_label_id: &WhiteLabelId) -> StoreResult<bool> {
    let value: Option<i64> =
        sqlx::query_scalar("SELECT require_two_factor FROM white_labels WHERE id = $1")
            .bind(white_label_id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(value.map(flag).unwrap_or(false))
}

/// Sets whether a white label requires a second factor.
pub async fn set_required_by(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    required: bool,
) -> StoreResult<()> {
    sqlx::query("UPDATE white_labels SET require_two_factor = $1 WHERE id = $2")
        .bind(i64::from(required))
        .bind(white_label_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
