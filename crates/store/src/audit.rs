//! The audit log: who changed what, for whom, from where.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{AuditEntryId, CustomerId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// An audit entry to append.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    pub white_label_id: Option<String>,
    pub customer_id: Option<String>,
    pub actor_user_id: Option<String>,
    pub actor_api_key_id: Option<String>,
    pub actor_label: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
}

/// An audit entry as stored.
#[derive(Debug, Clone)]
pub struct AuditEntryRow {
    pub id: AuditEntryId,
    pub white_label_id: Option<String>,
    pub customer_id: Option<String>,
    pub actor_label: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
    pub created_us: i64,
}

/// Appends an entry.
pub async fn insert(conn: &mut Conn, entry: &NewAuditEntry, now_us: i64) -> StoreResult<()> {
    insert_all(conn, &[(entry, now_us)]).await
}

/// Appends entries, each with its time, in one statement and in the order given.
pub async fn insert_all(conn: &mut Conn, entries: &[(&NewAuditEntry, i64)]) -> StoreResult<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO audit_log (id, white_label_id, customer_id, actor_user_id, actor_api_key_id, \
         actor_label, on_behalf_of, action, object_kind, object_id, before_json, after_json, \
         reason, source_ip, created_us) VALUES {}",
        crate::value_rows(conn, entries.len(), 15)
    );
    let mut query = sqlx::query(&sql).persistent(crate::keep_prepared(conn, entries.len()));
    for &(entry, now_us) in entries {
        query = query
            .bind(AuditEntryId::new().as_str().to_owned())
            .bind(&entry.white_label_id)
            .bind(&entry.customer_id)
            .bind(&entry.actor_user_id)
            .bind(&entry.actor_api_key_id)
            .bind(&entry.actor_label)
            .bind(&entry.on_behalf_of)
            .bind(&entry.action)
            .bind(&entry.object_kind)
            .bind(&entry.object_id)
            .bind(&entry.before_json)
            .bind(&entry.after_json)
            .bind(&entry.reason)
            .bind(&entry.source_ip)
            .bind(now_us);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

fn from_row(row: &AnyRow) -> StoreResult<AuditEntryRow> {
    Ok(AuditEntryRow {
        id: AuditEntryId::from_trusted(row.try_get("id")?),
        white_label_id: row.try_get("white_label_id")?,
        customer_id: row.try_get("customer_id")?,
        actor_label: row.try_get("actor_label")?,
        on_behalf_of: row.try_get("on_behalf_of")?,
        action: row.try_get("action")?,
        object_kind: row.try_get("object_kind")?,
        object_id: row.try_get("object_id")?,
        before_json: row.try_get("before_json")?,
        after_json: row.try_get("after_json")?,
        reason: row.try_get("reason")?,
        source_ip: row.try_get("source_ip")?,
        created_us: row.try_get("created_us")?,
    })
}

const COLUMNS: &str = "id, white_label_id, customer_id, actor_label, on_behalf_of, action, \
    object_kind, object_id, before_json, after_json, reason, source_ip, created_us";

/// Lists the audit entries of a white label's tree (its own and its customers'), newest first.
pub async fn list_for_white_label(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: Option<&CustomerId>,
    limit: u32,
) -> StoreResult<Vec<AuditEntryRow>> {
    let filter = if customer_id.is_some() {
        " AND customer_id = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log WHERE white_label_id = $1{filter} \
         ORDER BY created_us DESC, id DESC LIMIT {limit}"
    );
    let mut query = sqlx::query(&sql).bind(white_label_id.as_str());
    if let Some(customer_id) = customer_id {
        query = query.bind(customer_id.as_str());
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Lists the platform-wide audit entries (those outside any white label), newest first.
pub async fn list_platform(conn: &mut Conn, limit: u32) -> StoreResult<Vec<AuditEntryRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM audit_log ORDER BY created_us DESC, id DESC LIMIT {limit}");
    let rows = sqlx::query(&sql).fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}
