//! The charges that open an account: the plan's setup fee and first monthly fee, each with the
//! white label's tax, debited from whoever pays for the account.

use tandem_domain::{Currency, CustomerId, LedgerKind, TaxRate, TimeZoneName};
use tandem_store::ledger::{self, LedgerEntryRow};
use tandem_store::plans::PlanRow;
use tandem_store::white_labels::WhiteLabelRow;
use tandem_store::Conn;

use crate::{AppError, AppResult};

/// Who pays a charge.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Payer<'a> {
    WhiteLabel,
    Customer(&'a CustomerId),
}

/// The total (tax included) of the opening charges of `plan` under `white_label`'s tax rate.
pub(crate) fn opening_total(plan: &PlanRow, white_label: &WhiteLabelRow) -> i64 {
    let tax = TaxRate::from_basis_points(white_label.tax_rate_bp as u32);
    [plan.setup_fee_minor, plan.monthly_fee_minor]
        .iter()
        .map(|amount| amount + tax.tax_on(*amount))
        .sum()
}

/// The opening charges of one account: whose plan, who pays, and who is acting.
pub(crate) struct Opening<'a> {
    pub white_label: &'a WhiteLabelRow,
    pub plan: &'a PlanRow,
    pub customer_id: &'a CustomerId,
    pub payer: Payer<'a>,
    /// The account's time zone, which names the month of the first monthly fee.
    pub time_zone: &'a TimeZoneName,
    pub actor_label: &'a str,
}

/// Posts the opening charges; fails with `InsufficientFunds` (and the caller rolls back) if the
/// payer cannot cover them.
pub(crate) async fn post_opening_charges(
    conn: &mut Conn,
    now_us: i64,
    opening: &Opening<'_>,
) -> AppResult<Vec<LedgerEntryRow>> {
    let Opening {
        white_label,
        plan,
        customer_id,
        payer,
        time_zone,
        actor_label,
    } = *opening;
    let currency = Currency::parse(&plan.currency)
        .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
    let tax = TaxRate::from_basis_points(white_label.tax_rate_bp as u32);
    let month = jiff::Timestamp::from_microsecond(now_us)
        .map(|ts| ts.to_zoned(time_zone.to_tz()).strftime("%B %Y").to_string())
        .unwrap_or_default();
    let (account, payer_name) = match payer {
        Payer::WhiteLabel => (ledger::Account::WhiteLabel(&white_label.id), "white label"),
        Payer::Customer(id) => (ledger::Account::Customer(&white_label.id, id), "customer"),
    };
    let mut charges = Vec::new();
    for (amount, description) in [
        (
            plan.setup_fee_minor,
            format!("Setup fee, {} plan", plan.name),
        ),
        (
            plan.monthly_fee_minor,
            format!("Monthly fee, {} plan, {month}", plan.name),
        ),
    ] {
        if amount == 0 {
            continue;
        }
        let entry = ledger::NewEntry {
            account,
            customer_id: Some(customer_id),
            kind: LedgerKind::Charge.as_str(),
            amount_minor: -amount,
            tax_minor: -tax.tax_on(amount),
            currency: currency.as_str(),
            description: &description,
            actor_label,
        };
        let posting = ledger::post(conn, &entry, now_us).await?;
        charges.push(crate::ledger::posted(posting, currency, payer_name)?);
    }
    Ok(charges)
}
