//! Kinds of entries in a customer's balance ledger.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enum_name::parse_name;
use crate::error::ValueError;

/// The kind of a ledger entry, which determines how it is shown on statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerKind {
    /// Money paid in by the customer.
    TopUp,
    /// Usage or a recurring fee taken from the balance.
    Charge,
    /// Money returned to the customer.
    Refund,
    /// A correction made by hand by staff.
    Adjustment,
}

impl LedgerKind {
    /// Every ledger kind.
    pub const ALL: [LedgerKind; 4] = [
        LedgerKind::TopUp,
        LedgerKind::Charge,
        LedgerKind::Refund,
        LedgerKind::Adjustment,
    ];

    /// Parses a snake_case kind such as `top_up`.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        parse_name(
            input,
            &Self::ALL,
            Self::as_str,
            "invalid_ledger_kind",
            "ledger entry kind",
        )
    }

    /// Returns the snake_case name, such as `top_up`.
    pub fn as_str(&self) -> &'static str {
        match self {
            LedgerKind::TopUp => "top_up",
            LedgerKind::Charge => "charge",
            LedgerKind::Refund => "refund",
            LedgerKind::Adjustment => "adjustment",
        }
    }

    /// Returns the name shown to people, such as `Top-up`.
    pub fn label(&self) -> &'static str {
        match self {
            LedgerKind::TopUp => "Top-up",
            LedgerKind::Charge => "Charge",
            LedgerKind::Refund => "Refund",
            LedgerKind::Adjustment => "Adjustment",
        }
    }
}

impl fmt::Display for LedgerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_kind_names() {
        let cases = [
            (LedgerKind::TopUp, "top_up", "Top-up"),
            (LedgerKind::Charge, "charge", "Charge"),
            (LedgerKind::Refund, "refund", "Refund"),
            (LedgerKind::Adjustment, "adjustment", "Adjustment"),
        ];
        for (kind, name, label) in cases {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.label(), label);
            assert_eq!(LedgerKind::parse(name), Ok(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
        }
    }

    #[test]
    fn ledger_kind_parse_invalid() {
        for input in ["topup", "Top-up", "credit"] {
            let error = LedgerKind::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_ledger_kind", "{input}");
        }
        assert_eq!(LedgerKind::parse(" ").unwrap_err().code, "required");
    }
}
