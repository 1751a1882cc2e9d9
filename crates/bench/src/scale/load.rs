//! Closed-loop load: concurrent clients that each send one request, wait for its response and
//! send the next, until a deadline. Also the machine's limits that the figures are divided by.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use argon2::Argon2;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rand::Rng;
use tandem_store::Store;
use tokio::net::TcpStream;

/// The outcome of one phase: successes, every latency, and failures by cause.
///
/// The benchmark runs in the server's process, so its own memory counts towards the server's
/// peak. Latencies are kept in whole microseconds, 4 bytes each rather than a 16-byte
/// `Duration`, because the hello phase records more than a million.
#[derive(Debug, Default)]
pub struct Phase {
    pub succeeded: u64,
    latencies_us: Vec<u32>,
    pub failures: BTreeMap<String, u64>,
    pub first_failure: Option<String>,
    pub elapsed: Duration,
}

impl Phase {
    /// Successful operations per second of wall-clock time.
    pub fn per_second(&self) -> f64 {
        self.succeeded as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Returns the nearest-rank percentile of the latencies in milliseconds.
    pub fn percentile_ms(&self, percent: f64) -> Option<f64> {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return None;
        }
        let rank = (percent / 100.0 * sorted.len() as f64).ceil() as usize;
        Some(f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1e3)
    }

    /// Failed operations.
    pub fn errors(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Records one latency, in whole microseconds.
    fn push_latency(&mut self, latency: Duration) {
        self.latencies_us
            .push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }

    /// Counts one operation that began at `began` and ended with `outcome`.
    fn record(&mut self, began: Instant, outcome: Result<(), String>) {
        self.push_latency(began.elapsed());
        match outcome {
            Ok(()) => self.succeeded += 1,
            Err(cause) => {
                *self
                    .failures
                    .entry(cause.chars().take(40).collect())
                    .or_default() += 1;
                self.first_failure.get_or_insert(cause);
            }
        }
    }

    /// Joins two phases run one after the other: their operations and their times add up.
    pub fn followed_by(mut self, next: Phase) -> Phase {
        self.elapsed += next.elapsed;
        self.absorb(next);
        self
    }

    fn absorb(&mut self, other: Phase) {
        self.succeeded += other.succeeded;
        self.latencies_us.extend(other.latencies_us);
        for (cause, count) in other.failures {
            *self.failures.entry(cause).or_default() += count;
        }
        if self.first_failure.is_none() {
            self.first_failure = other.first_failure;
        }
    }
}

/// Runs `clients` loops of `operation(client, sequence)` until `duration` has passed. An
/// operation returns `Ok(())` on success or the cause of its failure. Operations still running
/// at the deadline finish and count.
pub async fn closed_loop<F, Fut>(clients: usize, duration: Duration, operation: F) -> Phase
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let operation = Arc::new(operation);
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = Vec::with_capacity(clients);
    for client in 0..clients {
        let operation = operation.clone();
        handles.push(tokio::spawn(async move {
            let mut phase = Phase::default();
            let mut sequence = 0;
            while Instant::now() < deadline {
                let began = Instant::now();
                let outcome = operation(client, sequence).await;
                sequence += 1;
                phase.record(began, outcome);
            }
            phase
        }));
    }
    gather(handles, started).await
}

/// Runs `clients` loops that each send `request(client, sequence)` over a keep-alive HTTP/1.1
/// connection of their own to `address`, until `duration` has passed. A response counts as a
/// success when its status is `expected`; its body is read in full either way.
///
/// The clients run on the same two CPUs as the server, so they are kept lean: one hyper client
/// connection each, no pool, no redirects, no cookie store.
pub async fn closed_loop_http<F>(
    clients: usize,
    duration: Duration,
    address: SocketAddr,
    expected: StatusCode,
    request: F,
) -> Phase
where
    F: Fn(usize, u64) -> Request<Full<Bytes>> + Send + Sync + 'static,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + duration;
    let mut handles = Vec::with_capacity(clients);
    for client in 0..clients {
        let request = request.clone();
        handles.push(tokio::spawn(async move {
            let mut phase = Phase::default();
            let mut connection = None;
            let mut sequence = 0;
            while Instant::now() < deadline {
                let began = Instant::now();
                let outcome = send(&mut connection, address, request(client, sequence)).await;
                let outcome = outcome.and_then(|(status, body)| {
                    if status == expected {
                        Ok(())
                    } else {
                        Err(unexpected(status.as_u16(), &body))
                    }
                });
                if outcome.is_err() {
                    // The next request opens a new connection, in case this one broke.
                    connection = None;
                }
                sequence += 1;
                phase.record(began, outcome);
            }
            phase
        }));
    }
    gather(handles, started).await
}

/// Sends `request` on `connection`, opening the connection first when there is none, and
/// returns the status and the whole body.
async fn send(
    connection: &mut Option<SendRequest<Full<Bytes>>>,
    address: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes), String> {
    let sender = match connection {
        Some(sender) => sender,
        None => connection.insert(connect(address).await?),
    };
    sender
        .ready()
        .await
        .map_err(|e| format!("connection closed: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("no response: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

async fn connect(address: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("setting TCP_NODELAY: {e}"))?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {address}: {e}"))?;
    // The connection task ends when the sender is dropped or the server closes the socket.
    tokio::spawn(connection);
    Ok(sender)
}

/// Builds a request for the load clients: `method` on `path` with `host` as its Host header,
/// an optional bearer token and an optional JSON body.
pub fn request(
    method: Method,
    host: &str,
    path: &str,
    bearer: Option<&str>,
    json: Option<Vec<u8>>,
) -> Request<Full<Bytes>> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, host);
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match json {
        Some(json) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Full::new(Bytes::from(json))
        }
        None => Full::new(Bytes::new()),
    };
    builder
        .body(body)
        .expect("a request of a valid method, path and headers")
}

/// Waits for the clients of a phase and adds up their outcomes.
async fn gather(handles: Vec<tokio::task::JoinHandle<Phase>>, started: Instant) -> Phase {
    let mut total = Phase::default();
    let mut phases = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(phase) => phases.push(phase),
            Err(error) => {
                *total.failures.entry("task panicked".into()).or_default() += 1;
                total.first_failure.get_or_insert(error.to_string());
            }
        }
    }
    // One allocation for all the latencies, rather than a doubling vector that copies them.
    let count = phases.iter().map(|phase| phase.latencies_us.len()).sum();
    total.latencies_us.reserve_exact(count);
    for phase in phases {
        total.absorb(phase);
    }
    total.elapsed = started.elapsed();
    total
}

/// Runs `operation` `runs` times one after the other, for latency alone.
pub async fn sequential<F, Fut>(runs: usize, operation: F) -> Phase
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let mut phase = Phase::default();
    for sequence in 0..runs as u64 {
        let began = Instant::now();
        let outcome = operation(sequence).await;
        phase.record(began, outcome);
    }
    phase.elapsed = started.elapsed();
    phase
}

/// Sends a request and checks its status, reading the whole body.
pub async fn expect_status(request: reqwest::RequestBuilder, expected: u16) -> Result<(), String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("no response: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("reading the body: {e}"))?;
    if status == expected {
        Ok(())
    } else {
        Err(unexpected(status, &body))
    }
}

/// Describes a response with an unexpected status by its status and the start of its body.
fn unexpected(status: u16, body: &[u8]) -> String {
    let start: String = String::from_utf8_lossy(body).chars().take(300).collect();
    format!("status {status}: {start}")
}

/// Measures the plain primary-key read rate: `tasks` loops of one `SELECT` of a whole customer row by
/// its id, on the pool the server uses.
pub async fn primary_key_reads(
    store: &Store,
    ids: Arc<Vec<String>>,
    tasks: usize,
    duration: Duration,
) -> Phase {
    let store = store.clone();
    closed_loop(tasks, duration, move |_, _| {
        let store = store.clone();
        let ids = ids.clone();
        async move {
            let id = &ids[rand::thread_rng().gen_range(0..ids.len())];
            let row = sqlx::query("SELECT * FROM customers WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(store.pool())
                .await
                .map_err(|e| e.to_string())?;
            row.map(|_| ()).ok_or_else(|| "row not found".to_string())
        }
    })
    .await
}

/// A server on 127.0.0.1 that returns a short text for `GET /hello`, on the same runtime and
/// HTTP stack as Tandem's server.
pub struct HelloServer {
    pub address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HelloServer {
    pub async fn start() -> anyhow::Result<HelloServer> {
        let router = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the hello server")?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Ok(HelloServer { address, task })
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Measures the bare Argon2id verification rate with the product's parameters (the `argon2` crate's
/// defaults, m = 19 MiB, t = 2, p = 1): one thread per CPU computing the hash of a password in a
/// loop, each in working memory it reuses, as the product's hashing threads do.
pub async fn argon2_verifications(duration: Duration) -> anyhow::Result<Phase> {
    const PASSWORD: &[u8] = b"correct horse battery staple";
    const SALT: &[u8] = b"benchmark-salt!!";
    let params = argon2::Params::default();
    let mut expected = [0u8; 32];
    Argon2::default()
        .hash_password_into_with_memory(PASSWORD, SALT, &mut expected, working_memory(&params))
        .map_err(anyhow::Error::msg)?;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let measured = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let deadline = started + duration;
        let phases: Vec<Phase> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let params = params.clone();
                    scope.spawn(move || {
                        let mut phase = Phase::default();
                        let mut memory = working_memory(&params);
                        let argon2 = Argon2::new(
                            argon2::Algorithm::Argon2id,
                            argon2::Version::V0x13,
                            params,
                        );
                        while Instant::now() < deadline {
                            let began = Instant::now();
                            let mut output = [0u8; 32];
                            let computed = argon2.hash_password_into_with_memory(
                                PASSWORD,
                                SALT,
                                &mut output,
                                &mut memory,
                            );
                            phase.push_latency(began.elapsed());
                            match computed {
                                Ok(()) if output == expected => phase.succeeded += 1,
                                Ok(()) => {
                                    *phase.failures.entry("wrong hash".into()).or_default() += 1;
                                }
                                Err(error) => {
                                    *phase.failures.entry(error.to_string()).or_default() += 1;
                                }
                            }
                        }
                        phase
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| worker.join().unwrap_or_default())
                .collect()
        });
        let mut total = Phase::default();
        for phase in phases {
            total.absorb(phase);
        }
        total.elapsed = started.elapsed();
        total
    })
    .await
    .context("the Argon2id threads failed")?;
    Ok(measured)
}

/// Allocations above this size get a mapping of their own from glibc, whatever its dynamic
/// threshold, which never rises above 32 MiB on 64-bit systems (`M_MMAP_THRESHOLD` in
/// mallopt(3)).
const ALWAYS_MAPPED_BYTES: usize = 32 * 1024 * 1024 + 4096;

/// Returns working memory for one Argon2id hash with `params`, reserved above
/// [`ALWAYS_MAPPED_BYTES`] so that freeing it unmaps it. Memory that a bare thread freed would
/// otherwise stay resident in its own glibc arena, where the server's threads cannot reuse it,
/// and count towards the server's peak. Only the hash's own blocks are ever written.
fn working_memory(params: &argon2::Params) -> Vec<argon2::Block> {
    let reserved = ALWAYS_MAPPED_BYTES / std::mem::size_of::<argon2::Block>() + 1;
    let mut memory = Vec::with_capacity(reserved.max(params.block_count()));
    memory.resize(params.block_count(), argon2::Block::default());
    memory
}

/// Returns the peak resident set size of this process, in bytes (`VmHWM`).
pub fn peak_resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Returns the resident set size of this process now, in bytes (`VmRSS`).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Prints the resident and peak memory after a phase, to standard error.
pub fn show_memory(after: &str) {
    let mb = |bytes: Option<u64>| bytes.map_or(0.0, |b| b as f64 / 1_048_576.0);
    eprintln!(
        "  memory after {after}: resident {:.0} MB, peak {:.0} MB",
        mb(resident_bytes()),
        mb(peak_resident_bytes())
    );
}

/// Returns the CPU time used so far by this process's threads whose names start with `prefix`,
/// from each thread's `/proc/self/task/<tid>/schedstat`. Returns `None` where /proc cannot be
/// read. An ended thread's time leaves with it, so compared threads must outlive the span.
pub fn thread_cpu_time(prefix: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        // A thread that ended after the directory was listed has no files left to read.
        let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
            continue;
        };
        if !name.starts_with(prefix) {
            continue;
        }
        let Ok(schedstat) = std::fs::read_to_string(path.join("schedstat")) else {
            continue;
        };
        total += time_on_cpu(&schedstat)?;
    }
    Some(total)
}

/// Parses the first field of a `schedstat` line: the time spent on a CPU, in nanoseconds.
fn time_on_cpu(schedstat: &str) -> Option<Duration> {
    let nanos = schedstat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Resets the peak resident set size, so that the generator's memory does not count.
pub fn reset_peak_resident() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut phase = Phase::default();
        for millis in (1..=100).rev() {
            phase.push_latency(Duration::from_millis(millis));
        }
        phase.push_latency(Duration::from_secs(u64::MAX));

        assert_eq!(phase.percentile_ms(50.0), Some(51.0));
        assert_eq!(phase.percentile_ms(99.0), Some(100.0));
        assert_eq!(phase.percentile_ms(100.0), Some(f64::from(u32::MAX) / 1e3));
        assert_eq!(Phase::default().percentile_ms(50.0), None);
    }

    #[test]
    fn schedstat_time_on_cpu() {
        assert_eq!(
            time_on_cpu("315795233 110560020 1179\n"),
            Some(Duration::from_nanos(315_795_233))
        );
        assert_eq!(time_on_cpu(""), None);
        assert_eq!(time_on_cpu("-1 0 0"), None);
    }

    #[test]
    fn thread_time_counts_by_name() {
        let reading = std::thread::Builder::new()
            .name("bench-cpu-probe".into())
            .spawn(|| {
                let before = thread_cpu_time("bench-cpu-probe").unwrap();
                // Spins until this thread's CPU time grows, for at most ten seconds.
                let started = Instant::now();
                let mut after = before;
                let mut spin = 0u64;
                while after == before && started.elapsed() < Duration::from_secs(10) {
                    for _ in 0..1_000_000 {
                        spin = std::hint::black_box(spin.wrapping_add(1));
                    }
                    after = thread_cpu_time("bench-cpu-probe").unwrap();
                }
                (before, after)
            })
            .unwrap()
            .join()
            .unwrap();
        let (before, after) = reading;

        assert!(after > before);
        assert_eq!(
            thread_cpu_time("no thread has this name"),
            Some(Duration::ZERO)
        );
    }
}
