//! A customer account's numbers: where each routes, routing and release, adding a number
//! after confirming its charge, and moving a number to another account of the white label.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tandem_app::access::WhiteLabelAdmin;
use tandem_app::numbers::{NumberSearch, NumberView};
use tandem_app::pbx::{ChargePreview, ObjectView};
use tandem_app::{AppError, FieldError};
use tandem_domain::pbx::Destination;
use tandem_domain::{CustomerId, Permission, PhoneNumber};

use super::super::forms::{FormFields, Posted};
use super::super::{render, Chrome, Form};
use super::{
    form_message, form_status, international, number_path, number_state_label, AccountHead,
    AccountPage, NumbersPage, PAGE_SIZE,
};
use crate::api::format_money;
use crate::AppState;

/// Pages of 100 customers read for the "Move to another account" list.
// NOTE: for a white label with more than 2,000 accounts, the list shows only the newest 2,000,
// because the move form has no search of its own.
const MOVE_TARGET_PAGES: usize = 20;

/// A number of the account as a row of its list, with its forms.
struct AccountNumberLine {
    e164: String,
    /// The number encoded for a path segment.
    path: String,
    international: String,
    national: String,
    state: String,
    live: bool,
    routes_to: String,
    version: i64,
    /// The selected option of the route form: an object id, `hangup` or `outside`.
    destination: String,
    outside: String,
    /// The message of a failed form about this number.
    error: Option<String>,
}

/// An available number found by the search, with the form that picks it.
struct AvailableLine {
    e164: String,
    international: String,
    national: String,
    area_code: String,
    number_type: String,
}

#[derive(Template)]
#[template(path = "numbers_account.html")]
struct AccountNumbersPage {
    chrome: Chrome,
    head: AccountHead,
    numbers: Vec<AccountNumberLine>,
    can_route: bool,
    can_move: bool,
    destinations: Vec<(String, String)>,
    quarantine_days: u64,
    warnings: Vec<String>,
    add_form: Form,
    search: Form,
    searched: bool,
    /// The reason the search of available numbers is not offered, when it is not.
    search_unavailable: Option<String>,
    available: Vec<AvailableLine>,
    next_href: Option<String>,
}

/// The search of available numbers and the notices that follow a change.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct AccountNumbersQuery {
    country: String,
    area_code: String,
    prefix: String,
    after: String,
    search: String,
    added: String,
    released: String,
    routed: String,
    moved: String,
}

impl AccountNumbersQuery {
    fn next_href(&self, base: &str, last: &str) -> String {
        let query = serde_urlencoded::to_string([
            ("country", self.country.as_str()),
            ("area_code", self.area_code.as_str()),
            ("prefix", self.prefix.as_str()),
            ("search", "1"),
            ("after", last),
        ])
        .unwrap_or_default();
        format!("{base}/numbers?{query}#add")
    }
}

/// The parts of the numbers page besides the list: a failed form or a notice.
#[derive(Default)]
struct NumbersExtras {
    add_form: Option<Form>,
    /// The number a failed route or release form was about, and the message.
    row_error: Option<(String, String)>,
    /// The values of a failed route form.
    route_values: Option<(String, String)>,
    flash: Option<String>,
    status: Option<StatusCode>,
}

/// Names an object as the route form lists it: `101 Reception (extension)`.
fn object_label(object: &ObjectView) -> String {
    match &object.short_number {
        Some(number) => format!("{number} {} ({})", object.name, object.kind.label()),
        None => format!("{} ({})", object.name, object.kind.label()),
    }
}

/// Describes where a number's calls go.
fn routes_to(destination: Option<&Destination>, objects: &[ObjectView]) -> String {
    match destination {
        None => "Not routed".to_string(),
        Some(Destination::Hangup) => "Hang up".to_string(),
        Some(Destination::External(number)) => {
            format!("Outside number {}", international(number))
        }
        Some(Destination::Object(id)) => objects
            .iter()
            .find(|o| o.id == *id)
            .map(object_label)
            .unwrap_or_else(|| id.to_string()),
    }
}

/// Returns the route form's selection for a destination: the option and the outside number.
fn destination_choice(destination: Option<&Destination>) -> (String, String) {
    match destination {
        None => (String::new(), String::new()),
        Some(Destination::Hangup) => ("hangup".into(), String::new()),
        Some(Destination::External(number)) => ("outside".into(), international(number)),
        Some(Destination::Object(id)) => (id.to_string(), String::new()),
    }
}

fn account_number_line(number: &NumberView, objects: &[ObjectView]) -> AccountNumberLine {
    let (destination, outside) = destination_choice(number.destination.as_ref());
    AccountNumberLine {
        e164: number.number.clone(),
        path: number_path(&number.number),
        international: number.international.clone(),
        national: number.national.clone(),
        state: number_state_label(&number.state),
        live: number.live,
        routes_to: routes_to(number.destination.as_ref(), objects),
        version: number.version,
        destination,
        outside,
        error: None,
    }
}

pub(super) async fn account_numbers(
    State(state): State<AppState>,
    NumbersPage(page): NumbersPage,
    Query(query): Query<AccountNumbersQuery>,
) -> Response {
    numbers_page(&state, &page, &query, NumbersExtras::default()).await
}

async fn numbers_page(
    state: &AppState,
    page: &AccountPage,
    query: &AccountNumbersQuery,
    extras: NumbersExtras,
) -> Response {
    let numbers = match state.app.account_numbers(&page.op).await {
        Ok(numbers) => numbers,
        Err(error) => return page.error(state, error),
    };
    let can_route = page.op.role().permits(Permission::ManagePbx);
    let objects = if can_route {
        match state.app.pbx_objects(&page.op, None).await {
            Ok(objects) => objects,
            Err(error) => return page.error(state, error),
        }
    } else {
        Vec::new()
    };
    let head = page.head();
    let mut lines: Vec<AccountNumberLine> = numbers
        .iter()
        .map(|n| account_number_line(n, &objects))
        .collect();
    if let Some((number, message)) = &extras.row_error {
        if let Some(line) = lines.iter_mut().find(|l| l.e164 == *number) {
            line.error = Some(message.clone());
            if let Some((destination, outside)) = &extras.route_values {
                line.destination = destination.clone();
                line.outside = outside.clone();
            }
        }
    }
    let mut flash = extras.flash;
    let mut warnings = Vec::new();
    if flash.is_none() {
        flash = change_notice(query, &numbers, &objects);
        if !query.routed.is_empty() && can_route {
            // The routing table's warnings cover the whole account, so they show after any
            // routing change. Without a table the page still shows, only without warnings.
            match state.app.routing_table(&page.op).await {
                Ok((table, _)) => {
                    warnings = table.warnings.into_iter().map(|w| w.message).collect();
                }
                Err(error) => {
                    tracing::warn!(
                        %error,
                        customer.id = %page.op.customer_id(),
                        "routing table not compiled for its warnings"
                    );
                }
            }
        }
    }

    let mut search = Form::default();
    let country = if query.country.trim().is_empty() {
        page.customer.service_address.country.clone()
    } else {
        query.country.clone()
    };
    for (key, value) in [
        ("search_country", &country),
        ("search_area_code", &query.area_code),
        ("search_prefix", &query.prefix),
    ] {
        search.values.insert(key.to_string(), value.clone());
    }
    let searched = !query.search.is_empty();
    let mut search_unavailable = None;
    let mut available = Vec::new();
    let mut next_href = None;
    let mut status = extras.status.unwrap_or(StatusCode::OK);
    if searched {
        let filter = NumberSearch {
            country: Some(country.clone()),
            area_code: Some(query.area_code.clone()),
            prefix: Some(query.prefix.clone()),
            state: Some("available".into()),
            after: Some(query.after.clone()),
            limit: Some(PAGE_SIZE),
        };
        match state
            .app
            .search_numbers(&page.session.principal, Some(&page.white_label.id), &filter)
            .await
        {
            Ok(found) => {
                next_href = (found.len() == PAGE_SIZE as usize)
                    .then(|| found.last().map(|n| query.next_href(&head.base, &n.number)))
                    .flatten();
                available = found
                    .iter()
                    .map(|n| AvailableLine {
                        e164: n.number.clone(),
                        international: n.international.clone(),
                        national: n.national.clone(),
                        area_code: n.area_code.clone(),
                        number_type: n.number_type.replace('_', " "),
                    })
                    .collect();
            }
            Err(AppError::Forbidden(_)) => {
                search_unavailable = Some(format!(
                    "Searching the available numbers is open to {}'s administrators. Ask them \
                     for a number and type it above.",
                    page.white_label.name
                ));
            }
            Err(error) => {
                status = form_status(&error);
                let names = |field: &str| format!("search_{field}");
                if let Err(error) = search.absorb(error, &names) {
                    return page.error(state, error);
                }
            }
        }
    }
    let mut chrome = page.chrome(state, &format!("Numbers of {}", head.name));
    chrome.flash = flash;
    let view = AccountNumbersPage {
        chrome,
        head,
        numbers: lines,
        can_route,
        can_move: page.op.is_white_label(),
        destinations: objects
            .iter()
            .map(|o| (o.id.to_string(), object_label(o)))
            .collect(),
        quarantine_days: state.app.settings().number_quarantine.as_secs() / 86_400,
        warnings,
        add_form: extras.add_form.unwrap_or_default(),
        search,
        searched,
        search_unavailable,
        available,
        next_href,
    };
    (status, render(&view)).into_response()
}

/// Builds the notice after a change that redirected back to the numbers page, when the query
/// names a number of the change. Numbers are checked against the account's own, so a crafted link
/// shows nothing about other numbers.
fn change_notice(
    query: &AccountNumbersQuery,
    numbers: &[NumberView],
    objects: &[ObjectView],
) -> Option<String> {
    let own_number = |e164: &str| numbers.iter().find(|n| n.number == e164);
    if let Some(number) = own_number(&query.added) {
        return Some(format!(
            "{} is now this account's number. Route it below so that calls reach someone.",
            number.international
        ));
    }
    if let Some(number) = own_number(&query.routed) {
        return Some(format!(
            "Calls to {} now go to: {}.",
            number.international,
            routes_to(number.destination.as_ref(), objects)
        ));
    }
    if !query.released.is_empty() && own_number(&query.released).is_none() {
        if let Ok(number) = PhoneNumber::parse_e164(&query.released) {
            return Some(format!(
                "{} was released from this account and is held in quarantine.",
                number.format_international()
            ));
        }
    }
    if !query.moved.is_empty() && own_number(&query.moved).is_none() {
        if let Ok(number) = PhoneNumber::parse_e164(&query.moved) {
            return Some(format!(
                "{} was moved to another account.",
                number.format_international()
            ));
        }
    }
    None
}

/// Builds the address of the numbers page with a notice about `e164`.
fn numbers_href(base: &str, notice: &str, e164: &str) -> String {
    let query = serde_urlencoded::to_string([(notice, e164)]).unwrap_or_default();
    format!("{base}/numbers?{query}")
}

pub(super) async fn route(
    State(state): State<AppState>,
    Path((_, number)): Path<(String, String)>,
    posted: Posted<NumbersPage>,
) -> Response {
    let Posted {
        ctx: NumbersPage(page),
        form: fields,
    } = posted;
    let choice = fields.get("destination").trim().to_string();
    let outside = fields.get("outside_number").trim().to_string();
    let destination = match choice.as_str() {
        "outside" | "" => outside.clone(),
        _ => choice.clone(),
    };
    let version: i64 = fields.get("version").parse().unwrap_or(0);
    match state
        .app
        .route_number(&page.op, &number, &destination, version)
        .await
    {
        Ok((view, _)) => {
            Redirect::to(&numbers_href(&page.head().base, "routed", &view.number)).into_response()
        }
        Err(error) => {
            let status = form_status(&error);
            let mut form = Form::default();
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    let message = form_message(&form);
                    let extras = NumbersExtras {
                        row_error: Some((number, message)),
                        route_values: Some((choice, outside)),
                        status: Some(status),
                        ..NumbersExtras::default()
                    };
                    numbers_page(&state, &page, &AccountNumbersQuery::default(), extras).await
                }
                Err(error) => page.error(&state, error),
            }
        }
    }
}

pub(super) async fn release(
    State(state): State<AppState>,
    Path((_, number)): Path<(String, String)>,
    posted: Posted<NumbersPage>,
) -> Response {
    let page = posted.ctx.0;
    match state.app.release_number(&page.op, &number).await {
        Ok(view) => {
            Redirect::to(&numbers_href(&page.head().base, "released", &view.number)).into_response()
        }
        Err(error) => {
            let status = form_status(&error);
            let mut form = Form::default();
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    let extras = NumbersExtras {
                        row_error: Some((number, form_message(&form))),
                        status: Some(status),
                        ..NumbersExtras::default()
                    };
                    numbers_page(&state, &page, &AccountNumbersQuery::default(), extras).await
                }
                Err(error) => page.error(&state, error),
            }
        }
    }
}

/// A charge as a row of the confirmation.
struct ChargeLine {
    description: String,
    amount: String,
    tax: String,
}

#[derive(Template)]
#[template(path = "numbers_confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    head: AccountHead,
    number: String,
    international: String,
    charges: Vec<ChargeLine>,
    total: String,
    payer: String,
    /// The paying balance before the charges. It is hidden from an account's members when the
    /// white label pays, because the white label's balance is not theirs to see.
    balance: Option<String>,
    covered: bool,
    /// The reason the charges cannot be posted, when the balance does not cover them.
    shortfall: Option<String>,
}

/// Names the paying balance of a charge for the person about to confirm it.
fn payer_label(charges: &ChargePreview, viewer_is_white_label: bool) -> String {
    match (charges.payer.as_str(), viewer_is_white_label) {
        ("white_label", true) => format!("Your white label's balance ({})", charges.payer_name),
        ("white_label", false) => format!(
            "{}'s balance: your provider pays for this account",
            charges.payer_name
        ),
        _ => format!("This account's balance ({})", charges.payer_name),
    }
}

fn confirm_page(
    state: &AppState,
    page: &AccountPage,
    view: &NumberView,
    charges: &ChargePreview,
) -> Response {
    let money = |minor: i64| format_money(minor, &charges.currency);
    let show_balance = charges.payer != "white_label" || page.op.is_white_label();
    let shortfall = (!charges.covered).then(|| {
        if show_balance {
            format!(
                "The balance of {} and its credit limit do not cover {}. Top up the balance, \
                 then add the number again.",
                money(charges.balance_minor),
                money(charges.total_minor)
            )
        } else {
            format!(
                "{} cannot take this charge at the moment. Ask them to add the number.",
                charges.payer_name
            )
        }
    });
    let head = page.head();
    let confirm = ConfirmPage {
        chrome: page.chrome(state, "Confirm the new number"),
        number: view.number.clone(),
        international: view.international.clone(),
        charges: charges
            .items
            .iter()
            .map(|item| ChargeLine {
                description: item.description.clone(),
                amount: money(item.amount_minor),
                tax: money(item.tax_minor),
            })
            .collect(),
        total: money(charges.total_minor),
        payer: payer_label(charges, page.op.is_white_label()),
        balance: show_balance.then(|| money(charges.balance_minor)),
        covered: charges.covered,
        shortfall,
        head,
    };
    render(&confirm)
}

/// Shows the add form again with the use case's error, or the error page.
async fn add_failed(
    state: &AppState,
    page: &AccountPage,
    error: AppError,
    fields: FormFields,
) -> Response {
    let status = form_status(&error);
    let mut form = Form::with_values(fields.into_values());
    match form.absorb(error, &|f| f.to_string()) {
        Ok(()) => {
            let extras = NumbersExtras {
                add_form: Some(form),
                status: Some(status),
                ..NumbersExtras::default()
            };
            numbers_page(state, page, &AccountNumbersQuery::default(), extras).await
        }
        Err(error) => page.error(state, error),
    }
}

/// Checks a number for the account without assigning it, and shows its charges to confirm.
pub(super) async fn review_assignment(
    State(state): State<AppState>,
    posted: Posted<NumbersPage>,
) -> Response {
    let Posted {
        ctx: NumbersPage(page),
        form: fields,
    } = posted;
    let number = fields.get("number").to_string();
    match state.app.assign_number(&page.op, &number, true).await {
        Ok((view, charges)) => confirm_page(&state, &page, &view, &charges),
        Err(error) => add_failed(&state, &page, error, fields).await,
    }
}

pub(super) async fn assign(State(state): State<AppState>, posted: Posted<NumbersPage>) -> Response {
    let Posted {
        ctx: NumbersPage(page),
        form: fields,
    } = posted;
    let number = fields.get("number").to_string();
    match state.app.assign_number(&page.op, &number, false).await {
        Ok((view, _)) => {
            Redirect::to(&numbers_href(&page.head().base, "added", &view.number)).into_response()
        }
        Err(error) => add_failed(&state, &page, error, fields).await,
    }
}

#[derive(Template)]
#[template(path = "numbers_move.html")]
struct MovePage {
    chrome: Chrome,
    head: AccountHead,
    path: String,
    international: String,
    routes_to: String,
    accounts: Vec<(String, String)>,
    /// True when the white label has more accounts than the list holds.
    truncated: bool,
    /// The maximum number of accounts read for the list.
    listed_max: usize,
    form: Form,
}

/// Lists the accounts a number may move to: the white label's other accounts that are not
/// cancelled or closed, by name. Returns whether more accounts exist than were read.
async fn move_targets(
    state: &AppState,
    admin: &WhiteLabelAdmin,
    current: &CustomerId,
) -> Result<(Vec<(String, String)>, bool), AppError> {
    let mut accounts = Vec::new();
    let mut cursor: Option<String> = None;
    let mut truncated = true;
    for _ in 0..MOVE_TARGET_PAGES {
        let page = state
            .app
            .list_customers(admin, None, None, cursor.as_deref(), 100)
            .await?;
        for customer in page.customers {
            if customer.id == *current || matches!(customer.status.as_str(), "cancelled" | "closed")
            {
                continue;
            }
            let number = tandem_domain::AccountNumber::parse(&customer.account_number)
                .map(|n| n.display())
                .unwrap_or(customer.account_number);
            accounts.push((
                customer.id.to_string(),
                format!("{} ({number})", customer.legal_name),
            ));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => {
                truncated = false;
                break;
            }
        }
    }
    accounts.sort_by_key(|a| a.1.to_lowercase());
    Ok((accounts, truncated))
}

/// Shows the move form for one of the account's numbers, to a white label's administrator.
async fn move_page(
    state: &AppState,
    page: &AccountPage,
    number: &str,
    form: Form,
    status: StatusCode,
) -> Response {
    let admin = match page
        .session
        .principal
        .white_label_admin(&page.white_label.id, Permission::ManageNumbers)
    {
        Ok(admin) => admin,
        Err(error) => return page.error(state, error),
    };
    let numbers = match state.app.account_numbers(&page.op).await {
        Ok(numbers) => numbers,
        Err(error) => return page.error(state, error),
    };
    let Some(view) = numbers.iter().find(|n| n.number == number) else {
        return page.error(state, AppError::NotFound("number"));
    };
    let objects = if page.op.role().permits(Permission::ManagePbx) {
        match state.app.pbx_objects(&page.op, None).await {
            Ok(objects) => objects,
            Err(error) => return page.error(state, error),
        }
    } else {
        Vec::new()
    };
    let (accounts, truncated) = match move_targets(state, &admin, page.op.customer_id()).await {
        Ok(targets) => targets,
        Err(error) => return page.error(state, error),
    };
    let move_view = MovePage {
        chrome: page.chrome(state, &format!("Move {}", view.international)),
        head: page.head(),
        path: number_path(&view.number),
        international: view.international.clone(),
        routes_to: routes_to(view.destination.as_ref(), &objects),
        accounts,
        truncated,
        listed_max: MOVE_TARGET_PAGES * 100,
        form,
    };
    (status, render(&move_view)).into_response()
}

pub(super) async fn move_form(
    State(state): State<AppState>,
    NumbersPage(page): NumbersPage,
    Path((_, number)): Path<(String, String)>,
) -> Response {
    move_page(&state, &page, &number, Form::default(), StatusCode::OK).await
}

pub(super) async fn move_number(
    State(state): State<AppState>,
    Path((_, number)): Path<(String, String)>,
    posted: Posted<NumbersPage>,
) -> Response {
    let Posted {
        ctx: NumbersPage(page),
        form: fields,
    } = posted;
    let admin = match page
        .session
        .principal
        .white_label_admin(&page.white_label.id, Permission::ManageNumbers)
    {
        Ok(admin) => admin,
        Err(error) => return page.error(&state, error),
    };
    let result = match CustomerId::parse(fields.get("to")) {
        Ok(to) => {
            state
                .app
                .move_number(&admin, &number, page.op.customer_id(), &to)
                .await
        }
        Err(_) => Err(AppError::Invalid(vec![FieldError::custom(
            "to",
            "required",
            "choose the account the number moves to",
        )])),
    };
    match result {
        Ok(view) => {
            Redirect::to(&numbers_href(&page.head().base, "moved", &view.number)).into_response()
        }
        Err(error) => {
            let status = form_status(&error);
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => move_page(&state, &page, &number, form, status).await,
                Err(error) => page.error(&state, error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_choice_selects_option() {
        assert_eq!(destination_choice(None), (String::new(), String::new()));
        assert_eq!(
            destination_choice(Some(&Destination::Hangup)),
            ("hangup".to_string(), String::new())
        );
        assert_eq!(
            destination_choice(Some(&Destination::External("+6494001234".into()))),
            ("outside".to_string(), "+64 9 400 1234".to_string())
        );
    }
}
