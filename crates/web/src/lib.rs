//! Tandem's HTTP surface: the branded portal, the JSON API under `/api/v1`, and the operations
//! endpoints (`/healthz`, `/metrics`).
//!
//! Handlers never see raw credentials or tenant ids from a body: extractors in [`extract`] turn
//! the Host header into a brand, the cookie or bearer key into a principal, and the principal
//! into the guard a use case needs.

pub mod api;
pub mod error;
pub mod extract;
pub mod ops;
pub mod portal;
mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tandem_app::App;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The name shown on the platform's own portal (hosts no white label claims).
    pub platform_name: String,
    /// Whether cookies carry the `Secure` attribute; on whenever the portal is served over TLS.
    pub secure_cookies: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            platform_name: "Tandem".into(),
            secure_cookies: false,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// The state every handler can reach, behind one reference count. The router clones it for
/// each request and each `State` extractor clones it again, so a clone is one atomic increment,
/// not one for each shared part of the use cases.
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// The contents of [`AppState`].
pub struct AppStateInner {
    pub app: App,
    pub settings: WebSettings,
    pub metrics: ops::Metrics,
}

impl AppState {
    /// Builds the state of a router over `app`.
    pub fn new(app: App, settings: WebSettings, metrics: ops::Metrics) -> Self {
        Self(Arc::new(AppStateInner {
            app,
            settings,
            metrics,
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The security headers of every response. No page loads anything from another origin.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self'; style-src 'self'; \
    script-src 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'; \
    base-uri 'none'";

/// Builds the whole router over `state`.
///
/// Most middleware wraps the router once, not route by route: a layer added with
/// `Router::layer` wraps each route in a boxed service of its own, which every request then
/// clones, once per layer. Wrapped this way, a request for a path that has no route also gets
/// the security headers and a request id.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_bytes;
    let routes = Router::new()
        .merge(portal::router())
        .merge(api::router())
        .merge(ops::router())
        .merge(webhooks::router())
        // Inside the router, where the matched route is known, which the metrics name.
        .layer(axum::middleware::from_fn(ops::observe))
        .with_state(state);
    let middleware = tower::ServiceBuilder::new()
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // The default limit of every body extractor; routes that take recordings raise it.
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Pages and API responses carry personal data and sometimes secrets, so only the
        // stylesheet, theme and logo set a cache policy of their own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .service(routes);
    Router::new().fallback_service(middleware)
}
