//! Operations: the request span and log line, `/healthz` and `/metrics`.

use std::time::Instant;

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
    /// Installs the process-wide recorder on first use and returns its handle.
    pub fn install() -> Metrics {
        static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // A second recorder in the same process (tests build many apps) keeps the first.
            let _ = metrics::set_global_recorder(recorder);
            handle
        });
        Metrics(handle.clone())
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
pub(crate) async fn observe(
    State(_state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
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
