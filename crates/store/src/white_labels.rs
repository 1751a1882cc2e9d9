//! White labels and their portal host names.

use std::sync::{LazyLock, OnceLock};

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{PlanId, WhiteLabelId};

use crate::plans::{self, PlanRow};
use crate::{flag, Conn, StoreResult};

/// A white label as stored, without its logo bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhiteLabelRow {
    pub id: WhiteLabelId,
    pub name: String,
    pub country: String,
    pub currency: String,
    pub support_email: String,
    pub support_phone: Option<String>,
    pub primary_colour: String,
    pub terms_url: Option<String>,
    pub has_logo: bool,
    pub logo_version: i64,
    pub tax_name: String,
    pub tax_rate_bp: i64,
    pub show_prices_with_tax: bool,
    pub status: String,
    pub balance_minor: i64,
    pub credit_limit_minor: i64,
    pub version: i64,
    pub created_us: i64,
    pub updated_us: i64,
    pub hosts: Vec<String>,
    /// The display name of the white label's mail sender; `None` means its name.
    pub mail_from_name: Option<String>,
    /// The address the white label's mail comes from; `None` means the platform's address.
    pub mail_from_address: Option<String>,
    /// The URL webhooks are sent to; `None` means no webhooks are sent. The signing secret is read
    /// separately with [`webhook_secret`].
    pub webhook_url: Option<String>,
}

/// The editable settings of a white label.
#[derive(Debug, Clone)]
pub struct WhiteLabelFields {
    pub name: String,
    pub country: String,
    pub currency: String,
    pub support_email: String,
    pub support_phone: Option<String>,
    pub primary_colour: String,
    pub terms_url: Option<String>,
    pub tax_name: String,
    pub tax_rate_bp: i64,
    pub show_prices_with_tax: bool,
}

const COLUMNS: &str = "id, name, country, currency, support_email, support_phone, \
    primary_colour, terms_url, logo_content_type IS NOT NULL AS has_logo, logo_version, \
    tax_name, tax_rate_bp, show_prices_with_tax, status, balance_minor, credit_limit_minor, \
    version, created_us, updated_us, mail_from_name, mail_from_address, webhook_url";

fn from_row(row: &AnyRow) -> StoreResult<WhiteLabelRow> {
    Ok(WhiteLabelRow {
        id: WhiteLabelId::from_trusted(row.try_get("id")?),
        name: row.try_get("name")?,
        country: row.try_get("country")?,
        currency: row.try_get("currency")?,
        support_email: row.try_get("support_email")?,
        support_phone: row.try_get("support_phone")?,
        primary_colour: row.try_get("primary_colour")?,
        terms_url: row.try_get("terms_url")?,
        has_logo: bool_column(row, "has_logo")?,
        logo_version: row.try_get("logo_version")?,
        tax_name: row.try_get("tax_name")?,
        tax_rate_bp: row.try_get("tax_rate_bp")?,
        show_prices_with_tax: flag(row.try_get("show_prices_with_tax")?),
        status: row.try_get("status")?,
        balance_minor: row.try_get("balance_minor")?,
        credit_limit_minor: row.try_get("credit_limit_minor")?,
        version: row.try_get("version")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
        hosts: Vec::new(),
        mail_from_name: row.try_get("mail_from_name")?,
        mail_from_address: row.try_get("mail_from_address")?,
        webhook_url: row.try_get("webhook_url")?,
    })
}

/// Reads a boolean expression, which SQLite returns as an integer and PostgreSQL as a bool.
fn bool_column(row: &AnyRow, name: &str) -> StoreResult<bool> {
    match row.try_get::<bool, _>(name) {
        Ok(value) => Ok(value),
        Err(_) => Ok(flag(row.try_get::<i64, _>(name)?)),
    }
}

/// The host names of a white label on PostgreSQL, in order and joined by spaces (a host name
/// has none).
const POSTGRES_HOSTS: &str = "(SELECT string_agg(h.host, ' ' ORDER BY h.host) \
    FROM white_label_hosts h WHERE h.white_label_id = white_labels.id)";

/// The host names of a white label on SQLite, as [`POSTGRES_HOSTS`].
const SQLITE_HOSTS: &str = "(SELECT group_concat(host, ' ') FROM (SELECT h.host \
    FROM white_label_hosts h WHERE h.white_label_id = white_labels.id ORDER BY h.host))";

fn is_postgres(conn: &Conn) -> bool {
    conn.backend_name() == "PostgreSQL"
}

/// Returns the `SELECT` list of a white label row: [`COLUMNS`], then its host names, so that one
/// statement reads the whole row. Each engine's list is built once.
fn select_list(conn: &Conn) -> &'static str {
    static POSTGRES: LazyLock<String> =
        LazyLock::new(|| format!("{COLUMNS}, {POSTGRES_HOSTS} AS hosts"));
    static SQLITE: LazyLock<String> =
        LazyLock::new(|| format!("{COLUMNS}, {SQLITE_HOSTS} AS hosts"));
    if is_postgres(conn) {
        &POSTGRES
    } else {
        &SQLITE
    }
}

/// Decodes a row read with [`select_list`].
fn from_row_with_hosts(row: &AnyRow) -> StoreResult<WhiteLabelRow> {
    let mut white_label = from_row(row)?;
    let hosts: Option<String> = row.try_get("hosts")?;
    white_label.hosts = hosts
        .as_deref()
        .unwrap_or_default()
        .split(' ')
        .filter(|host| !host.is_empty())
        .map(str::to_string)
        .collect();
    Ok(white_label)
}

/// Inserts a white label with its host names.
pub async fn insert(
    conn: &mut Conn,
    id: &WhiteLabelId,
    fields: &WhiteLabelFields,
    hosts: &[String],
    now_us: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO white_labels (id, name, country, currency, support_email, support_phone, \
         primary_colour, terms_url, tax_name, tax_rate_bp, show_prices_with_tax, status, \
         created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12)",
    )
    .bind(id.as_str())
    .bind(&fields.name)
    .bind(&fields.country)
    .bind(&fields.currency)
    .bind(&fields.support_email)
    .bind(&fields.support_phone)
    .bind(&fields.primary_colour)
    .bind(&fields.terms_url)
    .bind(&fields.tax_name)
    .bind(fields.tax_rate_bp)
    .bind(i64::from(fields.show_prices_with_tax))
    .bind(now_us)
    .execute(&mut *conn)
    .await?;
    replace_hosts(conn, id, hosts).await
}

/// Updates the settings and host names of a white label if it is still at `expected_version`.
/// Returns false when the version has moved on (or the white label does not exist).
pub async fn update(
    conn: &mut Conn,
    id: &WhiteLabelId,
    expected_version: i64,
    fields: &WhiteLabelFields,
    hosts: &[String],
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE white_labels SET name = $1, country = $2, currency = $3, support_email = $4, \
         support_phone = $5, primary_colour = $6, terms_url = $7, tax_name = $8, \
         tax_rate_bp = $9, show_prices_with_tax = $10, version = version + 1, updated_us = $11 \
         WHERE id = $12 AND version = $13",
    )
    .bind(&fields.name)
    .bind(&fields.country)
    .bind(&fields.currency)
    .bind(&fields.support_email)
    .bind(&fields.support_phone)
    .bind(&fields.primary_colour)
    .bind(&fields.terms_url)
    .bind(&fields.tax_name)
    .bind(fields.tax_rate_bp)
    .bind(i64::from(fields.show_prices_with_tax))
    .bind(now_us)
    .bind(id.as_str())
    .bind(expected_version)
    .execute(&mut *conn)
    .await?;
    if result.rows_affected() == 0 {
        return Ok(false);
    }
    replace_hosts(conn, id, hosts).await?;
    Ok(true)
}

async fn replace_hosts(conn: &mut Conn, id: &WhiteLabelId, hosts: &[String]) -> StoreResult<()> {
    sqlx::query("DELETE FROM white_label_hosts WHERE white_label_id = $1")
        .bind(id.as_str())
        .execute(&mut *conn)
        .await?;
    for host in hosts {
        sqlx::query("INSERT INTO white_label_hosts (host, white_label_id) VALUES ($1, $2)")
            .bind(host)
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Reads a white label by id.
pub async fn get(conn: &mut Conn, id: &WhiteLabelId) -> StoreResult<Option<WhiteLabelRow>> {
    let sql = format!(
        "SELECT {} FROM white_labels WHERE id = $1",
        select_list(conn)
    );
    let row = sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row_with_hosts).transpose()
}

/// Reads a white label by id, and in the same statement one of its plans, if it has one with
/// that id.
pub async fn get_with_plan(
    conn: &mut Conn,
    id: &WhiteLabelId,
    plan_id: &PlanId,
) -> StoreResult<Option<(WhiteLabelRow, Option<PlanRow>)>> {
    // Every creation runs this statement, so each engine's text is built once.
    fn statement(conn: &Conn) -> String {
        format!(
            "SELECT wl.*, {} FROM (SELECT {} FROM white_labels WHERE id = $1) wl \
             LEFT JOIN plans p ON p.id = $2 AND p.white_label_id = wl.id",
            plans::prefixed_columns(),
            select_list(conn)
        )
    }
    static POSTGRES: OnceLock<String> = OnceLock::new();
    static SQLITE: OnceLock<String> = OnceLock::new();
    let cached = if is_postgres(conn) {
        &POSTGRES
    } else {
        &SQLITE
    };
    let sql = cached.get_or_init(|| statement(conn));
    let row = sqlx::query(sql)
        .bind(id.as_str())
        .bind(plan_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let white_label = from_row_with_hosts(&row)?;
    // The plan's columns follow the white label's and its hosts.
    let mut columns = crate::Columns::at(&row, COLUMNS.split(", ").count() + 1);
    Ok(Some((white_label, plans::from_columns(&mut columns)?)))
}

/// Finds the white label whose portal answers on `host` (lower case, port included if any).
pub async fn find_by_host(conn: &mut Conn, host: &str) -> StoreResult<Option<WhiteLabelRow>> {
    let sql = format!(
        "SELECT {} FROM white_labels \
         WHERE id = (SELECT white_label_id FROM white_label_hosts WHERE host = $1)",
        select_list(conn)
    );
    let row = sqlx::query(&sql)
        .bind(host)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row_with_hosts).transpose()
}

/// Lists every white label, by name.
pub async fn list(conn: &mut Conn) -> StoreResult<Vec<WhiteLabelRow>> {
    let sql = format!(
        "SELECT {} FROM white_labels ORDER BY name, id",
        select_list(conn)
    );
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row_with_hosts).collect()
}

/// Stores a new logo and bumps its version, so cached copies are replaced.
pub async fn set_logo(
    conn: &mut Conn,
    id: &WhiteLabelId,
    content_type: &str,
    bytes: &[u8],
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE white_labels SET logo_content_type = $1, logo = $2, \
         logo_version = logo_version + 1, updated_us = $3 WHERE id = $4",
    )
    .bind(content_type)
    .bind(bytes)
    .bind(now_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Reads the logo: content type and bytes.
pub async fn logo(conn: &mut Conn, id: &WhiteLabelId) -> StoreResult<Option<(String, Vec<u8>)>> {
    let row = sqlx::query(
        "SELECT logo_content_type, logo FROM white_labels \
         WHERE id = $1 AND logo_content_type IS NOT NULL",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some((row.try_get(0)?, row.try_get(1)?))),
        None => Ok(None),
    }
}

/// Sets the credit limit (how far below zero the balance may go), in minor units.
pub async fn set_credit_limit(
    conn: &mut Conn,
    id: &WhiteLabelId,
    credit_limit_minor: i64,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE white_labels SET credit_limit_minor = $1, updated_us = $2 WHERE id = $3",
    )
    .bind(credit_limit_minor)
    .bind(now_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets the sender of a white label's mail: display name and address, each `None` for the
/// default. Returns false when the white label does not exist.
pub async fn set_mail_sender(
    conn: &mut Conn,
    id: &WhiteLabelId,
    mail_from_name: Option<&str>,
    mail_from_address: Option<&str>,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE white_labels SET mail_from_name = $1, mail_from_address = $2, updated_us = $3 \
         WHERE id = $4",
    )
    .bind(mail_from_name)
    .bind(mail_from_address)
    .bind(now_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Sets where a white label's webhooks go (`None` stops them) and, when `secret` is given,
/// replaces the signing secret. Returns false when the white label does not exist.
pub async fn set_webhook(
    conn: &mut Conn,
    id: &WhiteLabelId,
    webhook_url: Option<&str>,
    secret: Option<&str>,
    now_us: i64,
) -> StoreResult<bool> {
    let result = sqlx::query(
        "UPDATE white_labels SET webhook_url = $1, \
         webhook_secret = COALESCE($2, webhook_secret), updated_us = $3 WHERE id = $4",
    )
    .bind(webhook_url)
    .bind(secret)
    .bind(now_us)
    .bind(id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Replaces the secret that signs a white label's webhooks. Returns false when the white label
/// does not exist.
pub async fn set_webhook_secret(
    conn: &mut Conn,
    id: &WhiteLabelId,
    secret: &str,
    now_us: i64,
) -> StoreResult<bool> {
    let result =
        sqlx::query("UPDATE white_labels SET webhook_secret = $1, updated_us = $2 WHERE id = $3")
            .bind(secret)
            .bind(now_us)
            .bind(id.as_str())
            .execute(&mut *conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

/// The sender and webhook settings of a white label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagingSettings {
    pub mail_from_name: Option<String>,
    pub mail_from_address: Option<String>,
    pub webhook_url: Option<String>,
    /// Whether a webhook signing secret is set; the secret itself is read with
    /// [`webhook_secret`].
    pub has_webhook_secret: bool,
}

/// Reads the sender and webhook settings of a white label.
pub async fn messaging_settings(
    conn: &mut Conn,
    id: &WhiteLabelId,
) -> StoreResult<Option<MessagingSettings>> {
    let row = sqlx::query(
        "SELECT mail_from_name, mail_from_address, webhook_url, webhook_secret \
         FROM white_labels WHERE id = $1",
    )
    .bind(id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let secret: Option<String> = row.try_get("webhook_secret")?;
    Ok(Some(MessagingSettings {
        mail_from_name: row.try_get("mail_from_name")?,
        mail_from_address: row.try_get("mail_from_address")?,
        webhook_url: row.try_get("webhook_url")?,
        has_webhook_secret: secret.is_some_and(|s| !s.is_empty()),
    }))
}

/// Reads the secret that signs a white label's webhooks, if one is set.
pub async fn webhook_secret(conn: &mut Conn, id: &WhiteLabelId) -> StoreResult<Option<String>> {
    let secret: Option<Option<String>> =
        sqlx::query_scalar("SELECT webhook_secret FROM white_labels WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    Ok(secret.flatten().filter(|s| !s.is_empty()))
}
