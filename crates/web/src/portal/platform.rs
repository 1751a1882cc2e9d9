//! The platform's own portal: white labels, their balances and credit limits, and the
//! platform-wide audit log.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::white_labels::WhiteLabelInput;
use tandem_domain::{LedgerKind, WhiteLabelId};
use tandem_store::white_labels::WhiteLabelRow;

use super::billing::{audit_line, AuditLine};
use super::customers::{entry_line, EntryLine};
use super::forms::Posted;
use super::settings::{settings_form, settings_input};
use super::{error_page, render, Chrome, Form, PlatformPortal};
use crate::api::format_money;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/white-labels", get(list).post(create))
        .route("/white-labels/new", get(new_form))
        .route("/white-labels/{id}", get(show).post(update))
        .route("/white-labels/{id}/balance", post(post_balance))
        .route("/white-labels/{id}/credit-limit", post(set_credit_limit))
        .route("/platform-audit", get(audit))
}

/// A white label as a row of the list.
struct WhiteLabelLine {
    id: String,
    name: String,
    hosts: String,
    currency: String,
    balance: String,
    credit_limit: String,
}

#[derive(Template)]
#[template(path = "white_labels.html")]
struct ListPage {
    chrome: Chrome,
    white_labels: Vec<WhiteLabelLine>,
}

async fn list(State(state): State<AppState>, portal: PlatformPortal) -> Response {
    match state.app.list_white_labels(&portal.admin).await {
        Ok(rows) => render(&ListPage {
            chrome: portal.chrome(&state, "White labels", "/white-labels"),
            white_labels: rows
                .iter()
                .map(|wl| WhiteLabelLine {
                    id: wl.id.to_string(),
                    name: wl.name.clone(),
                    hosts: wl.hosts.join(", "),
                    currency: wl.currency.clone(),
                    balance: format_money(wl.balance_minor, &wl.currency),
                    credit_limit: format_money(wl.credit_limit_minor, &wl.currency),
                })
                .collect(),
        }),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

#[derive(Template)]
#[template(path = "white_label_new.html")]
struct NewPage {
    chrome: Chrome,
    form: Form,
}

async fn new_form(State(state): State<AppState>, portal: PlatformPortal) -> Response {
    let defaults = WhiteLabelInput {
        country: "NZ".into(),
        currency: "NZD".into(),
        primary_colour: "#0b6e4f".into(),
        tax_name: "GST".into(),
        tax_rate_percent: "15".into(),
        show_prices_with_tax: true,
        ..WhiteLabelInput::default()
    };
    render(&NewPage {
        chrome: portal.chrome(&state, "New white label", "/white-labels"),
        form: settings_form(&defaults),
    })
}

async fn create(State(state): State<AppState>, posted: Posted<PlatformPortal>) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    match state
        .app
        .create_white_label(&portal.admin, &settings_input(&fields))
        .await
    {
        Ok(row) => Redirect::to(&format!("/white-labels/{}", row.id)).into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    render(&NewPage {
                        chrome: portal.chrome(&state, "New white label", "/white-labels"),
                        form,
                    }),
                )
                    .into_response(),
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "white_label.html")]
struct ShowPage {
    chrome: Chrome,
    id: String,
    name: String,
    version: i64,
    currency: String,
    balance: String,
    credit_limit: String,
    form: Form,
    money_form: Form,
    entries: Vec<EntryLine>,
}

/// Which of the detail page's forms an error belongs to.
enum Failed {
    None,
    Settings(Form),
    Money(Form),
}

async fn detail(
    state: &AppState,
    portal: &PlatformPortal,
    id: &WhiteLabelId,
    failed: Failed,
) -> Response {
    let row: WhiteLabelRow = match state.app.white_label_by_id(&portal.admin, id).await {
        Ok(row) => row,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let admin = portal.admin.for_white_label(id);
    let entries = match state.app.white_label_ledger(&admin, None, 50).await {
        Ok(entries) => entries,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let zone = tandem_domain::Country::parse(&row.country)
        .map(|c| c.default_time_zone())
        .unwrap_or("UTC");
    let status = if matches!(failed, Failed::None) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let (form, money_form) = match failed {
        Failed::None => (
            settings_form(&WhiteLabelInput::from_row(&row)),
            Form::default(),
        ),
        Failed::Settings(form) => (form, Form::default()),
        Failed::Money(form) => (settings_form(&WhiteLabelInput::from_row(&row)), form),
    };
    let page = ShowPage {
        chrome: portal.chrome(state, &row.name, "/white-labels"),
        id: row.id.to_string(),
        name: row.name.clone(),
        version: row.version,
        currency: row.currency.clone(),
        balance: format_money(row.balance_minor, &row.currency),
        credit_limit: format_money(row.credit_limit_minor, &row.currency),
        form,
        money_form,
        entries: entries.iter().map(|e| entry_line(e, zone)).collect(),
    };
    (status, render(&page)).into_response()
}

fn parse_id(
    state: &AppState,
    portal: &PlatformPortal,
    raw: &str,
) -> Result<WhiteLabelId, Response> {
    WhiteLabelId::parse(raw).map_err(|_| {
        super::message_page(
            state,
            &portal.session.brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such white label.",
        )
    })
}

async fn show(
    State(state): State<AppState>,
    portal: PlatformPortal,
    Path(id): Path<String>,
) -> Response {
    match parse_id(&state, &portal, &id) {
        Ok(id) => detail(&state, &portal, &id, Failed::None).await,
        Err(response) => response,
    }
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PlatformPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let id = match parse_id(&state, &portal, &id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let version: i64 = fields.get("version").parse().unwrap_or(0);
    let admin = portal.admin.for_white_label(&id);
    if let Err(error) = state.app.white_label_by_id(&portal.admin, &id).await {
        return error_page(&state, &portal.session.brand, error);
    }
    match state
        .app
        .update_white_label(&admin, version, &settings_input(&fields))
        .await
    {
        Ok(_) => Redirect::to(&format!("/white-labels/{id}")).into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => detail(&state, &portal, &id, Failed::Settings(form)).await,
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

async fn post_balance(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PlatformPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let id = match parse_id(&state, &portal, &id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let kind = if fields.get("kind") == "top_up" {
        LedgerKind::TopUp
    } else {
        LedgerKind::Adjustment
    };
    let result = state
        .app
        .post_white_label_balance(
            &portal.admin,
            &id,
            kind,
            fields.get("amount"),
            fields.get("reason"),
        )
        .await;
    match result {
        Ok(_) => Redirect::to(&format!("/white-labels/{id}")).into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => detail(&state, &portal, &id, Failed::Money(form)).await,
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

async fn set_credit_limit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<PlatformPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let id = match parse_id(&state, &portal, &id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match state
        .app
        .set_white_label_credit_limit(&portal.admin, &id, fields.get("credit_limit"))
        .await
    {
        Ok(_) => Redirect::to(&format!("/white-labels/{id}")).into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => detail(&state, &portal, &id, Failed::Money(form)).await,
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditLine>,
}

async fn audit(State(state): State<AppState>, portal: PlatformPortal) -> Response {
    match state.app.platform_audit(&portal.admin, 200).await {
        Ok(rows) => render(&AuditPage {
            chrome: portal.chrome(&state, "Audit log", "/platform-audit"),
            entries: rows.iter().map(|r| audit_line(r, "UTC")).collect(),
        }),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}
