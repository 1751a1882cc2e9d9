//! Embedded migrations, written once and adapted to each dialect by three substitutions.

use sqlx::{Executor, Row};

use crate::{Backend, Store, StoreError, StoreResult};

/// Migrations in order: version and SQL.
const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        "0002_self_activation",
        include_str!("../migrations/0002_self_activation.sql"),
    ),
    (
        "0004_activation_links",
        include_str!("../migrations/0004_activation_links.sql"),
    ),
    ("0005_team", include_str!("../migrations/0005_team.sql")),
    (
        "0006_two_factor",
        include_str!("../migrations/0006_two_factor.sql"),
    ),
    (
        "0007_payment_safety",
        include_str!("../migrations/0007_payment_safety.sql"),
    ),
    (
        "0008_numbers_pbx",
        include_str!("../migrations/0008_numbers_pbx.sql"),
    ),
    ("0009_sip", include_str!("../migrations/0009_sip.sql")),
    (
        "0010_customer_account_number_search",
        include_str!("../migrations/0010_customer_account_number_search.sql"),
    ),
    (
        "0011_customer_partial_indexes",
        include_str!("../migrations/0011_customer_partial_indexes.sql"),
    ),
];

fn dialect(sql: &str, backend: Backend) -> String {
    let (key, blob, serial) = match backend {
        Backend::Sqlite => ("TEXT", "BLOB", "INTEGER PRIMARY KEY AUTOINCREMENT"),
        Backend::Postgres => ("TEXT COLLATE \"C\"", "BYTEA", "BIGSERIAL PRIMARY KEY"),
    };
    sql.replace("{key}", key)
        .replace("{blob}", blob)
        .replace("{serial}", serial)
}

pub(crate) async fn run(store: &Store) -> StoreResult<Vec<String>> {
    let mut conn = store.conn().await?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version TEXT PRIMARY KEY, applied_us BIGINT NOT NULL)",
    )
    .await?;
    drop(conn);

    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let mut tx = store.begin().await?;
        let done = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
            .bind(*version)
            .fetch_optional(&mut *tx)
            .await?;
        if done.is_some() {
            continue;
        }
        tx.execute(sqlx::raw_sql(&dialect(sql, store.backend())))
            .await
            .map_err(|source| StoreError::Migration {
                version: (*version).to_string(),
                source,
            })?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_us) VALUES ($1, $2)")
            .bind(*version)
            .bind(now_us())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(migration = version, "applied migration");
        applied.push((*version).to_string());
    }
    Ok(applied)
}

/// Lists the applied migration versions.
pub(crate) async fn applied(store: &Store) -> StoreResult<Vec<String>> {
    let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await?;
    Ok(rows.iter().map(|row| row.get::<String, _>(0)).collect())
}

fn now_us() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}
