//! The life cycle of a customer account, who pays for it, and how it was created.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enum_name::parse_name;
use crate::error::ValueError;

/// The life-cycle status of a customer account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// Created but not yet activated by payment or by the white label.
    PendingActivation,
    /// In service.
    Active,
    /// Service stopped, for example for non-payment, but the account can be reactivated.
    Suspended,
    /// Abandoned before activation.
    Cancelled,
    /// Ended after service; final.
    Closed,
}

impl CustomerStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [CustomerStatus; 5] = [
        CustomerStatus::PendingActivation,
        CustomerStatus::Active,
        CustomerStatus::Suspended,
        CustomerStatus::Cancelled,
        CustomerStatus::Closed,
    ];

    /// Parses a snake_case status such as `pending_activation`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(
            input,
            &Self::ALL,
            Self::as_str,
            "invalid_customer_status",
            "customer status",
        )
    }

    /// Returns the snake_case name, such as `pending_activation`.
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomerStatus::PendingActivation => "pending_activation",
            CustomerStatus::Active => "active",
            CustomerStatus::Suspended => "suspended",
            CustomerStatus::Cancelled => "cancelled",
            CustomerStatus::Closed => "closed",
        }
    }

    /// Returns the name shown to people, such as `Pending activation`.
    pub fn label(&self) -> &'static str {
        match self {
            CustomerStatus::PendingActivation => "Pending activation",
            CustomerStatus::Active => "Active",
            CustomerStatus::Suspended => "Suspended",
            CustomerStatus::Cancelled => "Cancelled",
            CustomerStatus::Closed => "Closed",
        }
    }

    /// Returns true if an account may move from this status to `next`.
    ///
    /// Pending accounts are activated or cancelled; active accounts are suspended or closed;
    /// suspended accounts are reactivated or closed; cancelled and closed are final.
    pub fn can_transition_to(&self, next: CustomerStatus) -> bool {
        use CustomerStatus::*;
        matches!(
            (self, next),
            (PendingActivation, Active | Cancelled)
                | (Active, Suspended | Closed)
                | (Suspended, Active | Closed)
        )
    }
}

impl fmt::Display for CustomerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The party billed for a customer's service: the white label or the customer directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payer {
    /// The white label is billed and invoices its customer itself.
    WhiteLabel,
    /// The customer pays through the white label's payment gateway.
    Customer,
}

impl Payer {
    /// Every payer.
    pub const ALL: [Payer; 2] = [Payer::WhiteLabel, Payer::Customer];

    /// Parses `white_label` or `customer`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(input, &Self::ALL, Self::as_str, "invalid_payer", "payer")
    }

    /// Returns the snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Payer::WhiteLabel => "white_label",
            Payer::Customer => "customer",
        }
    }
}

/// The way a customer account was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreationMode {
    /// Created by the white label's staff on the customer's behalf.
    WhiteLabelManaged,
    /// Created by the customer signing up on the white label's portal.
    SelfActivation,
}

impl CreationMode {
    /// Every creation mode.
    pub const ALL: [CreationMode; 2] = [
        CreationMode::WhiteLabelManaged,
        CreationMode::SelfActivation,
    ];

    /// Parses `white_label_managed` or `self_activation`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(
            input,
            &Self::ALL,
            Self::as_str,
            "invalid_creation_mode",
            "creation mode",
        )
    }

    /// Returns the snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            CreationMode::WhiteLabelManaged => "white_label_managed",
            CreationMode::SelfActivation => "self_activation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_status_names() {
        let cases = [
            (
                CustomerStatus::PendingActivation,
                "pending_activation",
                "Pending activation",
            ),
            (CustomerStatus::Active, "active", "Active"),
            (CustomerStatus::Suspended, "suspended", "Suspended"),
            (CustomerStatus::Cancelled, "cancelled", "Cancelled"),
            (CustomerStatus::Closed, "closed", "Closed"),
        ];
        for (status, name, label) in cases {
            assert_eq!(status.as_str(), name);
            assert_eq!(status.label(), label);
            assert_eq!(CustomerStatus::parse(name), Ok(status));
            assert_eq!(
                serde_json::to_string(&status).unwrap(),
                format!("\"{name}\"")
            );
        }
    }

    #[test]
    fn customer_status_parse_invalid() {
        for input in ["Active", "pending", "deleted"] {
            let error = CustomerStatus::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_customer_status", "{input}");
        }
        assert_eq!(CustomerStatus::parse("").unwrap_err().code, "required");
    }

    #[test]
    fn customer_status_transitions() {
        use CustomerStatus::*;
        let allowed = [
            (PendingActivation, Active),
            (PendingActivation, Cancelled),
            (Active, Suspended),
            (Active, Closed),
            (Suspended, Active),
            (Suspended, Closed),
        ];
        for from in CustomerStatus::ALL {
            for to in CustomerStatus::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_transition_to(to), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn payer_names() {
        assert_eq!(Payer::WhiteLabel.as_str(), "white_label");
        assert_eq!(Payer::Customer.as_str(), "customer");
        assert_eq!(Payer::parse("customer"), Ok(Payer::Customer));
        assert_eq!(Payer::parse("reseller").unwrap_err().code, "invalid_payer");
        assert_eq!(
            serde_json::to_string(&Payer::WhiteLabel).unwrap(),
            "\"white_label\""
        );
    }

    #[test]
    fn creation_mode_names() {
        let cases = [
            (CreationMode::WhiteLabelManaged, "white_label_managed"),
            (CreationMode::SelfActivation, "self_activation"),
        ];
        for (mode, name) in cases {
            assert_eq!(mode.as_str(), name);
            assert_eq!(CreationMode::parse(name), Ok(mode));
            assert_eq!(serde_json::to_string(&mode).unwrap(), format!("\"{name}\""));
            let back: CreationMode = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(back, mode);
        }
        assert_eq!(
            CreationMode::parse("manual").unwrap_err().code,
            "invalid_creation_mode"
        );
    }
}
