//! Idempotency keys: the first response to a keyed request, replayed for its retries.

use sqlx::Row;
use tandem_domain::WhiteLabelId;

use crate::{Conn, StoreResult};

/// A remembered response.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: Option<i64>,
    pub body: Option<String>,
}

/// Claims a key inside the caller's transaction. Returns false if the key was already claimed;
/// on PostgreSQL a concurrent claim waits here until the other transaction ends.
pub async fn claim(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    key: &str,
    request_hash: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "INSERT INTO idempotency_keys (white_label_id, idempotency_key, request_hash, created_us) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(white_label_id.as_str())
    .bind(key)
    .bind(request_hash)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records the response for a claimed key.
pub async fn complete(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    key: &str,
    status: u16,
    body: &str,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $1, response_body = $2 \
         WHERE white_label_id = $3 AND idempotency_key = $4",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(white_label_id.as_str())
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reads what was stored for a key.
pub async fn find(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    key: &str,
) -> StoreResult<Option<StoredResponse>> {
    let row = sqlx::query(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys \
         WHERE white_label_id = $1 AND idempotency_key = $2",
    )
    .bind(white_label_id.as_str())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(StoredResponse {
            request_hash: row.try_get("request_hash")?,
            status: row.try_get("response_status")?,
            body: row.try_get("response_body")?,
        })),
        None => Ok(None),
    }
}
