//! Recording and reading the audit log.

use serde_json::Value;
use tandem_domain::{CustomerId, Permission, WhiteLabelId};
use tandem_store::audit::{self as store_audit, AuditEntryRow, NewAuditEntry};
use tandem_store::Conn;

use crate::access::{Actor, PlatformAdmin, WhiteLabelAdmin};
use crate::{App, AppResult};

/// One change to record. Before and after must not contain secrets.
#[derive(Debug, Default)]
pub(crate) struct Change<'a> {
    pub white_label_id: Option<&'a WhiteLabelId>,
    pub customer_id: Option<&'a CustomerId>,
    pub on_behalf_of: Option<String>,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub reason: Option<&'a str>,
}

/// Appends a change by `actor` to the audit log, inside the caller's transaction.
pub(crate) async fn record(
    conn: &mut Conn,
    now_us: i64,
    actor: &Actor,
    change: Change<'_>,
) -> AppResult<()> {
    store_audit::insert(conn, &entry(actor, change), now_us).await?;
    Ok(())
}

/// Builds the audit entry that records `change`, made by `actor`.
pub(crate) fn entry(actor: &Actor, change: Change<'_>) -> NewAuditEntry {
    NewAuditEntry {
        white_label_id: change.white_label_id.map(|id| id.to_string()),
        customer_id: change.customer_id.map(|id| id.to_string()),
        actor_user_id: actor.user_id.as_ref().map(|id| id.to_string()),
        actor_api_key_id: actor.api_key_id.as_ref().map(|id| id.to_string()),
        actor_label: actor.label.clone(),
        on_behalf_of: change.on_behalf_of,
        action: change.action.to_string(),
        object_kind: change.object_kind.to_string(),
        object_id: change.object_id.to_string(),
        before_json: change.before.map(|v| v.to_string()),
        after_json: change.after.map(|v| v.to_string()),
        reason: change.reason.map(str::to_string),
        source_ip: actor.source_ip.clone(),
    }
}

impl App {
    /// Lists the audit log of a white label's tree, optionally for one customer, newest first.
    pub async fn white_label_audit(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: Option<&CustomerId>,
        limit: u32,
    ) -> AppResult<Vec<AuditEntryRow>> {
        admin.require(Permission::ViewAudit)?;
        let mut conn = self.store.conn().await?;
        let rows = store_audit::list_for_white_label(
            &mut conn,
            admin.white_label_id(),
            customer_id,
            limit.clamp(1, 500),
        )
        .await?;
        Ok(rows)
    }

    /// Lists the whole platform's audit log, newest first.
    pub async fn platform_audit(
        &self,
        _admin: &PlatformAdmin,
        limit: u32,
    ) -> AppResult<Vec<AuditEntryRow>> {
        let mut conn = self.store.conn().await?;
        Ok(store_audit::list_platform(&mut conn, limit.clamp(1, 500)).await?)
    }
}
