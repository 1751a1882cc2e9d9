//! SIP settings, registrations and blocks as the portal and the API see them.
//!
//! Every account has its own SIP domain, `{label}.{white label's SIP domain}`, which is also
//! the realm of its extensions' digest credentials. The label is the account number unless the
//! white label gives the account another (`kauri-joinery`). The white label's domain is
//! `sip.{first portal host}` unless it sets its own. Because the realm is part of every stored
//! digest, changing either deletes the credentials it affects, and each extension's password
//! must be set again.
//!
//! Registrations and blocks are written by the SIP service (`tandem sip`), a moment after they
//! happen. Clearing a block here reaches the service through the change feed.

use serde::{Deserialize, Serialize};
use tandem_domain::{HostName, Permission, SipBlockId, ValueError, WhiteLabelId};
use tandem_store::customers::CustomerRow;
use tandem_store::sip::{self as store_sip, change, AccountSip, BlockRow, BlockScope};
use tandem_store::{pbx as store_pbx, white_labels, Conn};

use crate::access::{AccountOperator, Principal};
use crate::audit::{record, Change};
use crate::validate::present;
use crate::{App, AppError, AppResult};

/// Returns the default SIP domain of a white label: `sip.` and its portal host.
pub fn default_white_label_domain(portal_host: &str) -> String {
    let host = portal_host.split(':').next().unwrap_or(portal_host);
    format!("sip.{host}")
}

/// Returns an account's SIP domain from its label and its white label's domain.
pub fn account_domain(label: &str, white_label_domain: &str) -> String {
    format!("{label}.{white_label_domain}")
}

/// Parses the label of an account's SIP domain: one DNS label.
pub fn parse_label(input: &str) -> Result<String, ValueError> {
    let label = input.trim().to_ascii_lowercase();
    let valid = !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-');
    if valid {
        Ok(label)
    } else {
        Err(ValueError::new(
            "invalid_sip_label",
            "use 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen, \
             such as kauri-joinery",
        ))
    }
}

/// Parses a white label's SIP domain: a host name without a port, such as
/// `sip.harbour.example`.
pub fn parse_domain(input: &str) -> Result<String, ValueError> {
    let host = HostName::parse(input)?;
    if host.as_str().contains(':') {
        return Err(ValueError::new(
            "invalid_sip_domain",
            "give the domain without a port, such as sip.harbour.example",
        ));
    }
    Ok(host.as_str().to_owned())
}

/// An account's SIP settings and where its phones register.
#[derive(Debug, Clone, Serialize)]
pub struct AccountSipView {
    /// The account's SIP domain and digest realm, such as `kauri-joinery.sip.harbour.example`.
    pub domain: String,
    /// The label of the domain under the white label's.
    pub label: String,
    /// Whether the label is the account number because none was set.
    pub label_is_default: bool,
    /// The white label's SIP domain.
    pub white_label_domain: String,
    /// The address phones send their requests to (`host:port`), when the platform sets one.
    pub server: Option<String>,
    /// Whether phones may respond to challenges with SHA-256 as well as MD5.
    pub sha256: bool,
    /// Short numbers of extensions without a SIP password for this domain (after the domain
    /// changed, say): each must have one set before its phone can register.
    pub extensions_without_password: Vec<String>,
}

/// A change to an account's SIP settings; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AccountSipInput {
    /// A new label; empty returns to the account number. Only the white label may change it.
    pub label: Option<String>,
    pub sha256: Option<bool>,
}

/// The result of a SIP settings change.
#[derive(Debug, Clone, Serialize)]
pub struct SipSettingsSaved {
    pub settings: AccountSipView,
    /// Extension passwords deleted because the realm changed; each must be set again.
    pub passwords_cleared: u64,
}

/// One registered contact of an extension.
#[derive(Debug, Clone, Serialize)]
pub struct RegistrationView {
    pub extension_id: String,
    /// The extension's short number, which is also its SIP username.
    pub extension: String,
    pub extension_name: String,
    pub aor: String,
    pub contact: String,
    /// `ip:port` the phone registered from.
    pub source: String,
    pub transport: String,
    pub user_agent: String,
    /// When the registration lapses, RFC 3339 in UTC.
    pub expires_at: String,
    pub expires_in_secs: i64,
}

/// A source address or address-of-record blocked after failed authentications.
#[derive(Debug, Clone, Serialize)]
pub struct BlockView {
    pub id: String,
    /// `source` or `aor`.
    pub subject: String,
    /// The IP address or the address-of-record.
    pub value: String,
    /// The address-of-record whose failures started the block.
    pub aor: String,
    pub customer_id: Option<String>,
    pub blocked_at: String,
    pub blocked_until: String,
}

fn rfc3339(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

impl From<&BlockRow> for BlockView {
    fn from(row: &BlockRow) -> Self {
        Self {
            id: row.id.to_string(),
            subject: row.subject.clone(),
            value: row.value.clone(),
            aor: row.aor.clone(),
            customer_id: row.customer_id.as_ref().map(ToString::to_string),
            blocked_at: rfc3339(row.created_us),
            blocked_until: rfc3339(row.blocked_until_us),
        }
    }
}

impl App {
    /// Returns a white label's SIP domain, set or default.
    ///
    /// NOTE: the default follows the white label's first portal host, so changing its hosts
    /// moves an unset SIP domain and leaves its accounts' passwords in the old realm.
    pub(crate) async fn white_label_sip_domain(
        &self,
        conn: &mut Conn,
        white_label_id: &WhiteLabelId,
    ) -> AppResult<String> {
        if let Some(domain) = store_sip::white_label_domain(conn, white_label_id).await? {
            return Ok(domain);
        }
        let white_label = white_labels::get(conn, white_label_id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let host = white_label
            .hosts
            .first()
            .map(String::as_str)
            .unwrap_or("localhost");
        Ok(default_white_label_domain(host))
    }

    /// Returns an account's SIP settings with its domain.
    pub(crate) async fn account_sip_view(
        &self,
        conn: &mut Conn,
        customer: &CustomerRow,
    ) -> AppResult<AccountSipView> {
        let stored = store_sip::account_sip(conn, &customer.white_label_id, &customer.id)
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        let white_label_domain = self
            .white_label_sip_domain(conn, &customer.white_label_id)
            .await?;
        let label = stored
            .label
            .clone()
            .unwrap_or_else(|| customer.account_number.clone());
        Ok(AccountSipView {
            domain: account_domain(&label, &white_label_domain),
            label,
            label_is_default: stored.label.is_none(),
            white_label_domain,
            server: self.settings().sip_server.clone(),
            sha256: stored.sha256,
            extensions_without_password: store_sip::extensions_without_credentials(
                conn,
                &customer.white_label_id,
                &customer.id,
            )
            .await?,
        })
    }

    /// Reads an account's SIP settings and domain.
    pub async fn account_sip(&self, op: &AccountOperator) -> AppResult<AccountSipView> {
        let mut conn = self.store.conn().await?;
        let customer = self.customer_of(&mut conn, op).await?;
        self.account_sip_view(&mut conn, &customer).await
    }

    async fn customer_of(&self, conn: &mut Conn, op: &AccountOperator) -> AppResult<CustomerRow> {
        tandem_store::customers::get(conn, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))
    }

    /// Changes an account's SIP settings. A new label changes the realm, so the account's
    /// extension passwords are deleted and must be set again.
    pub async fn update_account_sip(
        &self,
        op: &AccountOperator,
        input: &AccountSipInput,
    ) -> AppResult<SipSettingsSaved> {
        op.require(Permission::ManagePbx)?;
        let label = match input.label.as_deref() {
            None => None,
            Some(text) => {
                if !op.is_white_label() {
                    return Err(AppError::Forbidden(
                        "only the white label may change an account's SIP domain".into(),
                    ));
                }
                Some(match present(&Some(text.to_owned())) {
                    None => None,
                    Some(text) => {
                        let label = parse_label(text).map_err(|e| AppError::field("label", e))?;
                        // Digits alone are account numbers: another account's default label.
                        if label.bytes().all(|b| b.is_ascii_digit()) {
                            return Err(AppError::field(
                                "label",
                                ValueError::new(
                                    "reserved_sip_label",
                                    "a label of digits only is reserved for account numbers: \
                                     add a letter, or leave it blank for this account's number",
                                ),
                            ));
                        }
                        Some(label)
                    }
                })
            }
        };
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        crate::pbx::lock(&mut tx, op).await?;
        let customer = self.customer_of(&mut tx, op).await?;
        let before = self.account_sip_view(&mut tx, &customer).await?;
        let stored = store_sip::account_sip(&mut tx, op.white_label_id(), op.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))?;
        let next = AccountSip {
            label: label.clone().unwrap_or(stored.label.clone()),
            sha256: input.sha256.unwrap_or(stored.sha256),
        };
        if next == stored {
            return Ok(SipSettingsSaved {
                settings: before,
                passwords_cleared: 0,
            });
        }
        if !store_sip::set_account_sip(&mut tx, op.white_label_id(), op.customer_id(), &next)
            .await?
        {
            return Err(AppError::Conflict {
                code: "sip_label_taken",
                message: format!(
                    "another account of this white label already uses the SIP label {}",
                    next.label.as_deref().unwrap_or_default()
                ),
                field: Some("label".into()),
            });
        }
        let after = self.account_sip_view(&mut tx, &customer).await?;
        let mut cleared = 0;
        if after.domain != before.domain {
            if store_sip::realm_taken(&mut tx, &after.domain, Some(op.customer_id())).await? {
                return Err(AppError::Conflict {
                    code: "sip_domain_taken",
                    message: format!(
                        "the SIP domain {} is in use by another account",
                        after.domain
                    ),
                    field: Some("label".into()),
                });
            }
            cleared =
                store_sip::delete_credentials(&mut tx, op.white_label_id(), Some(op.customer_id()))
                    .await?;
        }
        store_sip::record_change(&mut tx, change::ACCOUNT, op.customer_id().as_str(), now).await?;
        record(
            &mut tx,
            now,
            op.actor(),
            Change {
                white_label_id: Some(op.white_label_id()),
                customer_id: Some(op.customer_id()),
                on_behalf_of: None,
                action: "sip.settings_changed",
                object_kind: "customer",
                object_id: op.customer_id().as_str(),
                before: Some(serde_json::json!({
                    "domain": before.domain, "sha256": before.sha256
                })),
                after: Some(serde_json::json!({
                    "domain": after.domain, "sha256": after.sha256,
                    "passwords_cleared": cleared
                })),
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(SipSettingsSaved {
            settings: after,
            passwords_cleared: cleared,
        })
    }

    /// Reads a white label's SIP domain.
    pub async fn white_label_sip(
        &self,
        principal: &Principal,
        white_label_id: &WhiteLabelId,
    ) -> AppResult<String> {
        principal.white_label_admin(white_label_id, Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        self.white_label_sip_domain(&mut conn, white_label_id).await
    }

    /// Sets a white label's SIP domain (empty returns to the default) and returns it with the
    /// number of passwords deleted. Every account's realm changes with the domain, so all their
    /// extension passwords are deleted and must be set again.
    pub async fn set_white_label_sip(
        &self,
        principal: &Principal,
        white_label_id: &WhiteLabelId,
        domain: &str,
    ) -> AppResult<(String, u64)> {
        let admin =
            principal.white_label_admin(white_label_id, Permission::ManageWhiteLabelSettings)?;
        let domain = match domain.trim() {
            "" => None,
            text => Some(parse_domain(text).map_err(|e| AppError::field("sip_domain", e))?),
        };
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let before = self.white_label_sip_domain(&mut tx, white_label_id).await?;
        // Account domains are one label under their white label's, so two white labels with
        // the same domain, set or default, could give two accounts the same realm.
        let requested = match &domain {
            Some(domain) => domain.clone(),
            None => {
                let row = white_labels::get(&mut tx, white_label_id)
                    .await?
                    .ok_or(AppError::NotFound("white label"))?;
                default_white_label_domain(row.hosts.first().map_or("localhost", String::as_str))
            }
        };
        for other in white_labels::list(&mut tx).await? {
            if other.id != *white_label_id
                && self.white_label_sip_domain(&mut tx, &other.id).await? == requested
            {
                return Err(AppError::Conflict {
                    code: "sip_domain_taken",
                    message: "another white label already uses this SIP domain".into(),
                    field: Some("sip_domain".into()),
                });
            }
        }
        if !store_sip::set_white_label_domain(&mut tx, white_label_id, domain.as_deref()).await? {
            return Err(AppError::Conflict {
                code: "sip_domain_taken",
                message: "another white label already uses this SIP domain".into(),
                field: Some("sip_domain".into()),
            });
        }
        let after = self.white_label_sip_domain(&mut tx, white_label_id).await?;
        if after == before {
            return Ok((after, 0));
        }
        let cleared = store_sip::delete_credentials(&mut tx, white_label_id, None).await?;
        store_sip::record_change(&mut tx, change::WHITE_LABEL, white_label_id.as_str(), now)
            .await?;
        record(
            &mut tx,
            now,
            admin.actor(),
            Change {
                white_label_id: Some(white_label_id),
                customer_id: None,
                on_behalf_of: None,
                action: "sip.domain_changed",
                object_kind: "white_label",
                object_id: white_label_id.as_str(),
                before: Some(serde_json::json!({ "sip_domain": before })),
                after: Some(serde_json::json!({
                    "sip_domain": after, "passwords_cleared": cleared
                })),
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok((after, cleared))
    }

    /// Lists the live registrations of an account's extensions.
    pub async fn registrations(&self, op: &AccountOperator) -> AppResult<Vec<RegistrationView>> {
        let now = self.now_us();
        let mut conn = self.store.conn().await?;
        self.customer_of(&mut conn, op).await?;
        let rows = store_sip::registrations_of_customer(
            &mut conn,
            op.white_label_id(),
            op.customer_id(),
            now,
        )
        .await?;
        let objects = store_pbx::list(&mut conn, op.white_label_id(), op.customer_id()).await?;
        Ok(rows
            .iter()
            .map(|row| {
                let object = objects.iter().find(|o| o.id == row.extension_id);
                RegistrationView {
                    extension_id: row.extension_id.to_string(),
                    extension: object
                        .and_then(|o| o.short_number.clone())
                        .unwrap_or_default(),
                    extension_name: object.map(|o| o.name.clone()).unwrap_or_default(),
                    aor: row.aor.clone(),
                    contact: row.contact.clone(),
                    source: row.source.clone(),
                    transport: row.transport.clone(),
                    user_agent: row.user_agent.clone(),
                    expires_at: rfc3339(row.expires_us),
                    expires_in_secs: (row.expires_us - now) / 1_000_000,
                }
            })
            .collect())
    }

    /// Lists the blocks started by failures against one account.
    pub async fn account_sip_blocks(&self, op: &AccountOperator) -> AppResult<Vec<BlockView>> {
        let mut conn = self.store.conn().await?;
        self.customer_of(&mut conn, op).await?;
        let scope = BlockScope::Customer(op.white_label_id(), op.customer_id());
        let rows = store_sip::blocks(&mut conn, scope, self.now_us()).await?;
        Ok(rows.iter().map(BlockView::from).collect())
    }

    /// Lifts a block started by failures against one account.
    pub async fn clear_account_sip_block(
        &self,
        op: &AccountOperator,
        id: &SipBlockId,
    ) -> AppResult<()> {
        op.require(Permission::ManagePbx)?;
        let scope = BlockScope::Customer(op.white_label_id(), op.customer_id());
        self.clear_block(scope, op.actor(), id).await
    }

    /// Lists blocks: every block for the platform operator (without a white label), or those
    /// started by failures against one white label's accounts.
    pub async fn sip_blocks(
        &self,
        principal: &Principal,
        white_label_id: Option<&WhiteLabelId>,
    ) -> AppResult<Vec<BlockView>> {
        let scope = block_scope(principal, white_label_id, Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        let rows = store_sip::blocks(&mut conn, scope, self.now_us()).await?;
        Ok(rows.iter().map(BlockView::from).collect())
    }

    /// Lifts a block in the caller's scope, as [`Self::sip_blocks`] lists them.
    pub async fn clear_sip_block(
        &self,
        principal: &Principal,
        white_label_id: Option<&WhiteLabelId>,
        id: &SipBlockId,
    ) -> AppResult<()> {
        let scope = block_scope(principal, white_label_id, Permission::ManageCustomerState)?;
        self.clear_block(scope, principal.actor(), id).await
    }

    async fn clear_block(
        &self,
        scope: BlockScope<'_>,
        actor: &crate::access::Actor,
        id: &SipBlockId,
    ) -> AppResult<()> {
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let block = store_sip::delete_block(&mut tx, scope, id)
            .await?
            .ok_or(AppError::NotFound("SIP block"))?;
        let subject = format!("{} {}", block.subject, block.value);
        store_sip::record_change(&mut tx, change::UNBLOCK, &subject, now).await?;
        record(
            &mut tx,
            now,
            actor,
            Change {
                white_label_id: block.white_label_id.as_ref(),
                customer_id: block.customer_id.as_ref(),
                on_behalf_of: None,
                action: "sip.block_cleared",
                object_kind: "sip_block",
                object_id: block.id.as_str(),
                before: Some(serde_json::to_value(BlockView::from(&block)).unwrap_or_default()),
                after: None,
                reason: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn block_scope<'a>(
    principal: &Principal,
    white_label_id: Option<&'a WhiteLabelId>,
    permission: Permission,
) -> AppResult<BlockScope<'a>> {
    match white_label_id {
        None => {
            principal.platform_admin()?;
            Ok(BlockScope::Platform)
        }
        Some(wl) => {
            principal.white_label_admin(wl, permission)?;
            Ok(BlockScope::WhiteLabel(wl))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_one_dns_label() {
        assert_eq!(parse_label(" Kauri-Joinery ").unwrap(), "kauri-joinery");
        assert_eq!(parse_label("12345678").unwrap(), "12345678");
        for bad in ["", "-a", "a-", "a.b", "a b", "ü", &"x".repeat(64)] {
            assert_eq!(
                parse_label(bad).unwrap_err().code,
                "invalid_sip_label",
                "{bad}"
            );
        }
    }

    #[test]
    fn domains_have_no_port() {
        assert_eq!(
            parse_domain("SIP.Harbour.Example.").unwrap(),
            "sip.harbour.example"
        );
        assert_eq!(
            parse_domain("sip.harbour.example:5060").unwrap_err().code,
            "invalid_sip_domain"
        );
        assert_eq!(parse_domain("example").unwrap(), "example");
        assert!(parse_domain("").is_err());
    }

    #[test]
    fn default_domains_drop_the_port() {
        assert_eq!(
            default_white_label_domain("harbour.localhost:8080"),
            "sip.harbour.localhost"
        );
        assert_eq!(
            account_domain("12345678", "sip.harbour.localhost"),
            "12345678.sip.harbour.localhost"
        );
    }
}
