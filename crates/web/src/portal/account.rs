//! The portal of a customer account's own members: the account's summary and its balance.

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tandem_app::access::AccountMember;
use tandem_store::white_labels::WhiteLabelRow;

use super::customers::{entry_line, EntryLine};
use super::{error_page, message_page, render, Chrome, NavLink};
use crate::api::format_money;
use crate::extract::PortalSession;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/account", get(overview))
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
            active: true,
        }];
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
        // NOTE: a member of several accounts acts on the first; choosing among them is not built yet.
        let Some((customer_id, _)) = session
            .principal
            .customer_roles(&white_label.id)
            .into_iter()
            .next()
        else {
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
    balance: String,
    support_email: String,
    entries: Option<Vec<EntryLine>>,
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
                .map(|e| entry_line(e, &account.time_zone))
                .collect(),
        ),
        Err(tandem_app::AppError::Forbidden(_)) => None,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let page = OverviewPage {
        chrome: portal.chrome(&state, &account.legal_name),
        welcome: query.welcome.is_some(),
        account_number: tandem_domain::AccountNumber::parse(&account.account_number)
            .map(|n| n.display())
            .unwrap_or_default(),
        plan: account.plan_name.clone(),
        status: account.status.replace('_', " "),
        role: portal.member.role().label().to_string(),
        balance: format_money(account.balance_minor, &account.currency),
        support_email: portal.white_label.support_email.clone(),
        legal_name: account.legal_name,
        entries,
    };
    render(&page)
}
