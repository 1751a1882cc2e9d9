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

/// A session to insert.
#[derive(Debug, Clone, Copy)]
pub struct NewSessionRow<'a> {
    /// The SHA-256 of the cookie's token, hex-encoded.
    pub token_hash: &'a str,
    pub user_id: &'a UserId,
    pub csrf_token: &'a str,
    pub source_ip: Option<&'a str>,
    pub created_us: i64,
    pub expires_us: i64,
}

const INSERT: &str = "INSERT INTO sessions \
    (token_hash, user_id, csrf_token, source_ip, created_us, expires_us) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// Inserts a session and records its creation as the user's last sign-in, both or neither.
/// `conn` must not be in a transaction.
///
/// On PostgreSQL this is one statement, a data-changing `WITH`, so a sign-in waits for one
/// round trip instead of four. SQLite has no data-changing `WITH`, so it runs the two
/// statements in a transaction of their own.
pub async fn open(conn: &mut Conn, session: &NewSessionRow<'_>) -> StoreResult<()> {
    if conn.backend_name() == "PostgreSQL" {
        let sql = format!(
            "WITH touched AS (UPDATE users SET last_sign_in_us = $5 WHERE id = $2) {INSERT}"
        );
        return insert(conn, &sql, session).await;
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    insert(&mut tx, INSERT, session).await?;
    crate::users::touch_sign_in(&mut tx, session.user_id, session.created_us).await?;
    tx.commit().await?;
    Ok(())
}

/// Runs `sql`, which ends in [`INSERT`], with the session's values bound.
async fn insert(conn: &mut Conn, sql: &str, session: &NewSessionRow<'_>) -> StoreResult<()> {
    sqlx::query(sql)
        .bind(session.token_hash)
        .bind(session.user_id.as_str())
        .bind(session.csrf_token)
        .bind(session.source_ip)
        .bind(session.created_us)
        .bind(session.expires_us)
        .execute(&mut *conn)
        .await?;
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
