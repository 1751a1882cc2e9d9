//! Port orders: requests to bring numbers from another carrier into a customer account.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, PortOrderId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// A port order as stored.
#[derive(Debug, Clone)]
pub struct PortOrderRow {
    pub id: PortOrderId,
    pub customer_id: CustomerId,
    pub state: String,
    pub losing_carrier: String,
    pub carrier_account: Option<String>,
    /// `YYYY-MM-DD` once scheduled.
    pub scheduled_date: Option<String>,
    /// The reason the order was rejected or cancelled.
    pub reason: Option<String>,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
    /// The numbers of the order in E.164 form.
    pub numbers: Vec<String>,
}

const COLUMNS: &str = "id, customer_id, state, losing_carrier, carrier_account, scheduled_date, \
    reason, version, created_us, updated_us";

fn from_row(row: &AnyRow) -> StoreResult<PortOrderRow> {
    Ok(PortOrderRow {
        id: PortOrderId::from_trusted(row.try_get("id")?),
        customer_id: CustomerId::from_trusted(row.try_get("customer_id")?),
        state: row.try_get("state")?,
        losing_carrier: row.try_get("losing_carrier")?,
        carrier_account: row.try_get("carrier_account")?,
        scheduled_date: row.try_get("scheduled_date")?,
        reason: row.try_get("reason")?,
        version: row.try_get("version")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
        numbers: Vec::new(),
    })
}

async fn with_numbers(conn: &mut Conn, mut order: PortOrderRow) -> StoreResult<PortOrderRow> {
    order.numbers = sqlx::query_scalar(
        "SELECT e164 FROM port_order_numbers WHERE port_order_id = $1 ORDER BY e164",
    )
    .bind(order.id.as_str())
    .fetch_all(&mut *conn)
    .await?;
    Ok(order)
}

/// Inserts a draft order with its numbers.
pub async fn insert(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    order: &PortOrderRow,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO port_orders (id, white_label_id, customer_id, state, losing_carrier, \
         carrier_account, scheduled_date, reason, version, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, 1, $7, $7)",
    )
    .bind(order.id.as_str())
    .bind(white_label_id.as_str())
    .bind(order.customer_id.as_str())
    .bind(&order.state)
    .bind(&order.losing_carrier)
    .bind(order.carrier_account.as_deref())
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    for e164 in &order.numbers {
        sqlx::query("INSERT INTO port_order_numbers (port_order_id, e164) VALUES ($1, $2)")
            .bind(order.id.as_str())
            .bind(e164)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Reads one order of an account, with its numbers.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    id: &PortOrderId,
) -> StoreResult<Option<PortOrderRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM port_orders WHERE id = $1 AND customer_id = $2 \
         AND white_label_id = $3"
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        Some(row) => Ok(Some(with_numbers(conn, from_row(&row)?).await?)),
        None => Ok(None),
    }
}

/// The orders of an account, newest first.
pub async fn list(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Vec<PortOrderRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM port_orders WHERE customer_id = $1 AND white_label_id = $2 \
         ORDER BY created_us DESC, id DESC LIMIT 200"
    );
    let rows = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        orders.push(with_numbers(conn, from_row(row)?).await?);
    }
    Ok(orders)
}

/// Moves an order from state `from` to state `to`; returns false if it was not in `from`.
pub async fn transition(
    conn: &mut Conn,
    id: &PortOrderId,
    from: &str,
    to: &str,
    scheduled_date: Option<&str>,
    reason: Option<&str>,
    now_us: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE port_orders SET state = $1, scheduled_date = COALESCE($2, scheduled_date), \
         reason = COALESCE($3, reason), version = version + 1, updated_us = $4 \
         WHERE id = $5 AND state = $6",
    )
    .bind(to)
    .bind(scheduled_date)
    .bind(reason)
    .bind(now_us)
    .bind(id.as_str())
    .bind(from)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// How many orders of an account are in progress: draft, submitted or scheduled.
pub async fn count_open(conn: &mut Conn, customer_id: &CustomerId) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM port_orders WHERE customer_id = $1 \
         AND state IN ('draft', 'submitted', 'scheduled')",
    )
    .bind(customer_id.as_str())
    .fetch_one(&mut *conn)
    .await?)
}
