//! Activation tokens of self-activating customers, stored only as SHA-256 hashes.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// An activation token as stored.
#[derive(Debug, Clone)]
pub struct ActivationTokenRow {
    pub token_hash: String,
    pub white_label_id: WhiteLabelId,
    pub customer_id: CustomerId,
    pub email: String,
    pub created_us: i64,
    pub expires_us: i64,
    pub opened_us: Option<i64>,
    pub used_us: Option<i64>,
    pub revoked_us: Option<i64>,
    pub outbox_id: Option<String>,
}

const COLUMNS: &str = "token_hash, white_label_id, customer_id, email, created_us, expires_us, \
    opened_us, used_us, revoked_us, outbox_id";

fn from_row(row: &AnyRow) -> StoreResult<ActivationTokenRow> {
    Ok(ActivationTokenRow {
        token_hash: row.try_get("token_hash")?,
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        customer_id: CustomerId::from_trusted(row.try_get("customer_id")?),
        email: row.try_get("email")?,
        created_us: row.try_get("created_us")?,
        expires_us: row.try_get("expires_us")?,
        opened_us: row.try_get("opened_us")?,
        used_us: row.try_get("used_us")?,
        revoked_us: row.try_get("revoked_us")?,
        outbox_id: row.try_get("outbox_id")?,
    })
}

/// Inserts a token for a customer of a white label.
pub async fn insert(
    conn: &mut Conn,
    token_hash: &str,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    email: &str,
    now_us: i64,
    expires_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO activation_tokens (token_hash, white_label_id, customer_id, email, \
         created_us, expires_us) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(white_label_id.as_str())
    .bind(customer_id.as_str())
    .bind(email)
    .bind(now_us)
    .bind(expires_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Links a token to the outbox item of its mail.
pub async fn set_outbox(conn: &mut Conn, token_hash: &str, outbox_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE activation_tokens SET outbox_id = $1 WHERE token_hash = $2")
        .bind(outbox_id)
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Finds a token by its hash, within one white label.
pub async fn find(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    token_hash: &str,
) -> StoreResult<Option<ActivationTokenRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM activation_tokens WHERE token_hash = $1 AND white_label_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The newest token of a customer.
pub async fn latest_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Option<ActivationTokenRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM activation_tokens WHERE customer_id = $1 AND white_label_id = $2 \
         ORDER BY created_us DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records the first opening of a token's link.
pub async fn mark_opened(conn: &mut Conn, token_hash: &str, now_us: i64) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE activation_tokens SET opened_us = $1 WHERE token_hash = $2 AND opened_us IS NULL",
    )
    .bind(now_us)
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Uses a token: succeeds for exactly one caller, and only while the token is live.
pub async fn use_token(conn: &mut Conn, token_hash: &str, now_us: i64) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE activation_tokens SET used_us = $1 WHERE token_hash = $2 AND used_us IS NULL \
         AND revoked_us IS NULL",
    )
    .bind(now_us)
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Revokes every unused token of a customer.
pub async fn revoke_for_customer(
    conn: &mut Conn,
    customer_id: &CustomerId,
    now_us: i64,
) -> StoreResult<u64> {
    let result = sqlx::query(
        "UPDATE activation_tokens SET revoked_us = $1 WHERE customer_id = $2 \
         AND used_us IS NULL AND revoked_us IS NULL",
    )
    .bind(now_us)
    .bind(customer_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

/// Builds the statement that [`expired_pending_customers`] runs, so that the benchmark checks
/// the plan of the same text. Its parameters are the time now and `abandoned_before(now)`.
pub fn expired_pending_statement(limit: u32) -> String {
    format!(
        "SELECT c.white_label_id, c.id FROM customers c \
         WHERE c.status = 'pending_activation' \
         AND NOT EXISTS (SELECT 1 FROM activation_tokens t WHERE t.customer_id = c.id \
             AND t.used_us IS NULL AND t.revoked_us IS NULL AND t.expires_us > $1) \
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = c.id AND p.state = 'pending' \
             AND p.created_us > $2) \
         ORDER BY c.created_us LIMIT {limit}"
    )
}

/// Returns the time a day before `now_us`. A payment started before it is abandoned, and no
/// longer keeps a pending account open.
pub fn abandoned_before(now_us: i64) -> i64 {
    now_us - 86_400_000_000
}

/// Finds customers still pending activation, oldest first, that have no payment in progress and
/// no live token at `now_us`: each of their tokens is used, revoked or expired.
pub async fn expired_pending_customers(
    conn: &mut Conn,
    now_us: i64,
    limit: u32,
) -> StoreResult<Vec<(WhiteLabelId, CustomerId)>> {
    let rows = sqlx::query(&expired_pending_statement(limit))
        .bind(now_us)
        .bind(abandoned_before(now_us))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                WhiteLabelId::from_trusted(row.try_get(0)?),
                CustomerId::from_trusted(row.try_get(1)?),
            ))
        })
        .collect()
}

/// Touches a live token's row so that, on PostgreSQL, concurrent activations of the same link
/// queue behind this transaction. Returns false if the token is no longer live.
pub async fn lock_live(conn: &mut Conn, token_hash: &str, now_us: i64) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE activation_tokens SET opened_us = COALESCE(opened_us, $1) WHERE token_hash = $2 \
         AND used_us IS NULL AND revoked_us IS NULL AND expires_us > $1",
    )
    .bind(now_us)
    .bind(token_hash)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}
