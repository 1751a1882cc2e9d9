//! Storage for Tandem: one code path over SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Every query that reads tenant data takes the white label (and where it applies the customer)
//! as its first arguments and filters by them. Writes that must be all-or-nothing run inside a
//! [`Tx`] opened with [`Store::begin`]; on SQLite that transaction takes the write lock at once
//! (`BEGIN IMMEDIATE`) so that a read followed by a write can never fail half-way.

mod error;
mod migrate;

pub mod activation;
pub mod api_keys;
pub mod audit;
pub mod customers;
pub mod email_templates;
pub mod gateways;
pub mod idempotency;
pub mod invitations;
pub mod ledger;
pub mod memberships;
pub mod numbers;
pub mod outbox;
pub mod payments;
pub mod pbx;
pub mod pbx_bulk;
pub mod plans;
pub mod port_orders;
pub mod sessions;
pub mod sip;
mod sqlite_plans;
pub mod two_factor;
pub mod users;
pub mod white_labels;

use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Connection, Executor};

pub use error::StoreError;
pub use sqlx::Error as SqlxError;

/// An open transaction; commit it with `tx.commit().await`, or drop it to roll back.
pub type Tx = sqlx::Transaction<'static, Any>;

/// An open transaction on a connection that the caller holds.
pub type BorrowedTx<'c> = sqlx::Transaction<'c, Any>;

/// A connection taken from a pool, which goes back to it when dropped.
pub type PooledConn = sqlx::pool::PoolConnection<Any>;

/// A connection borrowed from a transaction or the pool.
pub type Conn = sqlx::AnyConnection;

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Returns the engine behind a connection.
    pub fn of(conn: &Conn) -> Backend {
        if conn.backend_name() == "PostgreSQL" {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Connection settings for [`Store::connect`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://PATH` (created if missing) or `postgres://…`.
    pub url: String,
    /// Pool size; SQLite serialises writers anyway, so a few connections suffice.
    pub max_connections: u32,
    /// How long a SQLite connection waits for the write lock before failing.
    pub busy_timeout: Duration,
}

impl StoreOptions {
    /// Options with the defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// The database pool and the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    /// The two connections of [`Store::batch_conn`], outside `pool`.
    batch_pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Connects to the database named by `options.url`; SQLite files are created if missing and
    /// opened in WAL mode with foreign keys on and a busy timeout.
    pub async fn connect(options: &StoreOptions) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = backend_of(&options.url)?;
        if backend == Backend::Sqlite {
            sqlite_plans::keep_plans_stable();
        }
        let url = match backend {
            Backend::Sqlite if !options.url.contains('?') => format!("{}?mode=rwc", options.url),
            _ => options.url.clone(),
        };
        let connect_options: AnyConnectOptions = url
            .parse::<AnyConnectOptions>()
            .map_err(StoreError::Database)?
            .disable_statement_logging();
        let busy_ms = options.busy_timeout.as_millis();
        let pool = pool_options(backend, busy_ms, None)
            .max_connections(options.max_connections)
            .connect_with(connect_options.clone())
            .await?;
        // The batch writer's connection is opened on first use. On SQLite it gets a larger page
        // cache, because it inserts into every index of the tables it fills.
        let mut batch_options = connect_options;
        // A capacity that the URL sets, such as 0 behind a pooler that cannot keep prepared
        // statements, applies to the batch connection too.
        let capacity_set = batch_options
            .database_url
            .query_pairs()
            .any(|(key, _)| key == "statement-cache-capacity");
        if backend == Backend::Postgres && !capacity_set {
            batch_options
                .database_url
                .query_pairs_mut()
                .append_pair("statement-cache-capacity", &BATCH_STATEMENTS.to_string());
        }
        let batch_pool = pool_options(backend, busy_ms, Some(BATCH_CACHE_KIB))
            .max_connections(2)
            .connect_lazy_with(batch_options);
        Ok(Store {
            pool,
            batch_pool,
            backend,
        })
    }

    /// The dialect of this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads that need no transaction.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the embedded migrations that have not run yet.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        migrate::run(self).await
    }

    /// Lists the applied migration versions, oldest first.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<String>> {
        migrate::applied(self).await
    }

    /// Runs a trivial query, for health checks.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Opens a write transaction. On SQLite it holds the write lock from the first statement.
    pub async fn begin(&self) -> StoreResult<Tx> {
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(tx)
    }

    /// Acquires one of the two connections kept for a batch writer, such as the creation
    /// writer, which commits many rows at a time, one batch after another. Hold it across
    /// batches and open each batch's transaction with [`Store::begin_on`]. The second
    /// connection serves reads that the writer runs beside its transaction. A writer that has
    /// both and requests a third waits for ever.
    ///
    /// The connection is not shared with the readers of the main pool. On SQLite it also keeps
    /// its page cache between batches. A connection drops its whole cache when it begins a
    /// transaction after another connection has written. A writer that moved from one pooled
    /// connection to the next would therefore read every index page again from the file.
    ///
    /// On PostgreSQL the connection's socket stays tied to the Tokio runtime that opened it, so
    /// acquire it on a runtime that lives as long as the store.
    pub async fn batch_conn(&self) -> StoreResult<PooledConn> {
        Ok(self.batch_pool.acquire().await?)
    }

    /// Opens a write transaction on a connection the caller owns, as [`Store::begin`] does on
    /// a pooled one.
    pub async fn begin_on<'c>(&self, conn: &'c mut Conn) -> StoreResult<BorrowedTx<'c>> {
        let tx = match self.backend {
            Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => conn.begin().await?,
        };
        Ok(tx)
    }

    /// Acquires a pooled connection for reads.
    pub async fn conn(&self) -> StoreResult<PooledConn> {
        Ok(self.pool.acquire().await?)
    }

    /// Closes every connection of the pool.
    pub async fn close(&self) {
        self.pool.close().await;
        self.batch_pool.close().await;
    }
}

/// The page cache of the batch writer's SQLite connection, in KiB. The other connections keep
/// SQLite's default of 2,000 KiB.
const BATCH_CACHE_KIB: u32 = 16_384;

/// How many prepared statements the batch writer's PostgreSQL connection keeps. Each row count
/// of a multi-row statement is a statement of its own (see [`keep_prepared`]). A batch of
/// creations runs up to five of them. Four take up to 64 rows: the customers, their audit
/// records, the check of keyed account numbers and the lookup of skipped customers. The ledger
/// takes up to 128 entries. That is 384 shapes at most. The other connections keep sqlx's
/// default of 100.
const BATCH_STATEMENTS: usize = 512;

/// How many pages the write-ahead log may contain before a commit of the batch writer's SQLite
/// connection copies them into the database file. SQLite's default is 1,000.
/// A batch dirties many index pages, and the same pages again in the next batch. At the
/// default, a checkpoint with its file sync ran every few batches. At this size, one
/// checkpoint writes each hot page once for many more batches.
const BATCH_CHECKPOINT_PAGES: u32 = 10_000;

/// How long a PostgreSQL connection may idle in the pool before it is pinged on its way out.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// Builds the options that both pools share: on SQLite, WAL mode, foreign keys and the busy
/// timeout. When `cache_kib` is set, it adds the batch writer's settings: that page cache size,
/// its checkpoint interval, and temporary files in memory.
///
/// A statement that may fail part-way, such as a multi-row `INSERT`, keeps the original of each
/// page it changes in a statement journal. SQLite writes the journal to a file once it passes
/// 64 KiB, which a batch of creations does, and there each page cost a `write` call.
fn pool_options(backend: Backend, busy_ms: u128, cache_kib: Option<u32>) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(30))
        // A SQLite connection is a file handle in this process and cannot drop while it idles.
        // A PostgreSQL connection can, when the server restarts, so one that has idled for
        // PING_AFTER_IDLE or longer is pinged before it is lent, and a broken one is replaced. Connections of a busy
        // pool come back within milliseconds and go out again without that round trip.
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if backend == Backend::Postgres && meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    let mut pragmas = format!(
                        "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                         PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = NORMAL;"
                    );
                    if let Some(kib) = cache_kib {
                        pragmas.push_str(&format!(
                            " PRAGMA cache_size = -{kib}; \
                             PRAGMA wal_autocheckpoint = {BATCH_CHECKPOINT_PAGES}; \
                             PRAGMA temp_store = MEMORY;"
                        ));
                    }
                    conn.execute(sqlx::raw_sql(&pragmas)).await?;
                }
                Ok(())
            })
        })
}

/// Builds the `VALUES` list of a multi-row `INSERT` of `rows` rows of `columns` parameters each, bound
/// in order: `($1, $2), ($3, $4)` for two rows of two. On SQLite the parameters are anonymous
/// (`?`), because SQLite finds a numbered one's name by walking a list of every name, which
/// grows with the rows.
pub(crate) fn value_rows(conn: &Conn, rows: usize, columns: usize) -> String {
    value_rows_for(conn.backend_name() == "PostgreSQL", rows, columns)
}

/// Builds the list of [`value_rows`] with numbered parameters for PostgreSQL or anonymous ones
/// for SQLite, for a statement built before any connection is at hand.
pub(crate) fn value_rows_for(numbered: bool, rows: usize, columns: usize) -> String {
    use std::fmt::Write;
    let mut sql = String::with_capacity(rows * columns * 5);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for column in 0..columns {
            if column > 0 {
                sql.push_str(", ");
            }
            if numbered {
                let _ = write!(sql, "${}", row * columns + column + 1);
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Returns whether a multi-row statement of `rows` rows should stay in the connection's cache of
/// prepared statements. Each row count is a statement of its own.
///
/// On PostgreSQL every count stays. A statement that is not kept costs a round trip of its own
/// to parse and describe it, and the server parses and plans it again each time. In a profile of
/// the creation writer at 100,000 customers, parsing and planning took a seventh of its
/// backend's time.
///
/// On SQLite only one and two rows stay. A statement of many rows compiles to a large program in
/// this process's memory, and there preparing it costs no round trip.
pub(crate) fn keep_prepared(conn: &Conn, rows: usize) -> bool {
    rows <= 2 || conn.backend_name() == "PostgreSQL"
}

/// Decodes a row's columns in the order of its SELECT list, by position rather than by name,
/// which spares a lookup of each column's name.
pub(crate) struct Columns<'r> {
    row: &'r sqlx::any::AnyRow,
    next: usize,
}

impl<'r> Columns<'r> {
    /// Starts at the column numbered `next`, counting from 0.
    pub(crate) fn at(row: &'r sqlx::any::AnyRow, next: usize) -> Self {
        Self { row, next }
    }

    /// Decodes the next column.
    pub(crate) fn next<T>(&mut self) -> Result<T, sqlx::Error>
    where
        T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
    {
        let value = sqlx::Row::try_get(self.row, self.next);
        self.next += 1;
        value
    }
}

fn backend_of(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(redact_url(url)))
    }
}

/// Replaces the password of a database URL with `***`, for logs and printed configuration.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Maps a flag column to `bool`.
pub(crate) fn flag(value: i64) -> bool {
    value != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_hides_password() {
        assert_eq!(
            redact_url("postgres://tandem:s3cret@db:5432/t"),
            "postgres://tandem:***@db:5432/t"
        );
    }

    #[test]
    fn redact_url_keeps_sqlite_path() {
        assert_eq!(
            redact_url("sqlite://tandem-data/tandem.db"),
            "sqlite://tandem-data/tandem.db"
        );
    }

    #[test]
    fn backend_rejects_unknown_scheme() {
        assert!(backend_of("mysql://x").is_err());
    }
}
