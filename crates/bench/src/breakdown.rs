//! The optional breakdown (`--breakdown`) of where a creation's time goes. It measures the use
//! case called without HTTP, the lookups that every API request makes before the use case, and
//! the CPU time of each phase. On PostgreSQL it also reads the rows and commits per creation and
//! samples what the server's backends wait on.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use sqlx::{AnyConnection, Connection, Row};
use tandem_app::access::PlatformAdmin;
use tandem_app::customers::CustomerInput;
use tandem_app::App;
use tandem_store::customers::CustomerRow;
use tandem_store::Store;

use crate::creation::{customer_body, Tenant};

/// Linux reports process CPU time in /proc in units of USER_HZ, which is 100 on every
/// architecture the kernel's user-space ABI defines.
const USER_HZ: f64 = 100.0;

/// How often the PostgreSQL backends' wait events are sampled during the creation phase.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(10);

/// How long PostgreSQL gets to publish counters after [`PgMonitor::flush`] asked for them.
const STATS_PUBLISH_WAIT: Duration = Duration::from_millis(1500);

/// Returns the CPU time this process has used so far, all threads together.
pub fn process_cpu() -> Duration {
    proc_cpu("/proc/self/stat").unwrap_or_default()
}

/// Reads utime + stime from a /proc/PID/stat file.
fn proc_cpu(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    // The command name in brackets may contain spaces, so count fields after the last ')'.
    let after_name = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / USER_HZ))
}

/// Operations completed by one breakdown phase.
#[derive(Debug, Default)]
pub struct PhaseRate {
    pub completed: u64,
    pub failed: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub cpu: Duration,
}

impl PhaseRate {
    pub fn per_second(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    /// Milliseconds of this process's CPU time per completed operation.
    pub fn cpu_ms_per_operation(&self) -> f64 {
        cpu_ms_per(self.cpu, self.completed)
    }
}

/// Returns the milliseconds of `cpu` per operation, or NaN when there were none.
pub fn cpu_ms_per(cpu: Duration, operations: u64) -> f64 {
    cpu.as_secs_f64() * 1e3 / operations as f64
}

/// Runs `operation` from `tasks` concurrent loops for `duration`.
async fn run_phase<F, Fut>(tasks: usize, duration: Duration, operation: F) -> PhaseRate
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let operation = Arc::new(operation);
    let cpu_before = process_cpu();
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        let operation = operation.clone();
        handles.push(tokio::spawn(async move {
            let mut rate = PhaseRate::default();
            let mut sequence = 0u64;
            while Instant::now() < deadline {
                sequence += 1;
                match operation(task, sequence).await {
                    Ok(()) => rate.completed += 1,
                    Err(error) => {
                        rate.failed += 1;
                        rate.first_error.get_or_insert(format!("{error:#}"));
                    }
                }
            }
            rate
        }));
    }
    let mut total = PhaseRate::default();
    for handle in handles {
        match handle.await {
            Ok(part) => {
                total.completed += part.completed;
                total.failed += part.failed;
                if total.first_error.is_none() {
                    total.first_error = part.first_error;
                }
            }
            Err(error) => {
                total.failed += 1;
                total
                    .first_error
                    .get_or_insert(format!("task panicked: {error}"));
            }
        }
    }
    total.elapsed = started.elapsed();
    total.cpu = process_cpu().saturating_sub(cpu_before);
    total
}

/// Calls `App::create_customer` directly, as the API handler does, without HTTP and without the
/// per-request lookups.
pub async fn use_case_rate(
    app: &App,
    tenant: &Tenant,
    tasks: usize,
    duration: Duration,
) -> PhaseRate {
    let app = app.clone();
    let admin = Arc::new(PlatformAdmin::command_line().for_white_label(&tenant.white_label_id));
    let plan_id: Arc<str> = Arc::from(tenant.plan_id.as_str());
    run_phase(tasks, duration, move |task, sequence| {
        let app = app.clone();
        let admin = admin.clone();
        let legal_name = format!("Bench Use Case {task}-{sequence}");
        let body = customer_body(&plan_id, &legal_name);
        async move {
            let input: CustomerInput = serde_json::from_value(body)?;
            let render = |row: &CustomerRow| row.id.to_string();
            app.create_customer(&admin, &input, None, &render).await?;
            Ok(())
        }
    })
    .await
}

/// Makes the lookups that the API extractors make for every request sent to `host`: the white
/// label of the Host header without its port, and the API key, whose `last_used` update runs
/// too.
pub async fn lookup_rate(
    app: &App,
    tenant: &Tenant,
    host: &str,
    tasks: usize,
    duration: Duration,
) -> PhaseRate {
    let app = app.clone();
    let api_key: Arc<str> = Arc::from(tenant.api_key.as_str());
    let host: Arc<str> = Arc::from(host);
    run_phase(tasks, duration, move |_, _| {
        let app = app.clone();
        let api_key = api_key.clone();
        let host = host.clone();
        async move {
            let name = match host.rsplit_once(':') {
                Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
                _ => &host,
            };
            app.white_label_for_host(name.trim_end_matches('.')).await?;
            let principal = app
                .api_key_principal(&api_key, Some("127.0.0.1".into()))
                .await?;
            anyhow::ensure!(principal.is_some(), "the API key was not found");
            Ok(())
        }
    })
    .await
}

/// Counters of one PostgreSQL database from pg_stat_database, its tables' counters from
/// pg_stat_user_tables, and the CPU time of its backends.
#[derive(Debug, Default, Clone)]
pub struct PgCounters {
    pub commits: i64,
    pub rollbacks: i64,
    pub rows_returned: i64,
    pub rows_fetched: i64,
    pub rows_inserted: i64,
    pub rows_updated: i64,
    tables: BTreeMap<String, TableCounters>,
    backend_cpu: BTreeMap<i64, Duration>,
}

/// One table's row of pg_stat_user_tables.
#[derive(Debug, Default, Clone, Copy)]
struct TableCounters {
    seq_scan: i64,
    seq_tup_read: i64,
    idx_scan: i64,
    idx_tup_fetch: i64,
    n_tup_ins: i64,
    n_tup_upd: i64,
    n_tup_hot_upd: i64,
    n_dead_tup: i64,
}

impl PgCounters {
    /// Returns the CPU time that the backends present in both snapshots used between them.
    pub fn backend_cpu_since(&self, earlier: &PgCounters) -> Duration {
        self.backend_cpu
            .iter()
            .filter_map(|(pid, cpu)| Some(cpu.saturating_sub(*earlier.backend_cpu.get(pid)?)))
            .sum()
    }
}

/// Reader of PostgreSQL's statistics about the benchmark database.
///
/// Database-wide counters and wait events are read over a connection to the administrative
/// database, so that these queries do not count in them. Table counters exist only inside the
/// benchmark database, so they are read over a second connection to it.
pub struct PgMonitor {
    admin_url: String,
    database: String,
    admin: AnyConnection,
    bench: AnyConnection,
    /// The backend of `bench`, which the wait samples and CPU times leave out.
    bench_pid: i64,
}

impl PgMonitor {
    pub async fn connect(
        admin_url: &str,
        database: &str,
        bench_url: &str,
    ) -> anyhow::Result<PgMonitor> {
        let admin = AnyConnection::connect(admin_url)
            .await
            .context("connecting the statistics monitor")?;
        let mut bench = AnyConnection::connect(bench_url)
            .await
            .context("connecting the table statistics monitor")?;
        let bench_pid = sqlx::query_scalar("SELECT pg_backend_pid()::bigint")
            .fetch_one(&mut bench)
            .await?;
        Ok(PgMonitor {
            admin_url: admin_url.to_string(),
            database: database.to_string(),
            admin,
            bench,
            bench_pid,
        })
    }

    /// Makes every connection of `store`'s pool publish its pending counters, then waits for
    /// them to arrive.
    ///
    /// Backends publish their counters some time after they go idle. A 1.5 s wait alone left
    /// the counts of one run visibly short on PostgreSQL 15.20, so each connection also calls
    /// `pg_stat_force_next_flush()`, which makes it publish when that statement ends.
    pub async fn flush(&self, store: &Store) -> anyhow::Result<()> {
        let mut connections = Vec::new();
        for _ in 0..store.pool().size() {
            let Ok(conn) =
                tokio::time::timeout(Duration::from_secs(1), store.pool().acquire()).await
            else {
                break;
            };
            connections.push(conn.context("acquiring a pool connection")?);
        }
        for conn in &mut connections {
            // Servers before PostgreSQL 15 lack the function, so only the wait below applies.
            let _ = sqlx::query("SELECT pg_stat_force_next_flush()")
                .execute(&mut **conn)
                .await;
        }
        drop(connections);
        tokio::time::sleep(STATS_PUBLISH_WAIT).await;
        Ok(())
    }

    /// Takes a snapshot of the counters. Call [`PgMonitor::flush`] first.
    pub async fn snapshot(&mut self) -> anyhow::Result<PgCounters> {
        let row = sqlx::query(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, \
             tup_updated FROM pg_stat_database WHERE datname = $1",
        )
        .bind(&self.database)
        .fetch_one(&mut self.admin)
        .await
        .context("reading pg_stat_database")?;

        let pids: Vec<i64> = sqlx::query_scalar(
            "SELECT pid::bigint FROM pg_stat_activity WHERE datname = $1 \
             AND backend_type = 'client backend' AND pid <> $2",
        )
        .bind(&self.database)
        .bind(self.bench_pid)
        .fetch_all(&mut self.admin)
        .await
        .context("reading pg_stat_activity")?;

        let backend_cpu = pids
            .into_iter()
            .filter_map(|pid| Some((pid, proc_cpu(&format!("/proc/{pid}/stat"))?)))
            .collect();

        Ok(PgCounters {
            commits: row.try_get("xact_commit")?,
            rollbacks: row.try_get("xact_rollback")?,
            rows_returned: row.try_get("tup_returned")?,
            rows_fetched: row.try_get("tup_fetched")?,
            rows_inserted: row.try_get("tup_inserted")?,
            rows_updated: row.try_get("tup_updated")?,
            tables: self.table_counters().await?,
            backend_cpu,
        })
    }

    async fn table_counters(&mut self) -> anyhow::Result<BTreeMap<String, TableCounters>> {
        // pg_stat_clear_snapshot: read fresh counters, not those cached by an earlier query.
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut self.bench)
            .await?;
        let rows = sqlx::query(
            "SELECT relname::text AS relname, seq_scan, seq_tup_read, \
             COALESCE(idx_scan, 0) AS idx_scan, COALESCE(idx_tup_fetch, 0) AS idx_tup_fetch, \
             n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup FROM pg_stat_user_tables",
        )
        .fetch_all(&mut self.bench)
        .await
        .context("reading pg_stat_user_tables")?;
        let mut tables = BTreeMap::new();
        for row in rows {
            let counters = TableCounters {
                seq_scan: row.try_get("seq_scan")?,
                seq_tup_read: row.try_get("seq_tup_read")?,
                idx_scan: row.try_get("idx_scan")?,
                idx_tup_fetch: row.try_get("idx_tup_fetch")?,
                n_tup_ins: row.try_get("n_tup_ins")?,
                n_tup_upd: row.try_get("n_tup_upd")?,
                n_tup_hot_upd: row.try_get("n_tup_hot_upd")?,
                n_dead_tup: row.try_get("n_dead_tup")?,
            };
            tables.insert(row.try_get("relname")?, counters);
        }
        Ok(tables)
    }

    /// Samples the state and wait event of the benchmark database's backends every
    /// [`SAMPLE_INTERVAL`] until `deadline`, on a connection of its own.
    pub async fn sample_waits(&self, deadline: Instant) -> anyhow::Result<WaitSamples> {
        let mut conn = AnyConnection::connect(&self.admin_url)
            .await
            .context("connecting the wait-event sampler")?;
        let mut samples = WaitSamples::default();
        while Instant::now() < deadline {
            let rows = sqlx::query(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity \
                 WHERE datname = $1 AND backend_type = 'client backend' AND pid <> $2",
            )
            .bind(&self.database)
            .bind(self.bench_pid)
            .fetch_all(&mut conn)
            .await
            .context("sampling pg_stat_activity")?;
            samples.rounds += 1;
            for row in rows {
                let state: Option<String> = row.try_get("state")?;
                let kind: Option<String> = row.try_get("wait_event_type")?;
                let event: Option<String> = row.try_get("wait_event")?;
                let label = format!(
                    "{} / {}",
                    state.unwrap_or_else(|| "unknown".into()),
                    match (kind, event) {
                        (Some(kind), Some(event)) => format!("{kind}: {event}"),
                        _ => "running (no wait event)".to_string(),
                    }
                );
                *samples.counts.entry(label).or_default() += 1;
            }
            tokio::time::sleep(SAMPLE_INTERVAL).await;
        }
        conn.close().await.ok();
        Ok(samples)
    }
}

/// Backend states seen by the sampler: how many backend-samples showed each state and wait.
#[derive(Debug, Default)]
pub struct WaitSamples {
    pub rounds: u64,
    pub counts: BTreeMap<String, u64>,
}

/// The breakdown's measurements, for printing.
pub struct Findings {
    pub insert_cpu: Duration,
    pub inserts: u64,
    pub http_cpu: Duration,
    pub creations: u64,
    pub use_case: PhaseRate,
    pub lookups: PhaseRate,
    /// PostgreSQL only: counters before and after the HTTP creation phase, and the waits.
    pub postgres: Option<(PgCounters, PgCounters, WaitSamples)>,
}

/// Prints the breakdown tables.
pub fn print(findings: &Findings) {
    println!();
    println!("Breakdown (--breakdown)");
    println!();
    println!("| phase                                        | ops/s      | CPU ms/op |");
    println!("|----------------------------------------------|-----------:|----------:|");

    let insert_ms = cpu_ms_per(findings.insert_cpu, findings.inserts);
    let http_ms = cpu_ms_per(findings.http_cpu, findings.creations);
    phase_row("plain insert transaction", None, insert_ms);
    phase_row("creation through HTTP (the main figure)", None, http_ms);
    phase_row(
        "creation use case only (no HTTP, no lookups)",
        Some(findings.use_case.per_second()),
        findings.use_case.cpu_ms_per_operation(),
    );
    phase_row(
        "per-request lookups only (host, API key)",
        Some(findings.lookups.per_second()),
        findings.lookups.cpu_ms_per_operation(),
    );
    println!("CPU ms/op is this process's CPU time (client, server, and SQLite when used).");

    for (name, phase) in [
        ("use case", &findings.use_case),
        ("lookups", &findings.lookups),
    ] {
        if phase.failed > 0 {
            println!(
                "{name}: {} operations failed; first: {}",
                phase.failed,
                phase.first_error.as_deref().unwrap_or("")
            );
        }
    }

    if let Some((before, after, waits)) = &findings.postgres {
        print_postgres(findings.creations, before, after, waits);
    }
}

fn phase_row(name: &str, rate: Option<f64>, cpu_ms: f64) {
    let rate = rate.map_or("see above".to_string(), |r| format!("{r:.1}"));
    println!("| {name:<44} | {rate:>10} | {cpu_ms:>9.3} |");
}

fn print_postgres(creations: u64, before: &PgCounters, after: &PgCounters, waits: &WaitSamples) {
    let per = |after: i64, before: i64| (after - before) as f64 / creations as f64;
    println!();
    println!("PostgreSQL, per created customer during the HTTP phase (pg_stat_database):");
    println!(
        "  commits {:.2}, rollbacks {:.2}, rows inserted {:.2}, rows updated {:.2}, \
         rows fetched {:.2}, rows returned {:.2}",
        per(after.commits, before.commits),
        per(after.rollbacks, before.rollbacks),
        per(after.rows_inserted, before.rows_inserted),
        per(after.rows_updated, before.rows_updated),
        per(after.rows_fetched, before.rows_fetched),
        per(after.rows_returned, before.rows_returned),
    );
    println!(
        "  backend CPU ms per creation: {:.3}",
        cpu_ms_per(after.backend_cpu_since(before), creations)
    );
    print_tables(creations, before, after);
    let total: u64 = waits.counts.values().sum();
    println!(
        "PostgreSQL backends by state / wait event ({} samples of {} backend states):",
        waits.rounds, total
    );
    let mut counts: Vec<_> = waits.counts.iter().collect();
    counts.sort_by(|a, b| b.1.cmp(a.1));
    for (label, count) in counts {
        println!(
            "  {:>5.1} %  {label}",
            100.0 * *count as f64 / total.max(1) as f64
        );
    }
}

/// Prints per creation the pg_stat_user_tables counters that moved, and the dead rows at the
/// end.
fn print_tables(creations: u64, before: &PgCounters, after: &PgCounters) {
    println!();
    println!(
        "PostgreSQL tables, per created customer during the HTTP phase (pg_stat_user_tables):"
    );
    println!();
    println!(
        "| table              | idx scans | idx rows fetched | seq scans | seq rows read \
         | inserts | updates (HOT) | dead rows at end |"
    );
    println!(
        "|--------------------|----------:|-----------------:|----------:|--------------:\
         |--------:|--------------:|-----------------:|"
    );
    let per = |after: i64, before: i64| (after - before) as f64 / creations as f64;
    for (table, now) in &after.tables {
        let then = before.tables.get(table).copied().unwrap_or_default();
        let moved = now.seq_scan != then.seq_scan
            || now.idx_scan != then.idx_scan
            || now.n_tup_ins != then.n_tup_ins
            || now.n_tup_upd != then.n_tup_upd;
        if !moved {
            continue;
        }
        let updates = format!(
            "{:.2} ({:.2})",
            per(now.n_tup_upd, then.n_tup_upd),
            per(now.n_tup_hot_upd, then.n_tup_hot_upd)
        );
        println!(
            "| {table:<18} | {:>9.2} | {:>16.2} | {:>9.2} | {:>13.2} | {:>7.2} | {updates:>13} \
             | {:>16} |",
            per(now.idx_scan, then.idx_scan),
            per(now.idx_tup_fetch, then.idx_tup_fetch),
            per(now.seq_scan, then.seq_scan),
            per(now.seq_tup_read, then.seq_tup_read),
            per(now.n_tup_ins, then.n_tup_ins),
            now.n_dead_tup,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_cpu_reads_own_process() {
        assert!(proc_cpu("/proc/self/stat").is_some());
    }
}
