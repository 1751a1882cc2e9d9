//! Server-side portal sessions, looked up by the SHA-256 of the cookie's token.

use sqlx::{Connection, Row};
use tandem_domain::UserId;

use crate::{Conn, StoreResult};

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_us: i64,
}

/// Inserts a session.
pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    user_id: &UserId,
    csrf_token: &str,
    source_ip: Option<&str>,
    now_us: i64,
    expires_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, source_ip, created_us, expires_us) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id.as_str())
    .bind(csrf_token)
    .bind(source_ip)
    .bind(now_us)
    .bind(expires_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts a session and records its creation as the user's last sign-in, both or neither.
/// `conn` must not be in a transaction.
///
/// On PostgreSQL this is one statement, a data-changing `WITH`, so a sign-in waits for one
/// round trip instead of four. SQLite has no data-changing `WITH`, and runs the two statements
/// in a transaction of their own.
pub async fn open(
    conn: &mut Conn,
    token_hash: &str,
    user_id: &UserId,
    csrf_token: &str,
    source_ip: Option<&str>,
    now_us: i64,
    expires_us: i64,
) -> StoreResult<()> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query(
            "WITH touched AS (UPDATE users SET last_sign_in_us = $5 WHERE id = $2) \
             INSERT INTO sessions (token_hash, user_id, csrf_token, source_ip, created_us, \
             expires_us) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(user_id.as_str())
        .bind(csrf_token)
        .bind(source_ip)
        .bind(now_us)
        .bind(expires_us)
        .execute(&mut *conn)
        .await?;
        return Ok(());
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    insert(
        &mut tx, token_hash, user_id, csrf_token, source_ip, now_us, expires_us,
    )
    .await?;
    crate::users::touch_sign_in(&mut tx, user_id, now_us).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads a session that has not expired at `now_us`.
pub async fn find_live(
    conn: &mut Conn,
    token_hash: &str,
    now_us: i64,
) -> StoreResult<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT user_id, csrf_token, expires_us FROM sessions \
         WHERE token_hash = $1 AND expires_us > $2",
    )
    .bind(token_hash)
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(SessionRow {
            user_id: UserId::from_trusted(row.try_get("user_id")?),
            csrf_token: row.try_get("csrf_token")?,
            expires_us: row.try_get("expires_us")?,
        })),
        None => Ok(None),
    }
}

/// Deletes one session.
pub async fn delete(conn: &mut Conn, token_hash: &str) -> StoreResult<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes every session of a user, signing them out everywhere.
pub async fn delete_for_user(conn: &mut Conn, user_id: &UserId) -> StoreResult<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}

/// Deletes sessions that expired before `now_us`.
pub async fn delete_expired(conn: &mut Conn, now_us: i64) -> StoreResult<u64> {
    let result = sqlx::query("DELETE FROM sessions WHERE expires_us <= $1")
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected())
}
