//! The platform's inventory of phone numbers and their assignment to customer accounts.
//!
//! Every state change is one conditional UPDATE whose WHERE clause names the state it expects,
//! so two concurrent assignments of one number cannot both succeed.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, WhiteLabelId};

use crate::{flag, Conn, StoreResult};

/// A number as stored.
#[derive(Debug, Clone)]
pub struct NumberRow {
    pub e164: String,
    pub country: String,
    pub area_code: String,
    pub number_type: String,
    pub state: String,
    /// The pool the number is allocated to; `None` is the platform's own pool.
    pub white_label_id: Option<WhiteLabelId>,
    pub customer_id: Option<CustomerId>,
    pub live: bool,
    /// JSON of the destination of inbound calls.
    pub destination: Option<String>,
    pub ageing_until_us: Option<i64>,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
}

/// A number to load into the inventory.
#[derive(Debug, Clone)]
pub struct NewNumber {
    pub e164: String,
    pub country: String,
    pub area_code: String,
    pub number_type: String,
    pub state: String,
    pub white_label_id: Option<WhiteLabelId>,
    pub customer_id: Option<CustomerId>,
    pub live: bool,
}

const COLUMNS: &str = "e164, country, area_code, number_type, state, white_label_id, customer_id, \
    live, destination, ageing_until_us, version, created_us, updated_us";

fn from_row(row: &AnyRow) -> StoreResult<NumberRow> {
    Ok(NumberRow {
        e164: row.try_get("e164")?,
        country: row.try_get("country")?,
        area_code: row.try_get("area_code")?,
        number_type: row.try_get("number_type")?,
        state: row.try_get("state")?,
        white_label_id: row
            .try_get::<Option<String>, _>("white_label_id")?
            .map(WhiteLabelId::from_trusted),
        customer_id: row
            .try_get::<Option<String>, _>("customer_id")?
            .map(CustomerId::from_trusted),
        live: flag(row.try_get("live")?),
        destination: row.try_get("destination")?,
        ageing_until_us: row.try_get("ageing_until_us")?,
        version: row.try_get("version")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// Inserts a number unless it is already stored; returns whether it was inserted.
pub async fn insert(conn: &mut Conn, number: &NewNumber, now_us: i64) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO numbers (e164, country, area_code, number_type, state, white_label_id, \
         customer_id, live, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (e164) DO NOTHING",
    )
    .bind(&number.e164)
    .bind(&number.country)
    .bind(&number.area_code)
    .bind(&number.number_type)
    .bind(&number.state)
    .bind(number.white_label_id.as_ref().map(|id| id.as_str()))
    .bind(number.customer_id.as_ref().map(|id| id.as_str()))
    .bind(i64::from(number.live))
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Reads one number in any account. Callers filter what they show by its owner.
pub async fn get(conn: &mut Conn, e164: &str) -> StoreResult<Option<NumberRow>> {
    let sql = format!("SELECT {COLUMNS} FROM numbers WHERE e164 = $1");
    let row = sqlx::query(&sql)
        .bind(e164)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Whose pool a search covers.
#[derive(Debug, Clone)]
pub enum Pool {
    /// Every number (platform administrators).
    All,
    /// Numbers a white label may assign: its own pool and the platform's unallocated pool.
    AvailableTo(WhiteLabelId),
}

/// Filters for [`search`].
#[derive(Debug, Clone)]
pub struct NumberFilter {
    pub pool: Pool,
    pub country: Option<String>,
    pub area_code: Option<String>,
    /// Leading characters of the E.164 form, such as `+6494`.
    pub prefix: Option<String>,
    pub state: Option<String>,
    /// Keyset cursor: the last E.164 of the previous page.
    pub after: Option<String>,
    pub limit: u32,
}

/// Searches the inventory in E.164 order, one page at a time.
pub async fn search(conn: &mut Conn, filter: &NumberFilter) -> StoreResult<Vec<NumberRow>> {
    let mut sql = format!("SELECT {COLUMNS} FROM numbers WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    let mut push = |sql: &mut String, clause: &str, value: String| {
        binds.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
    };
    if let Pool::AvailableTo(white_label_id) = &filter.pool {
        push(
            &mut sql,
            " AND (white_label_id IS NULL OR white_label_id = ?)",
            white_label_id.to_string(),
        );
    }
    if let Some(country) = &filter.country {
        push(&mut sql, " AND country = ?", country.clone());
    }
    if let Some(area_code) = &filter.area_code {
        push(&mut sql, " AND area_code = ?", area_code.clone());
    }
    if let Some(state) = &filter.state {
        push(&mut sql, " AND state = ?", state.clone());
    }
    if let Some(prefix) = &filter.prefix {
        push(&mut sql, " AND e164 >= ?", prefix.clone());
        push(&mut sql, " AND e164 < ?", format!("{prefix}\u{7f}"));
    }
    if let Some(after) = &filter.after {
        push(&mut sql, " AND e164 > ?", after.clone());
    }
    sql.push_str(&format!(" ORDER BY e164 LIMIT {}", filter.limit));
    let mut query = sqlx::query(&sql);
    for value in &binds {
        query = query.bind(value);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Lists the numbers assigned to or porting into one account, in E.164 order.
pub async fn list_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
) -> StoreResult<Vec<NumberRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM numbers WHERE customer_id = $1 AND EXISTS \
         (SELECT 1 FROM customers c WHERE c.id = $1 AND c.white_label_id = $2) ORDER BY e164"
    );
    let rows = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Assigns an available number of the platform's pool or the white label's pool to a
/// customer of that white label; returns false if the number is not available to it. The
/// caller has checked that the account belongs to the white label.
pub async fn assign(
    conn: &mut Conn,
    e164: &str,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    now_us: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE numbers SET state = 'assigned', customer_id = $1, live = 1, destination = NULL, \
         ageing_until_us = NULL, version = version + 1, updated_us = $3 \
         WHERE e164 = $4 AND state = 'available' \
         AND (white_label_id IS NULL OR white_label_id = $2)",
    )
    .bind(customer_id.as_str())
    .bind(white_label_id.as_str())
    .bind(now_us)
    .bind(e164)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes an assigned number from its account and holds it in quarantine until `until_us`; it
/// stays in the pool it came from. Returns false if the number is not the account's. The caller
/// has checked that the account belongs to its white label.
pub async fn release(
    conn: &mut Conn,
    customer_id: &CustomerId,
    e164: &str,
    until_us: i64,
    now_us: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE numbers SET state = 'ageing', customer_id = NULL, destination = NULL, \
         ageing_until_us = $1, version = version + 1, updated_us = $2 \
         WHERE e164 = $3 AND customer_id = $4 AND state = 'assigned'",
    )
    .bind(until_us)
    .bind(now_us)
    .bind(e164)
    .bind(customer_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves an assigned number between two accounts, clearing its destination; a number being
/// ported in stays with its port order. The caller has checked that
/// both accounts belong to one white label.
pub async fn move_to(
    conn: &mut Conn,
    from: &CustomerId,
    to: &CustomerId,
    e164: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE numbers SET customer_id = $1, destination = NULL, version = version + 1, \
         updated_us = $2 WHERE e164 = $3 AND customer_id = $4 \
         AND state = 'assigned'",
    )
    .bind(to.as_str())
    .bind(now_us)
    .bind(e164)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets where an account's number routes, if its version is still `expected_version`.
/// Returns the new version, or `None` when the number is not the account's or was changed.
pub async fn set_destination(
    conn: &mut Conn,
    customer_id: &CustomerId,
    e164: &str,
    destination: Option<&str>,
    expected_version: i64,
    now_us: i64,
) -> StoreResult<Option<i64>> {
    let version = sqlx::query_scalar(
        "UPDATE numbers SET destination = $1, version = version + 1, updated_us = $2 \
         WHERE e164 = $3 AND customer_id = $4 AND version = $5 RETURNING version",
    )
    .bind(destination)
    .bind(now_us)
    .bind(e164)
    .bind(customer_id.as_str())
    .bind(expected_version)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(version)
}

/// Allocates available numbers of the platform's pool to a white label's pool, or returns
/// them to the platform's pool (`white_label_id` of `None`); returns whether it moved.
pub async fn allocate(
    conn: &mut Conn,
    e164: &str,
    white_label_id: Option<&WhiteLabelId>,
    now_us: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE numbers SET white_label_id = $1, version = version + 1, updated_us = $2 \
         WHERE e164 = $3 AND state = 'available'",
    )
    .bind(white_label_id.map(|id| id.as_str()))
    .bind(now_us)
    .bind(e164)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes numbers whose quarantine ended available again; returns how many.
pub async fn end_quarantine(conn: &mut Conn, now_us: i64) -> StoreResult<u64> {
    let done = sqlx::query(
        "UPDATE numbers SET state = 'available', ageing_until_us = NULL, version = version + 1, \
         updated_us = $1 WHERE state = 'ageing' AND ageing_until_us <= $1",
    )
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Marks the porting numbers of a completed port order assigned and live.
pub async fn complete_porting(
    conn: &mut Conn,
    customer_id: &CustomerId,
    e164: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE numbers SET state = 'assigned', live = 1, version = version + 1, updated_us = $1 \
         WHERE e164 = $2 AND customer_id = $3 AND state = 'porting'",
    )
    .bind(now_us)
    .bind(e164)
    .bind(customer_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a porting number from the inventory when its port order ends without completing.
pub async fn remove_porting(
    conn: &mut Conn,
    customer_id: &CustomerId,
    e164: &str,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "DELETE FROM numbers WHERE e164 = $1 AND customer_id = $2 AND state = 'porting'",
    )
    .bind(e164)
    .bind(customer_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Counts the inventory by state, for the platform's overview.
pub async fn count_by_state(conn: &mut Conn) -> StoreResult<Vec<(String, i64)>> {
    let rows =
        sqlx::query("SELECT state, COUNT(*) AS n FROM numbers GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("state")?, row.try_get("n")?)))
        .collect()
}
