//! Operations: the request span and log line, `/healthz` and `/metrics`.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::AppState;

/// The Prometheus recorder's handle, shared by every router built in this process.
#[derive(Clone)]
pub struct Metrics(PrometheusHandle);

impl Metrics {
    /// Installs the process-wide recorder on first use, starts its upkeep thread, and returns
    /// its handle.
    pub fn install() -> Metrics {
        static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // A second recorder in the same process (tests build many apps) keeps the first.
            let _ = metrics::set_global_recorder(recorder);
            start_upkeep(handle.clone());
            handle
        });
        Metrics(handle.clone())
    }
}

/// How often the recorder folds recorded latencies into its summaries.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The name of the thread that runs the recorder's upkeep.
const UPKEEP_THREAD: &str = "tandem-metrics";

/// Runs the recorder's upkeep on a thread of its own, every few seconds, for the life of the
/// process. The recorder keeps every latency sample it is given until upkeep or a scrape of
/// `/metrics` folds them into the summaries. Without upkeep, a server whose `/metrics` is never
/// scraped grows by about 24 bytes a request (a value and its time). A plain thread serves every
/// runtime the process builds, the tests' many runtimes included.
fn start_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new()
        .name(UPKEEP_THREAD.into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            handle.run_upkeep();
        });
    if let Err(error) = started {
        tracing::error!(%error, "starting the metrics upkeep thread failed");
    }
}

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.app.store().ping().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::error!(%error, "health check failed: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n").into_response()
        }
    }
}

/// Serves the metrics on the platform's own host only: a white label's public host must not
/// show the whole platform's traffic.
// NOTE: the platform host is still public; restrict /metrics at the reverse proxy in
// production.
async fn metrics_text(State(state): State<AppState>, brand: crate::extract::Brand) -> Response {
    if brand.white_label.is_some() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.0.render(),
    )
        .into_response()
}

/// Wraps each request in a span with its request id, and logs one line when it completes.
pub(crate) async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let span = tracing::info_span!(
        "request",
        http.method = %method,
        http.route = %route,
        request.id = %request_id,
        tenant.id = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let latency = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            http.status = status,
            latency_ms = latency.as_secs_f64() * 1e3,
            "request"
        );
    });
    let labels = [
        ("method", method.to_string()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!("tandem_http_requests_total", &labels).increment(1);
    metrics::histogram!("tandem_http_request_seconds", &labels).record(latency.as_secs_f64());
    response
}

/// Records the tenant on the current request span, so the request's log line names it.
pub fn record_tenant(tenant_id: &str) {
    tracing::Span::current().record("tenant.id", tenant_id);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the name of each thread of this process, as the kernel shows it.
    fn thread_names() -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .expect("the process's threads")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_string())
            .collect()
    }

    #[test]
    fn installing_starts_one_upkeep_thread() {
        let first = Metrics::install();
        let second = Metrics::install();
        // A new thread names itself once it runs, so look until the name shows.
        let mut upkeep = 0;
        for _ in 0..200 {
            upkeep = thread_names()
                .iter()
                .filter(|name| *name == UPKEEP_THREAD)
                .count();
            if upkeep > 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(upkeep, 1);

        // Upkeep folds the samples into the summary, and each of them still counts.
        let labels = [("route", "/upkeep-test")];
        for _ in 0..1000 {
            metrics::histogram!("tandem_upkeep_test_seconds", &labels).record(0.25);
        }
        first.0.run_upkeep();
        let text = second.0.render();
        assert!(
            text.contains("tandem_upkeep_test_seconds_count{route=\"/upkeep-test\"} 1000"),
            "{text}"
        );
    }
}
