//! Phone numbers in the portal: the platform's inventory (search, loading and allocation to
//! white labels' pools), a customer account's numbers (routing, release, assignment with its
//! charge, moves between accounts), its port orders, and its routing table with a call tracer.
//!
//! Account pages live under `/accounts/{customer_id}/`. Their guard admits a signed-in session
//! on the white label's host whose principal yields an [`AccountOperator`] for the account.
//! Such sessions are the white label's administrators (and a Platform Administrator on that
//! host) for any of its accounts, and the account's own members whose role has the page's
//! permission.
//!
//! This module holds the router, the account pages' guard and the helpers the pages share;
//! the pages themselves are in [`inventory`], [`account`], [`port_orders`] and [`routing`].

mod account;
mod inventory;
mod port_orders;
mod routing;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::access::AccountOperator;
use tandem_app::{AppError, FieldError};
use tandem_domain::{CustomerId, Permission, PhoneNumber};
use tandem_store::customers::CustomerRow;
use tandem_store::white_labels::WhiteLabelRow;

use super::forms::CsrfSource;
use super::{error_page, message_page, Chrome, Form, NavLink};
use crate::extract::PortalSession;
use crate::AppState;

/// Numbers shown per page of the platform's inventory and of the available-number search.
const PAGE_SIZE: u32 = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/platform/numbers", get(inventory::inventory))
        .route("/platform/numbers/load", post(inventory::load))
        .route("/platform/numbers/allocate", post(inventory::allocate))
        .route(
            "/accounts/{customer_id}/numbers",
            get(account::account_numbers).post(account::review_assignment),
        )
        .route(
            "/accounts/{customer_id}/numbers/assign",
            post(account::assign),
        )
        .route(
            "/accounts/{customer_id}/numbers/{number}/route",
            post(account::route),
        )
        .route(
            "/accounts/{customer_id}/numbers/{number}/release",
            post(account::release),
        )
        .route(
            "/accounts/{customer_id}/numbers/{number}/move",
            get(account::move_form).post(account::move_number),
        )
        .route(
            "/accounts/{customer_id}/port-orders",
            get(port_orders::port_orders).post(port_orders::create_port_order),
        )
        .route(
            "/accounts/{customer_id}/port-orders/{order}/transition",
            post(port_orders::transition_port_order),
        )
        .route("/accounts/{customer_id}/routing", get(routing::routing))
}

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Formats an E.164 number as dialled from abroad, or returns it unchanged when it does not
/// parse.
fn international(e164: &str) -> String {
    PhoneNumber::parse_e164(e164)
        .map(|n| n.format_international())
        .unwrap_or_else(|_| e164.to_string())
}

/// Encodes an E.164 number for a path segment: `+6494001234` becomes `%2B6494001234`.
fn number_path(e164: &str) -> String {
    form_urlencoded::byte_serialize(e164.as_bytes()).collect()
}

/// Splits a text area into its non-blank lines, trimmed, with their line numbers from 1.
fn text_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line.trim().to_string()))
        .filter(|(_, line)| !line.is_empty())
        .collect()
}

fn number_state_label(state: &str) -> String {
    match state {
        "available" => "Available",
        "reserved" => "Reserved",
        "assigned" => "Assigned",
        "ageing" => "In quarantine",
        "porting" => "Porting in",
        other => other,
    }
    .to_string()
}

/// The status of a page that shows a use case's error on its form: 422 for invalid input, 409
/// for a conflict with the current state (a number in use, a stale version, a refused change).
fn form_status(error: &AppError) -> StatusCode {
    match error {
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    }
}

/// Rewrites errors about `numbers[2]` as one error of the form's `field`, quoting each number,
/// because the form has one text area for the whole list.
fn merge_list_errors(error: AppError, field: &str, inputs: &[String]) -> AppError {
    let quote = |name: &str, message: &str| -> Option<String> {
        let index: usize = name
            .strip_prefix("numbers[")?
            .strip_suffix(']')?
            .parse()
            .ok()?;
        let input = inputs.get(index).map(String::as_str).unwrap_or("");
        if message.contains(input) {
            Some(message.to_string())
        } else {
            Some(format!("{input}: {message}"))
        }
    };
    match error {
        AppError::Invalid(errors) => {
            let mut merged: Vec<FieldError> = Vec::new();
            let mut list_messages = Vec::new();
            for error in errors {
                match quote(&error.field, &error.message) {
                    Some(message) => list_messages.push(message),
                    None if error.field == "numbers" => list_messages.push(error.message),
                    None => merged.push(error),
                }
            }
            if !list_messages.is_empty() {
                merged.insert(
                    0,
                    FieldError::custom(field, "invalid_numbers", join_sentences(&list_messages)),
                );
            }
            AppError::Invalid(merged)
        }
        AppError::Conflict {
            code,
            message,
            field: Some(name),
        } if name.starts_with("numbers") => AppError::Conflict {
            code,
            message: quote(&name, &message).unwrap_or(message),
            field: Some(field.to_string()),
        },
        other => other,
    }
}

/// Joins messages, with or without a closing full stop, into sentences that each end with one.
fn join_sentences(messages: &[String]) -> String {
    messages
        .iter()
        .map(|m| m.trim().trim_end_matches('.'))
        .filter(|m| !m.is_empty())
        .map(|m| format!("{m}."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Joins the messages of a failed form into one text.
fn form_message(form: &Form) -> String {
    let mut messages: Vec<String> = form.error_list().into_iter().map(|(_, m)| m).collect();
    if let Some(summary) = &form.summary {
        messages.insert(0, summary.clone());
    }
    join_sentences(&messages)
}

// ---------------------------------------------------------------------------------------------
// The account pages' guard
// ---------------------------------------------------------------------------------------------

/// A signed-in page about one customer account of the host's white label.
pub(super) struct AccountPage {
    session: PortalSession,
    op: AccountOperator,
    customer: CustomerRow,
    white_label: WhiteLabelRow,
}

impl AccountPage {
    /// Admits the session when its principal yields an [`AccountOperator`] with `permission`
    /// for the account named by the `{customer_id}` path parameter, and the account belongs to the
    /// host's white label. Another white label's account is not found, as is any account on
    /// the platform's own host.
    async fn open(
        parts: &mut Parts,
        state: &AppState,
        permission: Permission,
    ) -> Result<Self, Response> {
        let session = PortalSession::from_request_parts(parts, state).await?;
        let not_found = |session: &PortalSession| {
            error_page(
                state,
                &session.brand,
                AppError::NotFound("customer account"),
            )
        };
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
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let raw_id = params
            .iter()
            .find(|(name, _)| *name == "customer_id")
            .map(|(_, value)| value.to_string())
            .unwrap_or_default();
        let Ok(customer_id) = CustomerId::parse(&raw_id) else {
            return Err(not_found(&session));
        };
        let principal = &session.principal;
        let op = match principal.account_operator(&white_label.id, &customer_id, permission) {
            Ok(op) => op,
            Err(error) => return Err(error_page(state, &session.brand, error)),
        };
        let customer = if op.is_white_label() {
            match principal.white_label_admin(&white_label.id, Permission::ViewCustomers) {
                Ok(admin) => state.app.customer(&admin, &customer_id).await,
                Err(error) => Err(error),
            }
        } else {
            match principal.account_member(&white_label.id, &customer_id) {
                Ok(member) => state.app.own_account(&member).await,
                Err(error) => Err(error),
            }
        };
        match customer {
            Ok(customer) => Ok(AccountPage {
                session,
                op,
                customer,
                white_label,
            }),
            Err(AppError::NotFound(_)) => Err(not_found(&session)),
            Err(error) => Err(error_page(state, &session.brand, error)),
        }
    }

    /// Builds the chrome of an account page: the white label's navigation for its
    /// administrators, the account's own for its members.
    fn chrome(&self, state: &AppState, title: &str) -> Chrome {
        let nav = if self.op.is_white_label() {
            super::nav(super::WHITE_LABEL_NAV, "/customers")
        } else {
            let mut nav = vec![NavLink {
                href: "/account",
                label: "Account",
                active: false,
            }];
            if self.op.role().permits(Permission::ManageAccountUsers) {
                nav.push(NavLink {
                    href: "/account/team",
                    label: "Team",
                    active: false,
                });
                nav.push(NavLink {
                    href: "/account/api-keys",
                    label: "API keys",
                    active: false,
                });
            }
            nav
        };
        Chrome::signed_in(&self.session, &state.settings.platform_name, title, nav)
    }

    /// Builds the heading of the account's pages.
    fn head(&self) -> AccountHead {
        let id = self.customer.id.to_string();
        let (back_href, back_label) = if self.op.is_white_label() {
            (format!("/customers/{id}"), self.customer.legal_name.clone())
        } else {
            ("/account".to_string(), "Account".to_string())
        };
        AccountHead {
            base: format!("/accounts/{id}"),
            id,
            name: self.customer.legal_name.clone(),
            back_href,
            back_label,
        }
    }

    fn error(&self, state: &AppState, error: AppError) -> Response {
        error_page(state, &self.session.brand, error)
    }
}

/// The heading every account page shows above its content.
struct AccountHead {
    /// The account's id, for the phone system's section links.
    id: String,
    /// `/accounts/{customer_id}`, the start of the account pages' paths.
    base: String,
    name: String,
    back_href: String,
    back_label: String,
}

/// An account page that needs the manage_numbers permission.
pub(super) struct NumbersPage(AccountPage);

impl FromRequestParts<AppState> for NumbersPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        AccountPage::open(parts, state, Permission::ManageNumbers)
            .await
            .map(NumbersPage)
    }
}

impl CsrfSource for NumbersPage {
    fn csrf_token(&self) -> &str {
        &self.0.session.csrf_token
    }
}

/// An account page that needs the manage_pbx permission.
pub(super) struct RoutingPage(AccountPage);

impl FromRequestParts<AppState> for RoutingPage {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        AccountPage::open(parts, state, Permission::ManagePbx)
            .await
            .map(RoutingPage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lists the fields named by an invalid-input error, in order.
    pub(super) fn field_names(error: AppError) -> Vec<String> {
        match error {
            AppError::Invalid(fields) => fields.into_iter().map(|f| f.field).collect(),
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn number_path_encodes_plus() {
        assert_eq!(number_path("+6494001234"), "%2B6494001234");
    }

    #[test]
    fn text_lines_skip_blanks() {
        let lines = text_lines("  09 400 1000 \n\n\t\n+64 9 400 1001\r\n");
        assert_eq!(
            lines,
            vec![
                (1, "09 400 1000".to_string()),
                (4, "+64 9 400 1001".to_string())
            ]
        );
    }

    #[test]
    fn list_errors_merge_into_one_field() {
        let inputs = vec!["09 400 1000".to_string(), "oops".to_string()];
        let error = AppError::Invalid(vec![
            FieldError::custom("numbers[1]", "invalid_phone", "not a phone number"),
            FieldError::custom("losing_carrier", "required", "enter the carrier"),
        ]);
        match merge_list_errors(error, "numbers", &inputs) {
            AppError::Invalid(fields) => {
                assert_eq!(fields.len(), 2);
                assert_eq!(fields[0].field, "numbers");
                assert_eq!(fields[0].message, "oops: not a phone number.");
                assert_eq!(fields[1].field, "losing_carrier");
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn list_errors_quote_a_number_once() {
        let inputs = vec!["+61 2 9876 5432".to_string()];
        let error = AppError::Invalid(vec![FieldError::custom(
            "numbers[0]",
            "porting_unavailable",
            "+61 2 9876 5432 is not a New Zealand number",
        )]);
        match merge_list_errors(error, "numbers", &inputs) {
            AppError::Invalid(fields) => {
                assert_eq!(
                    fields[0].message,
                    "+61 2 9876 5432 is not a New Zealand number."
                );
            }
            other => panic!("expected invalid input, got {other:?}"),
        }
    }

    #[test]
    fn sentences_end_with_one_full_stop() {
        let messages = vec![
            "first.".to_string(),
            "second".to_string(),
            " ".to_string(),
            "third..".to_string(),
        ];
        assert_eq!(join_sentences(&messages), "first. second. third.");
    }

    #[test]
    fn list_conflict_names_the_number() {
        let inputs = vec!["09 400 1000".to_string()];
        let error = AppError::Conflict {
            code: "number_in_use",
            message: "already on Tandem".into(),
            field: Some("numbers[0]".into()),
        };
        match merge_list_errors(error, "port_numbers", &inputs) {
            AppError::Conflict { message, field, .. } => {
                assert_eq!(message, "09 400 1000: already on Tandem");
                assert_eq!(field.as_deref(), Some("port_numbers"));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
    }
}
