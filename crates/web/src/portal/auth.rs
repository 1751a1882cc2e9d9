//! Sign-in and sign-out pages.

use askama::Template;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tandem_app::auth::SignInStep;
use tandem_app::AppError;

use super::forms::{anonymous_csrf, cookie_header, csrf_failure, tokens_match, CSRF_FIELD};
use super::{render, Chrome, Form};
use crate::extract::{
    cookie, request_host, Brand, ClientIp, PortalSession, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(sign_in_page).post(sign_in))
        .route("/sign-in/code", get(code_page).post(submit_code))
        .route("/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    form: Form,
}

/// The second step of a sign-in: the form for a code.
#[derive(Template)]
#[template(path = "sign_in_code.html")]
struct CodePage {
    chrome: Chrome,
    form: Form,
}

/// The cookie that binds a sign-in waiting for its code to the browser that entered the
/// password.
pub(super) const CHALLENGE_COOKIE: &str = "tandem_sign_in";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NextQuery {
    next: String,
}

/// Only same-site paths are followed after sign-in, never another origin.
fn safe_next(next: &str) -> String {
    // Browsers drop tabs and new lines from URLs and read a backslash as a slash, so any of
    // them could turn a path into another origin ("/\t/evil.example" is "//evil.example").
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
    if ok {
        next.to_string()
    } else {
        "/".to_string()
    }
}

fn sign_in_response(
    state: &AppState,
    brand: &Brand,
    form: Form,
    csrf: &str,
    status: StatusCode,
) -> Response {
    let page = SignInPage {
        chrome: Chrome::anonymous(brand, &state.settings.platform_name, "Sign in", csrf),
        form,
    };
    let mut response = (status, render(&page)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, PRE_SESSION_CSRF_COOKIE, csrf, 3600),
    );
    response
}

async fn sign_in_page(
    State(state): State<AppState>,
    brand: Brand,
    Query(query): Query<NextQuery>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let csrf = anonymous_csrf(&parts);
    let mut form = Form::default();
    form.values.insert("next".into(), safe_next(&query.next));
    sign_in_response(&state, &brand, form, &csrf, StatusCode::OK)
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let expected = cookie(&parts, PRE_SESSION_CSRF_COOKIE).unwrap_or_default();
    // The Host is kept before the body extractor takes the request's parts. Only the pages shown
    // again need the brand, so a sign-in that passes redirects without reading it.
    let host = request_host(&parts);
    let Ok(bytes) = axum::body::Bytes::from_request(Request::from_parts(parts, body), &state).await
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !tokens_match(&get(CSRF_FIELD), &expected) {
        return csrf_failure();
    }
    let (email, password, next) = (get("email"), get("password"), safe_next(&get("next")));

    let outcome = state.app.sign_in_with_password(&email, &password, ip).await;
    let (summary, status) = match outcome {
        Ok(SignInStep::Complete(session)) => {
            return signed_in_response(&state, &session.token, &next)
        }
        Ok(SignInStep::SecondFactor(pending)) => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("next", &next)
                .finish();
            let mut response = Redirect::to(&format!("/sign-in/code?{query}")).into_response();
            let max_age = tandem_app::two_factor::CHALLENGE_TTL_US / 1_000_000;
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(&state, CHALLENGE_COOKIE, &pending.token, max_age),
            );
            return response;
        }
        Err(AppError::Unauthenticated) => (
            "The email or password is not right. Check both and try again.".to_string(),
            StatusCode::UNAUTHORIZED,
        ),
        Err(AppError::RateLimited { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            (
                format!(
                    "Too many failed sign-ins. For your security, try again in {minutes} \
                     minute(s), or use Forgot your password."
                ),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(error) => {
            return match page_brand(&state, &host).await {
                Ok(brand) => super::error_page(&state, &brand, error),
                Err(response) => {
                    tracing::error!(%error, host, "sign-in failed, and reading its page's brand failed too");
                    response
                }
            }
        }
    };
    let brand = match page_brand(&state, &host).await {
        Ok(brand) => brand,
        Err(response) => return response,
    };
    let mut form = Form::default();
    form.values.insert("email".into(), email);
    form.values.insert("next".into(), next);
    form.summary = Some(summary);
    sign_in_response(&state, &brand, form, &expected, status)
}

/// Looks up the brand of a page that a sign-in shows. A failed lookup becomes its error
/// response, which logs the failure.
async fn page_brand(state: &AppState, host: &str) -> Result<Brand, Response> {
    Brand::for_host(state, host)
        .await
        .map_err(IntoResponse::into_response)
}

/// Sets the session cookie, drops the pre-session cookies and follows `next`.
fn signed_in_response(state: &AppState, token: &str, next: &str) -> Response {
    let mut response = Redirect::to(next).into_response();
    let max_age = 12 * 3600;
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, SESSION_COOKIE, token, max_age),
    );
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, PRE_SESSION_CSRF_COOKIE, "", 0),
    );
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, CHALLENGE_COOKIE, "", 0),
    );
    response
}

fn code_response(
    state: &AppState,
    brand: &Brand,
    form: Form,
    csrf: &str,
    status: StatusCode,
) -> Response {
    let page = CodePage {
        chrome: Chrome::anonymous(
            brand,
            &state.settings.platform_name,
            "Enter your code",
            csrf,
        ),
        form,
    };
    let mut response = (status, render(&page)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, PRE_SESSION_CSRF_COOKIE, csrf, 3600),
    );
    response
}

async fn code_page(
    State(state): State<AppState>,
    brand: Brand,
    Query(query): Query<NextQuery>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if cookie(&parts, CHALLENGE_COOKIE).is_none_or(|c| c.is_empty()) {
        return Redirect::to("/sign-in").into_response();
    }
    let csrf = anonymous_csrf(&parts);
    let mut form = Form::default();
    form.values.insert("next".into(), safe_next(&query.next));
    code_response(&state, &brand, form, &csrf, StatusCode::OK)
}

async fn submit_code(
    State(state): State<AppState>,
    brand: Brand,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let expected = cookie(&parts, PRE_SESSION_CSRF_COOKIE).unwrap_or_default();
    let challenge = cookie(&parts, CHALLENGE_COOKIE).unwrap_or_default();
    let Ok(bytes) = axum::body::Bytes::from_request(Request::from_parts(parts, body), &state).await
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !tokens_match(&get(CSRF_FIELD), &expected) {
        return csrf_failure();
    }
    let next = safe_next(&get("next"));
    if challenge.is_empty() {
        return Redirect::to("/sign-in").into_response();
    }
    let mut form = Form::default();
    form.values.insert("next".into(), next.clone());
    match state
        .app
        .complete_two_factor_sign_in(&challenge, &get("code"), ip)
        .await
    {
        Ok(session) => signed_in_response(&state, &session.token, &next),
        Err(AppError::Unauthenticated) => {
            form.errors.insert(
                "code".into(),
                "That code is not right. Enter the code your app shows now, or a recovery code."
                    .into(),
            );
            form.order.push("code".into());
            code_response(&state, &brand, form, &expected, StatusCode::UNAUTHORIZED)
        }
        Err(AppError::NotFound(_)) => {
            form.summary = Some(
                "Your sign-in expired or took too many wrong codes. Enter your email and password \
                 again."
                    .into(),
            );
            let mut response =
                sign_in_response(&state, &brand, form, &expected, StatusCode::UNAUTHORIZED);
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(&state, CHALLENGE_COOKIE, "", 0),
            );
            response
        }
        Err(AppError::RateLimited { retry_after_secs }) => {
            let minutes = retry_after_secs.div_ceil(60);
            form.summary = Some(format!(
                "Too many failed sign-ins. For your security, try again in {minutes} minute(s)."
            ));
            code_response(
                &state,
                &brand,
                form,
                &expected,
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        Err(error) => super::error_page(&state, &brand, error),
    }
}

async fn sign_out(
    State(state): State<AppState>,
    posted: super::forms::Posted<SignedIn>,
) -> Response {
    let token = posted.ctx.token;
    if let Err(error) = state.app.sign_out(&token).await {
        tracing::error!(%error, "sign-out failed");
    }
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, SESSION_COOKIE, "", 0),
    );
    response
}

/// A signed-in session and its cookie, for sign-out.
struct SignedIn {
    session: PortalSession,
    token: String,
}

impl super::forms::CsrfSource for SignedIn {
    fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

impl axum::extract::FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = PortalSession::from_request_parts(parts, state).await?;
        let token = cookie(parts, SESSION_COOKIE).unwrap_or_default();
        Ok(SignedIn { session, token })
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn safe_next_rejects_other_origins() {
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/\t/evil.example"), "/");
        assert_eq!(safe_next("/\r/evil.example"), "/");
        assert_eq!(safe_next("/\n/evil.example"), "/");
        assert_eq!(safe_next("/customers?q=a"), "/customers?q=a");
    }
}
