//! Memberships: the role a user holds on the platform, a white label or a customer account.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, MembershipId, UserId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// The `scope_id` of platform memberships.
pub const PLATFORM_SCOPE: &str = "platform";

/// A membership as stored.
#[derive(Debug, Clone)]
pub struct MembershipRow {
    pub id: MembershipId,
    pub user_id: UserId,
    pub role: String,
    pub white_label_id: Option<WhiteLabelId>,
    pub customer_id: Option<CustomerId>,
    pub state: String,
    pub created_us: i64,
}

fn from_row(row: &AnyRow) -> StoreResult<MembershipRow> {
    let white_label_id: Option<String> = row.try_get("white_label_id")?;
    let customer_id: Option<String> = row.try_get("customer_id")?;
    Ok(MembershipRow {
        id: MembershipId::from_trusted(row.try_get("id")?),
        user_id: UserId::from_trusted(row.try_get("user_id")?),
        role: row.try_get("role")?,
        white_label_id: white_label_id.map(WhiteLabelId::from_trusted),
        customer_id: customer_id.map(CustomerId::from_trusted),
        state: row.try_get("state")?,
        created_us: row.try_get("created_us")?,
    })
}

/// Where a new membership applies.
#[derive(Debug, Clone)]
pub enum Scope<'a> {
    Platform,
    WhiteLabel(&'a WhiteLabelId),
    Customer(&'a WhiteLabelId, &'a CustomerId),
}

/// Inserts an active membership. Fails with `uq_memberships_user_scope` if the user already
/// holds one on that node.
pub async fn insert(
    conn: &mut Conn,
    id: &MembershipId,
    user_id: &UserId,
    role: &str,
    scope: Scope<'_>,
    now_us: i64,
) -> StoreResult<()> {
    insert_with(conn, id, user_id, role, scope, now_us, "")
        .await
        .map(|_| ())
}

/// Inserts an active membership unless the user already holds one on that node; returns
/// whether it was inserted. Unlike a failed insert, this leaves a PostgreSQL transaction usable.
pub async fn insert_if_absent(
    conn: &mut Conn,
    id: &MembershipId,
    user_id: &UserId,
    role: &str,
    scope: Scope<'_>,
    now_us: i64,
) -> StoreResult<bool> {
    insert_with(
        conn,
        id,
        user_id,
        role,
        scope,
        now_us,
        " ON CONFLICT DO NOTHING",
    )
    .await
}

async fn insert_with(
    conn: &mut Conn,
    id: &MembershipId,
    user_id: &UserId,
    role: &str,
    scope: Scope<'_>,
    now_us: i64,
    on_conflict: &str,
) -> StoreResult<bool> {
    let (scope_id, white_label_id, customer_id) = match scope {
        Scope::Platform => (PLATFORM_SCOPE.to_string(), None, None),
        Scope::WhiteLabel(wl) => (wl.as_str().to_string(), Some(wl.as_str()), None),
        Scope::Customer(wl, customer) => (
            customer.as_str().to_string(),
            Some(wl.as_str()),
            Some(customer.as_str()),
        ),
    };
    let sql = format!(
        "INSERT INTO memberships (id, user_id, role, scope_id, white_label_id, customer_id, \
         state, created_us) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7){on_conflict}"
    );
    let result = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(user_id.as_str())
        .bind(role)
        .bind(scope_id)
        .bind(white_label_id)
        .bind(customer_id)
        .bind(now_us)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Lists the active memberships of a user.
pub async fn active_for_user(conn: &mut Conn, user_id: &UserId) -> StoreResult<Vec<MembershipRow>> {
    let rows = sqlx::query(
        "SELECT id, user_id, role, white_label_id, customer_id, state, created_us \
         FROM memberships WHERE user_id = $1 AND state = 'active' ORDER BY created_us, id",
    )
    .bind(user_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// A member of a node, for listings.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub membership: MembershipRow,
    pub email: String,
    pub name: String,
}

/// Lists the members of one customer account of one white label.
pub async fn list_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Vec<MemberRow>> {
    let rows = sqlx::query(
        "SELECT m.id, m.user_id, m.role, m.white_label_id, m.customer_id, m.state, m.created_us, \
         u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.white_label_id = $1 AND m.customer_id = $2 ORDER BY m.created_us, m.id",
    )
    .bind(white_label_id.as_str())
    .bind(customer_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MemberRow {
                membership: from_row(row)?,
                email: row.try_get("email")?,
                name: row.try_get("name")?,
            })
        })
        .collect()
}

/// Lists the members of a white label's own team (not its customers').
pub async fn list_for_white_label(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
) -> StoreResult<Vec<MemberRow>> {
    let rows = sqlx::query(
        "SELECT m.id, m.user_id, m.role, m.white_label_id, m.customer_id, m.state, m.created_us, \
         u.email, u.name, u.last_sign_in_us FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.white_label_id = $1 AND m.customer_id IS NULL ORDER BY m.created_us, m.id",
    )
    .bind(white_label_id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MemberRow {
                membership: from_row(row)?,
                email: row.try_get("email")?,
                name: row.try_get("name")?,
            })
        })
        .collect()
}

/// Whether a user already holds a membership on a node; returns it.
pub async fn find(
    conn: &mut Conn,
    user_id: &UserId,
    scope_id: &str,
) -> StoreResult<Option<MembershipRow>> {
    let row = sqlx::query(
        "SELECT id, user_id, role, white_label_id, customer_id, state, created_us \
         FROM memberships WHERE user_id = $1 AND scope_id = $2",
    )
    .bind(user_id.as_str())
    .bind(scope_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Reads a membership of a white label's tree.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &MembershipId,
) -> StoreResult<Option<MembershipRow>> {
    let row = sqlx::query(
        "SELECT id, user_id, role, white_label_id, customer_id, state, created_us \
         FROM memberships WHERE id = $1 AND white_label_id = $2",
    )
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Changes a membership's role.
pub async fn set_role(conn: &mut Conn, id: &MembershipId, role: &str) -> StoreResult<()> {
    sqlx::query("UPDATE memberships SET role = $1 WHERE id = $2")
        .bind(role)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets a membership `active` or `disabled`; a disabled membership grants nothing.
pub async fn set_state(conn: &mut Conn, id: &MembershipId, state: &str) -> StoreResult<()> {
    sqlx::query("UPDATE memberships SET state = $1 WHERE id = $2")
        .bind(state)
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a membership.
pub async fn delete(conn: &mut Conn, id: &MembershipId) -> StoreResult<()> {
    sqlx::query("DELETE FROM memberships WHERE id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
