//! The append-only ledger and the balances it moves.
//!
//! A balance column is only ever changed here, by the same statement sequence that appends the
//! entry explaining the change, inside the caller's transaction. The debit check and the write
//! are one conditional `UPDATE`, so concurrent debits cannot overdraw on either database.

use sqlx::any::AnyRow;
use sqlx::Row;
use tandem_domain::{CustomerId, LedgerEntryId, WhiteLabelId};

use crate::{Conn, StoreResult};

/// The balance an entry moves.
#[derive(Debug, Clone, Copy)]
pub enum Account<'a> {
    WhiteLabel(&'a WhiteLabelId),
    Customer(&'a WhiteLabelId, &'a CustomerId),
}

impl Account<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Account::WhiteLabel(_) => "white_label",
            Account::Customer(..) => "customer",
        }
    }

    fn white_label_id(&self) -> &WhiteLabelId {
        match self {
            Account::WhiteLabel(wl) | Account::Customer(wl, _) => wl,
        }
    }

    fn id(&self) -> &str {
        match self {
            Account::WhiteLabel(wl) => wl.as_str(),
            Account::Customer(_, customer) => customer.as_str(),
        }
    }

    fn table(&self) -> &'static str {
        match self {
            Account::WhiteLabel(_) => "white_labels",
            Account::Customer(..) => "customers",
        }
    }
}

/// An entry to append. The balance moves by `amount_minor + tax_minor`.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    pub account: Account<'a>,
    /// The customer the entry concerns, also when the white label pays.
    pub customer_id: Option<&'a CustomerId>,
    pub kind: &'a str,
    pub amount_minor: i64,
    pub tax_minor: i64,
    pub currency: &'a str,
    pub description: &'a str,
    pub actor_label: &'a str,
}

/// A ledger entry as stored.
#[derive(Debug, Clone)]
pub struct LedgerEntryRow {
    pub id: LedgerEntryId,
    pub white_label_id: WhiteLabelId,
    pub account_kind: String,
    pub account_id: String,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub kind: String,
    pub amount_minor: i64,
    pub tax_minor: i64,
    pub currency: String,
    pub description: String,
    pub balance_after_minor: i64,
    pub actor_label: String,
    pub created_us: i64,
}

/// What happened to a posting.
#[derive(Debug, Clone)]
pub enum Posting {
    Posted(Box<LedgerEntryRow>),
    /// The debit would take the balance below minus the credit limit; nothing was written.
    InsufficientFunds {
        balance_minor: i64,
        credit_limit_minor: i64,
    },
    /// The account does not exist or keeps its balance in another currency.
    AccountMismatch,
}

/// Appends an entry and moves the balance, unless a debit would pass the credit limit.
pub async fn post(conn: &mut Conn, entry: &NewEntry<'_>, now_us: i64) -> StoreResult<Posting> {
    let Some(change) = entry.amount_minor.checked_add(entry.tax_minor) else {
        return Ok(Posting::AccountMismatch);
    };
    let table = entry.account.table();
    let sql = format!(
        "UPDATE {table} SET balance_minor = balance_minor + $1 \
         WHERE id = $2 AND currency = $3 AND ($1 >= 0 OR balance_minor + $1 >= -credit_limit_minor) \
         RETURNING balance_minor"
    );
    let balance_after: Option<i64> = sqlx::query_scalar(&sql)
        .bind(change)
        .bind(entry.account.id())
        .bind(entry.currency)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(balance_after) = balance_after else {
        return refusal(conn, &entry.account, entry.currency).await;
    };

    let id = LedgerEntryId::new();
    sqlx::query(
        "INSERT INTO ledger_entries (id, white_label_id, account_kind, account_id, customer_id, \
         kind, amount_minor, tax_minor, currency, description, balance_after_minor, actor_label, \
         created_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id.as_str())
    .bind(entry.account.white_label_id().as_str())
    .bind(entry.account.kind())
    .bind(entry.account.id())
    .bind(entry.customer_id.map(|c| c.as_str()))
    .bind(entry.kind)
    .bind(entry.amount_minor)
    .bind(entry.tax_minor)
    .bind(entry.currency)
    .bind(entry.description)
    .bind(balance_after)
    .bind(entry.actor_label)
    .bind(now_us)
    .execute(&mut *conn)
    .await?;

    Ok(Posting::Posted(Box::new(LedgerEntryRow {
        id,
        white_label_id: entry.account.white_label_id().clone(),
        account_kind: entry.account.kind().to_string(),
        account_id: entry.account.id().to_string(),
        customer_id: entry.customer_id.cloned(),
        customer_name: None,
        kind: entry.kind.to_string(),
        amount_minor: entry.amount_minor,
        tax_minor: entry.tax_minor,
        currency: entry.currency.to_string(),
        description: entry.description.to_string(),
        balance_after_minor: balance_after,
        actor_label: entry.actor_label.to_string(),
        created_us: now_us,
    })))
}

/// Appends several entries to one balance, in the order given, with one balance `UPDATE` for
/// their sum and one `INSERT` of their rows. Each entry records the balance after it, and each
/// must name `account` and `currency`. Nothing is written when the sum is a debit that would
/// take the balance below minus the credit limit. For debits only, this is the same check as
/// posting them one by one, because the balance only falls. Returns the rows
/// written, or the refusal ([`Posting::InsufficientFunds`] or [`Posting::AccountMismatch`]).
pub async fn post_all(
    conn: &mut Conn,
    account: Account<'_>,
    currency: &str,
    entries: &[NewEntry<'_>],
    now_us: i64,
) -> StoreResult<Result<Vec<LedgerEntryRow>, Posting>> {
    if entries.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let mut total: i64 = 0;
    for entry in entries {
        let same_account = entry.account.table() == account.table()
            && entry.account.id() == account.id()
            && entry.currency == currency;
        let change = entry.amount_minor.checked_add(entry.tax_minor);
        match change.and_then(|change| total.checked_add(change)) {
            Some(sum) if same_account => total = sum,
            _ => return Ok(Err(Posting::AccountMismatch)),
        }
    }
    let sql = format!(
        "UPDATE {} SET balance_minor = balance_minor + $1 \
         WHERE id = $2 AND currency = $3 AND ($1 >= 0 OR balance_minor + $1 >= -credit_limit_minor) \
         RETURNING balance_minor",
        account.table()
    );
    let balance_after_all: Option<i64> = sqlx::query_scalar(&sql)
        .bind(total)
        .bind(account.id())
        .bind(currency)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(balance_after_all) = balance_after_all else {
        return Ok(Err(refusal(conn, &account, currency).await?));
    };

    let mut balance = balance_after_all - total;
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        balance += entry.amount_minor + entry.tax_minor;
        rows.push(LedgerEntryRow {
            id: LedgerEntryId::new(),
            white_label_id: account.white_label_id().clone(),
            account_kind: account.kind().to_string(),
            account_id: account.id().to_string(),
            customer_id: entry.customer_id.cloned(),
            customer_name: None,
            kind: entry.kind.to_string(),
            amount_minor: entry.amount_minor,
            tax_minor: entry.tax_minor,
            currency: currency.to_string(),
            description: entry.description.to_string(),
            balance_after_minor: balance,
            actor_label: entry.actor_label.to_string(),
            created_us: now_us,
        });
    }
    let sql = format!(
        "INSERT INTO ledger_entries (id, white_label_id, account_kind, account_id, customer_id, \
         kind, amount_minor, tax_minor, currency, description, balance_after_minor, actor_label, \
         created_us) VALUES {}",
        crate::value_rows(conn, rows.len(), 13)
    );
    let mut insert = sqlx::query(&sql).persistent(crate::keep_prepared(conn, rows.len()));
    for row in &rows {
        insert = insert
            .bind(row.id.as_str())
            .bind(row.white_label_id.as_str())
            .bind(row.account_kind.as_str())
            .bind(row.account_id.as_str())
            .bind(row.customer_id.as_ref().map(|c| c.as_str()))
            .bind(row.kind.as_str())
            .bind(row.amount_minor)
            .bind(row.tax_minor)
            .bind(row.currency.as_str())
            .bind(row.description.as_str())
            .bind(row.balance_after_minor)
            .bind(row.actor_label.as_str())
            .bind(row.created_us);
    }
    insert.execute(&mut *conn).await?;
    Ok(Ok(rows))
}

async fn refusal(conn: &mut Conn, account: &Account<'_>, currency: &str) -> StoreResult<Posting> {
    let sql = format!(
        "SELECT balance_minor, credit_limit_minor, currency FROM {} WHERE id = $1",
        account.table()
    );
    let row = sqlx::query(&sql)
        .bind(account.id())
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(Posting::AccountMismatch);
    };
    let account_currency: String = row.try_get("currency")?;
    if account_currency != currency {
        return Ok(Posting::AccountMismatch);
    }
    Ok(Posting::InsufficientFunds {
        balance_minor: row.try_get("balance_minor")?,
        credit_limit_minor: row.try_get("credit_limit_minor")?,
    })
}

const COLUMNS: &str = "e.id, e.white_label_id, e.account_kind, e.account_id, e.customer_id, \
    c.legal_name AS customer_name, e.kind, e.amount_minor, e.tax_minor, e.currency, \
    e.description, e.balance_after_minor, e.actor_label, e.created_us";

fn from_row(row: &AnyRow) -> StoreResult<LedgerEntryRow> {
    let customer_id: Option<String> = row.try_get("customer_id")?;
    Ok(LedgerEntryRow {
        id: LedgerEntryId::from_trusted(row.try_get("id")?),
        white_label_id: WhiteLabelId::from_trusted(row.try_get("white_label_id")?),
        account_kind: row.try_get("account_kind")?,
        account_id: row.try_get("account_id")?,
        customer_id: customer_id.map(CustomerId::from_trusted),
        customer_name: row.try_get("customer_name")?,
        kind: row.try_get("kind")?,
        amount_minor: row.try_get("amount_minor")?,
        tax_minor: row.try_get("tax_minor")?,
        currency: row.try_get("currency")?,
        description: row.try_get("description")?,
        balance_after_minor: row.try_get("balance_after_minor")?,
        actor_label: row.try_get("actor_label")?,
        created_us: row.try_get("created_us")?,
    })
}

/// Lists the entries that moved a white label's own balance, newest first.
pub async fn list_for_white_label(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    before: Option<(i64, String)>,
    limit: u32,
) -> StoreResult<Vec<LedgerEntryRow>> {
    let cursor = if before.is_some() {
        " AND (e.created_us < $2 OR (e.created_us = $2 AND e.id < $3))"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM ledger_entries e LEFT JOIN customers c ON c.id = e.customer_id \
         WHERE e.account_id = $1 AND e.account_kind = 'white_label'{cursor} \
         ORDER BY e.created_us DESC, e.id DESC LIMIT {limit}"
    );
    let mut query = sqlx::query(&sql).bind(white_label_id.as_str());
    if let Some((created_us, id)) = &before {
        query = query.bind(*created_us).bind(id);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    rows.iter().map(from_row).collect()
}

/// Lists the entries concerning one customer of a white label, whoever paid, newest first.
pub async fn list_for_customer(
    conn: &mut Conn,
    white_label_id: &WhiteLabelId,
    customer_id: &CustomerId,
    limit: u32,
) -> StoreResult<Vec<LedgerEntryRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM ledger_entries e LEFT JOIN customers c ON c.id = e.customer_id \
         WHERE e.customer_id = $1 AND e.white_label_id = $2 \
         ORDER BY e.created_us DESC, e.id DESC LIMIT {limit}"
    );
    let rows = sqlx::query(&sql)
        .bind(customer_id.as_str())
        .bind(white_label_id.as_str())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Sums the balance changes of every entry on an account (white label or customer id).
pub async fn sum_for_account(conn: &mut Conn, account_id: &str) -> StoreResult<i64> {
    let sum: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor + tax_minor), 0) AS BIGINT) \
         FROM ledger_entries WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(sum)
}
