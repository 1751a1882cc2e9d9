//! Price plans of a white label.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{PlanId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// A plan as stored. Amounts are minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    pub id: PlanId,
    pub white_label_id: WhiteLabelId,
    pub name: String,
    pub description: String,
    pub currency: String,
    pub setup_fee_minor: i64,
    pub monthly_fee_minor: i64,
    pub included_extensions: i64,
    pub extra_extension_fee_minor: i64,
    pub number_rental_minor: i64,
    pub min_opening_credit_minor: i64,
    pub status: String,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
    /// How many customers are on the plan; filled by listings.
    pub customer_count: i64,
}

/// The editable fields of a plan.
#[derive(Debug, Clone)]
pub struct PlanFields {
    pub name: String,
    pub description: String,
    pub setup_fee_minor: i64,
    pub monthly_fee_minor: i64,
    pub included_extensions: i64,
    pub extra_extension_fee_minor: i64,
    pub number_rental_minor: i64,
    pub min_opening_credit_minor: i64,
}

const COLUMNS: &str = "p.id, p.white_label_id, p.name, p.description, p.currency, \
    p.setup_fee_minor, p.monthly_fee_minor, p.included_extensions, p.extra_extension_fee_minor, \
    p.number_rental_minor, p.min_opening_credit_minor, p.status, p.version, p.created_us, \
    p.updated_us";

fn from_row(row: &AnyRow, with_count: bool) -> StoreResult<PlanRow> {
    Ok(PlanRow {
        id: PlanId::from_trusted(row.try_get("id")?),
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        currency: row.try_get("currency")?,
        setup_fee_minor: row.try_get("setup_fee_minor")?,
        monthly_fee_minor: row.try_get("monthly_fee_minor")?,
        included_extensions: row.try_get("included_extensions")?,
        extra_extension_fee_minor: row.try_get("extra_extension_fee_minor")?,
        number_rental_minor: row.try_get("number_rental_minor")?,
        min_opening_credit_minor: row.try_get("min_opening_credit_minor")?,
        status: row.try_get("status")?,
        version: row.try_get("version")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
        customer_count: if with_count {
            row.try_get("customer_count")?
        } else {
            0
        },
    })
}

/// [`COLUMNS`] renamed with a `p_` prefix, for a join whose other table has columns of the
/// same names; decode them with [`from_columns`].
pub(crate) fn prefixed_columns() -> String {
    COLUMNS
        .split(", ")
        .map(|column| format!("{column} AS {}", column.replace("p.", "p_")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Decodes [`COLUMNS`] by position, starting at the current column of `columns`. A plan that a LEFT JOIN did not
/// find reads as `None`.
pub(crate) fn from_columns(columns: &mut crate::Columns<'_>) -> StoreResult<Option<PlanRow>> {
    let Some(id) = columns.next::<Option<String>>()? else {
        return Ok(None);
    };
    Ok(Some(PlanRow {
        id: PlanId::from_trusted(id),
        white_label_id: WhiteLabelId::from_trusted(columns.next()?),
        name: columns.next()?,
        description: columns.next()?,
        currency: columns.next()?,
        setup_fee_minor: columns.next()?,
        monthly_fee_minor: columns.next()?,
        included_extensions: columns.next()?,
        extra_extension_fee_minor: columns.next()?,
        number_rental_minor: columns.next()?,
        min_opening_credit_minor: columns.next()?,
        status: columns.next()?,
        version: columns.next()?,
        created_us: columns.next()?,
        updated_us: columns.next()?,
        customer_count: 0,
    }))
}

/// Inserts an active plan. Fails with `uq_plans_white_label_name` on a duplicate name.
pub async fn insert(
    conn: &mut Conn,
    id: &PlanId,
    white_label_id: &WhiteLabelId,
    currency: &str,
    fields: &PlanFields,
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO plans (id, white_label_id, name, description, currency, setup_fee_minor, \
         monthly_fee_minor, included_extensions, extra_extension_fee_minor, number_rental_minor, \
         min_opening_credit_minor, status, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12)",
    )
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(currency)
    .bind(fields.setup_fee_minor)
    .bind(fields.monthly_fee_minor)
    .bind(fields.included_extensions)
    .bind(fields.extra_extension_fee_minor)
    .bind(fields.number_rental_minor)
    .bind(fields.min_opening_credit_minor)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Updates an active plan still at `expected_version`; returns false otherwise.
pub async fn update(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &PlanId,
    expected_version: i64,
    fields: &PlanFields,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE plans SET name = $1, description = $2, setup_fee_minor = $3, \
         monthly_fee_minor = $4, included_extensions = $5, extra_extension_fee_minor = $6, \
         number_rental_minor = $7, min_opening_credit_minor = $8, version = version + 1, \
         updated_us = $9 WHERE id = $10 AND white_label_id = $11 AND version = $12",
    )
    .bind(&fields.name)
    .bind(&fields.description)
    .bind(fields.setup_fee_minor)
    .bind(fields.monthly_fee_minor)
    .bind(fields.included_extensions)
    .bind(fields.extra_extension_fee_minor)
    .bind(fields.number_rental_minor)
    .bind(fields.min_opening_credit_minor)
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks an active plan retired; returns false if it is not an active plan of the white label.
pub async fn retire(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &PlanId,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE plans SET status = 'retired', version = version + 1, updated_us = $1 \
         WHERE id = $2 AND white_label_id = $3 AND status = 'active'",
    )
    .bind(now_us)
    .bind(id.as_str())
    .bind(white_label_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Reads one plan of a white label.
pub async fn get(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    id: &PlanId,
) -> StoreResult<Option<PlanRow>> {
    let sql = format!("SELECT {COLUMNS} FROM plans p WHERE p.id = $1 AND p.white_label_id = $2");
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .bind(white_label_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(|row| from_row(row, false)).transpose()
}

/// Lists the plans of a white label with their customer counts: active first, then by name.
pub async fn list(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    include_retired: bool,
) -> StoreResult<Vec<PlanRow>> {
    let sql = format!(
        "SELECT {COLUMNS}, (SELECT COUNT(*) FROM customers c WHERE c.plan_id = p.id) \
         AS customer_count FROM plans p WHERE p.white_label_id = $1 AND (p.status = 'active' OR $2 = 1) \
         ORDER BY p.status, p.name, p.id"
    );
    let rows = sqlx::query(&sql)
        .bind(white_label_id.as_str())
        .bind(i64::from(include_retired))
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(|row| from_row(row, true)).collect()
}
