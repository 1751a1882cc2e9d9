//! Query plans of the list, search and lookup statements on the generated data: `EXPLAIN QUERY
//! PLAN` on SQLite, `EXPLAIN` on PostgreSQL. A plan that scans a whole large table fails.

use anyhow::Context;
use sqlx::Row;
use tandem_domain::WhiteLabelId;
use tandem_store::customers::{list_statement, CustomerFilter, Param};
use tandem_store::{Backend, Store};

use super::generate::Generated;

/// The plan of one statement and whether it reads a whole large table.
#[derive(Debug)]
pub struct PlanCheck {
    pub name: String,
    pub plan: Vec<String>,
    pub full_scan: bool,
}

/// Tables large enough at scale that reading all of them is a failure. Small tables such as
/// `plans` (a few per white label) may be scanned.
const LARGE_TABLES: &[(&str, &[&str])] = &[
    ("customers", &["customers", "c"]),
    ("ledger_entries", &["ledger_entries", "e"]),
    ("pbx_objects", &["pbx_objects"]),
    ("numbers", &["numbers"]),
    ("api_keys", &["api_keys"]),
    ("sessions", &["sessions"]),
    ("audit_log", &["audit_log"]),
];

/// Checks the plan of every list and search statement, and of the lookups each request makes.
pub async fn check(
    store: &Store,
    white_label_id: &WhiteLabelId,
    generated: &Generated,
) -> anyhow::Result<Vec<PlanCheck>> {
    let customer = generated.white_labels[0].customers[0].to_string();
    let filter =
        |search: Option<&str>, status: Option<&str>, after: Option<(i64, String)>| CustomerFilter {
            search: search.map(str::to_string),
            status: status.map(str::to_string),
            after,
            limit: 26,
        };
    let mut statements: Vec<(String, String, Vec<Param>)> = Vec::new();
    for (name, filter) in [
        ("customer list, first page", filter(None, None, None)),
        (
            "customer list, later page",
            filter(None, None, Some((i64::MAX / 2, customer.clone()))),
        ),
        ("search by name prefix", filter(Some("kau"), None, None)),
        ("search by account number", filter(Some("1000"), None, None)),
        ("list by status", filter(None, Some("suspended"), None)),
        (
            "search by name and status",
            filter(Some("harb"), Some("active"), None),
        ),
    ] {
        let (sql, params) = list_statement(store.backend(), white_label_id, &filter);
        statements.push((name.to_string(), sql, params));
    }
    let text = |values: &[&str]| -> Vec<Param> {
        values.iter().map(|v| Param::Text(v.to_string())).collect()
    };
    let wl = white_label_id.as_str();
    let now_us = jiff::Timestamp::now().as_microsecond();
    // These mirror the statements of tandem_store's customers, api_keys, sessions, ledger, pbx
    // and numbers modules that a customer request or page runs, and the expiry job's search
    // for pending accounts, which tandem_store's activation module builds.
    for (name, sql, params) in [
        (
            "customer by id",
            tandem_store::customers::get_statement(store.backend()).to_string(),
            text(&[&customer, wl]),
        ),
        (
            "customers by id, four reads in one statement",
            tandem_store::customers::get_many_statement(store.backend(), 4).to_string(),
            text(&[&customer, wl].repeat(4)),
        ),
        (
            "customer counts by status",
            "SELECT status, COUNT(*) AS n FROM customers WHERE white_label_id = $1 GROUP BY \
             status ORDER BY status"
                .to_string(),
            text(&[wl]),
        ),
        (
            "API key by hash",
            "SELECT id FROM api_keys WHERE key_hash = $1 AND revoked_us IS NULL".to_string(),
            text(&["0000"]),
        ),
        (
            "session by token hash",
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_us > 0".to_string(),
            text(&["0000"]),
        ),
        (
            "ledger of a customer",
            "SELECT e.id FROM ledger_entries e LEFT JOIN customers c ON c.id = e.customer_id \
             WHERE e.customer_id = $1 AND e.white_label_id = $2 \
             ORDER BY e.created_us DESC, e.id DESC LIMIT 100"
                .to_string(),
            text(&[&customer, wl]),
        ),
        (
            "ledger of a white label",
            "SELECT e.id FROM ledger_entries e LEFT JOIN customers c ON c.id = e.customer_id \
             WHERE e.account_id = $1 AND e.account_kind = 'white_label' \
             ORDER BY e.created_us DESC, e.id DESC LIMIT 100"
                .to_string(),
            text(&[wl]),
        ),
        (
            "PBX objects of an account",
            "SELECT id FROM pbx_objects WHERE customer_id = $1 AND white_label_id = $2 \
             ORDER BY kind, short_number, name, id"
                .to_string(),
            text(&[&customer, wl]),
        ),
        (
            "pending accounts past their activation",
            tandem_store::activation::expired_pending_statement(100),
            vec![
                Param::Integer(now_us),
                Param::Integer(tandem_store::activation::abandoned_before(now_us)),
            ],
        ),
        (
            "numbers of an account",
            "SELECT e164 FROM numbers WHERE customer_id = $1 AND EXISTS \
             (SELECT 1 FROM customers c WHERE c.id = $1 AND c.white_label_id = $2) ORDER BY e164"
                .to_string(),
            text(&[&customer, wl]),
        ),
    ] {
        statements.push((name.to_string(), sql, params));
    }

    let mut checks = Vec::new();
    for (name, sql, params) in statements {
        // The generator leaves these tables with a few rows, where PostgreSQL rightly prefers
        // a sequential scan. With sequential scans priced out, the plan shows whether an
        // index serves the lookup once the table is large.
        let few_rows = name == "API key by hash" || name == "session by token hash";
        let plan = explain(store, &sql, &params, few_rows)
            .await
            .with_context(|| format!("explaining {name}"))?;
        let full_scan = plan
            .iter()
            .any(|line| scans_large_table(store.backend(), line));
        checks.push(PlanCheck {
            name,
            plan,
            full_scan,
        });
    }
    Ok(checks)
}

async fn explain(
    store: &Store,
    sql: &str,
    params: &[Param],
    without_sequential_scans: bool,
) -> anyhow::Result<Vec<String>> {
    let explained = match store.backend() {
        Backend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
        Backend::Postgres => format!("EXPLAIN {sql}"),
    };
    let mut query = sqlx::query(&explained);
    for param in params {
        query = match param {
            Param::Text(text) => query.bind(text.clone()),
            Param::Integer(value) => query.bind(*value),
        };
    }
    let mut tx = store.pool().begin().await?;
    if without_sequential_scans && store.backend() == Backend::Postgres {
        sqlx::query("SET LOCAL enable_seqscan = off")
            .execute(&mut *tx)
            .await?;
    }
    let rows = query.fetch_all(&mut *tx).await?;
    tx.rollback().await?;
    let column = match store.backend() {
        Backend::Sqlite => 3,
        Backend::Postgres => 0,
    };
    rows.iter()
        .map(|row| Ok(row.try_get::<String, _>(column)?.trim().to_string()))
        .collect()
}

/// Partial indexes, which contain only some of their table's rows. Reading one whole reads every
/// row it contains but not the whole table. `customers_pending` contains the accounts waiting
/// for activation, which the expiry job cancels once their links expire.
const PARTIAL_INDEXES: &[&str] = &["customers_pending"];

/// Checks whether one line of a plan reads a whole large table: `Seq Scan on <table>` on
/// PostgreSQL, `SCAN <table>` on SQLite. A SQLite scan through an index counts too, because it
/// reads every row, unless the index is one of [`PARTIAL_INDEXES`].
fn scans_large_table(backend: Backend, line: &str) -> bool {
    let target = match backend {
        Backend::Sqlite => line.strip_prefix("SCAN "),
        Backend::Postgres => line.split_once("Seq Scan on ").map(|(_, rest)| rest),
    };
    let Some(target) = target else {
        return false;
    };
    let index = target
        .split_once(" INDEX ")
        .and_then(|(_, rest)| rest.split_whitespace().next());
    if index.is_some_and(|index| PARTIAL_INDEXES.contains(&index)) {
        return false;
    }
    let table = target.split_whitespace().next().unwrap_or("");
    LARGE_TABLES.iter().any(|(_, names)| names.contains(&table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_scan_detected() {
        assert!(scans_large_table(Backend::Sqlite, "SCAN c"));
        assert!(scans_large_table(
            Backend::Sqlite,
            "SCAN customers USING INDEX customers_plan"
        ));
        assert!(!scans_large_table(
            Backend::Sqlite,
            "SEARCH c USING INDEX customers_white_label_newest (white_label_id=?)"
        ));
        assert!(!scans_large_table(Backend::Sqlite, "SCAN p"));
        assert!(!scans_large_table(
            Backend::Sqlite,
            "SCAN c USING INDEX customers_pending"
        ));
        assert!(scans_large_table(
            Backend::Sqlite,
            "SCAN c USING COVERING INDEX customers_white_label_newest"
        ));
    }

    #[test]
    fn postgres_scan_detected() {
        assert!(scans_large_table(
            Backend::Postgres,
            "->  Seq Scan on customers c  (cost=0.00..1.00 rows=1 width=8)"
        ));
        assert!(!scans_large_table(
            Backend::Postgres,
            "Seq Scan on plans p  (cost=0.00..1.00 rows=1 width=8)"
        ));
    }
}
