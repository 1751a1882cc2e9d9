//! Invitations to join a white label or a customer account, and password-reset links.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, InvitationId, UserId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// An invitation as stored.
#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub white_label_id: WhiteLabelId,
    pub customer_id: Option<CustomerId>,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    /// `pending`, `accepted` or `revoked`.
    pub state: String,
    pub created_us: i64,
    pub expires_us: i64,
    pub accepted_us: Option<i64>,
}

/// An invitation to insert.
#[derive(Debug)]
pub struct NewInvitation<'a> {
    pub id: &'a InvitationId,
    pub token_hash: &'a str,
    pub white_label_id: &'a WhiteLabelId,
    pub customer_id: Option<&'a CustomerId>,
    pub email: &'a str,
    pub email_key: &'a str,
    pub role: &'a str,
    pub invited_by: &'a str,
    pub expires_us: i64,
}

const COLUMNS: &str = "id, white_label_id, customer_id, email, role, invited_by, state, \
    created_us, expires_us, accepted_us";

fn from_row(row: &AnyRow) -> StoreResult<InvitationRow> {
    let customer_id: Option<String> = row.try_get("customer_id")?;
    Ok(InvitationRow {
        id: InvitationId::from_trusted(row.try_get("id")?),
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        customer_id: customer_id.map(CustomerId::from_trusted),
        email: row.try_get("email")?,
        role: row.try_get("role")?,
        invited_by: row.try_get("invited_by")?,
        state: row.try_get("state")?,
        created_us: row.try_get("created_us")?,
        expires_us: row.try_get("expires_us")?,
        accepted_us: row.try_get("accepted_us")?,
    })
}

fn scope_id<'a>(white_label_id: &'a WhiteLabelId, customer_id: Option<&'a CustomerId>) -> &'a str {
    customer_id
        .map(|c| c.as_str())
        .unwrap_or(white_label_id.as_str())
}

/// Inserts a pending invitation.
pub async fn insert(
    conn: &mut Conn,
    invitation: &NewInvitation<'_>,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO invitations (id, token_hash, white_label_id, customer_id, scope_id, email, \
         email_key, role, invited_by, state, created_us, expires_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11)",
    )
    .bind(invitation.id.as_str())
    .bind(invitation.token_hash)
    .bind(invitation.white_label_id.as_str())
    .bind(invitation.customer_id.map(|c| c.as_str()))
    .bind(scope_id(invitation.white_label_id, invitation.customer_id))
    .bind(invitation.email)
    .bind(invitation.email_key)
    .bind(invitation.role)
    .bind(invitation.invited_by)
    .bind(now_us)
    .bind(invitation.expires_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Lists the pending invitations of one node (a white label, or one of its customers).
pub async fn list_pending(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: Option<&CustomerId>,
) -> StoreResult<Vec<InvitationRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM invitations WHERE white_label_id = $1 AND scope_id = $2 \
         AND state = 'pending' ORDER BY created_us DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .bind(scope_id(white_label_id, customer_id))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Reads an invitation of a white label by id.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &InvitationId,
) -> StoreResult<Option<InvitationRow>> {
    let sql = format!("SELECT {COLUMNS} FROM invitations WHERE id = $1 AND white_label_id = $2");
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Finds an invitation of a white label by its token's hash.
pub async fn find_by_token(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    token_hash: &str,
) -> StoreResult<Option<InvitationRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM invitations WHERE token_hash = $1 AND white_label_id = $2");
    let row = sqlx::query(&sql)
        .bind(token_hash)
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Replaces a pending invitation's token and expiry (a resend); false if it is not pending.
pub async fn renew(
    conn: &mut Conn,
    id: &InvitationId,
    token_hash: &str,
    expires_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE invitations SET token_hash = $1, expires_us = $2 WHERE id = $3 AND state = 'pending'",
    )
    .bind(token_hash)
    .bind(expires_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Moves a pending invitation to `accepted` or `revoked`; exactly one caller succeeds.
pub async fn finish(
    conn: &mut Conn,
    id: &InvitationId,
    state: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE invitations SET state = $1, accepted_us = $2 WHERE id = $3 AND state = 'pending'",
    )
    .bind(state)
    .bind(now_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Inserts a password-reset link for a user.
pub async fn insert_reset(
    conn: &mut Conn,
    token_hash: &str,
    user_id: &UserId,
    now_us: i64,
    expires_us: i64,
) -> StoreResult<()> {
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, created_us, expires_us) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id.as_str())
        .bind(now_us)
        .bind(expires_us)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Uses a live password-reset link; returns its user, for exactly one caller.
pub async fn use_reset(
    conn: &mut Conn,
    token_hash: &str,
    now_us: i64,
) -> StoreResult<Option<UserId>> {
    let user: Option<String> = sqlx::query_scalar(
        "UPDATE password_resets SET used_us = $1 WHERE token_hash = $2 AND used_us IS NULL \
         AND expires_us > $1 RETURNING user_id",
    )
    .bind(now_us)
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(user.map(UserId::from_trusted))
}

/// Whether a password-reset link is live.
pub async fn reset_is_live(conn: &mut Conn, token_hash: &str, now_us: i64) -> StoreResult<bool> {
    let found: Option<String> = sqlx::query_scalar(
        "SELECT user_id FROM password_resets WHERE token_hash = $1 AND used_us IS NULL AND expires_us > $2",
    )
    .bind(token_hash)
    .bind(now_us)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}
