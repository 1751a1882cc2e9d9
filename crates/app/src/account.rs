//! A customer account as its own members see it.

use tandem_domain::Permission;
use tandem_store::customers::{self as store_customers, CustomerRow};
use tandem_store::ledger::{self as store_ledger, LedgerEntryRow};

use crate::access::AccountMember;
use crate::{App, AppError, AppResult};

impl App {
    /// Reads the member's own account.
    pub async fn own_account(&self, member: &AccountMember) -> AppResult<CustomerRow> {
        let mut conn = self.store.conn().await?;
        store_customers::get(&mut conn, member.white_label_id(), member.customer_id())
            .await?
            .ok_or(AppError::NotFound("customer account"))
    }

    /// Lists the entries on the account's own balance, newest first; Account Administrators
    /// only, as they hold the billing.
    pub async fn own_account_ledger(
        &self,
        member: &AccountMember,
        limit: u32,
    ) -> AppResult<Vec<LedgerEntryRow>> {
        member.require(Permission::ViewBilling)?;
        let mut conn = self.store.conn().await?;
        let entries = store_ledger::list_for_customer(
            &mut conn,
            member.white_label_id(),
            member.customer_id(),
            limit.clamp(1, 200),
        )
        .await?;
        Ok(entries
            .into_iter()
            .filter(|e| e.account_kind == "customer")
            .collect())
    }
}
