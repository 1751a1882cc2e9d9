//! Self-activation through the API: a pending customer's activation status and the white
//! label's actions on it, card payments, and the payment gateway's settings.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_app::payments::{GatewayInput, GatewaySummary};
use tandem_domain::CustomerId;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::{rfc3339, CustomerDto, MoneyDto};
use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::WhiteLabelApi;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activation_status))
        .routes(routes!(resend_activation))
        .routes(routes!(change_contact_email))
        .routes(routes!(cancel_customer))
        .routes(routes!(convert_customer))
        .routes(routes!(list_payments))
        .routes(routes!(get_gateway, put_gateway))
}

fn customer_id(raw: &str) -> Result<CustomerId, ApiError> {
    CustomerId::parse(raw).map_err(|_| ApiError::from(tandem_app::AppError::NotFound("customer")))
}

/// A pending customer's activation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ActivationDto {
    /// `queued`, `sent`, `opened`, `payment_started`, `payment_failed` or `expired`.
    pub state: String,
    /// When the current link expires, RFC 3339.
    pub expires_at: Option<String>,
    pub sent_to: Option<String>,
    /// Delivery state of the activation mail.
    pub mail_state: Option<String>,
}

/// Read a pending customer's activation status (404 for customers not in activation).
#[utoipa::path(get, path = "/api/v1/customers/{id}/activation", tag = "activation",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, body = ActivationDto), (status = 404, body = Problem)))]
async fn activation_status(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<Json<ActivationDto>, ApiError> {
    let status = state
        .app
        .activation_status(&admin, &customer_id(&id)?)
        .await?;
    let status = status.ok_or(tandem_app::AppError::NotFound("activation"))?;
    Ok(Json(ActivationDto {
        state: status.state,
        expires_at: status.expires_us.map(rfc3339),
        sent_to: status.sent_to,
        mail_state: status.mail_state,
    }))
}

/// Send a new activation link; the previous one stops working.
#[utoipa::path(post, path = "/api/v1/customers/{id}/activation/resend", tag = "activation",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 204, description = "Sent"), (status = 409, body = Problem)))]
async fn resend_activation(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .resend_activation(&admin, &customer_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A corrected contact email.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct ContactEmailRequest {
    pub email: String,
}

/// Correct a pending customer's contact email; a new link is sent to it.
#[utoipa::path(put, path = "/api/v1/customers/{id}/contact-email", tag = "activation",
    request_body = ContactEmailRequest, params(("id" = String, Path, description = "cus_…")),
    responses((status = 204, description = "Changed"), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn change_contact_email(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
    body: JsonBody<ContactEmailRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .change_activation_email(&admin, &customer_id(&id)?, &body.value.email)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Why a pending account is cancelled.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CancelRequest {
    pub reason: String,
}

/// Cancel a pending account.
#[utoipa::path(post, path = "/api/v1/customers/{id}/cancel", tag = "activation",
    request_body = CancelRequest, params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, body = CustomerDto), (status = 409, body = Problem)))]
async fn cancel_customer(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
    body: JsonBody<CancelRequest>,
) -> Result<Json<CustomerDto>, ApiError> {
    let id = customer_id(&id)?;
    state
        .app
        .cancel_pending_customer(&admin, &id, &body.value.reason)
        .await?;
    Ok(Json(CustomerDto::from(
        &state.app.customer(&admin, &id).await?,
    )))
}

/// Convert a pending account to one the white label manages and pays for.
#[utoipa::path(post, path = "/api/v1/customers/{id}/convert", tag = "activation",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, body = CustomerDto), (status = 409, body = Problem)))]
async fn convert_customer(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Path(id): Path<String>,
) -> Result<Json<CustomerDto>, ApiError> {
    let id = customer_id(&id)?;
    state.app.convert_to_managed(&admin, &id).await?;
    Ok(Json(CustomerDto::from(
        &state.app.customer(&admin, &id).await?,
    )))
}

/// A card payment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PaymentDto {
    /// `pay_…`
    pub id: String,
    pub customer_id: String,
    /// `activation` or `top_up`.
    pub purpose: String,
    /// `test` or `stripe`.
    pub gateway: String,
    pub gateway_reference: Option<String>,
    pub amount: MoneyDto,
    /// `pending`, `succeeded`, `failed` or `held` (for review).
    pub state: String,
    pub failure_reason: Option<String>,
    pub created_at: String,
}

/// Payment filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct PaymentQuery {
    /// Only payments in this state, such as `held`.
    state: Option<String>,
}

/// List card payments, newest first.
#[utoipa::path(get, path = "/api/v1/payments", tag = "activation", params(PaymentQuery),
    responses((status = 200, body = Vec<PaymentDto>)))]
async fn list_payments(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    Query(query): Query<PaymentQuery>,
) -> Result<Json<Vec<PaymentDto>>, ApiError> {
    let rows = state
        .app
        .list_payments(
            &admin,
            query.state.as_deref().filter(|s| !s.is_empty()),
            200,
        )
        .await?;
    Ok(Json(
        rows.iter()
            .map(|p| PaymentDto {
                id: p.id.to_string(),
                customer_id: p.customer_id.to_string(),
                purpose: p.purpose.clone(),
                gateway: p.gateway.clone(),
                gateway_reference: p.gateway_reference.clone(),
                amount: MoneyDto::new(p.amount_minor, &p.currency),
                state: p.state.clone(),
                failure_reason: p.failure_reason.clone(),
                created_at: rfc3339(p.created_us),
            })
            .collect(),
    ))
}

/// A payment gateway as the API shows it: never a secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GatewayDto {
    /// `none`, `test` or `stripe`.
    pub kind: String,
    /// The last characters of the secret key.
    pub secret_key_hint: Option<String>,
    pub publishable_key: Option<String>,
    /// Path where the gateway sends its webhooks, on the white label's host.
    pub webhook_path: Option<String>,
}

fn gateway_dto(summary: Option<GatewaySummary>) -> GatewayDto {
    match summary {
        Some(g) => GatewayDto {
            kind: g.kind,
            secret_key_hint: g.secret_key_hint,
            publishable_key: g.publishable_key,
            webhook_path: Some(g.webhook_path),
        },
        None => GatewayDto {
            kind: "none".into(),
            secret_key_hint: None,
            publishable_key: None,
            webhook_path: None,
        },
    }
}

/// A gateway to set; blank secrets keep the saved ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct GatewayRequest {
    pub kind: String,
    pub secret_key: Option<String>,
    pub webhook_secret: Option<String>,
    pub publishable_key: Option<String>,
}

/// Read the payment gateway.
#[utoipa::path(get, path = "/api/v1/white-label/payment-gateway", tag = "activation",
    responses((status = 200, body = GatewayDto)))]
async fn get_gateway(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
) -> Result<Json<GatewayDto>, ApiError> {
    Ok(Json(gateway_dto(state.app.gateway_summary(&admin).await?)))
}

/// Set the payment gateway: `none`, `test`, or `stripe` with its secret key and webhook
/// signing secret. Secrets are write-only.
#[utoipa::path(put, path = "/api/v1/white-label/payment-gateway", tag = "activation",
    request_body = GatewayRequest, responses((status = 200, body = GatewayDto), (status = 422, body = Problem)))]
async fn put_gateway(
    State(state): State<AppState>,
    WhiteLabelApi(admin): WhiteLabelApi,
    body: JsonBody<GatewayRequest>,
) -> Result<Json<GatewayDto>, ApiError> {
    let request = body.value;
    let input = GatewayInput {
        kind: request.kind,
        secret_key: request.secret_key,
        webhook_secret: request.webhook_secret,
        publishable_key: request.publishable_key,
    };
    Ok(Json(gateway_dto(
        state.app.configure_gateway(&admin, &input).await?,
    )))
}
