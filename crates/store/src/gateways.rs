//! A white label's payment gateway settings. Secrets leave this module only for the code that
//! calls the gateway or checks its signatures, never for display.

use sqlx::Row;
use tandem_domain::WhiteLabelId;

use crate::{Conn, StoreResult};

/// A configured gateway, secrets included.
#[derive(Clone)]
pub struct GatewayRow {
    pub white_label_id: WhiteLabelId,
    /// `test` or `stripe`.
    pub kind: String,
    pub secret_key: Option<String>,
    pub webhook_secret: String,
    pub publishable_key: Option<String>,
    pub version: i64,
    pub updated_us: i64,
}

impl std::fmt::Debug for GatewayRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayRow")
            .field("white_label_id", &self.white_label_id)
            .field("kind", &self.kind)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field("webhook_secret", &"***")
            .field("publishable_key", &self.publishable_key)
            .field("version", &self.version)
            .finish()
    }
}

/// Reads the white label's gateway, if it has one.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
) -> StoreResult<Option<GatewayRow>> {
    let row = sqlx::query(
        "SELECT kind, secret_key, webhook_secret, publishable_key, version, updated_us \
         FROM payment_gateways WHERE white_label_id = $1",
    )
    .bind(white_label_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(GatewayRow {
            white_label_id: white_label_id.clone(),
            kind: row.try_get("kind")?,
            secret_key: row.try_get("secret_key")?,
            webhook_secret: row.try_get("webhook_secret")?,
            publishable_key: row.try_get("publishable_key")?,
            version: row.try_get("version")?,
            updated_us: row.try_get("updated_us")?,
        })),
        None => Ok(None),
    }
}

/// Sets (inserting or replacing) the white label's gateway.
pub async fn put(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    kind: &str,
    secret_key: Option<&str>,
    webhook_secret: &str,
    publishable_key: Option<&str>,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO payment_gateways (white_label_id, kind, secret_key, webhook_secret, \
         publishable_key, updated_us) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (white_label_id) DO UPDATE SET kind = $2, secret_key = $3, \
         webhook_secret = $4, publishable_key = $5, version = payment_gateways.version + 1, \
         updated_us = $6",
    )
    .bind(white_label_id.as_str())
    .bind(kind)
    .bind(secret_key)
    .bind(webhook_secret)
    .bind(publishable_key)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Removes the white label's gateway.
pub async fn delete(conn: &mut Conn, white_label_id: &WhiteLabelId) -> StoreResult<bool> {
    let result = sqlx::query("DELETE FROM payment_gateways WHERE white_label_id = $1")
        .bind(white_label_id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}
