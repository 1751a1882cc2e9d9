//! Reading ledgers, and turning a refused posting into an error the caller can act on.

use tandem_domain::{Currency, CustomerId, Money, Permission};
use tandem_store::ledger::{self as store_ledger, LedgerEntryRow, Posting};

use crate::access::WhiteLabelAdmin;
use crate::{App, AppError, AppResult};

/// Returns the posted entry, or the error for a refused posting. `payer` names the balance in
/// the message ("white label", "customer").
pub(crate) fn posted(
    posting: Posting,
    currency: Currency,
    payer: &str,
) -> AppResult<LedgerEntryRow> {
    match posting {
        Posting::Posted(row) => Ok(*row),
        Posting::InsufficientFunds {
            balance_minor,
            credit_limit_minor,
        } => {
            let balance = Money::new(balance_minor, currency).format();
            let available = Money::new(balance_minor + credit_limit_minor, currency).format();
            Err(AppError::InsufficientFunds {
                message: format!(
                    "the {payer} balance of {balance} (available with credit limit: {available}) \
                     does not cover this charge: top up the balance or ask the platform for a \
                     higher credit limit"
                ),
            })
        }
        Posting::AccountMismatch => Err(AppError::Internal(format!(
            "the {payer} account does not keep its balance in {}",
            currency.as_str()
        ))),
    }
}

impl App {
    /// Lists the entries on the white label's own balance, newest first, after a cursor.
    pub async fn white_label_ledger(
        &self,
        admin: &WhiteLabelAdmin,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> AppResult<Vec<LedgerEntryRow>> {
        admin.require(Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        Ok(store_ledger::list_for_white_label(
            &mut conn,
            admin.white_label_id(),
            before,
            limit.clamp(1, 200),
        )
        .await?)
    }

    /// Lists the entries concerning one customer, whoever paid them, newest first.
    pub async fn customer_ledger(
        &self,
        admin: &WhiteLabelAdmin,
        customer_id: &CustomerId,
        limit: u32,
    ) -> AppResult<Vec<LedgerEntryRow>> {
        admin.require(Permission::ViewCustomers)?;
        let mut conn = self.store.conn().await?;
        Ok(store_ledger::list_for_customer(
            &mut conn,
            admin.white_label_id(),
            customer_id,
            limit.clamp(1, 200),
        )
        .await?)
    }
}
