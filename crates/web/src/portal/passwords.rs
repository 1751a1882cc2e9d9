//! Pages reached from mailed links without signing in: accepting an invitation, asking for a
//! password-reset link, and setting a new password. Their forms use the double-submitted CSRF
//! cookie, like the sign-in form.

use askama::Template;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tandem_app::auth::SignInStep;
use tandem_app::team::InvitationView;
use tandem_app::AppError;
use tandem_domain::Role;

use super::forms::{anonymous_csrf, cookie_header, read_anonymous_form};
use super::{message_page, render, Chrome, Form};
use crate::extract::{Brand, ClientIp, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/invitations/{token}", get(join_page).post(join))
        .route("/forgot-password", get(forgot_page).post(forgot))
        .route("/reset-password/{token}", get(reset_page).post(reset))
}

fn with_csrf_cookie(state: &AppState, mut response: Response, csrf: &str) -> Response {
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, PRE_SESSION_CSRF_COOKIE, csrf, 3600),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

#[derive(Template)]
#[template(path = "join.html")]
struct JoinPage {
    chrome: Chrome,
    form: Form,
    token: String,
    team_name: String,
    role: String,
    email: String,
    existing_user: bool,
}

async fn join_response(
    state: &AppState,
    brand: &Brand,
    token: &str,
    form: Form,
    csrf: &str,
    status: StatusCode,
) -> Response {
    let Some(white_label) = &brand.white_label else {
        return message_page(
            state,
            brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such invitation.",
        );
    };
    let view = match state.app.invitation_view(&white_label.id, token).await {
        Ok(view) => view,
        Err(error) => return super::error_page(state, brand, error),
    };
    match view {
        InvitationView::Ready {
            invitation,
            team_name,
            existing_user,
        } => {
            let page = JoinPage {
                chrome: Chrome::anonymous(
                    brand,
                    &state.settings.platform_name,
                    "Accept invitation",
                    csrf,
                ),
                form,
                token: token.to_string(),
                team_name,
                role: Role::parse(&invitation.role)
                    .map(|r| r.label().to_string())
                    .unwrap_or(invitation.role.clone()),
                email: invitation.email.clone(),
                existing_user,
            };
            with_csrf_cookie(state, (status, render(&page)).into_response(), csrf)
        }
        InvitationView::Used => message_page(
            state,
            brand,
            StatusCode::GONE,
            "This invitation has already been used",
            "Sign in with the email address and password you chose.",
        ),
        InvitationView::Expired => message_page(
            state,
            brand,
            StatusCode::GONE,
            "This invitation has expired",
            "Ask the person who invited you to send a new invitation.",
        ),
        InvitationView::NotFound => message_page(
            state,
            brand,
            StatusCode::NOT_FOUND,
            "This link is not valid",
            "Check that you copied the whole link from the email, or ask for a new invitation.",
        ),
    }
}

async fn join_page(
    State(state): State<AppState>,
    brand: Brand,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let csrf = anonymous_csrf(&parts);
    join_response(
        &state,
        &brand,
        &token,
        Form::default(),
        &csrf,
        StatusCode::OK,
    )
    .await
}

async fn join(
    State(state): State<AppState>,
    brand: Brand,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let Some(white_label) = brand.white_label.clone() else {
        return message_page(
            &state,
            &brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such invitation.",
        );
    };
    let (fields, csrf) = match read_anonymous_form(&state, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let name = field(&fields, "name");
    let source = format!("invitation:source:{}", ip.as_deref().unwrap_or("unknown"));
    if let Err(error) = state.app.throttle(&source, 30) {
        return super::error_page(&state, &brand, error);
    }
    match state
        .app
        .accept_invitation(
            &white_label.id,
            &token,
            &name,
            &field(&fields, "password"),
            ip.as_deref(),
        )
        .await
    {
        Ok(SignInStep::Complete(session)) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(&state, SESSION_COOKIE, &session.token, 12 * 3600),
            );
            response
        }
        Ok(SignInStep::SecondFactor(pending)) => {
            let mut response = Redirect::to("/sign-in/code?next=/").into_response();
            let max_age = tandem_app::two_factor::CHALLENGE_TTL_US / 1_000_000;
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(
                    &state,
                    super::auth::CHALLENGE_COOKIE,
                    &pending.token,
                    max_age,
                ),
            );
            response
        }
        Err(AppError::Conflict {
            code: "login_just_created",
            message,
            ..
        }) => message_page(
            &state,
            &brand,
            StatusCode::CONFLICT,
            "A login for this email was just created",
            &message,
        ),
        Err(AppError::Conflict { .. }) => {
            join_response(
                &state,
                &brand,
                &token,
                Form::default(),
                &csrf,
                StatusCode::GONE,
            )
            .await
        }
        Err(error) => {
            let mut form = Form::default();
            form.values.insert("name".into(), name);
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    join_response(
                        &state,
                        &brand,
                        &token,
                        form,
                        &csrf,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => super::error_page(&state, &brand, error),
            }
        }
    }
}

#[derive(Template)]
#[template(path = "password_form.html")]
struct PasswordPage {
    chrome: Chrome,
    form: Form,
    heading: String,
    intro: Option<String>,
    action: String,
    asks_email: bool,
    show_form: bool,
}

fn password_page(state: &AppState, page: PasswordPage, csrf: &str, status: StatusCode) -> Response {
    with_csrf_cookie(state, (status, render(&page)).into_response(), csrf)
}

fn forgot_form(
    state: &AppState,
    brand: &Brand,
    csrf: &str,
    form: Form,
    intro: Option<String>,
    show_form: bool,
) -> PasswordPage {
    PasswordPage {
        chrome: Chrome::anonymous(
            brand,
            &state.settings.platform_name,
            "Forgot your password?",
            csrf,
        ),
        form,
        heading: "Forgot your password?".into(),
        intro,
        action: "/forgot-password".into(),
        asks_email: true,
        show_form,
    }
}

async fn forgot_page(State(state): State<AppState>, brand: Brand, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let csrf = anonymous_csrf(&parts);
    if brand.white_label.is_none() {
        let intro = "Platform administrators reset their password from the server's shell with `tandem admin create-platform-admin`.".to_string();
        return password_page(
            &state,
            forgot_form(&state, &brand, &csrf, Form::default(), Some(intro), false),
            &csrf,
            StatusCode::OK,
        );
    }
    let intro =
        "Give the email address you sign in with, and we will send a link to set a new password."
            .to_string();
    password_page(
        &state,
        forgot_form(&state, &brand, &csrf, Form::default(), Some(intro), true),
        &csrf,
        StatusCode::OK,
    )
}

async fn forgot(
    State(state): State<AppState>,
    brand: Brand,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Response {
    let Some(white_label) = brand.white_label.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (fields, csrf) = match read_anonymous_form(&state, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let email = field(&fields, "email");
    let source = format!("reset:source:{}", ip.as_deref().unwrap_or("unknown"));
    let per_email = format!("reset:email:{}", email.trim().to_lowercase());
    let allowed = state
        .app
        .throttle(&source, 20)
        .and_then(|()| state.app.throttle(&per_email, 5));
    if allowed.is_ok() {
        // The work runs apart from the response, so a known and an unknown email take the same
        // time to answer.
        let app = state.app.clone();
        tokio::spawn(async move {
            if let Err(error) = app.request_password_reset(&white_label.id, &email).await {
                tracing::error!(%error, "password reset request failed");
            }
        });
    }
    // The same answer whether or not the email has a login, so the page reveals nothing.
    let intro = "If that email address has a login here, a link to set a new password is on its way. It works for one hour.".to_string();
    password_page(
        &state,
        forgot_form(&state, &brand, &csrf, Form::default(), Some(intro), false),
        &csrf,
        StatusCode::OK,
    )
}

fn reset_form(
    state: &AppState,
    brand: &Brand,
    csrf: &str,
    token: &str,
    form: Form,
    show_form: bool,
    intro: Option<String>,
) -> PasswordPage {
    PasswordPage {
        chrome: Chrome::anonymous(
            brand,
            &state.settings.platform_name,
            "Set a new password",
            csrf,
        ),
        form,
        heading: "Set a new password".into(),
        intro,
        action: format!("/reset-password/{token}"),
        asks_email: false,
        show_form,
    }
}

async fn reset_page(
    State(state): State<AppState>,
    brand: Brand,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let csrf = anonymous_csrf(&parts);
    match state.app.password_reset_is_live(&token).await {
        Ok(true) => password_page(
            &state,
            reset_form(&state, &brand, &csrf, &token, Form::default(), true, None),
            &csrf,
            StatusCode::OK,
        ),
        Ok(false) => message_page(
            &state,
            &brand,
            StatusCode::GONE,
            "This link has expired or was already used",
            "Ask for a new link on the sign-in page.",
        ),
        Err(error) => super::error_page(&state, &brand, error),
    }
}

async fn reset(
    State(state): State<AppState>,
    brand: Brand,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let (fields, csrf) = match read_anonymous_form(&state, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    match state
        .app
        .reset_password(&token, &field(&fields, "password"))
        .await
    {
        Ok(()) => message_page(
            &state,
            &brand,
            StatusCode::OK,
            "Your password is set",
            "You were signed out everywhere. Sign in with your new password.",
        ),
        Err(AppError::Conflict { message, .. }) => message_page(
            &state,
            &brand,
            StatusCode::GONE,
            "This link has expired or was already used",
            &message,
        ),
        Err(error) => {
            let mut form = Form::default();
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => password_page(
                    &state,
                    reset_form(&state, &brand, &csrf, &token, form, true, None),
                    &csrf,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(error) => super::error_page(&state, &brand, error),
            }
        }
    }
}
