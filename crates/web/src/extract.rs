//! Extractors that establish who is calling, under which brand, and with which guard.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Redirect, Response};
use tandem_app::access::{PlatformAdmin, Principal, WhiteLabelAdmin};
use tandem_app::AppError;
use tandem_domain::{Permission, WhiteLabelId};
use tandem_store::white_labels::WhiteLabelRow;

use crate::error::ApiError;
use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tandem_session";
/// The cookie of the double-submit CSRF token used by forms shown before sign-in.
pub const PRE_SESSION_CSRF_COOKIE: &str = "tandem_csrf";
/// The header that carries the CSRF token on state-changing API calls made with a session.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller's address, from the socket.
#[derive(Debug, Clone)]
pub struct ClientIp(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // NOTE: behind a reverse proxy this is the proxy's address; X-Forwarded-For is not read
        // because no trusted-proxy setting exists yet.
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string());
        Ok(ClientIp(ip))
    }
}

/// The host the request was sent to, lower case, port included if given.
pub fn request_host(parts: &Parts) -> String {
    parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.host())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Reads one cookie from the request.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// The white label whose portal the request's Host names, or the platform's own portal.
#[derive(Debug, Clone)]
pub struct Brand {
    pub white_label: Option<WhiteLabelRow>,
}

impl Brand {
    /// The white label's id, if this is a white label's portal.
    pub fn white_label_id(&self) -> Option<&WhiteLabelId> {
        self.white_label.as_ref().map(|wl| &wl.id)
    }

    /// Finds the white label whose portal a Host header names, ignoring its port and a trailing
    /// dot. An unknown host gets the platform's own portal.
    pub async fn for_host(state: &AppState, host: &str) -> Result<Brand, ApiError> {
        let name = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        };
        let white_label = state
            .app
            .white_label_for_host(name.trim_end_matches('.'))
            .await?;
        Ok(Brand { white_label })
    }
}

impl FromRequestParts<AppState> for Brand {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(brand) = parts.extensions.get::<Brand>() {
            return Ok(brand.clone());
        }
        let brand = Brand::for_host(state, &request_host(parts)).await?;
        parts.extensions.insert(brand.clone());
        Ok(brand)
    }
}

/// A signed-in portal user: the principal and the CSRF token of their session.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub principal: Principal,
    pub csrf_token: String,
    pub brand: Brand,
    /// True when a white label requires a second factor of this user and they have not
    /// enrolled one: every page but the profile and sign-out redirects to the profile.
    pub must_enrol_two_factor: bool,
}

/// The paths a user who must enrol a second factor may still reach.
fn allowed_before_enrolment(path: &str) -> bool {
    path == "/profile" || path.starts_with("/profile/") || path == "/sign-out"
}

/// Sends an anonymous portal visitor to the sign-in page.
#[derive(Debug)]
pub struct SignInRequired(String);

impl IntoResponse for SignInRequired {
    fn into_response(self) -> Response {
        let next: String = form_urlencoded::byte_serialize(self.0.as_bytes()).collect();
        Redirect::to(&format!("/sign-in?next={next}")).into_response()
    }
}

impl FromRequestParts<AppState> for PortalSession {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let brand = Brand::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .expect("infallible");
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default();
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(SignInRequired(next).into_response());
        };
        match state.app.session(&token, ip).await {
            Ok(Some(session))
                if session.must_enrol_two_factor && !allowed_before_enrolment(parts.uri.path()) =>
            {
                Err(Redirect::to("/profile").into_response())
            }
            Ok(Some(session)) => Ok(PortalSession {
                principal: session.principal,
                csrf_token: session.csrf_token,
                brand,
                must_enrol_two_factor: session.must_enrol_two_factor,
            }),
            Ok(None) => Err(SignInRequired(next).into_response()),
            Err(error) => Err(ApiError::from(error).into_response()),
        }
    }
}

/// The authenticated caller of an API route: a bearer API key, or a portal session (which must
/// send its CSRF token in `X-CSRF-Token` on state-changing methods).
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub principal: Principal,
    /// The portal host's white label for a session; empty for an API key, which names its own.
    pub brand: Brand,
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .expect("infallible");
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Some(authorization) = authorization {
            let Some(secret) = authorization.strip_prefix("Bearer ") else {
                return Err(AppError::Unauthenticated.into());
            };
            // An API key names its own white label, so the Host header is not looked up.
            return match state.app.api_key_principal(secret.trim(), ip).await? {
                Some(principal) => Ok(ApiCaller {
                    principal,
                    brand: Brand { white_label: None },
                }),
                None => Err(AppError::Unauthenticated.into()),
            };
        }
        let brand = Brand::from_request_parts(parts, state).await?;
        let Some(token) = cookie(parts, SESSION_COOKIE) else {
            return Err(AppError::Unauthenticated.into());
        };
        let Some(session) = state.app.session(&token, ip).await? else {
            return Err(AppError::Unauthenticated.into());
        };
        if session.must_enrol_two_factor {
            return Err(AppError::Forbidden(
                "your white label requires two-factor sign-in: enrol an authenticator app on \
                 your profile page first"
                    .into(),
            )
            .into());
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let sent = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !safe && !crate::portal::forms::tokens_match(sent, &session.csrf_token) {
            return Err(AppError::Forbidden(
                "send the session's CSRF token in the X-CSRF-Token header".into(),
            )
            .into());
        }
        Ok(ApiCaller {
            principal: session.principal,
            brand,
        })
    }
}

impl ApiCaller {
    /// The white label this call acts on: an API key's own, or the portal host's for a session.
    pub fn white_label_id(&self) -> Option<&WhiteLabelId> {
        self.principal
            .api_key_white_label()
            .or(self.brand.white_label_id())
    }
}

/// An API call by an administrator of one white label: the guard every white-label route
/// takes. Use cases check the specific permission they need on top of it.
#[derive(Debug, Clone)]
pub struct WhiteLabelApi(pub WhiteLabelAdmin);

impl FromRequestParts<AppState> for WhiteLabelApi {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = ApiCaller::from_request_parts(parts, state).await?;
        let Some(white_label_id) = caller.white_label_id().cloned() else {
            return Err(AppError::Forbidden(
                "this route acts on a white label: call it with a white label's API key or on \
                 the white label's portal host"
                    .into(),
            )
            .into());
        };
        crate::ops::record_tenant(white_label_id.as_str());
        let admin = caller
            .principal
            .white_label_admin(&white_label_id, Permission::ViewCustomers)?;
        Ok(WhiteLabelApi(admin))
    }
}

/// An API call by a Platform Administrator.
#[derive(Debug, Clone)]
pub struct PlatformApi(pub PlatformAdmin);

impl FromRequestParts<AppState> for PlatformApi {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = ApiCaller::from_request_parts(parts, state).await?;
        Ok(PlatformApi(caller.principal.platform_admin()?))
    }
}
