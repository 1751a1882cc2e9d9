//! Card payments through a white label's gateway, and the gateway events already applied.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, PaymentId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// A payment as stored. `pending_password_hash` is an Argon2id hash, never a password.
#[derive(Debug, Clone)]
pub struct PaymentRow {
    pub id: PaymentId,
    pub white_label_id: WhiteLabelId,
    pub customer_id: CustomerId,
    pub customer_name: Option<String>,
    pub purpose: String,
    pub gateway: String,
    pub gateway_reference: Option<String>,
    pub amount_minor: i64,
    pub currency: String,
    pub state: String,
    pub failure_reason: Option<String>,
    pub activation_token_hash: Option<String>,
    pub pending_user_name: Option<String>,
    pub pending_password_hash: Option<String>,
    pub return_token_hash: Option<String>,
    pub created_us: i64,
    pub updated_us: i64,
}

/// A payment to insert.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub id: &'a PaymentId,
    pub white_label_id: &'a WhiteLabelId,
    pub customer_id: &'a CustomerId,
    pub purpose: &'a str,
    pub gateway: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub activation_token_hash: Option<&'a str>,
    pub pending_user_name: Option<&'a str>,
    pub pending_password_hash: Option<&'a str>,
    pub return_token_hash: Option<&'a str>,
}

const COLUMNS: &str = "p.id, p.white_label_id, p.customer_id, c.legal_name AS customer_name, \
    p.purpose, p.gateway, p.gateway_reference, p.amount_minor, p.currency, p.state, \
    p.failure_reason, p.activation_token_hash, p.pending_user_name, p.pending_password_hash, \
    p.return_token_hash, p.created_us, p.updated_us";

fn from_row(row: &AnyRow) -> StoreResult<PaymentRow> {
    Ok(PaymentRow {
        id: PaymentId::from_trusted(row.try_get("id")?),
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        customer_id: CustomerId::from_trusted(row.try_get("customer_id")?),
        customer_name: row.try_get("customer_name")?,
        purpose: row.try_get("purpose")?,
        gateway: row.try_get("gateway")?,
        gateway_reference: row.try_get("gateway_reference")?,
        amount_minor: row.try_get("amount_minor")?,
        currency: row.try_get("currency")?,
        state: row.try_get("state")?,
        failure_reason: row.try_get("failure_reason")?,
        activation_token_hash: row.try_get("activation_token_hash")?,
        pending_user_name: row.try_get("pending_user_name")?,
        pending_password_hash: row.try_get("pending_password_hash")?,
        return_token_hash: row.try_get("return_token_hash")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// Inserts a pending payment.
pub async fn insert(conn: &mut Conn, payment: &NewPayment<'_>, now_us: i64) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO payments (id, white_label_id, customer_id, purpose, gateway, amount_minor, \
         currency, state, activation_token_hash, pending_user_name, pending_password_hash, \
         return_token_hash, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12, $12)",
    )
    .bind(payment.id.as_str())
    .bind(payment.white_label_id.as_str())
    .bind(payment.customer_id.as_str())
    .bind(payment.purpose)
    .bind(payment.gateway)
    .bind(payment.amount_minor)
    .bind(payment.currency)
    .bind(payment.activation_token_hash)
    .bind(payment.pending_user_name)
    .bind(payment.pending_password_hash)
    .bind(payment.return_token_hash)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the gateway's reference (a checkout session id).
pub async fn set_reference(
    conn: &mut Conn,
    id: &PaymentId,
    reference: &str,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE payments SET gateway_reference = $1, updated_us = $2 WHERE id = $3")
        .bind(reference)
        .bind(now_us)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Reads a payment of a white label.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &PaymentId,
) -> StoreResult<Option<PaymentRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments p JOIN customers c ON c.id = p.customer_id \
         WHERE p.id = $1 AND p.white_label_id = $2"
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Moves a pending payment to a final state; returns false if it was no longer pending.
pub async fn finish(
    conn: &mut Conn,
    id: &PaymentId,
    state: &str,
    failure_reason: Option<&str>,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE payments SET state = $1, failure_reason = $2, pending_password_hash = NULL, \
         updated_us = $3 WHERE id = $4 AND state IN ('pending', 'superseded')",
    )
    .bind(state)
    .bind(failure_reason)
    .bind(now_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// The newest payment of a customer for a purpose.
pub async fn latest_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    purpose: &str,
) -> StoreResult<Option<PaymentRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM payments p JOIN customers c ON c.id = p.customer_id \
         WHERE p.customer_id = $1 AND p.white_label_id = $2 AND p.purpose = $3 \
         ORDER BY p.created_us DESC LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .bind(purpose)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Lists a white label's payments, newest first, optionally in one state.
pub async fn list(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    state: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<PaymentRow>> {
    let filter = if state.is_some() {
        " AND p.state = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM payments p JOIN customers c ON c.id = p.customer_id \
         WHERE p.white_label_id = $1{filter} ORDER BY p.created_us DESC, p.id DESC LIMIT {limit}"
    );
    let mut query = sqlx::query(&sql).bind(white_label_id.as_str());
    if let Some(state) = state {
        query = query.bind(state);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Records a gateway event; returns false if the same event was recorded before. On
/// PostgreSQL a concurrent delivery of the same event waits here for the first to finish.
pub async fn record_event(
    conn: &mut Conn,
    gateway: &str,
    event_id: &str,
    white_label_id: &WhiteLabelId,
    payment_id: Option<&str>,
    event_type: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "INSERT INTO payment_events (gateway, event_id, white_label_id, payment_id, event_type, \
         outcome, received_us) VALUES ($1, $2, $3, $4, $5, 'received', $6) ON CONFLICT DO NOTHING",
    )
    .bind(gateway)
    .bind(event_id)
    .bind(white_label_id.as_str())
    .bind(payment_id)
    .bind(event_type)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Records what applying an event did.
pub async fn set_event_outcome(
    conn: &mut Conn,
    gateway: &str,
    event_id: &str,
    outcome: &str,
) -> StoreResult<()> {
    sqlx::query("UPDATE payment_events SET outcome = $1 WHERE gateway = $2 AND event_id = $3")
        .bind(outcome)
        .bind(gateway)
        .bind(event_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether a payment for an activation link is pending and was started after `since_us`.
pub async fn recent_pending_for_token(
    conn: &mut Conn,
    token_hash: &str,
    since_us: i64,
) -> StoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT id FROM payments WHERE activation_token_hash = $1 AND state = 'pending' \
         AND created_us > $2 LIMIT 1",
    )
    .bind(token_hash)
    .bind(since_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Records the user an activation payment created, so that only that user can be signed in
/// when the paying browser returns.
pub async fn set_activated_user(conn: &mut Conn, id: &PaymentId, user_id: &str) -> StoreResult<()> {
    sqlx::query("UPDATE payments SET activated_user_id = $1 WHERE id = $2")
        .bind(user_id)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes the user to sign in for a returning browser: the user the payment created, if the
/// return secret matches and was not used before, within `since_us`. The secret is cleared, so
/// it works once.
pub async fn take_return_sign_in(
    conn: &mut Conn,
    id: &PaymentId,
    return_token_hash: &str,
    since_us: i64,
) -> StoreResult<Option<String>> {
    let user: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE payments SET return_token_hash = NULL WHERE id = $1 AND return_token_hash = $2 \
         AND state = 'succeeded' AND updated_us > $3 RETURNING activated_user_id",
    )
    .bind(id.as_str())
    .bind(return_token_hash)
    .bind(since_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(user.flatten())
}

/// Marks a customer's pending payments `superseded`: the details they carry (the contact's
/// password, the activation they belong to) no longer apply, but money that still arrives for
/// them is credited.
pub async fn supersede_pending(
    conn: &mut Conn,
    customer_id: &CustomerId,
    now_us: i64,
) -> StoreResult<u64> {
    let result = sqlx::query(
        "UPDATE payments SET state = 'superseded', pending_password_hash = NULL, updated_us = $1 \
         WHERE customer_id = $2 AND state = 'pending'",
    )
    .bind(now_us)
    .bind(customer_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}
