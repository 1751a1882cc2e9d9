//! The scale benchmark: generates a platform of a chosen size, then measures the control plane
//! on it against the limits of the same machine, measured in the same run.

mod generate;
mod load;
mod plans;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use rand::Rng;
use tandem::config::Settings;
use tandem::Server;
use tandem_app::access::PlatformAdmin;
use tandem_domain::Role;
use tandem_store::Store;

pub use generate::Profile;
use hyper::{Method, StatusCode};
use load::{closed_loop_http, expect_status, Phase};

/// Options of one scale run.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub profile: Profile,
    /// How long each load phase runs.
    pub phase: Duration,
    /// Concurrent clients of each load phase.
    pub clients: usize,
    /// Whether a missed target fails the run.
    pub enforce: bool,
    /// Only fill the database, measure nothing.
    pub generate_only: bool,
    /// Whether to measure on a database that an earlier run generated, without generating.
    pub reuse: bool,
}

/// Requests of the portal page and the routing table, timed one after the other.
const SEQUENTIAL_RUNS: usize = 40;

/// The sign-in's email and password of the measured white label's administrator.
const ADMIN_EMAIL: &str = "admin@wl0.bench.example";
const ADMIN_PASSWORD: &str = "scale benchmark password";

/// Runs the benchmark, prints its table and returns the number of failed requests. Fails when
/// `options.enforce` is set and a target is missed.
pub async fn run(
    settings: &Settings,
    store: &Store,
    options: &ScaleOptions,
) -> anyhow::Result<u64> {
    let database = crate::database::describe(store).await?;
    let app = tandem::build_app(store.clone(), settings);
    let profile = options.profile;
    let generated = if options.reuse {
        eprintln!("reading back the kept {} profile", profile.name);
        generate::read_back(store).await?
    } else {
        eprintln!(
            "generating the {} profile: {} white labels, {} customers, {} extensions, {} \
             numbers, {} ledger entries",
            profile.name,
            profile.white_labels,
            profile.customers,
            profile.extensions,
            profile.numbers,
            profile.ledger_entries
        );
        let generated = generate::generate(&app, store, profile).await?;
        eprintln!(
            "generated {} rows in {:.1} s",
            generated.rows,
            generated.elapsed.as_secs_f64()
        );
        generated
    };
    if options.generate_only {
        return Ok(0);
    }

    let measured = &generated.white_labels[0];
    let platform = PlatformAdmin::command_line();
    let admin = platform.for_white_label(&measured.id);
    let api_key = app.create_api_key(&admin, "scale benchmark").await?.secret;
    // Creations go to another white label, so that the measured one keeps the size the list
    // and search targets name, also when a run measures a kept database again.
    let creating = generated.white_labels.last().unwrap_or(measured);
    let creating_key = app
        .create_api_key(
            &platform.for_white_label(&creating.id),
            "scale benchmark creations",
        )
        .await?
        .secret;
    app.ensure_user_with_role(
        ADMIN_EMAIL,
        "Bench Admin",
        ADMIN_PASSWORD,
        Role::WhiteLabel,
        Some(&measured.id),
    )
    .await?;
    let session = app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, None).await?;
    let ids: Arc<Vec<String>> =
        Arc::new(measured.customers.iter().map(|id| id.to_string()).collect());
    let plan_id = creating.plans[1].0.to_string();
    let duration = options.phase;
    let clients = options.clients;
    let mut peak_reset = load::reset_peak_resident();

    eprintln!("checking query plans");
    let plan_checks = plans::check(store, &measured.id, &generated).await?;

    load::show_memory("the previous phase");
    eprintln!("measuring the plain insert transaction rate");
    let example = crate::creation::customer_body(&plan_id, "Bench Insert").to_string();
    let inserts = crate::insert_limit::measure(store, clients, duration, &example).await?;
    load::show_memory("the previous phase");
    eprintln!("measuring the plain primary-key read rate");
    let reads = load::primary_key_reads(store, ids.clone(), clients, duration).await;

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    load::show_memory("the previous phase");
    eprintln!("measuring the HTTP hello rate");
    let hello_server = load::HelloServer::start().await?;
    let hello = {
        let host = hello_server.address.to_string();
        closed_loop_http(
            clients,
            duration,
            hello_server.address,
            StatusCode::OK,
            move |_, _| load::request(Method::GET, &host, "/hello", None, None),
        )
        .await
    };
    hello_server.stop();

    let server = Server::start(app.clone(), settings)
        .await
        .context("starting the server")?;
    let base = format!("http://{}", server.address);
    // Requests name the white label's portal host and reach the loopback server.
    let portal = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&measured.host, server.address)
        .build()?;
    let portal_base = format!("http://{}:{}", measured.host, server.address.port());

    load::show_memory("the previous phase");
    eprintln!("measuring mode 2 customer creation");
    let creations = {
        let (host, key, plan) = (
            server.address.to_string(),
            creating_key.clone(),
            plan_id.clone(),
        );
        closed_loop_http(
            clients,
            duration,
            server.address,
            StatusCode::CREATED,
            move |client, sequence| {
                let name = format!("Scale New {client}-{sequence}");
                let body = crate::creation::customer_body(&plan, &name).to_string();
                let path = "/api/v1/customers";
                load::request(
                    Method::POST,
                    &host,
                    path,
                    Some(&key),
                    Some(body.into_bytes()),
                )
            },
        )
        .await
    };

    load::show_memory("the previous phase");
    eprintln!("measuring GET /api/v1/customers/{{id}}");
    let gets = {
        let ids = ids.clone();
        api_gets(server.address, &api_key, clients, duration, move || {
            let id = &ids[rand::thread_rng().gen_range(0..ids.len())];
            format!("/api/v1/customers/{id}")
        })
        .await
    };

    load::show_memory("the previous phase");
    eprintln!("measuring the customer list's first page");
    let lists = api_gets(server.address, &api_key, clients, duration, || {
        "/api/v1/customers?limit=25".to_string()
    })
    .await;

    load::show_memory("the previous phase");
    eprintln!("measuring search by name prefix");
    let searches = api_gets(server.address, &api_key, clients, duration, || {
        let prefix = generate::search_prefix(&mut rand::thread_rng());
        format!("/api/v1/customers?q={prefix}")
    })
    .await;

    load::show_memory("the previous phase");
    eprintln!("measuring the portal's Customers page");
    let pages = {
        let cookie = format!("tandem_session={}", session.token);
        let url = format!("{portal_base}/customers");
        let portal = portal.clone();
        load::sequential(SEQUENTIAL_RUNS, move |_| {
            expect_status(portal.get(&url).header("cookie", cookie.clone()), 200)
        })
        .await
    };

    load::show_memory("the previous phase");
    // The bare Argon2id rate is measured in two halves, right before and right after the
    // sign-in phase, so that a change in the machine's speed during the run moves the rate and
    // the sign-ins alike. The halves' hashing threads are the benchmark's own: the server's
    // peak is read before each half and reset after it.
    let mut peak = load::peak_resident_bytes();
    eprintln!("measuring bare Argon2id verifications (first half)");
    let argon2_before = load::argon2_verifications(duration / 2).await?;
    peak_reset &= load::reset_peak_resident();
    eprintln!("measuring sign-in");
    let hashing_before = load::thread_cpu_time(tandem_app::auth::HASHING_THREAD_PREFIX);
    let sign_ins = {
        let host = format!("{}:{}", measured.host, server.address.port());
        let credentials = format!(
            "email={}&password={}&next=%2Fcustomers",
            form_encode(ADMIN_EMAIL),
            form_encode(ADMIN_PASSWORD)
        );
        closed_loop_http(
            clients,
            duration,
            server.address,
            StatusCode::SEE_OTHER,
            move |_, _| {
                let csrf = tandem_app::auth::random_token();
                let form = format!("_csrf={csrf}&{credentials}");
                hyper::Request::post("/sign-in")
                    .header(hyper::header::HOST, host.as_str())
                    .header(hyper::header::COOKIE, format!("tandem_csrf={csrf}"))
                    .header(
                        hyper::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(http_body_util::Full::new(hyper::body::Bytes::from(form)))
                    .expect("a sign-in request of valid headers")
            },
        )
        .await
    };
    let hashing = hashing_before
        .zip(load::thread_cpu_time(
            tandem_app::auth::HASHING_THREAD_PREFIX,
        ))
        .map(|(before, after)| after.saturating_sub(before));
    load::show_memory("sign-in");
    peak = peak.max(load::peak_resident_bytes());
    eprintln!("measuring bare Argon2id verifications (second half)");
    let argon2_after = load::argon2_verifications(duration - duration / 2).await?;
    peak_reset &= load::reset_peak_resident();
    let argon2 = argon2_before.followed_by(argon2_after);

    load::show_memory("the previous phase");
    eprintln!("measuring the routing table of the largest account");
    let routing = {
        let (_, largest) = &generated.largest_account;
        let url = format!("{base}/api/v1/customers/{largest}/routing");
        let (http, key) = (http.clone(), api_key.clone());
        load::sequential(SEQUENTIAL_RUNS, move |_| {
            expect_status(http.get(&url).bearer_auth(&key), 200)
        })
        .await
    };
    server.abort();
    load::show_memory("the last phase");
    let peak = peak.max(load::peak_resident_bytes());

    let figures = Figures {
        inserts_per_second: inserts.per_second(),
        insert_failures: inserts.failed,
        reads,
        hello,
        argon2,
        creations,
        gets,
        lists,
        searches,
        pages,
        sign_ins,
        hashing,
        routing,
        peak_resident: peak,
        peak_reset,
        plan_checks,
    };
    let missed = report(&database, options, &generated, &figures);
    if options.enforce && missed > 0 {
        bail!("{missed} target(s) missed");
    }
    let errors = [
        &figures.creations,
        &figures.gets,
        &figures.lists,
        &figures.searches,
        &figures.pages,
        &figures.sign_ins,
        &figures.routing,
    ]
    .iter()
    .map(|phase| phase.errors())
    .sum();
    Ok(errors)
}

/// Measures `GET` requests with the API key `key`, each on a path from `path`, that must
/// return 200.
async fn api_gets(
    address: std::net::SocketAddr,
    key: &str,
    clients: usize,
    duration: Duration,
    path: impl Fn() -> String + Send + Sync + 'static,
) -> Phase {
    let (host, key) = (address.to_string(), key.to_string());
    closed_loop_http(clients, duration, address, StatusCode::OK, move |_, _| {
        load::request(Method::GET, &host, &path(), Some(&key), None)
    })
    .await
}

/// Every measured figure of one run.
struct Figures {
    inserts_per_second: f64,
    insert_failures: u64,
    reads: Phase,
    hello: Phase,
    argon2: Phase,
    creations: Phase,
    gets: Phase,
    lists: Phase,
    searches: Phase,
    pages: Phase,
    sign_ins: Phase,
    /// The CPU time of the server's password hashing threads during the sign-in phase.
    hashing: Option<Duration>,
    routing: Phase,
    peak_resident: Option<u64>,
    peak_reset: bool,
    plan_checks: Vec<plans::PlanCheck>,
}

/// Budget of list, search and portal page latency at the 99th percentile.
const P99_BUDGET_MS: f64 = 50.0;
/// Budget of the server's resident memory.
const MEMORY_BUDGET_BYTES: u64 = 200 * 1024 * 1024;

/// Prints the table and returns how many targets were missed.
fn report(
    database: &str,
    options: &ScaleOptions,
    generated: &generate::Generated,
    f: &Figures,
) -> usize {
    let profile = options.profile;
    println!(
        "Tandem scale benchmark, {} profile, {} (ratios against limits measured in this run)",
        profile.name, database
    );
    println!("date:      {}", crate::report::utc_now());
    println!(
        "machine:   {} CPUs (nproc), {}",
        crate::report::cpu_count(),
        crate::report::cpu_model()
    );
    let origin = if options.reuse {
        "kept by an earlier run".to_string()
    } else {
        format!(
            "{} rows in {:.0} s",
            generated.rows,
            generated.elapsed.as_secs_f64()
        )
    };
    println!(
        "data:      {} white labels, {} customers, {} extensions, {} numbers, {} ledger entries \
         ({origin}); measured white label has {} customers",
        profile.white_labels,
        profile.customers,
        profile.extensions,
        profile.numbers,
        profile.ledger_entries,
        generated.white_labels[0].customers.len()
    );
    println!(
        "load:      {:.1} s per phase, {} concurrent clients; portal page and routing timed {} \
         times one after the other",
        options.phase.as_secs_f64(),
        options.clients,
        SEQUENTIAL_RUNS
    );
    println!();
    println!("| measure | rate/s | p50 ms | p99 ms | errors | ratio to limit | target | result |");
    println!("|---|---:|---:|---:|---:|---:|---|---|");
    let mut missed = 0;
    let mut line = |name: &str,
                    phase: Option<&Phase>,
                    rate: Option<f64>,
                    ratio: Option<(f64, &str)>,
                    target: &str,
                    pass: Option<bool>| {
        let rate = rate.or(phase.map(Phase::per_second));
        let p50 = phase.and_then(|p| p.percentile_ms(50.0));
        let p99 = phase.and_then(|p| p.percentile_ms(99.0));
        let errors = phase.map(|p| p.errors().to_string()).unwrap_or_default();
        let ratio = ratio
            .map(|(value, limit)| format!("{:.1} % of {limit}", value * 100.0))
            .unwrap_or_default();
        let result = match pass {
            Some(true) => "pass",
            Some(false) => {
                missed += 1;
                "MISS"
            }
            None => "",
        };
        println!(
            "| {name} | {} | {} | {} | {errors} | {ratio} | {target} | {result} |",
            rate.map(|r| format!("{r:.1}")).unwrap_or_default(),
            p50.map(|v| format!("{v:.1}")).unwrap_or_default(),
            p99.map(|v| format!("{v:.1}")).unwrap_or_default(),
        );
    };
    let insert_rate = f.inserts_per_second;
    let read_rate = f.reads.per_second();
    let hello_rate = f.hello.per_second();
    let argon2_rate = f.argon2.per_second();
    line(
        "limit: plain insert transactions",
        None,
        Some(insert_rate),
        None,
        "",
        None,
    );
    line(
        "limit: primary-key reads",
        Some(&f.reads),
        None,
        None,
        "",
        None,
    );
    line("limit: HTTP hello", Some(&f.hello), None, None, "", None);
    line(
        "limit: Argon2id verifications",
        Some(&f.argon2),
        None,
        None,
        "",
        None,
    );

    let creation_ratio = f.creations.per_second() / insert_rate;
    line(
        "mode 2 creation (API)",
        Some(&f.creations),
        None,
        Some((creation_ratio, "inserts")),
        "≥ 50 % of inserts",
        Some(creation_ratio >= 0.5 && f.creations.errors() == 0),
    );
    let get_ratio = f.gets.per_second() / read_rate;
    line(
        "GET customer by id (API key)",
        Some(&f.gets),
        None,
        Some((get_ratio, "PK reads")),
        "≥ 50 % of PK reads",
        Some(get_ratio >= 0.5 && f.gets.errors() == 0),
    );
    for (name, phase) in [
        ("customer list, first page (API)", &f.lists),
        ("search by name prefix (API)", &f.searches),
    ] {
        let p99 = phase.percentile_ms(99.0).unwrap_or(f64::INFINITY);
        line(
            name,
            Some(phase),
            None,
            Some((phase.per_second() / hello_rate, "hello")),
            "p99 < 50 ms",
            Some(p99 < P99_BUDGET_MS && phase.errors() == 0),
        );
    }
    let page_p99 = f.pages.percentile_ms(99.0).unwrap_or(f64::INFINITY);
    line(
        "portal Customers page",
        Some(&f.pages),
        None,
        None,
        "p99 < 50 ms",
        Some(page_p99 < P99_BUDGET_MS && f.pages.errors() == 0),
    );
    let sign_in_ratio = f.sign_ins.per_second() / argon2_rate;
    line(
        "sign-in (portal form)",
        Some(&f.sign_ins),
        None,
        Some((sign_in_ratio, "Argon2id")),
        "≥ 90 % of Argon2id",
        Some(sign_in_ratio >= 0.9 && f.sign_ins.errors() == 0),
    );
    line(
        "routing table of the largest account (API)",
        Some(&f.routing),
        None,
        None,
        "",
        None,
    );
    let memory_pass = f.peak_resident.map(|bytes| bytes < MEMORY_BUDGET_BYTES);
    println!(
        "| peak resident memory (MB) | {} | | | | | < 200 MB | {} |",
        f.peak_resident
            .map(|b| format!("{:.1}", b as f64 / 1_048_576.0))
            .unwrap_or_else(|| "unknown".into()),
        match memory_pass {
            Some(true) => "pass",
            Some(false) => "MISS",
            None => "",
        }
    );
    if memory_pass == Some(false) {
        missed += 1;
    }
    let scans: Vec<&plans::PlanCheck> = f.plan_checks.iter().filter(|c| c.full_scan).collect();
    println!(
        "| query plans without a whole-table scan | {} of {} | | | | | all | {} |",
        f.plan_checks.len() - scans.len(),
        f.plan_checks.len(),
        if scans.is_empty() { "pass" } else { "MISS" }
    );
    if !scans.is_empty() {
        missed += 1;
    }
    println!();
    if !f.peak_reset {
        println!("note: the peak resident memory includes the generator's and the bare Argon2id threads', because /proc/self/clear_refs could not be written");
    }
    let hashed = f.sign_ins.succeeded + f.sign_ins.errors();
    match f.hashing {
        Some(cpu_time) if hashed > 0 => {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let share = cpu_time.as_secs_f64() / (f.sign_ins.elapsed.as_secs_f64() * cpus as f64);
            let per_sign_in = cpu_time.as_secs_f64() * 1000.0 / hashed as f64;
            let bare = f
                .argon2
                .percentile_ms(50.0)
                .map_or("n/a".to_string(), |ms| format!("{ms:.1} ms"));
            println!(
                "note: during sign-in the server's password hashing threads used {:.1} % of {cpus} CPUs, {per_sign_in:.1} ms per sign-in request. A bare verification took {bare} (p50).",
                share * 100.0,
            );
        }
        Some(_) => {}
        None => println!("note: the hashing threads' CPU time is missing, because /proc/self/task could not be read"),
    }
    if f.insert_failures > 0 {
        println!(
            "note: {} plain insert transactions failed",
            f.insert_failures
        );
    }
    for (name, phase) in [
        ("creation", &f.creations),
        ("get", &f.gets),
        ("list", &f.lists),
        ("search", &f.searches),
        ("portal page", &f.pages),
        ("sign-in", &f.sign_ins),
        ("routing", &f.routing),
        ("primary-key reads", &f.reads),
        ("hello", &f.hello),
    ] {
        if let Some(failure) = &phase.first_failure {
            println!("first failure of {name}: {failure}");
        }
    }
    for check in &f.plan_checks {
        let mark = if check.full_scan { "SCAN" } else { "ok" };
        println!("plan [{mark}] {}: {}", check.name, check.plan.join(" / "));
    }
    missed
}

/// Encodes `value` for an `application/x-www-form-urlencoded` body.
fn form_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                encoded.push(char::from(byte));
            }
            b' ' => encoded.push('+'),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::FreshDatabase;

    /// Runs the whole benchmark on the tiny profile with short phases, on SQLite or, with
    /// TEST_DATABASE_URL set, on a fresh PostgreSQL database. No target is enforced.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tiny_profile_runs() {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok();
        let fresh = FreshDatabase::create(admin_url.as_deref()).await.unwrap();
        let settings = Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: fresh.data_dir.clone(),
            database_url: fresh.url.clone(),
            log_level: "warn".into(),
            ..Settings::default()
        };
        let store = tandem::open_store(&settings).await.unwrap();
        let options = ScaleOptions {
            profile: Profile::TINY,
            phase: Duration::from_millis(200),
            clients: 4,
            enforce: false,
            generate_only: false,
            reuse: false,
        };
        let outcome = run(&settings, &store, &options).await;
        store.close().await;
        fresh.remove().await.unwrap();
        assert_eq!(outcome.unwrap(), 0);
    }

    /// Reading back a kept database finds the white labels, plans, customers and largest
    /// account that generating it returned.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn kept_database_reads_back_as_generated() {
        let admin_url = std::env::var("TEST_DATABASE_URL").ok();
        let fresh = FreshDatabase::create(admin_url.as_deref()).await.unwrap();
        let settings = Settings {
            data_dir: fresh.data_dir.clone(),
            database_url: fresh.url.clone(),
            log_level: "warn".into(),
            ..Settings::default()
        };
        let store = tandem::open_store(&settings).await.unwrap();
        let app = tandem::build_app(store.clone(), &settings);
        let generated = generate::generate(&app, &store, Profile::TINY).await;
        let back = generate::read_back(&store).await;
        store.close().await;
        fresh.remove().await.unwrap();
        let (generated, back) = (generated.unwrap(), back.unwrap());
        assert_eq!(back.white_labels, generated.white_labels);
        assert_eq!(back.largest_account, generated.largest_account);
        assert_eq!(back.white_labels.len(), Profile::TINY.white_labels);
    }

    #[test]
    fn form_values_are_encoded() {
        assert_eq!(
            form_encode("admin@wl0.example pass/w&rd=1"),
            "admin%40wl0.example+pass%2Fw%26rd%3D1"
        );
        assert_eq!(form_encode("Ā"), "%C4%80");
    }
}
