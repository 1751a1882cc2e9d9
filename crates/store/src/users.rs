//! Users: one identity per email address across the platform.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::UserId;

use crate::{Conn, StoreResult};

/// A user as stored.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub status: String,
    pub created_us: i64,
    pub last_sign_in_us: Option<i64>,
}

const COLUMNS: &str = "id, email, name, password_hash, status, created_us, last_sign_in_us";

fn from_row(row: &AnyRow) -> StoreResult<UserRow> {
    Ok(UserRow {
        id: UserId::from_trusted(row.try_get("id")?),
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        status: row.try_get("status")?,
        created_us: row.try_get("created_us")?,
        last_sign_in_us: row.try_get("last_sign_in_us")?,
    })
}

/// Inserts an active user. Fails with `uq_users_email_key` if the email (in any case) exists.
pub async fn insert(
    conn: &mut Conn,
    id: &UserId,
    email: &str,
    email_key: &str,
    name: &str,
    password_hash: Option<&str>,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO users (id, email, email_key, name, password_hash, status, created_us) \
         VALUES ($1, $2, $3, $4, $5, 'active', $6)",
    )
    .bind(id.as_str())
    .bind(email)
    .bind(email_key)
    .bind(name)
    .bind(password_hash)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Finds a user by the case-folded email.
pub async fn find_by_email_key(conn: &mut Conn, email_key: &str) -> StoreResult<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email_key = $1");
    let row = sqlx::query(&sql)
        .bind(email_key)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Reads a user by the lowercase form of their email, with whether they have an active
/// authenticator, in one statement: what a sign-in needs before it checks the password.
pub async fn find_for_sign_in(
    conn: &mut Conn,
    email_key: &str,
) -> StoreResult<Option<(UserRow, bool)>> {
    // Each column is named with its table, because two_factor has a created_us too.
    let row = sqlx::query(
        "SELECT users.id, users.email, users.name, users.password_hash, users.status, \
         users.created_us, users.last_sign_in_us, two_factor.state AS two_factor_state \
         FROM users LEFT JOIN two_factor ON two_factor.user_id = users.id \
         WHERE users.email_key = $1",
    )
    .bind(email_key)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let two_factor_state: Option<String> = row.try_get("two_factor_state")?;
    let active = two_factor_state.as_deref() == Some(crate::two_factor::ACTIVE);
    Ok(Some((from_row(&row)?, active)))
}

/// Reads a user by id.
pub async fn get(conn: &mut Conn, id: &UserId) -> StoreResult<Option<UserRow>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces the password hash.
pub async fn set_password_hash(conn: &mut Conn, id: &UserId, hash: &str) -> StoreResult<()> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records a successful sign-in.
pub async fn touch_sign_in(conn: &mut Conn, id: &UserId, now_us: i64) -> StoreResult<()> {
    sqlx::query("UPDATE users SET last_sign_in_us = $1 WHERE id = $2")
        .bind(now_us)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces the user's display name.
pub async fn set_name(conn: &mut Conn, id: &UserId, name: &str) -> StoreResult<()> {
    sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
