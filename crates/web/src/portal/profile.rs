//! The signed-in user's own profile: their name and password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::forms::{CsrfSource, Posted};
use super::{error_page, render, Chrome, Form, NavLink};
use crate::extract::PortalSession;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/profile", get(show).post(save))
}

impl CsrfSource for PortalSession {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    chrome: Chrome,
    form: Form,
    email: String,
}

fn page(
    state: &AppState,
    session: &PortalSession,
    form: Form,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let mut chrome = Chrome::anonymous(
        &session.brand,
        &state.settings.platform_name,
        "Your profile",
        &session.csrf_token,
    );
    chrome.nav = vec![
        NavLink {
            href: "/",
            label: "Home",
            active: false,
        },
        NavLink {
            href: "/profile",
            label: "Profile",
            active: true,
        },
    ];
    chrome.user_label = session.principal.user_row().map(|u| u.email.clone());
    chrome.flash = flash;
    let email = session
        .principal
        .user_row()
        .map(|u| u.email.clone())
        .unwrap_or_default();
    (
        status,
        render(&ProfilePage {
            chrome,
            form,
            email,
        }),
    )
        .into_response()
}

async fn show(State(state): State<AppState>, session: PortalSession) -> Response {
    let mut form = Form::default();
    if let Some(user) = session.principal.user_row() {
        form.values.insert("name".into(), user.name.clone());
    }
    page(&state, &session, form, None, StatusCode::OK)
}

async fn save(State(state): State<AppState>, posted: Posted<PortalSession>) -> Response {
    let Posted {
        ctx: session,
        form: fields,
    } = posted;
    let name = fields.get("name").to_string();
    let mut result = state.app.change_own_name(&session.principal, &name).await;
    let new_password = fields.get("new_password");
    if result.is_ok() && !new_password.is_empty() {
        result = state
            .app
            .change_own_password(
                &session.principal,
                fields.get("current_password"),
                new_password,
            )
            .await;
    }
    match result {
        Ok(()) => {
            let mut form = Form::default();
            form.values.insert("name".into(), name);
            page(
                &state,
                &session,
                form,
                Some("Your profile is saved.".into()),
                StatusCode::OK,
            )
        }
        Err(error) => {
            let mut form = Form::default();
            form.values.insert("name".into(), name);
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => page(
                    &state,
                    &session,
                    form,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(error) => error_page(&state, &session.brand, error),
            }
        }
    }
}
