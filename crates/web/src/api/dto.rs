//! The API's request and response bodies. They are the public contract, kept apart from the
//! domain types and the stored rows they are built from.

use serde::{Deserialize, Serialize};
use tandem_app::customers as app_customers;
use tandem_domain::{Currency, Money};
use tandem_store::customers::{AddressRow, CustomerRow};
use tandem_store::ledger::LedgerEntryRow;
use tandem_store::plans::PlanRow;
use tandem_store::white_labels::WhiteLabelRow;
use utoipa::ToSchema;

/// An amount of money in minor units (cents) of its currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct MoneyDto {
    pub amount_minor: i64,
    /// ISO 4217 code, such as `NZD`.
    pub currency: String,
}

impl MoneyDto {
    pub(crate) fn new(amount_minor: i64, currency: &str) -> Self {
        Self {
            amount_minor,
            currency: currency.to_string(),
        }
    }
}

/// A postal address.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AddressDto {
    pub line1: String,
    pub line2: Option<String>,
    pub suburb: Option<String>,
    pub city: String,
    pub region: Option<String>,
    pub postcode: String,
    /// ISO 3166-1 alpha-2 code, such as `NZ`.
    pub country: String,
}

impl From<&AddressRow> for AddressDto {
    fn from(row: &AddressRow) -> Self {
        Self {
            line1: row.line1.clone(),
            line2: row.line2.clone(),
            suburb: row.suburb.clone(),
            city: row.city.clone(),
            region: row.region.clone(),
            postcode: row.postcode.clone(),
            country: row.country.clone(),
        }
    }
}

impl From<AddressRow> for AddressDto {
    fn from(row: AddressRow) -> Self {
        Self {
            line1: row.line1,
            line2: row.line2,
            suburb: row.suburb,
            city: row.city,
            region: row.region,
            postcode: row.postcode,
            country: row.country,
        }
    }
}

impl From<AddressDto> for tandem_domain::AddressInput {
    fn from(dto: AddressDto) -> Self {
        Self {
            line1: dto.line1,
            line2: dto.line2.unwrap_or_default(),
            suburb: dto.suburb.unwrap_or_default(),
            city: dto.city,
            region: dto.region.unwrap_or_default(),
            postcode: dto.postcode,
            country: dto.country,
        }
    }
}

/// The service address: where the phones are, used to locate emergency calls.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ServiceAddressDto {
    /// When true, the billing address is the service address and the other fields are ignored.
    pub same_as_billing: bool,
    #[serde(flatten)]
    pub address: AddressDto,
}

/// Business details.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct BusinessDto {
    pub legal_name: String,
    pub trading_name: Option<String>,
    /// NZBN for NZ, ABN for AU; checksum-validated when given.
    pub business_number: Option<String>,
    /// GST or IRD number.
    pub tax_number: Option<String>,
}

/// The authorised contact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct ContactDto {
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    /// Any format valid for the account's country; answered in E.164.
    pub phone: String,
    pub job_title: Option<String>,
}

/// A request to create a customer account.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateCustomerRequest {
    /// `white_label_managed` (active at once, the white label pays) or `self_activation`.
    pub mode: String,
    pub plan_id: String,
    pub business: BusinessDto,
    pub contact: ContactDto,
    pub billing_address: AddressDto,
    pub service_address: ServiceAddressDto,
    /// IANA time zone; defaults from the billing country.
    pub time_zone: Option<String>,
}

impl From<CreateCustomerRequest> for app_customers::CustomerInput {
    fn from(dto: CreateCustomerRequest) -> Self {
        Self {
            mode: dto.mode,
            plan_id: dto.plan_id,
            business: app_customers::BusinessInput {
                legal_name: dto.business.legal_name,
                trading_name: dto.business.trading_name,
                business_number: dto.business.business_number,
                tax_number: dto.business.tax_number,
            },
            contact: app_customers::ContactInput {
                given_name: dto.contact.given_name,
                family_name: dto.contact.family_name,
                email: dto.contact.email,
                phone: dto.contact.phone,
                job_title: dto.contact.job_title,
            },
            billing_address: dto.billing_address.into(),
            service_address: app_customers::ServiceAddressInput {
                same_as_billing: dto.service_address.same_as_billing,
                address: dto.service_address.address.into(),
            },
            time_zone: dto.time_zone,
        }
    }
}

/// A customer account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustomerDto {
    /// `cus_…`
    pub id: String,
    /// Eight digits; the last is a Luhn check digit.
    pub account_number: String,
    /// `pending_activation`, `active`, `suspended`, `cancelled` or `closed`.
    pub status: String,
    /// Who pays the account's charges: `white_label` or `customer`.
    pub payer: String,
    pub mode: String,
    pub plan_id: String,
    pub plan_name: String,
    pub business: BusinessDto,
    pub contact: ContactDto,
    pub billing_address: AddressDto,
    pub service_address: ServiceAddressDto,
    pub time_zone: String,
    /// The customer's own balance (zero while the white label pays).
    pub balance: MoneyDto,
    pub version: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<&CustomerRow> for CustomerDto {
    fn from(row: &CustomerRow) -> Self {
        Self::from(row.clone())
    }
}

impl From<CustomerRow> for CustomerDto {
    /// Moves the row's strings into the body rather than copying them, because a list page
    /// converts up to 100 rows per request.
    fn from(row: CustomerRow) -> Self {
        let balance = MoneyDto {
            amount_minor: row.balance_minor,
            currency: row.currency,
        };
        Self {
            id: row.id.to_string(),
            account_number: row.account_number,
            status: row.status,
            payer: row.payer,
            mode: row.creation_mode,
            plan_id: row.plan_id.to_string(),
            plan_name: row.plan_name,
            business: BusinessDto {
                legal_name: row.legal_name,
                trading_name: row.trading_name,
                business_number: row.business_number,
                tax_number: row.tax_number,
            },
            contact: ContactDto {
                given_name: row.contact_given_name,
                family_name: row.contact_family_name,
                email: row.contact_email,
                phone: row.contact_phone,
                job_title: row.contact_job_title,
            },
            billing_address: AddressDto::from(row.billing_address),
            service_address: ServiceAddressDto {
                same_as_billing: row.service_same_as_billing,
                address: AddressDto::from(row.service_address),
            },
            time_zone: row.time_zone,
            balance,
            version: row.version,
            created_at: rfc3339(row.created_us),
        }
    }
}

/// A page of customers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerList {
    pub data: Vec<CustomerDto>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A ledger entry. The balance moved by `amount` plus `tax`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerEntryDto {
    pub id: String,
    /// `top_up`, `charge`, `refund` or `adjustment`.
    pub kind: String,
    /// `white_label` or `customer`: whose balance moved.
    pub account_kind: String,
    pub account_id: String,
    /// The customer the entry concerns.
    pub customer_id: Option<String>,
    /// Tax-exclusive amount; negative for debits.
    pub amount: MoneyDto,
    pub tax: MoneyDto,
    pub description: String,
    pub balance_after: MoneyDto,
    pub created_by: String,
    pub created_at: String,
}

impl From<&LedgerEntryRow> for LedgerEntryDto {
    fn from(row: &LedgerEntryRow) -> Self {
        Self {
            id: row.id.to_string(),
            kind: row.kind.clone(),
            account_kind: row.account_kind.clone(),
            account_id: row.account_id.clone(),
            customer_id: row.customer_id.as_ref().map(|c| c.to_string()),
            amount: MoneyDto::new(row.amount_minor, &row.currency),
            tax: MoneyDto::new(row.tax_minor, &row.currency),
            description: row.description.clone(),
            balance_after: MoneyDto::new(row.balance_after_minor, &row.currency),
            created_by: row.actor_label.clone(),
            created_at: rfc3339(row.created_us),
        }
    }
}

/// A list of ledger entries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LedgerList {
    pub data: Vec<LedgerEntryDto>,
    pub next_cursor: Option<String>,
}

/// A plan as entered: amounts are decimal strings in the white label's currency.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct PlanRequest {
    pub name: String,
    pub description: String,
    /// Decimal, such as "49.00".
    pub setup_fee: String,
    pub monthly_fee: String,
    pub included_extensions: u32,
    pub extra_extension_fee: String,
    pub number_rental: String,
    pub min_opening_credit: String,
}

impl From<PlanRequest> for tandem_app::plans::PlanInput {
    fn from(dto: PlanRequest) -> Self {
        Self {
            name: dto.name,
            description: dto.description,
            setup_fee: dto.setup_fee,
            monthly_fee: dto.monthly_fee,
            included_extensions: dto.included_extensions.to_string(),
            extra_extension_fee: dto.extra_extension_fee,
            number_rental: dto.number_rental,
            min_opening_credit: dto.min_opening_credit,
        }
    }
}

/// A plan.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PlanDto {
    /// `plan_…`
    pub id: String,
    pub name: String,
    pub description: String,
    /// `active` or `retired`.
    pub status: String,
    pub setup_fee: MoneyDto,
    pub monthly_fee: MoneyDto,
    pub included_extensions: i64,
    pub extra_extension_fee: MoneyDto,
    pub number_rental: MoneyDto,
    pub min_opening_credit: MoneyDto,
    pub version: i64,
}

impl From<&PlanRow> for PlanDto {
    fn from(row: &PlanRow) -> Self {
        let money = |minor| MoneyDto::new(minor, &row.currency);
        Self {
            id: row.id.to_string(),
            name: row.name.clone(),
            description: row.description.clone(),
            status: row.status.clone(),
            setup_fee: money(row.setup_fee_minor),
            monthly_fee: money(row.monthly_fee_minor),
            included_extensions: row.included_extensions,
            extra_extension_fee: money(row.extra_extension_fee_minor),
            number_rental: money(row.number_rental_minor),
            min_opening_credit: money(row.min_opening_credit_minor),
            version: row.version,
        }
    }
}

/// White-label settings as sent by a client.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct WhiteLabelRequest {
    pub name: String,
    /// Portal host names, such as `portal.harbour.example`.
    pub hosts: Vec<String>,
    pub country: String,
    pub currency: String,
    pub support_email: String,
    pub support_phone: Option<String>,
    /// `#rrggbb`
    pub primary_colour: String,
    pub terms_url: Option<String>,
    /// Such as `GST`.
    pub tax_name: String,
    /// Percent, such as "15".
    pub tax_rate_percent: String,
    pub show_prices_with_tax: bool,
}

impl From<WhiteLabelRequest> for tandem_app::white_labels::WhiteLabelInput {
    fn from(dto: WhiteLabelRequest) -> Self {
        Self {
            name: dto.name,
            hosts: dto.hosts.join(","),
            country: dto.country,
            currency: dto.currency,
            support_email: dto.support_email,
            support_phone: dto.support_phone,
            primary_colour: dto.primary_colour,
            terms_url: dto.terms_url,
            tax_name: dto.tax_name,
            tax_rate_percent: dto.tax_rate_percent,
            show_prices_with_tax: dto.show_prices_with_tax,
        }
    }
}

/// A white label.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WhiteLabelDto {
    /// `wl_…`
    pub id: String,
    pub name: String,
    pub hosts: Vec<String>,
    pub country: String,
    pub currency: String,
    pub support_email: String,
    pub support_phone: Option<String>,
    pub primary_colour: String,
    pub terms_url: Option<String>,
    /// Path of the logo, when one is set.
    pub logo_url: Option<String>,
    pub tax_name: String,
    /// Basis points: 1500 is 15 %.
    pub tax_rate_bp: i64,
    pub show_prices_with_tax: bool,
    pub status: String,
    pub balance: MoneyDto,
    /// How far below zero the balance may go.
    pub credit_limit: MoneyDto,
    pub version: i64,
}

impl From<&WhiteLabelRow> for WhiteLabelDto {
    fn from(row: &WhiteLabelRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name.clone(),
            hosts: row.hosts.clone(),
            country: row.country.clone(),
            currency: row.currency.clone(),
            support_email: row.support_email.clone(),
            support_phone: row.support_phone.clone(),
            primary_colour: row.primary_colour.clone(),
            terms_url: row.terms_url.clone(),
            logo_url: row.has_logo.then(|| crate::portal::logo_path(row)),
            tax_name: row.tax_name.clone(),
            tax_rate_bp: row.tax_rate_bp,
            show_prices_with_tax: row.show_prices_with_tax,
            status: row.status.clone(),
            balance: MoneyDto::new(row.balance_minor, &row.currency),
            credit_limit: MoneyDto::new(row.credit_limit_minor, &row.currency),
            version: row.version,
        }
    }
}

/// A balance movement posted by a Platform Administrator.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct BalanceEntryRequest {
    /// `top_up` (positive) or `adjustment` (either sign).
    pub kind: String,
    /// Decimal in the white label's currency, such as "250.00" or "-0.10".
    pub amount: String,
    pub reason: String,
}

/// A new credit limit.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreditLimitRequest {
    /// Decimal, zero or more.
    pub credit_limit: String,
}

/// An audit entry.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub object_kind: String,
    pub object_id: String,
    pub customer_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
    pub created_at: String,
}

impl From<&tandem_store::audit::AuditEntryRow> for AuditEntryDto {
    fn from(row: &tandem_store::audit::AuditEntryRow) -> Self {
        let parse =
            |json: &Option<String>| json.as_deref().and_then(|j| serde_json::from_str(j).ok());
        Self {
            id: row.id.to_string(),
            actor: row.actor_label.clone(),
            on_behalf_of: row.on_behalf_of.clone(),
            action: row.action.clone(),
            object_kind: row.object_kind.clone(),
            object_id: row.object_id.clone(),
            customer_id: row.customer_id.clone(),
            before: parse(&row.before_json),
            after: parse(&row.after_json),
            reason: row.reason.clone(),
            source_ip: row.source_ip.clone(),
            created_at: rfc3339(row.created_us),
        }
    }
}

/// A list of audit entries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub data: Vec<AuditEntryDto>,
}

/// A request for a new API key.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ApiKeyRequest {
    pub name: String,
}

/// An API key; `secret` is present only in the response that created it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: String,
    pub name: String,
    pub role: String,
    /// The first characters of the key, to recognise it.
    pub prefix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&tandem_store::api_keys::ApiKeyRow> for ApiKeyDto {
    fn from(row: &tandem_store::api_keys::ApiKeyRow) -> Self {
        Self {
            id: row.id.to_string(),
            name: row.name.clone(),
            role: row.role.clone(),
            prefix: row.key_prefix.clone(),
            secret: None,
            created_at: rfc3339(row.created_us),
            last_used_at: row.last_used_us.map(rfc3339),
            revoked_at: row.revoked_us.map(rfc3339),
        }
    }
}

/// Formats stored microseconds as RFC 3339 UTC.
pub fn rfc3339(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .map(|ts| ts.to_string())
        .unwrap_or_default()
}

/// Formats minor units of a stored currency for people.
pub fn format_money(minor: i64, currency: &str) -> String {
    match Currency::parse(currency) {
        Ok(currency) => Money::new(minor, currency).format(),
        Err(_) => format!("{minor} {currency}"),
    }
}
