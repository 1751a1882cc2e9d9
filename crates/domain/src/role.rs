//! Roles a user can hold, the scope each role applies to, and the permissions each grants.
//! The permission rules are one table, `GRANTS`, so the whole policy can be read in one place.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enum_name::parse_name;
use crate::error::ValueError;

/// The kind of scope a role applies to: the whole platform, one white label, or one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// The whole platform, across all white labels.
    Platform,
    /// One white label and the customers under it.
    WhiteLabel,
    /// One customer account.
    Customer,
}

impl ScopeKind {
    /// Returns the snake_case name, such as `white_label`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ScopeKind::Platform => "platform",
            ScopeKind::WhiteLabel => "white_label",
            ScopeKind::Customer => "customer",
        }
    }
}

/// A role held by a user within a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operates the whole platform.
    PlatformAdministrator,
    /// Runs a white label: branding, plans, payments and its customers.
    WhiteLabel,
    /// Administers one customer account.
    AccountAdministrator,
    /// Configures the PBX of one customer account.
    Tech,
    /// Manages conferences in one customer account.
    Conference,
    /// An ordinary user of one customer account.
    StandardUser,
}

impl Role {
    /// Every role, from highest rank to lowest.
    pub const ALL: [Role; 6] = [
        Role::PlatformAdministrator,
        Role::WhiteLabel,
        Role::AccountAdministrator,
        Role::Tech,
        Role::Conference,
        Role::StandardUser,
    ];

    /// Parses a snake_case role name such as `account_administrator`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(input, &Self::ALL, Self::as_str, "invalid_role", "role")
    }

    /// Returns the snake_case name, such as `account_administrator`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::PlatformAdministrator => "platform_administrator",
            Role::WhiteLabel => "white_label",
            Role::AccountAdministrator => "account_administrator",
            Role::Tech => "tech",
            Role::Conference => "conference",
            Role::StandardUser => "standard_user",
        }
    }

    /// Returns the name shown to people, such as `Account Administrator`.
    pub fn label(&self) -> &'static str {
        match self {
            Role::PlatformAdministrator => "Platform Administrator",
            Role::WhiteLabel => "White Label",
            Role::AccountAdministrator => "Account Administrator",
            Role::Tech => "Tech",
            Role::Conference => "Conference",
            Role::StandardUser => "Standard User",
        }
    }

    /// Returns the kind of scope this role is held in.
    pub fn scope(&self) -> ScopeKind {
        match self {
            Role::PlatformAdministrator => ScopeKind::Platform,
            Role::WhiteLabel => ScopeKind::WhiteLabel,
            Role::AccountAdministrator | Role::Tech | Role::Conference | Role::StandardUser => {
                ScopeKind::Customer
            }
        }
    }

    /// Returns the rank, from 6 for a platform administrator down to 1 for a standard user.
    pub fn rank(&self) -> u8 {
        match self {
            Role::PlatformAdministrator => 6,
            Role::WhiteLabel => 5,
            Role::AccountAdministrator => 4,
            Role::Tech => 3,
            Role::Conference => 2,
            Role::StandardUser => 1,
        }
    }

    /// Returns true if a holder of this role may grant `other`: only roles of equal or lower
    /// rank may be granted.
    pub fn may_grant(&self, other: Role) -> bool {
        other.rank() <= self.rank()
    }

    /// Returns true if this role grants `permission` within its scope.
    ///
    /// Permissions are relative to the scope: `ViewAudit` for an account administrator covers
    /// only that customer's audit entries, and the caller enforces the scope.
    pub fn permits(&self, permission: Permission) -> bool {
        GRANTS
            .iter()
            .find(|(role, _)| role == self)
            .is_some_and(|(_, permissions)| permissions.contains(&permission))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action that a role may or may not be allowed to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create, suspend and configure white labels.
    ManageWhiteLabels,
    /// Change a white label's settings and branding.
    ManageWhiteLabelSettings,
    /// Create and change plans and their prices.
    ManagePlans,
    /// Configure the payment gateway that takes customers' payments.
    ManagePaymentGateway,
    /// Invite and remove users of a white label.
    ManageWhiteLabelUsers,
    /// See customer accounts.
    ViewCustomers,
    /// Create customer accounts.
    CreateCustomers,
    /// Activate, suspend, cancel or close customer accounts.
    ManageCustomerState,
    /// Credit or debit a customer's balance by hand.
    AdjustBalances,
    /// Create and revoke API keys.
    ManageApiKeys,
    /// Read the audit log of the scope.
    ViewAudit,
    /// Invite, remove and change the roles of users in a customer account.
    ManageAccountUsers,
    /// Order, release and route phone numbers.
    ManageNumbers,
    /// Configure extensions, queues, IVRs and other PBX settings.
    ManagePbx,
    /// Create and manage conference rooms.
    ManageConferences,
    /// Change one's own name, password and preferences.
    ManageOwnProfile,
    /// See invoices, payments and the balance.
    ViewBilling,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 17] = [
        Permission::ManageWhiteLabels,
        Permission::ManageWhiteLabelSettings,
        Permission::ManagePlans,
        Permission::ManagePaymentGateway,
        Permission::ManageWhiteLabelUsers,
        Permission::ViewCustomers,
        Permission::CreateCustomers,
        Permission::ManageCustomerState,
        Permission::AdjustBalances,
        Permission::ManageApiKeys,
        Permission::ViewAudit,
        Permission::ManageAccountUsers,
        Permission::ManageNumbers,
        Permission::ManagePbx,
        Permission::ManageConferences,
        Permission::ManageOwnProfile,
        Permission::ViewBilling,
    ];

    /// Returns the snake_case name, such as `manage_pbx`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::ManageWhiteLabels => "manage_white_labels",
            Permission::ManageWhiteLabelSettings => "manage_white_label_settings",
            Permission::ManagePlans => "manage_plans",
            Permission::ManagePaymentGateway => "manage_payment_gateway",
            Permission::ManageWhiteLabelUsers => "manage_white_label_users",
            Permission::ViewCustomers => "view_customers",
            Permission::CreateCustomers => "create_customers",
            Permission::ManageCustomerState => "manage_customer_state",
            Permission::AdjustBalances => "adjust_balances",
            Permission::ManageApiKeys => "manage_api_keys",
            Permission::ViewAudit => "view_audit",
            Permission::ManageAccountUsers => "manage_account_users",
            Permission::ManageNumbers => "manage_numbers",
            Permission::ManagePbx => "manage_pbx",
            Permission::ManageConferences => "manage_conferences",
            Permission::ManageOwnProfile => "manage_own_profile",
            Permission::ViewBilling => "view_billing",
        }
    }
}

/// The permissions of each role. A permission missing from a role's list is denied.
const GRANTS: &[(Role, &[Permission])] = &[
    (Role::PlatformAdministrator, &Permission::ALL),
    (
        Role::WhiteLabel,
        &[
            Permission::ManageWhiteLabelSettings,
            Permission::ManagePlans,
            Permission::ManagePaymentGateway,
            Permission::ManageApiKeys,
            Permission::ManageWhiteLabelUsers,
            Permission::ViewCustomers,
            Permission::CreateCustomers,
            Permission::ManageCustomerState,
            Permission::AdjustBalances,
            Permission::ViewAudit,
            Permission::ManageNumbers,
            Permission::ManagePbx,
            Permission::ManageConferences,
            Permission::ManageOwnProfile,
        ],
    ),
    (
        Role::AccountAdministrator,
        &[
            Permission::ManageAccountUsers,
            Permission::ManageNumbers,
            Permission::ManagePbx,
            Permission::ManageConferences,
            Permission::ViewBilling,
            Permission::ViewAudit,
            Permission::ManageOwnProfile,
        ],
    ),
    (
        Role::Tech,
        &[Permission::ManagePbx, Permission::ManageOwnProfile],
    ),
    (
        Role::Conference,
        &[Permission::ManageConferences, Permission::ManageOwnProfile],
    ),
    (Role::StandardUser, &[Permission::ManageOwnProfile]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_and_labels() {
        let cases = [
            (
                Role::PlatformAdministrator,
                "platform_administrator",
                "Platform Administrator",
            ),
            (Role::WhiteLabel, "white_label", "White Label"),
            (
                Role::AccountAdministrator,
                "account_administrator",
                "Account Administrator",
            ),
            (Role::Tech, "tech", "Tech"),
            (Role::Conference, "conference", "Conference"),
            (Role::StandardUser, "standard_user", "Standard User"),
        ];
        for (role, name, label) in cases {
            assert_eq!(role.as_str(), name);
            assert_eq!(role.label(), label);
            assert_eq!(Role::parse(name), Ok(role));
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn role_parse_invalid_cases() {
        for input in ["admin", "Tech", "standard user", "white-label"] {
            let error = Role::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_role", "{input}");
        }
        assert_eq!(Role::parse(" ").unwrap_err().code, "required");
    }

    #[test]
    fn role_scopes() {
        assert_eq!(Role::PlatformAdministrator.scope(), ScopeKind::Platform);
        assert_eq!(Role::WhiteLabel.scope(), ScopeKind::WhiteLabel);
        for role in [
            Role::AccountAdministrator,
            Role::Tech,
            Role::Conference,
            Role::StandardUser,
        ] {
            assert_eq!(role.scope(), ScopeKind::Customer, "{role}");
        }
        assert_eq!(ScopeKind::WhiteLabel.as_str(), "white_label");
        assert_eq!(ScopeKind::Platform.as_str(), "platform");
        assert_eq!(ScopeKind::Customer.as_str(), "customer");
    }

    #[test]
    fn role_ranks_descend() {
        let ranks: Vec<u8> = Role::ALL.iter().map(Role::rank).collect();
        assert_eq!(ranks, [6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn role_may_grant_equal_or_lower() {
        assert!(Role::AccountAdministrator.may_grant(Role::AccountAdministrator));
        assert!(Role::AccountAdministrator.may_grant(Role::Tech));
        assert!(!Role::AccountAdministrator.may_grant(Role::WhiteLabel));
        assert!(Role::PlatformAdministrator.may_grant(Role::PlatformAdministrator));
        assert!(!Role::StandardUser.may_grant(Role::Conference));
        assert!(!Role::Tech.may_grant(Role::AccountAdministrator));
    }

    #[test]
    fn role_table_covers_every_role_once() {
        for role in Role::ALL {
            let entries = GRANTS
                .iter()
                .filter(|(granted, _)| *granted == role)
                .count();
            assert_eq!(entries, 1, "{role}");
        }
    }

    #[test]
    fn role_platform_administrator_has_everything() {
        for permission in Permission::ALL {
            assert!(
                Role::PlatformAdministrator.permits(permission),
                "{permission:?}"
            );
        }
    }

    #[test]
    fn role_permission_matrix() {
        use Permission as P;
        let cases = [
            (Role::WhiteLabel, P::ManageWhiteLabelSettings, true),
            (Role::WhiteLabel, P::ManagePlans, true),
            (Role::WhiteLabel, P::ManagePaymentGateway, true),
            (Role::WhiteLabel, P::ManageApiKeys, true),
            (Role::WhiteLabel, P::ManageWhiteLabelUsers, true),
            (Role::WhiteLabel, P::CreateCustomers, true),
            (Role::WhiteLabel, P::ManageCustomerState, true),
            (Role::WhiteLabel, P::AdjustBalances, true),
            (Role::WhiteLabel, P::ViewAudit, true),
            (Role::WhiteLabel, P::ManageWhiteLabels, false),
            (Role::WhiteLabel, P::ManagePbx, true),
            (Role::AccountAdministrator, P::ManageAccountUsers, true),
            (Role::AccountAdministrator, P::ManageNumbers, true),
            (Role::AccountAdministrator, P::ManagePbx, true),
            (Role::AccountAdministrator, P::ViewBilling, true),
            (Role::AccountAdministrator, P::ManageConferences, true),
            (Role::AccountAdministrator, P::ViewAudit, true),
            (Role::AccountAdministrator, P::AdjustBalances, false),
            (Role::AccountAdministrator, P::ManagePlans, false),
            (Role::AccountAdministrator, P::ViewCustomers, false),
            (Role::Tech, P::ManagePbx, true),
            (Role::Tech, P::ManageOwnProfile, true),
            (Role::Tech, P::ManageNumbers, false),
            (Role::Tech, P::ViewBilling, false),
            (Role::Conference, P::ManageConferences, true),
            (Role::Conference, P::ManagePbx, false),
            (Role::StandardUser, P::ManageOwnProfile, true),
            (Role::StandardUser, P::ManageConferences, false),
            (Role::StandardUser, P::ViewBilling, false),
        ];
        for (role, permission, expected) in cases {
            assert_eq!(role.permits(permission), expected, "{role} {permission:?}");
        }
    }

    #[test]
    fn role_everyone_manages_own_profile() {
        for role in Role::ALL {
            assert!(role.permits(Permission::ManageOwnProfile), "{role}");
        }
    }

    #[test]
    fn permission_names_match_serde() {
        for permission in Permission::ALL {
            let json = serde_json::to_string(&permission).unwrap();
            assert_eq!(json, format!("\"{}\"", permission.as_str()));
        }
    }
}
