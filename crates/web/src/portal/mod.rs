//! The portal: server-rendered pages, branded by the white label whose host name the browser
//! used. Pages need no JavaScript; every form that changes state carries a CSRF token.

mod account;
mod account_keys;
mod activation;
mod auth;
mod billing;
mod customers;
pub mod forms;
mod messages;
mod numbers;
mod passwords;
mod payments;
mod pbx;
mod plans;
mod platform;
mod profile;
mod settings;
mod sip;
mod team;

use askama::Template;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use tandem_app::access::{PlatformAdmin, WhiteLabelAdmin};
use tandem_app::AppError;
use tandem_domain::{Colour, Permission, WhiteLabelId};
use tandem_store::white_labels::WhiteLabelRow;

use crate::extract::{Brand, PortalSession};
use crate::AppState;

pub use forms::Form;

const STYLESHEET: &str = include_str!("../../static/tandem.css");
/// The colour of the platform's own portal.
const PLATFORM_COLOUR: &str = "#1f4e79";

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/static/tandem.css", get(stylesheet))
        .route("/brand/{id}/theme.css", get(theme))
        .route("/brand/{id}/logo", get(logo))
        .merge(auth::router())
        .merge(activation::router())
        .merge(account::router())
        .merge(account_keys::router())
        .merge(customers::router())
        .merge(plans::router())
        .merge(payments::router())
        .merge(billing::router())
        .merge(settings::router())
        .merge(team::router())
        .merge(passwords::router())
        .merge(profile::router())
        .merge(messages::router())
        .merge(platform::router())
        .merge(numbers::router())
        .merge(pbx::router())
        .merge(sip::router())
}

/// The path of a white label's logo; the version makes browsers fetch a replaced logo.
pub fn logo_path(white_label: &WhiteLabelRow) -> String {
    format!(
        "/brand/{}/logo?v={}",
        white_label.id, white_label.logo_version
    )
}

/// A link in the navigation bar.
#[derive(Debug, Clone)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

/// What every page shows around its content: the brand, navigation and the signed-in user.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub title: String,
    pub brand_name: String,
    pub theme_href: String,
    pub logo_href: Option<String>,
    pub nav: Vec<NavLink>,
    pub user_label: Option<String>,
    pub csrf: String,
    pub flash: Option<String>,
}

impl Chrome {
    /// The chrome of a page shown under `brand` to a visitor who is not signed in.
    pub fn anonymous(brand: &Brand, platform_name: &str, title: &str, csrf: &str) -> Self {
        let (brand_name, theme_href, logo_href) = brand_parts(brand, platform_name);
        Self {
            title: title.to_string(),
            brand_name,
            theme_href,
            logo_href,
            nav: Vec::new(),
            user_label: None,
            csrf: csrf.to_string(),
            flash: None,
        }
    }

    fn signed_in(
        session: &PortalSession,
        platform_name: &str,
        title: &str,
        nav: Vec<NavLink>,
    ) -> Self {
        let mut chrome = Self::anonymous(&session.brand, platform_name, title, &session.csrf_token);
        chrome.nav = nav;
        chrome.user_label = session.principal.user_row().map(|u| u.email.clone());
        chrome
    }
}

fn brand_parts(brand: &Brand, platform_name: &str) -> (String, String, Option<String>) {
    match &brand.white_label {
        Some(wl) => (
            wl.name.clone(),
            format!("/brand/{}/theme.css?v={}", wl.id, wl.version),
            wl.has_logo.then(|| logo_path(wl)),
        ),
        None => (
            platform_name.to_string(),
            "/brand/platform/theme.css".to_string(),
            None,
        ),
    }
}

const WHITE_LABEL_NAV: &[(&str, &str)] = &[
    ("/customers", "Customers"),
    ("/plans", "Plans"),
    ("/billing", "Balance"),
    ("/outbox", "Mail"),
    ("/audit", "Audit log"),
    ("/team", "Team"),
    ("/api-keys", "API keys"),
    ("/sip", "SIP"),
    ("/settings", "Settings"),
];

const PLATFORM_NAV: &[(&str, &str)] = &[
    ("/white-labels", "White labels"),
    ("/platform/numbers", "Numbers"),
    ("/platform/sip", "SIP"),
    ("/platform-audit", "Audit log"),
];

fn nav(items: &[(&'static str, &'static str)], active: &str) -> Vec<NavLink> {
    items
        .iter()
        .map(|(href, label)| NavLink {
            href,
            label,
            active: *href == active,
        })
        .collect()
}

/// A signed-in page on a white label's portal, by one of its administrators (or a Platform
/// Administrator acting for it).
pub struct WhiteLabelPortal {
    pub session: PortalSession,
    pub admin: WhiteLabelAdmin,
    pub white_label: WhiteLabelRow,
}

impl WhiteLabelPortal {
    /// The chrome of a page of this portal, with `active` highlighted in the navigation.
    pub fn chrome(&self, state: &AppState, title: &str, active: &str) -> Chrome {
        Chrome::signed_in(
            &self.session,
            &state.settings.platform_name,
            title,
            nav(WHITE_LABEL_NAV, active),
        )
    }
}

impl forms::CsrfSource for WhiteLabelPortal {
    fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

impl FromRequestParts<AppState> for WhiteLabelPortal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = PortalSession::from_request_parts(parts, state).await?;
        let Some(white_label) = session.brand.white_label.clone() else {
            return Err(Redirect::to("/white-labels").into_response());
        };
        crate::ops::record_tenant(white_label.id.as_str());
        match session
            .principal
            .white_label_admin(&white_label.id, Permission::ViewCustomers)
        {
            Ok(admin) => Ok(WhiteLabelPortal {
                session,
                admin,
                white_label,
            }),
            Err(_) => Err(message_page(
                state,
                &session.brand,
                StatusCode::FORBIDDEN,
                "No access to this portal",
                &format!(
                    "You are signed in as {}, who is not an administrator of {}. Sign out and \
                     sign in with another account, or ask the white label's administrator for \
                     access.",
                    session.principal.actor().label(),
                    white_label.name
                ),
            )),
        }
    }
}

/// A signed-in page of the platform's own portal, by a Platform Administrator.
pub struct PlatformPortal {
    pub session: PortalSession,
    pub admin: PlatformAdmin,
}

impl PlatformPortal {
    /// The chrome of a platform page.
    pub fn chrome(&self, state: &AppState, title: &str, active: &str) -> Chrome {
        Chrome::signed_in(
            &self.session,
            &state.settings.platform_name,
            title,
            nav(PLATFORM_NAV, active),
        )
    }
}

impl forms::CsrfSource for PlatformPortal {
    fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

impl FromRequestParts<AppState> for PlatformPortal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = PortalSession::from_request_parts(parts, state).await?;
        if session.brand.white_label.is_some() {
            return Err(Redirect::to("/customers").into_response());
        }
        match session.principal.platform_admin() {
            Ok(admin) => Ok(PlatformPortal { session, admin }),
            Err(_) => Err(message_page(
                state,
                &session.brand,
                StatusCode::FORBIDDEN,
                "No access to the platform portal",
                "Only Platform Administrators sign in here. White-label administrators use their \
                 own portal's address.",
            )),
        }
    }
}

/// Renders a template, or a plain 500 if rendering fails.
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "page rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    message: String,
}

/// A page that only says something: an error or a notice.
pub fn message_page(
    state: &AppState,
    brand: &Brand,
    status: StatusCode,
    heading: &str,
    message: &str,
) -> Response {
    let page = MessagePage {
        chrome: Chrome::anonymous(brand, &state.settings.platform_name, heading, ""),
        heading: heading.to_string(),
        message: message.to_string(),
    };
    (status, render(&page)).into_response()
}

/// The page for a use-case error that is not about a form field.
pub fn error_page(state: &AppState, brand: &Brand, error: AppError) -> Response {
    let problem = crate::error::to_problem(&error);
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let heading = match status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        _ if status.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    message_page(state, brand, status, heading, &problem.detail)
}

async fn home(session: Result<PortalSession, Response>) -> Response {
    let Ok(session) = session else {
        return Redirect::to("/sign-in").into_response();
    };
    match &session.brand.white_label {
        Some(wl) if session.principal.role_on_white_label(&wl.id).is_some() => {
            Redirect::to("/customers").into_response()
        }
        Some(wl) if !session.principal.customer_roles(&wl.id).is_empty() => {
            Redirect::to("/account").into_response()
        }
        Some(_) => Redirect::to("/customers").into_response(),
        None => Redirect::to("/white-labels").into_response(),
    }
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The brand's colours as CSS variables. Link and button colours are darkened where needed so
/// that text on them keeps WCAG AA contrast (4.5:1) whatever colour the white label picked.
async fn theme(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let colour = if id == "platform" {
        PLATFORM_COLOUR.to_string()
    } else {
        let brand_colour = match WhiteLabelId::parse(&id) {
            Ok(id) => state.app.white_label_colour(&id).await.ok().flatten(),
            Err(_) => None,
        };
        brand_colour.unwrap_or_else(|| PLATFORM_COLOUR.to_string())
    };
    let colour =
        Colour::parse(&colour).unwrap_or_else(|_| Colour::parse(PLATFORM_COLOUR).expect("valid"));
    let accessible = colour.accessible_on_white();
    let css = format!(
        ":root {{ --brand: {}; --brand-text: {}; --accent: {}; --accent-text: {}; }}\n",
        colour.as_str(),
        colour.text_colour().as_str(),
        accessible.as_str(),
        accessible.text_colour().as_str(),
    );
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        css,
    )
        .into_response()
}

async fn logo(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Ok(id) = WhiteLabelId::parse(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match state.app.white_label_logo(&id).await {
        Ok(Some((content_type, bytes))) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400".into()),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => crate::error::ApiError::from(error).into_response(),
    }
}

/// Formats stored microseconds for people, in `time_zone`.
pub fn local_time(us: i64, time_zone: &str) -> String {
    let Ok(zone) = tandem_domain::TimeZoneName::parse(time_zone) else {
        return crate::api::rfc3339(us);
    };
    match jiff::Timestamp::from_microsecond(us) {
        Ok(ts) => tandem_domain::format_timestamp(ts, &zone),
        Err(_) => String::new(),
    }
}
