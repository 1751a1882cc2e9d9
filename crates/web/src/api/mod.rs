//! The JSON API under `/api/v1`, with its OpenAPI 3.1 document generated from the handlers.

mod account_keys;
mod activation;
mod audit;
mod customers;
mod dto;
mod numbers;
mod pbx;
mod plans;
mod sip;
mod team;
mod white_labels;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::ApiError;
use crate::AppState;

pub use dto::*;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tandem API",
        description = "White-label hosted PBX platform: white labels, plans, customer accounts \
                       and their ledgers. Authenticate with `Authorization: Bearer <API key>`. \
                       Errors are RFC 9457 problem details with a stable `code`.",
        version = "1"
    ),
    components(schemas(crate::error::Problem, crate::error::ProblemField)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "api_key",
            Vec::<String>::new(),
        )]);
    }
}

fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(customers::router())
        .merge(account_keys::router())
        .merge(activation::router())
        .merge(plans::router())
        .merge(white_labels::router())
        .merge(audit::router())
        .merge(team::router())
        .merge(numbers::router())
        .merge(pbx::router())
        .merge(sip::router())
        .split_for_parts()
}

/// The OpenAPI document, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_router().1
}

pub(crate) fn router() -> Router<AppState> {
    let (router, openapi) = api_router();
    let json = openapi.to_json().expect("the OpenAPI document serialises");
    router
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
            }),
        )
        .route("/api/{*rest}", axum::routing::any(not_found))
}

async fn not_found() -> Response {
    ApiError::from(tandem_app::AppError::NotFound("route")).into_response()
}

/// A JSON request body, with the raw bytes kept for idempotency hashing. A body that is not
/// JSON of the expected shape is a 400 that says what was wrong.
pub(crate) struct JsonBody<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::Malformed(
                "send the body as Content-Type: application/json".into(),
            ));
        }
        let raw = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::Malformed(format!("the body could not be read: {e}")))?;
        let value = serde_json::from_slice(&raw).map_err(|e| {
            ApiError::Malformed(format!("the body is not valid JSON for this endpoint: {e}"))
        })?;
        Ok(JsonBody { value, raw })
    }
}

/// Reads the version an update was based on from `If-Match` (a bare number or a quoted
/// ETag). A missing header is 428, as updates must not silently overwrite.
pub(crate) fn if_match_version(headers: &HeaderMap) -> Result<i64, Response> {
    let Some(value) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else {
        return Err(problem_response(
            428,
            "version_required",
            "send the version you edited in an If-Match header, such as If-Match: \"3\"",
        ));
    };
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .map_err(|_| {
            problem_response(
                400,
                "malformed_request",
                "If-Match must be a version number, such as \"3\"",
            )
        })
}

fn problem_response(status: u16, code: &str, detail: &str) -> Response {
    let status = axum::http::StatusCode::from_u16(status).expect("valid status");
    let body = serde_json::json!({
        "type": format!("https://tandem.invalid/problems/{code}"),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": code,
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        Json(body).0.to_string(),
    )
        .into_response()
}
