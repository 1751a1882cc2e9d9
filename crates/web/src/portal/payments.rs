//! The white label's payment gateway settings and its list of card payments, where payments
//! held for review stand out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tandem_app::payments::{GatewayInput, GatewaySummary};
use tandem_domain::Country;

use super::forms::Posted;
use super::{error_page, local_time, render, Chrome, Form, WhiteLabelPortal};
use crate::api::format_money;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/payments", get(settings).post(save))
        .route("/payments", get(list))
}

#[derive(Template)]
#[template(path = "payment_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    form: Form,
    gateway: Option<GatewaySummary>,
    webhook_url: Option<String>,
}

async fn settings_page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    mut form: Form,
    status: StatusCode,
) -> Response {
    let gateway = match state.app.gateway_summary(&portal.admin).await {
        Ok(gateway) => gateway,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    if form.v("kind").is_empty() {
        let kind = gateway
            .as_ref()
            .map(|g| g.kind.clone())
            .unwrap_or_else(|| "none".into());
        form.values.insert("kind".into(), kind);
    }
    let webhook_url = gateway.as_ref().filter(|g| g.kind == "stripe").map(|g| {
        format!(
            "{}{}",
            state.app.portal_url(&portal.white_label),
            g.webhook_path
        )
    });
    let page = SettingsPage {
        chrome: portal.chrome(state, "Payments", "/settings"),
        form,
        gateway,
        webhook_url,
    };
    (status, render(&page)).into_response()
}

async fn settings(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    settings_page(&state, &portal, Form::default(), StatusCode::OK).await
}

async fn save(State(state): State<AppState>, posted: Posted<WhiteLabelPortal>) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let input = GatewayInput {
        kind: fields.get("kind").to_string(),
        secret_key: fields.optional("secret_key"),
        webhook_secret: fields.optional("webhook_secret"),
        publishable_key: fields.optional("publishable_key"),
    };
    match state.app.configure_gateway(&portal.admin, &input).await {
        Ok(_) => Redirect::to("/settings/payments").into_response(),
        Err(error) => {
            let values = fields
                .into_values()
                .into_iter()
                .filter(|(k, _)| k == "kind" || k == "publishable_key")
                .collect();
            let mut form = Form::with_values(values);
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    settings_page(&state, &portal, form, StatusCode::UNPROCESSABLE_ENTITY).await
                }
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

/// A payment as a row of the list.
struct PaymentLine {
    when: String,
    customer_id: String,
    customer: String,
    purpose: String,
    gateway: String,
    amount: String,
    state: String,
    reason: Option<String>,
}

#[derive(Template)]
#[template(path = "payments.html")]
struct ListPage {
    chrome: Chrome,
    payments: Vec<PaymentLine>,
    held_only: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    state: String,
}

async fn list(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Query(query): Query<ListQuery>,
) -> Response {
    let held_only = query.state == "held";
    let filter = held_only.then_some("held");
    let rows = match state.app.list_payments(&portal.admin, filter, 200).await {
        Ok(rows) => rows,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let zone = Country::parse(&portal.white_label.country)
        .map(|c| c.default_time_zone())
        .unwrap_or("UTC");
    let payments = rows
        .iter()
        .map(|p| PaymentLine {
            when: local_time(p.created_us, zone),
            customer_id: p.customer_id.to_string(),
            customer: p.customer_name.clone().unwrap_or_default(),
            purpose: p.purpose.replace('_', " "),
            gateway: p.gateway.clone(),
            amount: format_money(p.amount_minor, &p.currency),
            state: p.state.clone(),
            reason: p.failure_reason.clone(),
        })
        .collect();
    render(&ListPage {
        chrome: portal.chrome(&state, "Payments", "/billing"),
        payments,
        held_only,
    })
}
