//! The limit a creation is compared with: the rate of single-row insert transactions that the
//! same database commits through the same pool type the server uses.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use tandem_domain::{CustomerId, WhiteLabelId};
use tandem_store::{Backend, Store};

/// The table that the insert phase fills and then drops.
const SCRATCH_TABLE: &str = "bench_inserts";

/// The statement of each transaction, which must name [`SCRATCH_TABLE`].
const INSERT_SQL: &str = "INSERT INTO bench_inserts \
    (id, white_label_id, legal_name, details, created_us) VALUES ($1, $2, $3, $4, $5)";

/// The outcome of the insert phase.
#[derive(Debug, Default)]
pub struct InsertRate {
    pub committed: u64,
    pub failed: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
}

impl InsertRate {
    /// Committed transactions per second of wall-clock time.
    pub fn per_second(&self) -> f64 {
        self.committed as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `tasks` concurrent loops of `BEGIN`, one `INSERT`, `COMMIT` for `duration`.
///
/// Each row carries `details` (the JSON of a creation request) so that it is about as wide as a
/// customer row. Transactions that are still open at the deadline finish and are counted, and
/// the rate divides by the time until the last task ends.
pub async fn measure(
    store: &Store,
    tasks: usize,
    duration: Duration,
    details: &str,
) -> anyhow::Result<InsertRate> {
    create_scratch_table(store).await?;
    let details: Arc<str> = Arc::from(details);
    let white_label_id: Arc<str> = Arc::from(WhiteLabelId::new().as_str());
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let store = store.clone();
        let details = details.clone();
        let white_label_id = white_label_id.clone();
        handles.push(tokio::spawn(async move {
            insert_until(&store, deadline, task, &white_label_id, &details).await
        }));
    }
    let mut total = InsertRate::default();
    for handle in handles {
        let part = handle.await.context("insert task panicked")?;
        total.committed += part.committed;
        total.failed += part.failed;
        if total.first_error.is_none() {
            total.first_error = part.first_error;
        }
    }
    total.elapsed = started.elapsed();
    sqlx::query(&format!("DROP TABLE {SCRATCH_TABLE}"))
        .execute(store.pool())
        .await
        .context("dropping the scratch table")?;
    Ok(total)
}

async fn create_scratch_table(store: &Store) -> anyhow::Result<()> {
    // The key type matches the product's id columns (see the store's migrations).
    let key = match store.backend() {
        Backend::Sqlite => "TEXT",
        Backend::Postgres => "TEXT COLLATE \"C\"",
    };
    let sql = format!(
        "CREATE TABLE {SCRATCH_TABLE} (id {key} PRIMARY KEY, white_label_id {key} NOT NULL, \
         legal_name TEXT NOT NULL, details TEXT NOT NULL, created_us BIGINT NOT NULL)"
    );
    sqlx::query(&sql)
        .execute(store.pool())
        .await
        .context("creating the scratch table")?;
    Ok(())
}

async fn insert_until(
    store: &Store,
    deadline: Instant,
    task: usize,
    white_label_id: &str,
    details: &str,
) -> InsertRate {
    let mut tally = InsertRate::default();
    while Instant::now() < deadline {
        let legal_name = format!("Bench Insert {task}-{}", tally.committed + tally.failed);
        match insert_one(store, white_label_id, &legal_name, details).await {
            Ok(()) => tally.committed += 1,
            Err(error) => {
                tally.failed += 1;
                tally.first_error.get_or_insert(format!("{error:#}"));
            }
        }
    }
    tally
}

async fn insert_one(
    store: &Store,
    white_label_id: &str,
    legal_name: &str,
    details: &str,
) -> anyhow::Result<()> {
    let created_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let mut tx = store.begin().await?;
    sqlx::query(INSERT_SQL)
        .bind(CustomerId::new().as_str())
        .bind(white_label_id)
        .bind(legal_name)
        .bind(details)
        .bind(created_us)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
