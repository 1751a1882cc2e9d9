//! Typed values of Tandem: ids, contact details, money, roles and statuses, each parsed and
//! validated once at the edge so the rest of the program can trust them. Pure code with no I/O.
//!
//! Every parser returns [`ValueError`], whose `code` is stable for programs and whose `message`
//! explains the problem to a person without naming the form field.

pub mod account_number;
pub mod address;
pub mod business;
pub mod colour;
pub mod country;
pub mod customer;
pub mod email;
mod enum_name;
pub mod error;
pub mod host;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod pbx;
pub mod phone;
pub mod postcode;
pub mod role;
mod serde_string;
pub mod text;
pub mod time_zone;

pub use account_number::AccountNumber;
pub use address::{Address, AddressErrors, AddressInput};
pub use business::{BusinessNumber, TaxNumber};
pub use colour::Colour;
pub use country::Country;
pub use customer::{CreationMode, CustomerStatus, Payer};
pub use email::EmailAddress;
pub use error::ValueError;
pub use host::HostName;
pub use ids::{
    ApiKeyId, AuditEntryId, CustomerId, InvitationId, LedgerEntryId, MediaId, MembershipId,
    PaymentId, PbxObjectId, PlanId, PortOrderId, SipBlockId, UserId, WhiteLabelId,
};
pub use ledger::LedgerKind;
pub use money::{AmountRule, Currency, Money, TaxRate};
pub use phone::PhoneNumber;
pub use postcode::Postcode;
pub use role::{Permission, Role, ScopeKind};
pub use text::{Description, Name, OptionalText};
pub use time_zone::{format_timestamp, TimeZoneName};
