//! The API keys of a customer account, managed by its Account Administrators.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::AppError;
use tandem_domain::{ApiKeyId, Role};

use super::account::AccountPortal;
use super::forms::Posted;
use super::{error_page, local_time, render, Chrome, Form};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/account/api-keys", get(show).post(create))
        .route("/account/api-keys/{id}/revoke", post(revoke))
}

/// Roles a customer account's key may have, highest first.
const KEY_ROLES: [Role; 4] = [
    Role::AccountAdministrator,
    Role::Tech,
    Role::Conference,
    Role::StandardUser,
];

/// Times on this page are shown in UTC.
// NOTE: the account's own time zone would be friendlier; this page does not load the account.
const TIME_ZONE: &str = "UTC";

struct RoleOption {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

struct KeyLine {
    id: String,
    name: String,
    role: String,
    prefix: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
}

#[derive(Template)]
#[template(path = "account_api_keys.html")]
struct AccountKeysPage {
    chrome: Chrome,
    keys: Vec<KeyLine>,
    roles: Vec<RoleOption>,
    form: Form,
    new_secret: Option<String>,
}

async fn page(
    state: &AppState,
    portal: &AccountPortal,
    form: Form,
    new_secret: Option<String>,
    status: StatusCode,
) -> Response {
    let keys = match state.app.list_account_api_keys(&portal.member).await {
        Ok(keys) => keys,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let keys = keys
        .iter()
        .map(|k| KeyLine {
            id: k.id.to_string(),
            name: k.name.clone(),
            role: Role::parse(&k.role)
                .map(|r| r.label().to_string())
                .unwrap_or_else(|_| k.role.clone()),
            prefix: k.key_prefix.clone(),
            created: local_time(k.created_us, TIME_ZONE),
            last_used: k
                .last_used_us
                .map(|us| local_time(us, TIME_ZONE))
                .unwrap_or_else(|| "Never".into()),
            revoked: k.revoked_us.map(|us| local_time(us, TIME_ZONE)),
        })
        .collect();
    let own = portal.member.role();
    let chosen = match form.v("role") {
        "" => Role::StandardUser.as_str(),
        chosen => chosen,
    };
    let roles = KEY_ROLES
        .iter()
        .filter(|role| own.may_grant(**role))
        .map(|role| RoleOption {
            value: role.as_str(),
            label: role.label(),
            selected: role.as_str() == chosen,
        })
        .collect();
    let page = AccountKeysPage {
        chrome: portal.chrome(state, "API keys"),
        keys,
        roles,
        form,
        new_secret,
    };
    let mut response = (status, render(&page)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn show(State(state): State<AppState>, portal: AccountPortal) -> Response {
    page(&state, &portal, Form::default(), None, StatusCode::OK).await
}

async fn create(State(state): State<AppState>, posted: Posted<AccountPortal>) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let result = state
        .app
        .create_account_api_key(&portal.member, fields.get("name"), fields.get("role"))
        .await;
    match result {
        Ok(created) => {
            page(
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
                    page(
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

async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<AccountPortal>,
) -> Response {
    let portal = posted.ctx;
    let Ok(id) = ApiKeyId::parse(&id) else {
        return error_page(&state, &portal.session.brand, AppError::NotFound("API key"));
    };
    match state.app.revoke_account_api_key(&portal.member, &id).await {
        Ok(()) => Redirect::to("/account/api-keys").into_response(),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}
