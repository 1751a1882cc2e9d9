//! The signed-in user's own profile: their name, password and two-factor sign-in.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::two_factor::TwoFactorStatus;
use tandem_app::AppError;

use super::forms::{CsrfSource, Posted};
use super::{error_page, render, Chrome, Form, NavLink};
use crate::extract::PortalSession;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show).post(save))
        .route("/profile/two-factor", post(start_two_factor))
        .route("/profile/two-factor/confirm", post(confirm_two_factor))
        .route("/profile/two-factor/disable", post(disable_two_factor))
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
    must_enrol: bool,
    two_factor_form: Form,
    /// `off`, `pending` or `active`.
    two_factor_state: &'static str,
    secret: String,
    otpauth_uri: String,
    unused_recovery_codes: i64,
    /// Recovery codes just issued, shown once.
    recovery_codes: Vec<String>,
}

/// Returns the name authenticator apps show for this portal: the white label's, or the platform's.
fn issuer(state: &AppState, session: &PortalSession) -> String {
    match &session.brand.white_label {
        Some(wl) => wl.name.clone(),
        None => state.settings.platform_name.clone(),
    }
}

/// Content of the profile page besides its forms: a notice and the two-factor outcome.
#[derive(Default)]
struct Extras {
    flash: Option<String>,
    two_factor_form: Form,
    recovery_codes: Vec<String>,
}

async fn page(
    state: &AppState,
    session: &PortalSession,
    form: Form,
    extras: Extras,
    status: StatusCode,
) -> Response {
    let status_now = match state
        .app
        .two_factor_status(&session.principal, &issuer(state, session))
        .await
    {
        Ok(status) => status,
        Err(error) => return error_page(state, &session.brand, error),
    };
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
    chrome.flash = extras.flash;
    let email = session
        .principal
        .user_row()
        .map(|u| u.email.clone())
        .unwrap_or_default();
    let mut page = ProfilePage {
        chrome,
        form,
        email,
        // Once the codes are shown, enrolment is done even though this request's session
        // was read before it.
        must_enrol: session.must_enrol_two_factor && extras.recovery_codes.is_empty(),
        two_factor_form: extras.two_factor_form,
        two_factor_state: "off",
        secret: String::new(),
        otpauth_uri: String::new(),
        unused_recovery_codes: 0,
        recovery_codes: extras.recovery_codes,
    };
    match status_now {
        TwoFactorStatus::Off => {}
        TwoFactorStatus::Pending(enrolment) => {
            page.two_factor_state = "pending";
            page.secret = enrolment.secret_base32;
            page.otpauth_uri = enrolment.otpauth_uri;
        }
        TwoFactorStatus::Active {
            unused_recovery_codes,
        } => {
            page.two_factor_state = "active";
            page.unused_recovery_codes = unused_recovery_codes;
        }
    }
    (status, render(&page)).into_response()
}

fn name_form(session: &PortalSession) -> Form {
    let mut form = Form::default();
    if let Some(user) = session.principal.user_row() {
        form.values.insert("name".into(), user.name.clone());
    }
    form
}

async fn show(State(state): State<AppState>, session: PortalSession) -> Response {
    let form = name_form(&session);
    page(&state, &session, form, Extras::default(), StatusCode::OK).await
}

async fn save(State(state): State<AppState>, posted: Posted<PortalSession>) -> Response {
    let Posted {
        ctx: session,
        form: fields,
    } = posted;
    if session.must_enrol_two_factor {
        return Redirect::to("/profile").into_response();
    }
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
            let extras = Extras {
                flash: Some("Your profile is saved.".into()),
                ..Extras::default()
            };
            page(&state, &session, form, extras, StatusCode::OK).await
        }
        Err(error) => {
            let mut form = Form::default();
            form.values.insert("name".into(), name);
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    page(
                        &state,
                        &session,
                        form,
                        Extras::default(),
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(&state, &session.brand, error),
            }
        }
    }
}

/// Renders the outcome of a two-factor form: the page with `flash` or with the errors of
/// `error` on the two-factor form.
async fn two_factor_outcome(
    state: &AppState,
    session: &PortalSession,
    result: Result<Extras, AppError>,
) -> Response {
    let form = name_form(session);
    match result {
        Ok(extras) => page(state, session, form, extras, StatusCode::OK).await,
        Err(error) => {
            let mut two_factor_form = Form::default();
            match two_factor_form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    let extras = Extras {
                        two_factor_form,
                        ..Extras::default()
                    };
                    page(
                        state,
                        session,
                        form,
                        extras,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(state, &session.brand, error),
            }
        }
    }
}

async fn start_two_factor(
    State(state): State<AppState>,
    posted: Posted<PortalSession>,
) -> Response {
    let session = posted.ctx;
    let result = state
        .app
        .start_two_factor(&session.principal, &issuer(&state, &session))
        .await
        .map(|_| Extras::default());
    two_factor_outcome(&state, &session, result).await
}

async fn confirm_two_factor(
    State(state): State<AppState>,
    posted: Posted<PortalSession>,
) -> Response {
    let Posted {
        ctx: session,
        form: fields,
    } = posted;
    let result = state
        .app
        .confirm_two_factor(&session.principal, fields.get("code"))
        .await
        .map(|recovery_codes| Extras {
            flash: Some("Two-factor sign-in is on.".into()),
            recovery_codes,
            ..Extras::default()
        });
    two_factor_outcome(&state, &session, result).await
}

async fn disable_two_factor(
    State(state): State<AppState>,
    posted: Posted<PortalSession>,
) -> Response {
    let Posted {
        ctx: session,
        form: fields,
    } = posted;
    let result = state
        .app
        .disable_two_factor(
            &session.principal,
            fields.get("password"),
            fields.get("code"),
        )
        .await
        .map(|()| Extras {
            flash: Some("Two-factor sign-in is off.".into()),
            ..Extras::default()
        });
    two_factor_outcome(&state, &session, result).await
}
