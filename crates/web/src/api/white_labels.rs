//! White labels: the caller's own (`/api/v1/white-label`) and, for Platform Administrators,
//! all of them (`/api/v1/white-labels`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tandem_domain::{LedgerKind, WhiteLabelId};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{
    BalanceEntryRequest, CreditLimitRequest, LedgerEntryDto, LedgerList, WhiteLabelDto,
    WhiteLabelRequest,
};
use super::{if_match_version, JsonBody};
use crate::error::{ApiError, Problem};
use crate::extract::{PlatformApi, WhiteLabelApi};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(own_white_label, update_own_white_label))
        .routes(routes!(set_logo))
        .routes(routes!(own_ledger))
        .routes(routes!(list_white_labels, create_white_label))
        .routes(routes!(get_white_label, update_white_label))
        .routes(routes!(post_balance_entry))
        .routes(routes!(set_credit_limit))
}

fn white_label_id(raw: &str) -> Result<WhiteLabelId, ApiError> {
    WhiteLabelId::parse(raw)
        .map_err(|_| ApiError::from(tandem_app::AppError::NotFound("white label")))
}

/// Read the caller's white label, with its balance and credit limit.
#[utoipa::path(get, path = "/api/v1/white-label", tag = "white labels",
    responses((status = 200, body = WhiteLabelDto)))]
async fn own_white_label(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
) -> Result<Json<WhiteLabelDto>, ApiError> {
    Ok(Json(WhiteLabelDto::from(
        &state.app.white_label(&admin).await?,
    )))
}

/// Replace the caller's white-label settings and branding. Send the version as `If-Match`.
#[utoipa::path(put, path = "/api/v1/white-label", tag = "white labels", request_body = WhiteLabelRequest,
    params(("If-Match" = String, Header, description = "The white label's version")),
    responses((status = 200, body = WhiteLabelDto), (status = 412, body = Problem), (status = 422, body = Problem)))]
async fn update_own_white_label(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    headers: HeaderMap,
    body: JsonBody<WhiteLabelRequest>,
) -> Result<Response, ApiError> {
    let version = match if_match_version(&headers) {
        Ok(version) => version,
        Err(response) => return Ok(response),
    };
    let row = state
        .app
        .update_white_label(&admin, version, &body.value.into())
        .await?;
    Ok(Json(WhiteLabelDto::from(&row)).into_response())
}

/// Upload the caller's logo as the raw body: PNG, JPEG, GIF or WebP, at most 256 KiB.
#[utoipa::path(put, path = "/api/v1/white-label/logo", tag = "white labels",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204, description = "Stored"), (status = 422, body = Problem)))]
async fn set_logo(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    state.app.set_white_label_logo(&admin, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cursor of the white label's ledger.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct LedgerQuery {
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<u32>,
}

fn ledger_cursor(cursor: &Option<String>) -> Result<Option<(i64, String)>, ApiError> {
    let Some(cursor) = cursor.as_deref().filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let parsed = cursor.split_once('.').and_then(|(us, id)| {
        Some((
            us.parse::<i64>().ok()?,
            tandem_domain::LedgerEntryId::parse(id).ok()?,
        ))
    });
    match parsed {
        Some((us, id)) => Ok(Some((us, id.to_string()))),
        None => Err(ApiError::Malformed(
            "the cursor is not one this list returned".into(),
        )),
    }
}

/// List the entries on the caller's own balance, newest first: top-ups, adjustments and the
/// charges of the customers it pays for.
#[utoipa::path(get, path = "/api/v1/white-label/ledger", tag = "white labels", params(LedgerQuery),
    responses((status = 200, body = LedgerList)))]
async fn own_ledger(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Query(query): Query<LedgerQuery>,
) -> Result<Json<LedgerList>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let entries = state
        .app
        .white_label_ledger(&admin, ledger_cursor(&query.cursor)?, limit)
        .await?;
    let next_cursor = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| format!("{}.{}", e.created_us, e.id)))
        .flatten();
    Ok(Json(LedgerList {
        data: entries.iter().map(LedgerEntryDto::from).collect(),
        next_cursor,
    }))
}

/// List every white label (Platform Administrators).
#[utoipa::path(get, path = "/api/v1/white-labels", tag = "platform",
    responses((status = 200, body = Vec<WhiteLabelDto>), (status = 403, body = Problem)))]
async fn list_white_labels(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
) -> Result<Json<Vec<WhiteLabelDto>>, ApiError> {
    let rows = state.app.list_white_labels(&admin).await?;
    Ok(Json(rows.iter().map(WhiteLabelDto::from).collect()))
}

/// Create a white label (Platform Administrators).
#[utoipa::path(post, path = "/api/v1/white-labels", tag = "platform", request_body = WhiteLabelRequest,
    responses((status = 201, body = WhiteLabelDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_white_label(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    body: JsonBody<WhiteLabelRequest>,
) -> Result<Response, ApiError> {
    let row = state
        .app
        .create_white_label(&admin, &body.value.into())
        .await?;
    Ok((StatusCode::CREATED, Json(WhiteLabelDto::from(&row))).into_response())
}

/// Read any white label (Platform Administrators).
#[utoipa::path(get, path = "/api/v1/white-labels/{id}", tag = "platform",
    params(("id" = String, Path, description = "wl_…")),
    responses((status = 200, body = WhiteLabelDto), (status = 404, body = Problem)))]
async fn get_white_label(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    Path(id): Path<String>,
) -> Result<Json<WhiteLabelDto>, ApiError> {
    let row = state
        .app
        .white_label_by_id(&admin, &white_label_id(&id)?)
        .await?;
    Ok(Json(WhiteLabelDto::from(&row)))
}

/// Replace a white label's settings (Platform Administrators). Send the version as `If-Match`.
#[utoipa::path(put, path = "/api/v1/white-labels/{id}", tag = "platform", request_body = WhiteLabelRequest,
    params(("id" = String, Path, description = "wl_…"), ("If-Match" = String, Header, description = "The white label's version")),
    responses((status = 200, body = WhiteLabelDto), (status = 412, body = Problem)))]
async fn update_white_label(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<WhiteLabelRequest>,
) -> Result<Response, ApiError> {
    let id = white_label_id(&id)?;
    state.app.white_label_by_id(&admin, &id).await?;
    let version = match if_match_version(&headers) {
        Ok(version) => version,
        Err(response) => return Ok(response),
    };
    let row = state
        .app
        .update_white_label(&admin.for_white_label(&id), version, &body.value.into())
        .await?;
    Ok(Json(WhiteLabelDto::from(&row)).into_response())
}

/// Top up or adjust a white label's balance, with a reason (Platform Administrators). A debit
/// past the credit limit is refused with 409 `insufficient_funds`.
#[utoipa::path(post, path = "/api/v1/white-labels/{id}/balance-entries", tag = "platform",
    request_body = BalanceEntryRequest, params(("id" = String, Path, description = "wl_…")),
    responses((status = 201, body = LedgerEntryDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn post_balance_entry(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    Path(id): Path<String>,
    body: JsonBody<BalanceEntryRequest>,
) -> Result<Response, ApiError> {
    let id = white_label_id(&id)?;
    let kind = LedgerKind::parse(&body.value.kind)
        .map_err(|e| ApiError::from(tandem_app::AppError::field("kind", e)))?;
    let entry = state
        .app
        .post_white_label_balance(&admin, &id, kind, &body.value.amount, &body.value.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(LedgerEntryDto::from(&entry))).into_response())
}

/// Set how far below zero a white label's balance may go (Platform Administrators).
#[utoipa::path(put, path = "/api/v1/white-labels/{id}/credit-limit", tag = "platform",
    request_body = CreditLimitRequest, params(("id" = String, Path, description = "wl_…")),
    responses((status = 200, body = WhiteLabelDto), (status = 422, body = Problem)))]
async fn set_credit_limit(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    Path(id): Path<String>,
    body: JsonBody<CreditLimitRequest>,
) -> Result<Json<WhiteLabelDto>, ApiError> {
    let id = white_label_id(&id)?;
    let row = state
        .app
        .set_white_label_credit_limit(&admin, &id, &body.value.credit_limit)
        .await?;
    Ok(Json(WhiteLabelDto::from(&row)))
}
