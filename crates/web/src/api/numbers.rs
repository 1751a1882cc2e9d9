//! Phone numbers: the platform's inventory at `/api/v1/numbers`, and an account's numbers and
//! port orders under `/api/v1/customers/{id}/`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tandem_app::numbers::{
    expand_range, parse_numbers_csv, NumberLine, NumberSearch, PortOrderInput, PortTransition,
};
use tandem_app::AppError;
use tandem_domain::{Country, CustomerId, Permission, PhoneNumber, PortOrderId, WhiteLabelId};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pbx::{operator, DryRun};
use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiCaller, PlatformApi, WhiteLabelApi};
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_numbers, load_numbers))
        .routes(routes!(allocate_numbers))
        .routes(routes!(account_numbers, assign_number))
        .routes(routes!(release_number))
        .routes(routes!(route_number))
        .routes(routes!(move_number))
        .routes(routes!(list_port_orders, create_port_order))
        .routes(routes!(transition_port_order))
}

/// Search filters of the inventory.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct SearchQuery {
    /// ISO country code, such as `NZ`.
    country: Option<String>,
    /// Area code without the national prefix, such as `9` for Auckland.
    area_code: Option<String>,
    /// Leading digits, in E.164 (`+6494`) or national form with `country` (`094`).
    prefix: Option<String>,
    /// `available`, `reserved`, `assigned`, `ageing` or `porting` (platform only).
    state: Option<String>,
    /// The last number of the previous page.
    after: Option<String>,
    /// Page size, 1 to 500 (50 by default).
    limit: Option<u32>,
}

/// Search the inventory. A Platform Administrator on the platform's host gets every number;
/// a white label gets the available numbers it may assign (its pool and the platform's).
#[utoipa::path(get, path = "/api/v1/numbers", tag = "numbers", params(SearchQuery),
    responses((status = 200, description = "`{items: [number], next_after}`"), (status = 422, body = Problem)))]
async fn search_numbers(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    let search = NumberSearch {
        country: query.country,
        area_code: query.area_code,
        prefix: query.prefix,
        state: query.state,
        after: query.after,
        limit: query.limit,
    };
    let limit = search.limit.unwrap_or(50).clamp(1, 500) as usize;
    let items = state
        .app
        .search_numbers(&caller.principal, caller.white_label_id(), &search)
        .await?;
    let next_after = (items.len() == limit).then(|| items.last().map(|n| n.number.clone()));
    Ok(
        Json(serde_json::json!({ "items": items, "next_after": next_after.flatten() }))
            .into_response(),
    )
}

/// A load of numbers into the inventory: a list, a range, or CSV text.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct LoadRequest {
    /// Numbers in any format `country` allows, or in international form.
    numbers: Vec<String>,
    /// A range: first and last number, inclusive.
    range: Option<RangeRequest>,
    /// CSV text with a `number` column and an optional `country` column.
    csv: Option<String>,
    /// The country of national formats (`NZ` by default).
    country: Option<String>,
    /// A white label (`wl_…`) whose pool receives the numbers; the platform's pool by default.
    white_label_id: Option<String>,
}

/// An inclusive range of numbers.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct RangeRequest {
    from: String,
    to: String,
}

/// Load numbers into the inventory (Platform Administrators). Every number is parsed with its
/// country's numbering rules and stored once in E.164; numbers already stored are reported as
/// duplicates and left as they are.
#[utoipa::path(post, path = "/api/v1/numbers", tag = "numbers", request_body = LoadRequest,
    responses((status = 200, description = "`{loaded, duplicates: [...], invalid: [...]}`"), (status = 422, body = Problem)))]
async fn load_numbers(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    body: JsonBody<LoadRequest>,
) -> Result<Response, ApiError> {
    let request = body.value;
    let country_code = request.country.clone().unwrap_or_else(|| "NZ".into());
    let country = Country::parse(&country_code).map_err(|e| AppError::field("country", e))?;
    let pool = request
        .white_label_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|raw| WhiteLabelId::parse(raw).map_err(|_| AppError::NotFound("white label")))
        .transpose()?;
    let mut lines: Vec<NumberLine> = request
        .numbers
        .iter()
        .enumerate()
        .map(|(index, number)| NumberLine {
            line: index + 1,
            number: number.clone(),
            country: country.as_str().to_owned(),
        })
        .collect();
    if let Some(range) = &request.range {
        let start = lines.len();
        for (index, number) in expand_range(&range.from, &range.to, country)?
            .into_iter()
            .enumerate()
        {
            lines.push(NumberLine {
                line: start + index + 1,
                number,
                country: country.as_str().to_owned(),
            });
        }
    }
    if let Some(csv) = &request.csv {
        lines.extend(parse_numbers_csv(csv, country.as_str()));
    }
    if lines.is_empty() {
        return Err(AppError::field(
            "numbers",
            tandem_domain::ValueError::new("required", "Give numbers, a range or CSV text."),
        )
        .into());
    }
    let report = state
        .app
        .load_numbers(&admin, &lines, pool.as_ref(), &|_| {})
        .await?;
    Ok(Json(report).into_response())
}

/// Numbers to allocate to a pool.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct AllocateRequest {
    /// Numbers in E.164 form.
    numbers: Vec<String>,
    /// The receiving white label (`wl_…`); absent returns them to the platform's pool.
    white_label_id: Option<String>,
}

/// Allocate available numbers to a white label's pool, or return them to the platform's pool
/// (Platform Administrators). Numbers that are not available are left out of the response.
#[utoipa::path(post, path = "/api/v1/numbers/allocate", tag = "numbers", request_body = AllocateRequest,
    responses((status = 200, description = "`{allocated: [...]}`"), (status = 404, body = Problem)))]
async fn allocate_numbers(
    State(state): State<AppState>,
    PlatformApi(admin): PlatformApi,
    body: JsonBody<AllocateRequest>,
) -> Result<Response, ApiError> {
    let pool = body
        .value
        .white_label_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|raw| WhiteLabelId::parse(raw).map_err(|_| AppError::NotFound("white label")))
        .transpose()?;
    let moved = state
        .app
        .allocate_numbers(&admin, &body.value.numbers, pool.as_ref())
        .await?;
    Ok(Json(serde_json::json!({ "allocated": moved })).into_response())
}

/// List the account's numbers, assigned or porting, with where each routes.
#[utoipa::path(get, path = "/api/v1/customers/{id}/numbers", tag = "numbers",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "`{items: [number]}`"), (status = 404, body = Problem)))]
async fn account_numbers(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManageNumbers)?;
    let items = state.app.account_numbers(&op).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

/// A number to assign.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct AssignRequest {
    /// In any format the account's country allows: `09 400 1234`, `+64 9 400 1234`.
    number: String,
}

/// Assign an available number to the account. The plan's monthly number rental (with tax) is
/// debited at once from the account's payer. With `?dry_run=true` nothing changes and
/// the response shows the charges and the paying balance.
#[utoipa::path(post, path = "/api/v1/customers/{id}/numbers", tag = "numbers",
    params(("id" = String, Path, description = "cus_…"), DryRun), request_body = AssignRequest,
    responses((status = 201, description = "`{number, charges}`"), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn assign_number(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    Query(query): Query<DryRun>,
    body: JsonBody<AssignRequest>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManageNumbers)?;
    let dry_run = query.dry_run();
    let (number, charges) = state
        .app
        .assign_number(&op, &body.value.number, dry_run)
        .await?;
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(serde_json::json!({ "number": number, "charges": charges })),
    )
        .into_response())
}

fn e164(raw: &str) -> Result<String, ApiError> {
    PhoneNumber::parse_e164(raw)
        .map(|n| n.as_str().to_owned())
        .map_err(|_| ApiError::from(AppError::NotFound("number")))
}

/// Release a number of the account: it is held in quarantine, then becomes available again.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/numbers/{number}", tag = "numbers",
    params(("id" = String, Path, description = "cus_…"), ("number" = String, Path, description = "E.164, such as +6494001234")),
    responses((status = 200, description = "The released number"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn release_number(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((customer, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManageNumbers)?;
    let view = state.app.release_number(&op, &e164(&number)?).await?;
    Ok(Json(view).into_response())
}

/// Where a number's calls go.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct RouteRequest {
    /// An object id (`pbx_…`), a short number of the account, an outside number, or `hangup`.
    destination: String,
    /// The number's version you edited.
    version: i64,
}

/// Route a number of the account to one destination.
#[utoipa::path(put, path = "/api/v1/customers/{id}/numbers/{number}/destination", tag = "numbers",
    params(("id" = String, Path, description = "cus_…"), ("number" = String, Path, description = "E.164")),
    request_body = RouteRequest,
    responses((status = 200, description = "`{number, warnings}`"), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn route_number(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((customer, number)): Path<(String, String)>,
    body: JsonBody<RouteRequest>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManageNumbers)?;
    let (view, warnings) = state
        .app
        .route_number(
            &op,
            &e164(&number)?,
            &body.value.destination,
            body.value.version,
        )
        .await?;
    Ok(Json(serde_json::json!({ "number": view, "warnings": warnings })).into_response())
}

/// The account a number moves to.
#[derive(Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct MoveRequest {
    /// `cus_…` of another account of the same white label.
    to: String,
}

/// Move a number to another account of the same white label (white label administrators),
/// as one audited action. Its routing is cleared.
#[utoipa::path(post, path = "/api/v1/customers/{id}/numbers/{number}/move", tag = "numbers",
    params(("id" = String, Path, description = "cus_…"), ("number" = String, Path, description = "E.164")),
    request_body = MoveRequest,
    responses((status = 200, description = "The moved number"), (status = 404, body = Problem)))]
async fn move_number(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path((customer, number)): Path<(String, String)>,
    body: JsonBody<MoveRequest>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::from(AppError::NotFound("customer account"));
    let from = CustomerId::parse(&customer).map_err(|_| not_found())?;
    let to = CustomerId::parse(&body.value.to).map_err(|_| not_found())?;
    let view = state
        .app
        .move_number(&admin, &e164(&number)?, &from, &to)
        .await?;
    Ok(Json(view).into_response())
}

/// List the account's port orders, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/port-orders", tag = "numbers",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "`{items: [port order]}`")))]
async fn list_port_orders(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManageNumbers)?;
    let orders = state.app.port_orders(&op).await?;
    let items: Vec<_> = orders.iter().map(port_order_json).collect();
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

fn port_order_json(order: &tandem_store::port_orders::PortOrderRow) -> serde_json::Value {
    serde_json::json!({
        "id": order.id,
        "state": order.state,
        "numbers": order.numbers,
        "losing_carrier": order.losing_carrier,
        "carrier_account": order.carrier_account,
        "scheduled_date": order.scheduled_date,
        "reason": order.reason,
        "version": order.version,
        "created_at": super::dto::rfc3339(order.created_us),
        "updated_at": super::dto::rfc3339(order.updated_us),
    })
}

/// Start a port order (draft) for New Zealand numbers held at another carrier. Its numbers
/// join the account as `porting`: they can be routed, but calls arrive only after completion.
#[utoipa::path(post, path = "/api/v1/customers/{id}/port-orders", tag = "numbers",
    params(("id" = String, Path, description = "cus_…")),
    request_body(content = serde_json::Value, description = "`numbers`, `losing_carrier`, `carrier_account`"),
    responses((status = 201, description = "The port order"), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_port_order(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    body: JsonBody<PortOrderInput>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManageNumbers)?;
    let order = state.app.create_port_order(&op, &body.value).await?;
    Ok((StatusCode::CREATED, Json(port_order_json(&order))).into_response())
}

/// Move a port order on: draft → submitted → scheduled (with `date`) → completed, or to
/// rejected (with `reason`) or cancelled. The account submits and cancels; the white label
/// schedules, completes and rejects. Other moves are 409.
#[utoipa::path(post, path = "/api/v1/customers/{id}/port-orders/{order}/transitions", tag = "numbers",
    params(("id" = String, Path, description = "cus_…"), ("order" = String, Path, description = "port_…")),
    request_body(content = serde_json::Value, description = "`to`, `date`, `reason`"),
    responses((status = 200, description = "The port order"), (status = 409, body = Problem)))]
async fn transition_port_order(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((customer, order)): Path<(String, String)>,
    body: JsonBody<PortTransition>,
) -> Result<Response, ApiError> {
    let white_label_id = caller.white_label_id().cloned().ok_or_else(|| {
        AppError::Forbidden("call this on a white label's host or with its API key".into())
    })?;
    let customer_id =
        CustomerId::parse(&customer).map_err(|_| AppError::NotFound("customer account"))?;
    let order_id = PortOrderId::parse(&order).map_err(|_| AppError::NotFound("port order"))?;
    let order = state
        .app
        .transition_port_order(
            &caller.principal,
            &white_label_id,
            &customer_id,
            &order_id,
            &body.value,
        )
        .await?;
    Ok(Json(port_order_json(&order)).into_response())
}
