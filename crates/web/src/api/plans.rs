//! `/api/v1/plans`: a white label's price plans.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tandem_domain::PlanId;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{PlanDto, PlanRequest};
use super::{if_match_version, JsonBody};
use crate::error::{ApiError, Problem};
use crate::extract::WhiteLabelApi;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plans, create_plan))
        .routes(routes!(get_plan, update_plan))
        .routes(routes!(retire_plan))
}

fn plan_id(raw: &str) -> Result<PlanId, ApiError> {
    PlanId::parse(raw).map_err(|_| ApiError::from(tandem_app::AppError::NotFound("plan")))
}

/// Plan list filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct PlanQuery {
    /// Include retired plans.
    include_retired: bool,
}

/// List plans: active ones, and retired ones when asked.
#[utoipa::path(get, path = "/api/v1/plans", tag = "plans", params(PlanQuery),
    responses((status = 200, body = Vec<PlanDto>)))]
async fn list_plans(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Query(query): Query<PlanQuery>,
) -> Result<Json<Vec<PlanDto>>, ApiError> {
    let plans = state.app.list_plans(&admin, query.include_retired).await?;
    Ok(Json(plans.iter().map(PlanDto::from).collect()))
}

/// Create a plan in the white label's currency.
#[utoipa::path(post, path = "/api/v1/plans", tag = "plans", request_body = PlanRequest,
    responses((status = 201, body = PlanDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_plan(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    body: JsonBody<PlanRequest>,
) -> Result<Response, ApiError> {
    let plan = state.app.create_plan(&admin, &body.value.into()).await?;
    Ok((StatusCode::CREATED, Json(PlanDto::from(&plan))).into_response())
}

/// Read a plan.
#[utoipa::path(get, path = "/api/v1/plans/{id}", tag = "plans",
    params(("id" = String, Path, description = "plan_…")),
    responses((status = 200, body = PlanDto), (status = 404, body = Problem)))]
async fn get_plan(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<Json<PlanDto>, ApiError> {
    let plan = state.app.plan(&admin, &plan_id(&id)?).await?;
    Ok(Json(PlanDto::from(&plan)))
}

/// Replace a plan's fields. Send the version you edited as `If-Match`; a stale version is 412.
#[utoipa::path(put, path = "/api/v1/plans/{id}", tag = "plans", request_body = PlanRequest,
    params(("id" = String, Path, description = "plan_…"), ("If-Match" = String, Header, description = "The plan's version")),
    responses((status = 200, body = PlanDto), (status = 412, body = Problem), (status = 428, body = Problem)))]
async fn update_plan(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<PlanRequest>,
) -> Result<Response, ApiError> {
    let id = plan_id(&id)?;
    let version = match if_match_version(&headers) {
        Ok(version) => version,
        Err(response) => return Ok(response),
    };
    let plan = state
        .app
        .update_plan(&admin, &id, version, &body.value.into())
        .await?;
    Ok(Json(PlanDto::from(&plan)).into_response())
}

/// Retire a plan: its customers keep it; it can no longer be chosen.
#[utoipa::path(post, path = "/api/v1/plans/{id}/retire", tag = "plans",
    params(("id" = String, Path, description = "plan_…")),
    responses((status = 200, body = PlanDto), (status = 409, body = Problem)))]
async fn retire_plan(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<Json<PlanDto>, ApiError> {
    let plan = state.app.retire_plan(&admin, &plan_id(&id)?).await?;
    Ok(Json(PlanDto::from(&plan)))
}
