//! Webhooks from payment gateways: `POST /webhooks/stripe/{white_label_id}` and
//! `POST /webhooks/test/{white_label_id}`. The raw body is passed on untouched, because the
//! signature covers its exact bytes.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tandem_app::payments::WebhookOutcome;
use tandem_domain::WhiteLabelId;

use crate::error::ApiError;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/webhooks/{gateway}/{white_label_id}", post(receive))
}

async fn receive(
    State(state): State<AppState>,
    Path((gateway, white_label_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let not_found =
        || ApiError::from(tandem_app::AppError::NotFound("payment gateway")).into_response();
    if gateway != "stripe" && gateway != "test" {
        return not_found();
    }
    let Ok(white_label_id) = WhiteLabelId::parse(&white_label_id) else {
        return not_found();
    };
    crate::ops::record_tenant(white_label_id.as_str());
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match state
        .app
        .handle_gateway_webhook(&white_label_id, &gateway, signature, &body)
        .await
    {
        Ok(outcome) => {
            let label = match outcome {
                WebhookOutcome::Applied => "applied",
                WebhookOutcome::Duplicate => "duplicate",
                WebhookOutcome::Ignored => "ignored",
                WebhookOutcome::Held => "held",
                WebhookOutcome::UnknownPayment => "unknown_payment",
            };
            (
                StatusCode::OK,
                Json(serde_json::json!({"received": true, "outcome": label})),
            )
                .into_response()
        }
        // An unknown white label or gateway is answered like a bad signature, so the route does
        // not reveal which white labels exist or which gateway they use.
        Err(tandem_app::AppError::NotFound(_)) => {
            tracing::warn!(white_label.id = %white_label_id, "gateway webhook for no such gateway");
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": "webhook signature rejected"})),
            )
                .into_response()
        }
        Err(tandem_app::AppError::Forbidden(reason)) => {
            tracing::warn!(white_label.id = %white_label_id, %reason, "gateway webhook rejected");
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": reason})),
            )
                .into_response()
        }
        Err(error) => ApiError::from(error).into_response(),
    }
}
