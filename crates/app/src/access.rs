//! Who is acting, and the guards that prove what they may do.
//!
//! A [`Principal`] is an authenticated user (with their memberships) or an API key. Use cases
//! take a guard, not a principal: [`PlatformAdmin`] or [`WhiteLabelAdmin`]. Guards are built
//! only by the methods below, which check the role table of [`tandem_domain::Role`], and the
//! white label a guard names is the only tenant the use case touches.

use tandem_domain::{ApiKeyId, Permission, Role, UserId, WhiteLabelId};
use tandem_store::api_keys::ApiKeyRow;
use tandem_store::memberships::MembershipRow;
use tandem_store::users::UserRow;

use crate::{AppError, AppResult};

/// The person or key behind a change, as recorded in the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub(crate) user_id: Option<UserId>,
    pub(crate) api_key_id: Option<ApiKeyId>,
    pub(crate) label: String,
    pub(crate) source_ip: Option<String>,
}

impl Actor {
    /// How the actor is shown in the audit log and the ledger: an email or an API key's name.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The user, when a person is acting.
    pub fn user_id(&self) -> Option<&UserId> {
        self.user_id.as_ref()
    }

    /// An actor for changes Tandem makes by itself, such as applying a gateway's webhook or
    /// expiring an activation.
    pub fn system(label: &str) -> Self {
        Self {
            user_id: None,
            api_key_id: None,
            label: label.to_string(),
            source_ip: None,
        }
    }

    /// An actor for changes made from the command line on the machine itself.
    pub fn command_line() -> Self {
        Self {
            user_id: None,
            api_key_id: None,
            label: "tandem admin".into(),
            source_ip: None,
        }
    }
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    actor: Actor,
    identity: Identity,
}

#[derive(Debug, Clone)]
enum Identity {
    User {
        user: UserRow,
        memberships: Vec<MembershipRow>,
    },
    ApiKey(ApiKeyRow),
}

impl Principal {
    pub(crate) fn user(
        user: UserRow,
        memberships: Vec<MembershipRow>,
        source_ip: Option<String>,
    ) -> Self {
        let actor = Actor {
            user_id: Some(user.id.clone()),
            api_key_id: None,
            label: user.email.clone(),
            source_ip,
        };
        Self {
            actor,
            identity: Identity::User { user, memberships },
        }
    }

    pub(crate) fn api_key(key: ApiKeyRow, source_ip: Option<String>) -> Self {
        let actor = Actor {
            user_id: None,
            api_key_id: Some(key.id.clone()),
            label: format!("API key {} ({})", key.name, key.key_prefix),
            source_ip,
        };
        Self {
            actor,
            identity: Identity::ApiKey(key),
        }
    }

    /// The actor, for audit records.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The signed-in user, if this is a person.
    pub fn user_row(&self) -> Option<&UserRow> {
        match &self.identity {
            Identity::User { user, .. } => Some(user),
            Identity::ApiKey(_) => None,
        }
    }

    /// The white label an API key belongs to; `None` for a person.
    pub fn api_key_white_label(&self) -> Option<&WhiteLabelId> {
        match &self.identity {
            Identity::ApiKey(key) => Some(&key.white_label_id),
            Identity::User { .. } => None,
        }
    }

    /// Whether the caller holds the Platform Administrator role.
    pub fn is_platform_admin(&self) -> bool {
        match &self.identity {
            Identity::User { memberships, .. } => memberships
                .iter()
                .any(|m| m.role == Role::PlatformAdministrator.as_str()),
            Identity::ApiKey(_) => false,
        }
    }

    /// The guard for platform-wide administration.
    pub fn platform_admin(&self) -> AppResult<PlatformAdmin> {
        if self.is_platform_admin() {
            Ok(PlatformAdmin {
                actor: self.actor.clone(),
            })
        } else {
            Err(AppError::Forbidden(
                "only a Platform Administrator may do this".into(),
            ))
        }
    }

    /// The role the caller holds on a white label: its own White Label membership, a White
    /// Label API key of that white label, or Platform Administrator acting for it.
    pub fn role_on_white_label(&self, white_label_id: &WhiteLabelId) -> Option<Role> {
        match &self.identity {
            Identity::ApiKey(key) => {
                let role = Role::parse(&key.role).ok()?;
                (key.white_label_id == *white_label_id
                    && key.customer_id.is_none()
                    && role == Role::WhiteLabel)
                    .then_some(role)
            }
            Identity::User { memberships, .. } => {
                if self.is_platform_admin() {
                    return Some(Role::PlatformAdministrator);
                }
                memberships
                    .iter()
                    .filter(|m| m.customer_id.is_none())
                    .filter(|m| m.white_label_id.as_ref() == Some(white_label_id))
                    .find_map(|m| Role::parse(&m.role).ok())
            }
        }
    }

    /// The guard for administering one white label with `permission`.
    pub fn white_label_admin(
        &self,
        white_label_id: &WhiteLabelId,
        permission: Permission,
    ) -> AppResult<WhiteLabelAdmin> {
        let Some(role) = self.role_on_white_label(white_label_id) else {
            return Err(AppError::Forbidden(
                "you are not an administrator of this white label".into(),
            ));
        };
        if !role.permits(permission) {
            return Err(AppError::Forbidden(format!(
                "the {} role does not allow this",
                role.label()
            )));
        }
        Ok(WhiteLabelAdmin {
            actor: self.actor.clone(),
            white_label_id: white_label_id.clone(),
            role,
        })
    }
}

impl Principal {
    /// The customer accounts of one white label on which the caller holds a role, with it. A
    /// customer account's API key has its role on its own account only.
    pub fn customer_roles(
        &self,
        white_label_id: &WhiteLabelId,
    ) -> Vec<(tandem_domain::CustomerId, Role)> {
        match &self.identity {
            Identity::User { memberships, .. } => memberships
                .iter()
                .filter(|m| m.white_label_id.as_ref() == Some(white_label_id))
                .filter_map(|m| Some((m.customer_id.clone()?, Role::parse(&m.role).ok()?)))
                .collect(),
            Identity::ApiKey(key) => {
                let Some(customer_id) = &key.customer_id else {
                    return Vec::new();
                };
                match Role::parse(&key.role) {
                    Ok(role)
                        if key.white_label_id == *white_label_id
                            && role.scope() == tandem_domain::ScopeKind::Customer =>
                    {
                        vec![(customer_id.clone(), role)]
                    }
                    _ => Vec::new(),
                }
            }
        }
    }

    /// The guard for acting inside one customer account of a white label, as a member of it.
    pub fn account_member(
        &self,
        white_label_id: &WhiteLabelId,
        customer_id: &tandem_domain::CustomerId,
    ) -> AppResult<AccountMember> {
        let role = self
            .customer_roles(white_label_id)
            .into_iter()
            .find(|(id, _)| id == customer_id)
            .map(|(_, role)| role)
            .ok_or(AppError::NotFound("customer account"))?;
        Ok(AccountMember {
            actor: self.actor.clone(),
            white_label_id: white_label_id.clone(),
            customer_id: customer_id.clone(),
            role,
        })
    }
}

impl Principal {
    /// The guard for managing the team of a white label (`customer_id` absent) or of one of its
    /// customer accounts. A white label's administrators manage both; an Account Administrator
    /// manages their own account's team. The caller must check that the customer belongs to
    /// the white label, which the store's queries do by filtering on both ids.
    pub fn team_admin(
        &self,
        white_label_id: &WhiteLabelId,
        customer_id: Option<&tandem_domain::CustomerId>,
    ) -> AppResult<TeamAdmin> {
        let wl_role = self.role_on_white_label(white_label_id);
        let role = match (customer_id, wl_role) {
            (None, Some(role)) if role.permits(Permission::ManageWhiteLabelUsers) => role,
            (Some(_), Some(role)) if role.permits(Permission::ViewCustomers) => role,
            (Some(customer_id), _) => {
                let member = self.account_member(white_label_id, customer_id)?;
                member.require(Permission::ManageAccountUsers)?;
                member.role()
            }
            _ => return Err(AppError::Forbidden("you may not manage this team".into())),
        };
        Ok(TeamAdmin {
            actor: self.actor.clone(),
            white_label_id: white_label_id.clone(),
            customer_id: customer_id.cloned(),
            role,
        })
    }
}

/// Proof that the caller may manage the team of one node.
#[derive(Debug, Clone)]
pub struct TeamAdmin {
    actor: Actor,
    white_label_id: WhiteLabelId,
    customer_id: Option<tandem_domain::CustomerId>,
    role: Role,
}

impl TeamAdmin {
    /// The white label of the team.
    pub fn white_label_id(&self) -> &WhiteLabelId {
        &self.white_label_id
    }

    /// The customer account of the team, or `None` for the white label's own team.
    pub fn customer_id(&self) -> Option<&tandem_domain::CustomerId> {
        self.customer_id.as_ref()
    }

    /// The role the caller acts with; they may grant only roles up to it.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The acting person or key.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }
}

/// Proof that the caller holds a role on one customer account.
#[derive(Debug, Clone)]
pub struct AccountMember {
    actor: Actor,
    white_label_id: WhiteLabelId,
    customer_id: tandem_domain::CustomerId,
    role: Role,
}

impl AccountMember {
    /// The white label the account belongs to.
    pub fn white_label_id(&self) -> &WhiteLabelId {
        &self.white_label_id
    }

    /// The account this guard is for.
    pub fn customer_id(&self) -> &tandem_domain::CustomerId {
        &self.customer_id
    }

    /// The caller's role on the account.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The acting person or key.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Fails unless the role grants `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.role.permits(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role does not allow this",
                self.role.label()
            )))
        }
    }
}

/// Proof that the caller is a Platform Administrator.
#[derive(Debug, Clone)]
pub struct PlatformAdmin {
    actor: Actor,
}

impl PlatformAdmin {
    /// The acting administrator.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// A guard for work done from the command line on the server itself.
    pub fn command_line() -> Self {
        Self {
            actor: Actor::command_line(),
        }
    }

    /// Acts for a white label, as a Platform Administrator may.
    pub fn for_white_label(&self, white_label_id: &WhiteLabelId) -> WhiteLabelAdmin {
        WhiteLabelAdmin {
            actor: self.actor.clone(),
            white_label_id: white_label_id.clone(),
            role: Role::PlatformAdministrator,
        }
    }
}

/// Proof that the caller may administer one white label.
#[derive(Debug, Clone)]
pub struct WhiteLabelAdmin {
    actor: Actor,
    white_label_id: WhiteLabelId,
    role: Role,
}

impl WhiteLabelAdmin {
    /// The white label this guard is for: the tenant of every call made with it.
    pub fn white_label_id(&self) -> &WhiteLabelId {
        &self.white_label_id
    }

    /// The acting person or key.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The role the caller acts with.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Fails unless the role grants `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.role.permits(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role does not allow this",
                self.role.label()
            )))
        }
    }

    /// Returns the guard for configuring one of the white label's accounts with the
    /// administrator's role, as the white label does for accounts it manages. The account is
    /// not looked up here, because store calls made with the guard filter by both ids.
    pub fn account_operator(&self, customer_id: &tandem_domain::CustomerId) -> AccountOperator {
        AccountOperator {
            actor: self.actor.clone(),
            white_label_id: self.white_label_id.clone(),
            customer_id: customer_id.clone(),
            role: self.role,
        }
    }

    /// How the audit log names who the work was done for, when a Platform Administrator acts
    /// for the white label.
    pub(crate) fn on_behalf_of(&self) -> Option<String> {
        (self.role == Role::PlatformAdministrator).then(|| self.white_label_id.to_string())
    }
}

impl Principal {
    /// The guard for configuring one customer account's numbers or PBX with `permission`: a
    /// member of the account whose role grants it, or an administrator of the account's white
    /// label (who configures managed accounts on the customer's behalf). The account is not
    /// looked up here; every store call made with the guard filters by both ids, so an account
    /// of another white label is not found.
    pub fn account_operator(
        &self,
        white_label_id: &WhiteLabelId,
        customer_id: &tandem_domain::CustomerId,
        permission: Permission,
    ) -> AppResult<AccountOperator> {
        if let Some(role) = self.role_on_white_label(white_label_id) {
            if role.permits(permission) {
                return Ok(AccountOperator {
                    actor: self.actor.clone(),
                    white_label_id: white_label_id.clone(),
                    customer_id: customer_id.clone(),
                    role,
                });
            }
        }
        let member = self.account_member(white_label_id, customer_id)?;
        member.require(permission)?;
        Ok(AccountOperator {
            actor: self.actor.clone(),
            white_label_id: white_label_id.clone(),
            customer_id: customer_id.clone(),
            role: member.role(),
        })
    }
}

/// Proof that the caller may configure one customer account's numbers or PBX.
#[derive(Debug, Clone)]
pub struct AccountOperator {
    actor: Actor,
    white_label_id: WhiteLabelId,
    customer_id: tandem_domain::CustomerId,
    role: Role,
}

impl AccountOperator {
    /// The white label the account belongs to.
    pub fn white_label_id(&self) -> &WhiteLabelId {
        &self.white_label_id
    }

    /// The account this guard is for.
    pub fn customer_id(&self) -> &tandem_domain::CustomerId {
        &self.customer_id
    }

    /// The role the caller acts with.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The acting person or key.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// Returns whether the caller acts from the white label rather than from inside the account.
    pub fn is_white_label(&self) -> bool {
        self.role.scope() != tandem_domain::ScopeKind::Customer
    }

    /// Fails unless the role grants `permission`.
    pub fn require(&self, permission: Permission) -> AppResult<()> {
        if self.role.permits(permission) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "the {} role does not allow this",
                self.role.label()
            )))
        }
    }
}
