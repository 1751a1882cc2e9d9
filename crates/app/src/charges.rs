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

/// One opening charge, before it is posted.
pub(crate) struct OpeningCharge {
    pub amount_minor: i64,
    pub tax_minor: i64,
    pub description: String,
}

/// Lists the opening charges of `plan` under `white_label`'s tax rate: the setup fee and the first
/// monthly fee, each a debit with its tax, leaving out a fee of zero. `now_us` and `time_zone`
/// name the month of the monthly fee.
pub(crate) fn opening_charges(
    white_label: &WhiteLabelRow,
    plan: &PlanRow,
    time_zone: &TimeZoneName,
    now_us: i64,
) -> Vec<OpeningCharge> {
    let tax = TaxRate::from_basis_points(white_label.tax_rate_bp as u32);
    let month = jiff::Timestamp::from_microsecond(now_us)
        .map(|ts| ts.to_zoned(time_zone.to_tz()).strftime("%B %Y").to_string())
        .unwrap_or_default();
    [
        (
            plan.setup_fee_minor,
            format!("Setup fee, {} plan", plan.name),
        ),
        (
            plan.monthly_fee_minor,
            format!("Monthly fee, {} plan, {month}", plan.name),
        ),
    ]
    .into_iter()
    .filter(|(amount, _)| *amount != 0)
    .map(|(amount, description)| OpeningCharge {
        amount_minor: -amount,
        tax_minor: -tax.tax_on(amount),
        description,
    })
    .collect()
}

/// Parses the plan's currency, which every opening charge is in.
pub(crate) fn plan_currency(plan: &PlanRow) -> AppResult<Currency> {
    Currency::parse(&plan.currency).map_err(|e| AppError::Internal(format!("stored currency: {e}")))
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
    let currency = plan_currency(plan)?;
    let (account, payer_name) = match payer {
        Payer::WhiteLabel => (ledger::Account::WhiteLabel(&white_label.id), "white label"),
        Payer::Customer(id) => (ledger::Account::Customer(&white_label.id, id), "customer"),
    };
    let charges = opening_charges(white_label, plan, time_zone, now_us);
    let entries: Vec<ledger::NewEntry> = charges
        .iter()
        .map(|charge| ledger::NewEntry {
            account,
            customer_id: Some(customer_id),
            kind: LedgerKind::Charge.as_str(),
            amount_minor: charge.amount_minor,
            tax_minor: charge.tax_minor,
            currency: currency.as_str(),
            description: &charge.description,
            actor_label,
        })
        .collect();
    // Both charges move the balance in one UPDATE. On PostgreSQL that UPDATE takes the payer's
    // row lock, and concurrent charges to the same payer wait for it until this transaction
    // ends, so callers post these charges last.
    match ledger::post_all(conn, account, currency.as_str(), &entries, now_us).await? {
        Ok(charges) => Ok(charges),
        Err(refusal) => crate::ledger::posted(refusal, currency, payer_name).map(|_| Vec::new()),
    }
}

/// Recurring charges of an action on an account (a number's rental, an extension beyond the
/// plan), priced from its plan with the white label's tax and debited from the account's
/// payer. Built inside the action's transaction; [`ChargePlan::preview`] shows the figures
/// without posting them.
pub(crate) struct ChargePlan {
    white_label: WhiteLabelRow,
    plan: PlanRow,
    customer: tandem_store::customers::CustomerRow,
    currency: Currency,
    tax: TaxRate,
    items: Vec<crate::pbx::ChargeItem>,
}

impl ChargePlan {
    /// Reads the plan and white label of `customer`.
    pub(crate) async fn new(
        conn: &mut Conn,
        customer: &tandem_store::customers::CustomerRow,
    ) -> AppResult<Self> {
        let white_label = tandem_store::white_labels::get(conn, &customer.white_label_id)
            .await?
            .ok_or(AppError::NotFound("white label"))?;
        let plan = tandem_store::plans::get(conn, &customer.white_label_id, &customer.plan_id)
            .await?
            .ok_or(AppError::NotFound("plan"))?;
        let currency = Currency::parse(&plan.currency)
            .map_err(|e| AppError::Internal(format!("stored currency: {e}")))?;
        let tax = TaxRate::from_basis_points(white_label.tax_rate_bp as u32);
        Ok(Self {
            white_label,
            plan,
            customer: customer.clone(),
            currency,
            tax,
            items: Vec::new(),
        })
    }

    pub(crate) fn included_extensions(&self) -> i64 {
        self.plan.included_extensions
    }

    pub(crate) fn extra_extension_fee(&self) -> i64 {
        self.plan.extra_extension_fee_minor
    }

    pub(crate) fn number_rental(&self) -> i64 {
        self.plan.number_rental_minor
    }

    pub(crate) fn plan_name(&self) -> &str {
        &self.plan.name
    }

    /// The month a charge made at `now_us` is for, in the account's zone: `December 2026`.
    pub(crate) fn month(&self, now_us: i64) -> String {
        let zone = TimeZoneName::parse(&self.customer.time_zone)
            .map(|zone| zone.to_tz())
            .unwrap_or(jiff::tz::TimeZone::UTC);
        jiff::Timestamp::from_microsecond(now_us)
            .map(|ts| ts.to_zoned(zone).strftime("%B %Y").to_string())
            .unwrap_or_default()
    }

    /// Adds a charge of `amount_minor` before tax; nothing for a zero amount.
    pub(crate) fn add(&mut self, amount_minor: i64, description: String) {
        if amount_minor != 0 {
            self.items.push(crate::pbx::ChargeItem {
                description,
                amount_minor,
                tax_minor: self.tax.tax_on(amount_minor),
            });
        }
    }

    fn payer_is_white_label(&self) -> bool {
        self.customer.payer == tandem_domain::Payer::WhiteLabel.as_str()
    }

    /// The figures of the charges added so far, against the payer's current balance.
    pub(crate) fn preview(&self) -> crate::pbx::ChargePreview {
        let (payer, payer_name, balance, credit) = if self.payer_is_white_label() {
            (
                "white_label",
                self.white_label.name.clone(),
                self.white_label.balance_minor,
                self.white_label.credit_limit_minor,
            )
        } else {
            (
                "customer",
                self.customer
                    .trading_name
                    .clone()
                    .unwrap_or_else(|| self.customer.legal_name.clone()),
                self.customer.balance_minor,
                self.customer.credit_limit_minor,
            )
        };
        let total: i64 = self
            .items
            .iter()
            .map(|item| item.amount_minor + item.tax_minor)
            .sum();
        crate::pbx::ChargePreview {
            payer: payer.into(),
            payer_name,
            currency: self.currency.as_str().into(),
            items: self.items.clone(),
            total_minor: total,
            balance_minor: balance,
            covered: total == 0 || balance - total >= -credit,
        }
    }

    /// Posts the charges to the payer's ledger; fails with `InsufficientFunds` (and the caller
    /// rolls back) if the balance cannot cover them. Returns the preview of what was posted.
    pub(crate) async fn post(
        &self,
        conn: &mut Conn,
        customer_id: &CustomerId,
        actor_label: &str,
        now_us: i64,
    ) -> AppResult<crate::pbx::ChargePreview> {
        let preview = self.preview();
        let (account, payer_name) = if self.payer_is_white_label() {
            (
                ledger::Account::WhiteLabel(&self.white_label.id),
                "white label",
            )
        } else {
            (
                ledger::Account::Customer(&self.white_label.id, customer_id),
                "customer",
            )
        };
        for item in &self.items {
            let entry = ledger::NewEntry {
                account,
                customer_id: Some(customer_id),
                kind: LedgerKind::Charge.as_str(),
                amount_minor: -item.amount_minor,
                tax_minor: -item.tax_minor,
                currency: self.currency.as_str(),
                description: &item.description,
                actor_label,
            };
            let posting = ledger::post(conn, &entry, now_us).await?;
            crate::ledger::posted(posting, self.currency, payer_name)?;
        }
        Ok(preview)
    }
}
