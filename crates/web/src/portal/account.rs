//! The portal of a customer account's own members: the account's summary and its balance.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tandem_app::access::AccountMember;
use tandem_store::white_labels::WhiteLabelRow;

use super::customers::{entry_line, EntryLine};
use super::{error_page, message_page, render, Chrome, NavLink};
use crate::api::format_money;
use crate::extract::{cookie, PortalSession};
use crate::AppState;

/// The cookie naming the account a member of several accounts acts on.
const ACCOUNT_COOKIE: &str = "tandem_account";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(overview))
        .route("/account/switch", post(switch))
}

/// A signed-in member of a customer account of this white label.
pub struct AccountPortal {
    pub session: PortalSession,
    pub member: AccountMember,
    pub white_label: WhiteLabelRow,
}

impl super::forms::CsrfSource for AccountPortal {
    fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

impl AccountPortal {
    pub(super) fn chrome(&self, state: &AppState, title: &str) -> Chrome {
        let mut chrome = Chrome::anonymous(
            &self.session.brand,
            &state.settings.platform_name,
            title,
            &self.session.csrf_token,
        );
        chrome.nav = vec![NavLink {
            href: "/account",
            label: "Account",
            active: title != "API keys" && title != "Team",
        }];
        let role = self.member.role();
        if role.permits(tandem_domain::Permission::ManagePbx)
            || role.permits(tandem_domain::Permission::ManageConferences)
        {
            // The phone system pages mark this link current themselves.
            chrome.nav.push(NavLink {
                href: "/account/phone-system",
                label: "Phone system",
                active: false,
            });
        }
        if self
            .member
            .role()
            .permits(tandem_domain::Permission::ManageAccountUsers)
        {
            chrome.nav.push(NavLink {
                href: "/account/team",
                label: "Team",
                active: title == "Team",
            });
            chrome.nav.push(NavLink {
                href: "/account/api-keys",
                label: "API keys",
                active: title == "API keys",
            });
        }
        chrome.user_label = self.session.principal.user_row().map(|u| u.email.clone());
        chrome
    }
}

impl FromRequestParts<AppState> for AccountPortal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = PortalSession::from_request_parts(parts, state).await?;
        let Some(white_label) = session.brand.white_label.clone() else {
            return Err(message_page(
                state,
                &session.brand,
                StatusCode::NOT_FOUND,
                "Not found",
                "Customer accounts are reached through their provider's portal.",
            ));
        };
        crate::ops::record_tenant(white_label.id.as_str());
        // The chosen account comes from a cookie, but only an account the user is a member of
        // is ever used, so the choice cannot widen what they see.
        let roles = session.principal.customer_roles(&white_label.id);
        let chosen = cookie(parts, ACCOUNT_COOKIE);
        let picked = roles
            .iter()
            .find(|(id, _)| Some(id.as_str()) == chosen.as_deref())
            .or_else(|| roles.first())
            .map(|(id, _)| id.clone());
        let Some(customer_id) = picked else {
            return Err(message_page(
                state,
                &session.brand,
                StatusCode::FORBIDDEN,
                "No account here",
                &format!("You have no customer account with {}.", white_label.name),
            ));
        };
        match session
            .principal
            .account_member(&white_label.id, &customer_id)
        {
            Ok(member) => Ok(AccountPortal {
                session,
                member,
                white_label,
            }),
            Err(error) => Err(error_page(state, &session.brand, error)),
        }
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct OverviewPage {
    chrome: Chrome,
    welcome: bool,
    legal_name: String,
    account_number: String,
    plan: String,
    status: String,
    role: String,
    /// Shown only to roles that see billing.
    balance: Option<String>,
    support_email: String,
    entries: Option<Vec<EntryLine>>,
    /// The accounts the user may switch to: id, name, whether it is the current one.
    accounts: Vec<(String, String, bool)>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WelcomeQuery {
    welcome: Option<String>,
}

async fn overview(
    State(state): State<AppState>,
    portal: AccountPortal,
    Query(query): Query<WelcomeQuery>,
) -> Response {
    let account = match state.app.own_account(&portal.member).await {
        Ok(account) => account,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let entries = match state.app.own_account_ledger(&portal.member, 100).await {
        Ok(entries) => Some(
            entries
                .iter()
                .map(|e| {
                    // The customer's own page links nowhere else: the customer page is the
                    // white label's.
                    let mut line = entry_line(e, &account.time_zone);
                    line.customer = None;
                    line
                })
                .collect(),
        ),
        Err(tandem_app::AppError::Forbidden(_)) => None,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let mut accounts = Vec::new();
    for (id, _) in portal
        .session
        .principal
        .customer_roles(&portal.white_label.id)
    {
        let Ok(member) = portal
            .session
            .principal
            .account_member(&portal.white_label.id, &id)
        else {
            continue;
        };
        if let Ok(row) = state.app.own_account(&member).await {
            accounts.push((
                id.to_string(),
                row.legal_name,
                id == *portal.member.customer_id(),
            ));
        }
    }
    let page = OverviewPage {
        accounts,
        chrome: portal.chrome(&state, &account.legal_name),
        welcome: query.welcome.is_some(),
        account_number: tandem_domain::AccountNumber::parse(&account.account_number)
            .map(|n| n.display())
            .unwrap_or_default(),
        plan: account.plan_name.clone(),
        status: capitalised(&account.status.replace('_', " ")),
        role: portal.member.role().label().to_string(),
        balance: portal
            .member
            .require(tandem_domain::Permission::ViewBilling)
            .ok()
            .map(|()| format_money(account.balance_minor, &account.currency)),
        support_email: portal.white_label.support_email.clone(),
        legal_name: account.legal_name,
        entries,
    };
    render(&page)
}

async fn switch(
    State(state): State<AppState>,
    posted: super::forms::Posted<AccountPortal>,
) -> Response {
    let portal = posted.ctx;
    let wanted = posted.form.get("account_id").to_string();
    let allowed = portal
        .session
        .principal
        .customer_roles(&portal.white_label.id)
        .iter()
        .any(|(id, _)| id.as_str() == wanted);
    if !allowed {
        let error = tandem_app::AppError::NotFound("customer account");
        return error_page(&state, &portal.session.brand, error);
    }
    let mut response = axum::response::Redirect::to("/account").into_response();
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value = format!("{ACCOUNT_COOKIE}={wanted}; Path=/; HttpOnly; SameSite=Lax{secure}");
    if let Ok(value) = axum::http::HeaderValue::from_str(&value) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, value);
    }
    response
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
