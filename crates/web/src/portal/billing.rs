//! The white label's balance and ledger, its audit log, and its API keys.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tandem_domain::{ApiKeyId, Country};
use tandem_store::audit::AuditEntryRow;

use super::customers::{entry_line, EntryLine};
use super::forms::Posted;
use super::{error_page, local_time, render, Chrome, Form, WhiteLabelPortal};
use crate::api::format_money;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/billing", get(billing))
        .route("/audit", get(audit))
        .route("/api-keys", get(api_keys).post(create_api_key))
        .route("/api-keys/{id}/revoke", post(revoke_api_key))
}

fn zone(portal: &WhiteLabelPortal) -> String {
    Country::parse(&portal.white_label.country)
        .map(|c| c.default_time_zone().to_string())
        .unwrap_or_else(|_| "UTC".into())
}

#[derive(Template)]
#[template(path = "billing.html")]
struct BillingPage {
    chrome: Chrome,
    balance: String,
    credit_limit: String,
    available: String,
    entries: Vec<EntryLine>,
    next_href: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CursorQuery {
    cursor: String,
}

const LEDGER_PAGE: u32 = 50;

async fn billing(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Query(query): Query<CursorQuery>,
) -> Response {
    let before = query.cursor.split_once('.').and_then(|(us, id)| {
        let id = tandem_domain::LedgerEntryId::parse(id).ok()?;
        Some((us.parse::<i64>().ok()?, id.to_string()))
    });
    let entries = match state
        .app
        .white_label_ledger(&portal.admin, before, LEDGER_PAGE)
        .await
    {
        Ok(entries) => entries,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let wl = &portal.white_label;
    let zone = zone(&portal);
    let next_href = (entries.len() == LEDGER_PAGE as usize)
        .then(|| {
            entries
                .last()
                .map(|e| format!("/billing?cursor={}.{}", e.created_us, e.id))
        })
        .flatten();
    let page = BillingPage {
        chrome: portal.chrome(&state, "Balance", "/billing"),
        balance: format_money(wl.balance_minor, &wl.currency),
        credit_limit: format_money(wl.credit_limit_minor, &wl.currency),
        available: format_money(wl.balance_minor + wl.credit_limit_minor, &wl.currency),
        entries: entries.iter().map(|e| entry_line(e, &zone)).collect(),
        next_href,
    };
    render(&page)
}

/// An audit entry as a row.
pub(super) struct AuditLine {
    pub when: String,
    pub actor: String,
    pub on_behalf_of: Option<String>,
    pub action: String,
    pub object: String,
    pub customer_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub reason: Option<String>,
    pub source_ip: Option<String>,
}

pub(super) fn audit_line(row: &AuditEntryRow, zone: &str) -> AuditLine {
    AuditLine {
        when: local_time(row.created_us, zone),
        actor: row.actor_label.clone(),
        on_behalf_of: row.on_behalf_of.clone(),
        action: row.action.clone(),
        object: format!("{} {}", row.object_kind, row.object_id),
        customer_id: row.customer_id.clone(),
        before: row.before_json.clone(),
        after: row.after_json.clone(),
        reason: row.reason.clone(),
        source_ip: row.source_ip.clone(),
    }
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    entries: Vec<AuditLine>,
}

async fn audit(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    match state.app.white_label_audit(&portal.admin, None, 200).await {
        Ok(rows) => {
            let zone = zone(&portal);
            render(&AuditPage {
                chrome: portal.chrome(&state, "Audit log", "/audit"),
                entries: rows.iter().map(|r| audit_line(r, &zone)).collect(),
            })
        }
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

/// An API key as a row.
struct KeyLine {
    id: String,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
struct ApiKeysPage {
    chrome: Chrome,
    keys: Vec<KeyLine>,
    form: Form,
    new_secret: Option<String>,
}

async fn api_keys_page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    form: Form,
    new_secret: Option<String>,
    status: StatusCode,
) -> Response {
    let keys = match state.app.list_api_keys(&portal.admin).await {
        Ok(keys) => keys,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let zone = zone(portal);
    let keys = keys
        .iter()
        .map(|k| KeyLine {
            id: k.id.to_string(),
            name: k.name.clone(),
            prefix: k.key_prefix.clone(),
            created: local_time(k.created_us, &zone),
            last_used: k
                .last_used_us
                .map(|us| local_time(us, &zone))
                .unwrap_or_else(|| "Never".into()),
            revoked: k.revoked_us.map(|us| local_time(us, &zone)),
        })
        .collect();
    let page = ApiKeysPage {
        chrome: portal.chrome(state, "API keys", "/api-keys"),
        keys,
        form,
        new_secret,
    };
    let mut response = (status, render(&page)).into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

async fn api_keys(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    api_keys_page(&state, &portal, Form::default(), None, StatusCode::OK).await
}

async fn create_api_key(
    State(state): State<AppState>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    match state
        .app
        .create_api_key(&portal.admin, fields.get("name"))
        .await
    {
        Ok(created) => {
            api_keys_page(
                &state,
                &portal,
                Form::default(),
                Some(created.secret),
                StatusCode::OK,
            )
            .await
        }
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    api_keys_page(
                        &state,
                        &portal,
                        form,
                        None,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

async fn revoke_api_key(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let portal = posted.ctx;
    let Ok(id) = ApiKeyId::parse(&id) else {
        return error_page(
            &state,
            &portal.session.brand,
            tandem_app::AppError::NotFound("API key"),
        );
    };
    match state.app.revoke_api_key(&portal.admin, &id).await {
        Ok(()) => Redirect::to("/api-keys").into_response(),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}
