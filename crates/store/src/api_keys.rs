//! API keys of white labels and of customer accounts, stored as SHA-256 hashes.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{ApiKeyId, CustomerId, UserId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// An API key as stored; the secret itself is never stored.
#[derive(Debug, Clone)]
pub struct ApiKeyRow {
    pub id: ApiKeyId,
    pub white_label_id: WhiteLabelId,
    pub customer_id: Option<CustomerId>,
    pub role: String,
    pub name: String,
    pub key_prefix: String,
    pub created_us: i64,
    pub last_used_us: Option<i64>,
    pub revoked_us: Option<i64>,
}

const COLUMNS: &str = "id, white_label_id, customer_id, role, name, key_prefix, created_us, \
    last_used_us, revoked_us";

fn from_row(row: &AnyRow) -> StoreResult<ApiKeyRow> {
    let customer_id: Option<String> = row.try_get("customer_id")?;
    Ok(ApiKeyRow {
        id: ApiKeyId::from_trusted(row.try_get("id")?),
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        customer_id: customer_id.map(CustomerId::from_trusted),
        role: row.try_get("role")?,
        name: row.try_get("name")?,
        key_prefix: row.try_get("key_prefix")?,
        created_us: row.try_get("created_us")?,
        last_used_us: row.try_get("last_used_us")?,
        revoked_us: row.try_get("revoked_us")?,
    })
}

/// A key to insert.
#[derive(Debug)]
pub struct NewApiKey<'a> {
    pub id: &'a ApiKeyId,
    pub white_label_id: &'a WhiteLabelId,
    pub customer_id: Option<&'a CustomerId>,
    pub role: &'a str,
    pub name: &'a str,
    pub key_prefix: &'a str,
    pub key_hash: &'a str,
    pub created_by: Option<&'a UserId>,
}

/// Inserts a key.
pub async fn insert(conn: &mut Conn, key: &NewApiKey<'_>, now_us: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, white_label_id, customer_id, role, name, key_prefix, key_hash, \
         created_by_user_id, created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(key.id.as_str())
    .bind(key.white_label_id.as_str())
    .bind(key.customer_id.map(|c| c.as_str()))
    .bind(key.role)
    .bind(key.name)
    .bind(key.key_prefix)
    .bind(key.key_hash)
    .bind(key.created_by.map(|u| u.as_str()))
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Finds an unrevoked key by the hash of its secret.
pub async fn find_active_by_hash(
    conn: &mut Conn,
    key_hash: &str,
) -> StoreResult<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_us IS NULL");
    let row = sqlx::query(&sql)
        .bind(key_hash)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Lists the keys of a white label, newest first, revoked ones included.
pub async fn list(conn: &mut Conn, white_label_id: &WhiteLabelId) -> StoreResult<Vec<ApiKeyRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys WHERE white_label_id = $1 AND customer_id IS NULL \
         ORDER BY created_us DESC, id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes a white label's key; returns false if there is no such unrevoked key.
pub async fn revoke(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &ApiKeyId,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE api_keys SET revoked_us = $1 \
         WHERE id = $2 AND white_label_id = $3 AND customer_id IS NULL AND revoked_us IS NULL",
    )
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Lists the keys of one customer account, newest first, revoked ones included.
pub async fn list_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Vec<ApiKeyRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_keys WHERE white_label_id = $1 AND customer_id = $2 \
         ORDER BY created_us DESC, id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .bind(customer_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes a key of one customer account; returns false if the account has no such
/// unrevoked key.
pub async fn revoke_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    id: &ApiKeyId,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE api_keys SET revoked_us = $1 \
         WHERE id = $2 AND white_label_id = $3 AND customer_id = $4 AND revoked_us IS NULL",
    )
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .bind(customer_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records the last use of a key, at most once a minute per key.
pub async fn touch(conn: &mut Conn, id: &ApiKeyId, now_us: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE api_keys SET last_used_us = $1 WHERE id = $2 \
         AND (last_used_us IS NULL OR last_used_us < $3)",
    )
    .bind(now_us)
    .bind(id.as_str())
    .bind(now_us - 60_000_000)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
