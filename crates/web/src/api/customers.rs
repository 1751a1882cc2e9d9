//! `/api/v1/customers`: create, list and read a white label's customer accounts.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tandem_app::customers::{Creation, IdempotencyRequest};
use tandem_domain::CustomerId;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{CreateCustomerRequest, CustomerDto, CustomerList, LedgerEntryDto, LedgerList};
use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::WhiteLabelApi;
use crate::AppState;

/// The longest Idempotency-Key accepted.
const MAX_IDEMPOTENCY_KEY: usize = 200;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer))
        .routes(routes!(customer_ledger))
}

fn idempotency(headers: &HeaderMap, raw: &[u8]) -> Result<Option<IdempotencyRequest>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || key.chars().any(|c| c.is_control()) {
        return Err(ApiError::Malformed(format!(
            "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
        )));
    }
    let digest = Sha256::digest(raw);
    let request_hash = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(IdempotencyRequest {
        key: key.to_string(),
        request_hash,
    }))
}

/// Create a customer account.
///
/// In `white_label_managed` mode the account is active at once, the white label pays the plan's
/// setup fee and first monthly fee (one ledger entry each, naming the customer), and the
/// creating user becomes its Account Administrator. If the white label's balance and credit
/// limit cannot cover the charges, nothing is created (409 `insufficient_funds`). A retry with
/// the same `Idempotency-Key` returns the first response.
#[utoipa::path(
    post,
    path = "/api/v1/customers",
    tag = "customers",
    request_body = CreateCustomerRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    responses(
        (status = 201, description = "Created", body = CustomerDto),
        (status = 409, description = "Insufficient funds or no payment gateway", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
async fn create_customer(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    headers: HeaderMap,
    body: JsonBody<CreateCustomerRequest>,
) -> Result<Response, ApiError> {
    let idempotency = idempotency(&headers, &body.raw)?;
    let input = body.value.into();
    let render = |row: &tandem_store::customers::CustomerRow| {
        serde_json::to_string(&CustomerDto::from(row)).unwrap_or_default()
    };
    let creation = state
        .app
        .create_customer(&admin, &input, idempotency.as_ref(), &render)
        .await?;
    let (status, body, location) = match creation {
        Creation::Created { customer, .. } => {
            let location = format!("/api/v1/customers/{}", customer.id);
            (StatusCode::CREATED, render(&customer), location)
        }
        Creation::Replayed { status, body } => {
            let id = serde_json::from_str::<CustomerDto>(&body)
                .map(|c| c.id)
                .unwrap_or_default();
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED);
            (status, body, format!("/api/v1/customers/{id}"))
        }
    };
    Ok((
        status,
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (header::LOCATION, location),
        ],
        body,
    )
        .into_response())
}

/// Query parameters of the customer list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct ListQuery {
    /// Legal or trading name prefix (any case), or leading digits of an account number.
    q: Option<String>,
    /// Only customers in this state.
    status: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 100 (default 25).
    limit: Option<u32>,
}

/// List customer accounts, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/customers",
    tag = "customers",
    params(ListQuery),
    responses((status = 200, body = CustomerList), (status = 422, body = Problem))
)]
async fn list_customers(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<CustomerList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::Malformed(e.body_text()))?;
    let page = state
        .app
        .list_customers(
            &admin,
            query.q.as_deref(),
            query.status.as_deref(),
            query.cursor.as_deref(),
            query.limit.unwrap_or(25),
        )
        .await?;
    Ok(Json(CustomerList {
        data: page.customers.into_iter().map(CustomerDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    // An id of the wrong shape cannot name any customer: answer as for any unknown id.
    CustomerId::parse(raw).map_err(|_| ApiError::from(tandem_app::AppError::NotFound("customer")))
}

/// Read one customer account.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}",
    tag = "customers",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem))
)]
async fn get_customer(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<Json<CustomerDto>, ApiError> {
    let customer = state.app.customer(&admin, &customer_id(&id)?).await?;
    Ok(Json(CustomerDto::from(customer)))
}

/// List the ledger entries concerning one customer, whoever paid them, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/customers/{id}/ledger",
    tag = "customers",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, body = LedgerList), (status = 404, body = Problem))
)]
async fn customer_ledger(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<Json<LedgerList>, ApiError> {
    let id = customer_id(&id)?;
    state.app.customer(&admin, &id).await?;
    let entries = state.app.customer_ledger(&admin, &id, 200).await?;
    Ok(Json(LedgerList {
        data: entries.iter().map(LedgerEntryDto::from).collect(),
        next_cursor: None,
    }))
}
