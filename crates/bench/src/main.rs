//! `tandem-bench`: measures mode 2 customer creation through the HTTP API and compares it with
//! the plain single-row insert transaction rate of the same database; with `--routing`, measures
//! the routing table of a large account instead; with `--scale`, generates a platform of a
//! chosen size and measures the control plane on it against the machine's limits.
//!
//! One run opens a fresh database: SQLite in a temporary folder, or a new database on a local
//! PostgreSQL server. It measures the insert rate, starts the real server on 127.0.0.1 with a
//! funded white label and sends creation requests from concurrent clients. Then it prints one
//! report and removes the database. It connects only to 127.0.0.1.

mod breakdown;
mod creation;
mod database;
mod insert_limit;
mod report;
mod routing;
mod scale;

/// Counts heap bytes so the routing benchmark can report the memory of one compilation.
#[global_allocator]
static ALLOCATOR: routing::CountingAllocator = routing::CountingAllocator;

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use tandem::config::Settings;
use tandem::Server;

use crate::database::FreshDatabase;
use crate::report::RunInfo;

/// Measures mode 2 customer creation through POST /api/v1/customers against the plain insert
/// transaction rate of the same database.
#[derive(Debug, Parser)]
#[command(name = "tandem-bench")]
struct Args {
    /// Seconds each of the two phases (plain inserts, then creations) runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent HTTP clients sending creation requests.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Concurrent tasks running plain insert transactions.
    #[arg(long, default_value_t = 32)]
    insert_tasks: usize,
    /// A postgres:// URL of a PostgreSQL server on this machine, on which the run creates a
    /// fresh database and drops it at the end. Without it, the run uses a new SQLite file in a
    /// temporary folder.
    #[arg(long)]
    database_url: Option<String>,
    /// Connections in the database pool that both phases share (the server's default is 8).
    #[arg(long, default_value_t = Settings::default().database_max_connections)]
    pool_size: u32,
    /// Also show where a creation's time goes: CPU time per operation, the use case without
    /// HTTP, the per-request lookups alone, and on PostgreSQL the rows and commits per creation
    /// and the backends' wait events. Adds two phases of --seconds each, and on PostgreSQL a
    /// wait-event sampler that runs during the creation phase.
    #[arg(long)]
    breakdown: bool,
    /// Measure the routing table of a large account instead (1,000 extensions, 100 ring
    /// groups, 50 IVR menus, 500 numbers): compiled in memory, read through the API and shown
    /// on the portal's routing page, each --runs times.
    #[arg(long)]
    routing: bool,
    /// Repetitions of each routing measurement.
    #[arg(long, default_value_t = 50)]
    runs: usize,
    /// Generate a platform of --profile's size, then measure creation, reads, lists, search,
    /// the portal's Customers page, sign-in and the largest routing table on it, each against
    /// the matching limit of this machine measured in the same run.
    #[arg(long)]
    scale: bool,
    /// The size of the generated platform: full (20 white labels, 100,000 customers,
    /// 1,000,000 extensions, 500,000 numbers, 5,000,000 ledger entries), small (a tenth of
    /// that) or tiny (a few hundred rows, for tests).
    #[arg(long, default_value = "small")]
    profile: String,
    /// Fail when a target is missed. On by default for the full profile only.
    #[arg(long)]
    enforce_targets: Option<bool>,
    /// With --scale, only generate the data and measure nothing.
    #[arg(long)]
    generate_only: bool,
    /// Keep the generated database instead of removing it, and print where it is.
    #[arg(long)]
    keep: bool,
    /// With --scale, measure again on a database that an earlier run of the same --profile
    /// kept, given by the URL that --keep printed, instead of generating one. The run adds the
    /// customers it creates to that database's last white label, not the measured one, and
    /// leaves the database in place.
    #[arg(long, value_name = "URL")]
    reuse: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.seconds == 0 || args.clients == 0 || args.insert_tasks == 0 || args.pool_size == 0 {
        bail!("--seconds, --clients, --insert-tasks and --pool-size must each be at least 1");
    }
    let database = match &args.reuse {
        Some(_) if !args.scale || args.generate_only => {
            bail!("--reuse needs --scale, and cannot be combined with --generate-only")
        }
        Some(url) => FreshDatabase::kept(url)?,
        None => FreshDatabase::create(args.database_url.as_deref()).await?,
    };
    let outcome = run(&args, &database).await;
    if args.keep && args.reuse.is_none() {
        eprintln!(
            "kept the database at {}",
            tandem_store::redact_url(&database.url)
        );
        database.keep();
        return outcome;
    }
    let removed = database.remove().await;
    outcome?;
    removed
}

async fn run(args: &Args, database: &FreshDatabase) -> anyhow::Result<()> {
    let duration = Duration::from_secs(args.seconds);
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: database.data_dir.clone(),
        database_url: database.url.clone(),
        database_max_connections: args.pool_size,
        log_level: "warn".into(),
        ..Settings::default()
    };
    let store = tandem::open_store(&settings).await?;
    let outcome = if args.scale {
        let profile = scale::Profile::parse(&args.profile)?;
        let options = scale::ScaleOptions {
            profile,
            phase: duration,
            clients: args.clients,
            enforce: args
                .enforce_targets
                .unwrap_or(profile == scale::Profile::FULL),
            generate_only: args.generate_only,
            reuse: args.reuse.is_some(),
        };
        scale::run(&settings, &store, &options).await.map(|_| ())
    } else if args.routing {
        routing::run(&settings, &store, args.runs.max(1)).await
    } else {
        measure(args, database, &settings, &store, duration).await
    };
    store.close().await;
    outcome
}

async fn measure(
    args: &Args,
    fresh: &FreshDatabase,
    settings: &Settings,
    store: &tandem_store::Store,
    duration: Duration,
) -> anyhow::Result<()> {
    let database = database::describe(store).await?;
    let example = creation::customer_body("pln_example", "Bench Insert").to_string();

    eprintln!("measuring plain insert transactions for {} s", args.seconds);
    let cpu_before = breakdown::process_cpu();
    let inserts = insert_limit::measure(store, args.insert_tasks, duration, &example).await?;
    let insert_cpu = breakdown::process_cpu().saturating_sub(cpu_before);

    let app = tandem::build_app(store.clone(), settings);
    let tenant = creation::create_tenant(&app).await?;
    let server = Server::start(app.clone(), settings)
        .await
        .context("starting the server")?;
    let base_url = format!("http://{}", server.address);

    let mut monitor = match fresh.postgres() {
        Some((admin_url, name)) if args.breakdown => {
            Some(breakdown::PgMonitor::connect(admin_url, name, &fresh.url).await?)
        }
        _ => None,
    };
    let counters_before = match &mut monitor {
        Some(monitor) => {
            monitor.flush(store).await?;
            Some(monitor.snapshot().await?)
        }
        None => None,
    };

    eprintln!(
        "measuring customer creation at {base_url} for {} s",
        args.seconds
    );
    let cpu_before = breakdown::process_cpu();
    let deadline = std::time::Instant::now() + duration;
    let sampler = async {
        match &monitor {
            Some(monitor) => Some(monitor.sample_waits(deadline).await),
            None => None,
        }
    };
    let (creations, waits) = tokio::join!(
        creation::run(&base_url, &tenant, args.clients, duration),
        sampler
    );
    let http_cpu = breakdown::process_cpu().saturating_sub(cpu_before);
    server.abort();
    let creations = creations?;

    let info = RunInfo {
        database,
        pool_size: args.pool_size,
        seconds: args.seconds,
        insert_tasks: args.insert_tasks,
        clients: args.clients,
    };
    report::print(&info, &inserts, &creations);
    if !args.breakdown {
        return Ok(());
    }

    let postgres = match (&mut monitor, counters_before, waits) {
        (Some(monitor), Some(before), Some(waits)) => {
            monitor.flush(store).await?;
            Some((before, monitor.snapshot().await?, waits?))
        }
        _ => None,
    };
    eprintln!(
        "measuring the creation use case alone for {} s",
        args.seconds
    );
    let use_case = breakdown::use_case_rate(&app, &tenant, args.clients, duration).await;
    eprintln!(
        "measuring the per-request lookups alone for {} s",
        args.seconds
    );
    let host = server.address.to_string();
    let lookups = breakdown::lookup_rate(&app, &tenant, &host, args.clients, duration).await;
    breakdown::print(&breakdown::Findings {
        insert_cpu,
        inserts: inserts.committed,
        http_cpu,
        creations: creations.created,
        use_case,
        lookups,
        postgres,
    });
    Ok(())
}
