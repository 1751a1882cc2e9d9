//! `/api/v1/audit` and `/api/v1/api-keys`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tandem_domain::{ApiKeyId, CustomerId};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{ApiKeyDto, ApiKeyRequest, AuditEntryDto, AuditList};
use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::WhiteLabelApi;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(list_api_keys, create_api_key))
        .routes(routes!(revoke_api_key))
}

/// Audit filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct AuditQuery {
    /// Only entries about this customer.
    customer_id: Option<String>,
    /// How many entries, 1 to 500 (default 100).
    limit: Option<u32>,
}

/// List the audit log of the white label's tree, newest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditList)))]
async fn list_audit(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Query(query): Query<AuditQuery>,
) -> Result<Json<AuditList>, ApiError> {
    let customer_id = match query.customer_id.as_deref().filter(|c| !c.is_empty()) {
        Some(raw) => match CustomerId::parse(raw) {
            Ok(id) => Some(id),
            Err(_) => return Ok(Json(AuditList { data: Vec::new() })),
        },
        None => None,
    };
    let rows = state
        .app
        .white_label_audit(&admin, customer_id.as_ref(), query.limit.unwrap_or(100))
        .await?;
    Ok(Json(AuditList {
        data: rows.iter().map(AuditEntryDto::from).collect(),
    }))
}

/// List the white label's API keys (never their secrets).
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api keys",
    responses((status = 200, body = Vec<ApiKeyDto>)))]
async fn list_api_keys(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
) -> Result<Json<Vec<ApiKeyDto>>, ApiError> {
    let keys = state.app.list_api_keys(&admin).await?;
    Ok(Json(keys.iter().map(ApiKeyDto::from).collect()))
}

/// Create a White Label API key. The response carries the secret; it is not shown again.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api keys", request_body = ApiKeyRequest,
    responses((status = 201, body = ApiKeyDto), (status = 422, body = Problem)))]
async fn create_api_key(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    body: JsonBody<ApiKeyRequest>,
) -> Result<Response, ApiError> {
    let created = state.app.create_api_key(&admin, &body.value.name).await?;
    let dto = ApiKeyDto {
        id: created.id.to_string(),
        name: body.value.name.trim().to_string(),
        role: "white_label".into(),
        prefix: created.key_prefix,
        secret: Some(created.secret),
        created_at: super::dto::rfc3339(jiff::Timestamp::now().as_microsecond()),
        last_used_at: None,
        revoked_at: None,
    };
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api keys",
    params(("id" = String, Path, description = "key_…")),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
async fn revoke_api_key(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = ApiKeyId::parse(&id)
        .map_err(|_| ApiError::from(tandem_app::AppError::NotFound("API key")))?;
    state.app.revoke_api_key(&admin, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
