//! API keys of customer accounts, created and revoked by the account's Account
//! Administrators. A key carries one customer role, never above its creator's, and acts only
//! inside its own account. It has no role on the white label, so white-label routes reject it.
//! Every store call here filters on the guard's white label and account.

use tandem_domain::{ApiKeyId, Name, Permission, Role, ScopeKind};
use tandem_store::api_keys;

use crate::access::AccountMember;
use crate::audit::{record, Change};
use crate::auth::{random_token, token_hash, CreatedApiKey, API_KEY_PREFIX};
use crate::validate::Fields;
use crate::{App, AppError, AppResult, FieldError};

/// Parses the role of a new account key: a customer role no higher than `granter`'s.
fn account_key_role(raw: &str, granter: Role) -> Result<Role, FieldError> {
    let role = Role::parse(raw.trim()).map_err(|e| FieldError::new("role", e))?;
    if role.scope() != ScopeKind::Customer {
        return Err(FieldError::custom(
            "role",
            "role_not_allowed",
            "choose account_administrator, tech, conference or standard_user",
        ));
    }
    if !granter.may_grant(role) {
        return Err(FieldError::custom(
            "role",
            "role_above_own",
            format!(
                "choose a role no higher than your own ({})",
                granter.label()
            ),
        ));
    }
    Ok(role)
}

impl App {
    /// Creates an API key of the guard's customer account with `role`; the secret is in the
    /// result and nowhere else.
    pub async fn create_account_api_key(
        &self,
        member: &AccountMember,
        name: &str,
        role: &str,
    ) -> AppResult<CreatedApiKey> {
        member.require(Permission::ManageAccountUsers)?;
        let mut fields = Fields::default();
        let name = fields.check("name", Name::parse(name, 80));
        let role = match account_key_role(role, member.role()) {
            Ok(role) => Some(role),
            Err(error) => {
                fields.push(error);
                None
            }
        };
        fields.finish()?;
        let (name, role) = (name.expect("checked"), role.expect("checked"));
        let secret = format!("{API_KEY_PREFIX}{}", random_token());
        let key_prefix: String = secret.chars().take(API_KEY_PREFIX.len() + 6).collect();
        let id = ApiKeyId::new();
        let now = self.now_us();

        let mut tx = self.store.begin().await?;
        let new_key = api_keys::NewApiKey {
            id: &id,
            white_label_id: member.white_label_id(),
            customer_id: Some(member.customer_id()),
            role: role.as_str(),
            name: name.as_str(),
            key_prefix: &key_prefix,
            key_hash: &token_hash(&secret),
            created_by: member.actor().user_id(),
        };
        api_keys::insert(&mut tx, &new_key, now).await?;
        let after = serde_json::json!({
            "name": name.as_str(),
            "role": role.as_str(),
            "prefix": key_prefix,
        });
        record(
            &mut tx,
            now,
            member.actor(),
            Change {
                white_label_id: Some(member.white_label_id()),
                customer_id: Some(member.customer_id()),
                action: "api_key.created",
                object_kind: "api_key",
                object_id: id.as_str(),
                after: Some(after),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedApiKey {
            id,
            secret,
            key_prefix,
        })
    }

    /// Lists the API keys of the guard's customer account (never their secrets), newest
    /// first, revoked ones included.
    pub async fn list_account_api_keys(
        &self,
        member: &AccountMember,
    ) -> AppResult<Vec<api_keys::ApiKeyRow>> {
        member.require(Permission::ManageAccountUsers)?;
        let mut conn = self.store.conn().await?;
        Ok(
            api_keys::list_for_customer(&mut conn, member.white_label_id(), member.customer_id())
                .await?,
        )
    }

    /// Revokes one of the account's API keys; it stops working with the next request.
    pub async fn revoke_account_api_key(
        &self,
        member: &AccountMember,
        id: &ApiKeyId,
    ) -> AppResult<()> {
        member.require(Permission::ManageAccountUsers)?;
        let now = self.now_us();
        let mut tx = self.store.begin().await?;
        let revoked = api_keys::revoke_for_customer(
            &mut tx,
            member.white_label_id(),
            member.customer_id(),
            id,
            now,
        )
        .await?;
        if !revoked {
            return Err(AppError::NotFound("API key"));
        }
        record(
            &mut tx,
            now,
            member.actor(),
            Change {
                white_label_id: Some(member.white_label_id()),
                customer_id: Some(member.customer_id()),
                action: "api_key.revoked",
                object_kind: "api_key",
                object_id: id.as_str(),
                ..Change::default()
            },
        )
        .await?;
        tx.commit().await?;
        self.api_key_cache.forget(id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_key_role_never_above_granter() {
        assert_eq!(
            account_key_role("tech", Role::AccountAdministrator).unwrap(),
            Role::Tech
        );
        assert_eq!(
            account_key_role("account_administrator", Role::Tech)
                .unwrap_err()
                .code,
            "role_above_own"
        );
        assert_eq!(
            account_key_role("white_label", Role::AccountAdministrator)
                .unwrap_err()
                .code,
            "role_not_allowed"
        );
        assert!(account_key_role("owner", Role::AccountAdministrator).is_err());
    }
}
