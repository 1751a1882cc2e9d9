//! Customers: the list, Create New Customer in both modes, the customer page and the
//! confirmation shown after creation.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tandem_app::customers::{
    BusinessInput, ContactInput, Creation, CustomerInput, ServiceAddressInput,
};
use tandem_domain::{AddressInput, Country, CustomerId};
use tandem_store::customers::{AddressRow, CustomerRow};
use tandem_store::ledger::LedgerEntryRow;
use tandem_store::plans::PlanRow;

use super::forms::{FormFields, Posted};
use super::{error_page, local_time, render, Chrome, Form, WhiteLabelPortal};
use crate::api::format_money;
use crate::AppState;

const PAGE_SIZE: u32 = 25;
const STATUSES: &[(&str, &str)] = &[
    ("pending_activation", "Pending activation"),
    ("active", "Active"),
    ("suspended", "Suspended"),
    ("cancelled", "Cancelled"),
    ("closed", "Closed"),
];

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/customers", get(list).post(create))
        .route("/customers/new", get(choose_mode))
        .route("/customers/new/{mode}", get(new_form))
        .route("/customers/{id}", get(show))
        .route("/customers/{id}/created", get(created))
        .route("/customers/{id}/activation/resend", post(resend_activation))
        .route(
            "/customers/{id}/activation/email",
            post(change_activation_email),
        )
        .route("/customers/{id}/cancel", post(cancel_pending))
        .route("/customers/{id}/convert", post(convert_to_managed))
}

/// A customer as one row of the list.
struct CustomerLine {
    id: String,
    account_number: String,
    name: String,
    trading_name: Option<String>,
    plan: String,
    status: String,
    status_class: String,
    payer: String,
    created: String,
}

fn status_label(status: &str) -> String {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map(|(_, l)| l.to_string())
        .unwrap_or_else(|| status.to_string())
}

fn payer_label(payer: &str) -> &'static str {
    if payer == "white_label" {
        "White label"
    } else {
        "Customer"
    }
}

fn display_account_number(number: &str) -> String {
    match tandem_domain::AccountNumber::parse(number) {
        Ok(number) => number.display(),
        Err(_) => number.to_string(),
    }
}

fn white_label_zone(portal: &WhiteLabelPortal) -> String {
    Country::parse(&portal.white_label.country)
        .map(|c| c.default_time_zone().to_string())
        .unwrap_or_else(|_| "UTC".into())
}

#[derive(Template)]
#[template(path = "customers.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    status: String,
    statuses: Vec<(&'static str, &'static str)>,
    customers: Vec<CustomerLine>,
    next_href: Option<String>,
    first_page: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    q: String,
    status: String,
    cursor: String,
}

async fn list(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Query(query): Query<ListQuery>,
) -> Response {
    let page = state
        .app
        .list_customers(
            &portal.admin,
            Some(&query.q),
            Some(&query.status),
            Some(&query.cursor),
            PAGE_SIZE,
        )
        .await;
    let page = match page {
        Ok(page) => page,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let zone = white_label_zone(&portal);
    let customers = page
        .customers
        .iter()
        .map(|c| CustomerLine {
            id: c.id.to_string(),
            account_number: display_account_number(&c.account_number),
            name: c.legal_name.clone(),
            trading_name: c.trading_name.clone(),
            plan: c.plan_name.clone(),
            status: match (c.status.as_str(), c.activation_state.as_deref()) {
                ("cancelled", Some("expired")) => "Cancelled: activation expired".to_string(),
                ("pending_activation", Some(state)) => {
                    format!("Pending: {}", activation_label(state).to_lowercase())
                }
                (status, _) => status_label(status),
            },
            status_class: c.status.clone(),
            payer: payer_label(&c.payer).to_string(),
            created: local_time(c.created_us, &zone),
        })
        .collect();
    let next_href = page.next_cursor.map(|cursor| {
        let query = serde_urlencoded::to_string([
            ("q", &query.q),
            ("status", &query.status),
            ("cursor", &cursor),
        ])
        .unwrap_or_default();
        format!("/customers?{query}")
    });
    let page = ListPage {
        chrome: portal.chrome(&state, "Customers", "/customers"),
        first_page: query.cursor.is_empty(),
        q: query.q,
        status: query.status,
        statuses: STATUSES.to_vec(),
        customers,
        next_href,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "customer_new.html")]
struct ChooseModePage {
    chrome: Chrome,
}

async fn choose_mode(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    render(&ChooseModePage {
        chrome: portal.chrome(&state, "Create New Customer", "/customers"),
    })
}

/// A plan as an option of the form's plan list.
struct PlanOption {
    id: String,
    label: String,
}

fn plan_options(plans: &[PlanRow], show_tax: bool, tax_bp: i64, tax_name: &str) -> Vec<PlanOption> {
    plans
        .iter()
        .map(|plan| {
            let price =
                |minor: i64| super::plans::price(minor, &plan.currency, show_tax, tax_bp, tax_name);
            PlanOption {
                id: plan.id.to_string(),
                label: format!(
                    "{}: {} a month, setup {}",
                    plan.name,
                    price(plan.monthly_fee_minor),
                    price(plan.setup_fee_minor)
                ),
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "customer_form.html")]
struct FormPage {
    chrome: Chrome,
    form: Form,
    mode: String,
    mode_label: &'static str,
    plans: Vec<PlanOption>,
    balance: String,
    gateway_missing: bool,
}

fn mode_label(mode: &str) -> Option<&'static str> {
    match mode {
        "white_label_managed" => Some("Me, the white-label administrator"),
        "self_activation" => Some("The new customer"),
        _ => None,
    }
}

async fn form_page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    mode: &str,
    form: Form,
    status: StatusCode,
) -> Response {
    let Some(mode_label) = mode_label(mode) else {
        return super::message_page(
            state,
            &portal.session.brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such way to create a customer.",
        );
    };
    let plans = match state.app.list_plans(&portal.admin, false).await {
        Ok(plans) => plans,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let gateway_missing = !matches!(state.app.gateway_summary(&portal.admin).await, Ok(Some(_)));
    let wl = &portal.white_label;
    let page = FormPage {
        chrome: portal.chrome(state, "Create New Customer", "/customers"),
        form,
        mode: mode.to_string(),
        mode_label,
        plans: plan_options(
            &plans,
            wl.show_prices_with_tax,
            wl.tax_rate_bp,
            &wl.tax_name,
        ),
        balance: format_money(wl.balance_minor, &wl.currency),
        gateway_missing: mode == "self_activation" && gateway_missing,
    };
    (status, render(&page)).into_response()
}

async fn new_form(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Path(mode): Path<String>,
) -> Response {
    let mode = match mode.as_str() {
        "managed" => "white_label_managed",
        "self-activation" => "self_activation",
        other => other,
    };
    let mut form = Form::default();
    let country = portal.white_label.country.clone();
    form.values
        .insert("billing_address.country".into(), country.clone());
    form.values
        .insert("service_address.country".into(), country);
    form.values
        .insert("service_address.same_as_billing".into(), "on".into());
    form_page(&state, &portal, mode, form, StatusCode::OK).await
}

fn address_input(form: &FormFields, prefix: &str) -> AddressInput {
    let get = |name: &str| form.get(&format!("{prefix}.{name}")).to_string();
    AddressInput {
        line1: get("line1"),
        line2: get("line2"),
        suburb: get("suburb"),
        city: get("city"),
        region: get("region"),
        postcode: get("postcode"),
        country: get("country"),
    }
}

fn customer_input(form: &FormFields) -> CustomerInput {
    CustomerInput {
        mode: form.get("mode").to_string(),
        plan_id: form.get("plan_id").to_string(),
        business: BusinessInput {
            legal_name: form.get("business.legal_name").to_string(),
            trading_name: form.optional("business.trading_name"),
            business_number: form.optional("business.business_number"),
            tax_number: form.optional("business.tax_number"),
        },
        contact: ContactInput {
            given_name: form.get("contact.given_name").to_string(),
            family_name: form.get("contact.family_name").to_string(),
            email: form.get("contact.email").to_string(),
            phone: form.get("contact.phone").to_string(),
            job_title: form.optional("contact.job_title"),
        },
        billing_address: address_input(form, "billing_address"),
        service_address: ServiceAddressInput {
            same_as_billing: form.checked("service_address.same_as_billing"),
            address: address_input(form, "service_address"),
        },
        time_zone: form.optional("time_zone"),
    }
}

async fn create(State(state): State<AppState>, posted: Posted<WhiteLabelPortal>) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let input = customer_input(&fields);
    let mode = input.mode.clone();
    let no_render = |_: &CustomerRow| String::new();
    match state
        .app
        .create_customer(&portal.admin, &input, None, &no_render)
        .await
    {
        Ok(Creation::Created { customer, .. }) => {
            Redirect::to(&format!("/customers/{}/created", customer.id)).into_response()
        }
        Ok(Creation::Replayed { .. }) => Redirect::to("/customers").into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|field| field.to_string()) {
                Ok(()) => {
                    // The balance shown beside the form must be the current one.
                    let portal = refresh(&state, portal).await;
                    form_page(
                        &state,
                        &portal,
                        &mode,
                        form,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

async fn refresh(state: &AppState, mut portal: WhiteLabelPortal) -> WhiteLabelPortal {
    if let Ok(white_label) = state.app.white_label(&portal.admin).await {
        portal.white_label = white_label;
    }
    portal
}

/// A ledger entry as shown on a page.
pub(super) struct EntryLine {
    pub when: String,
    pub kind: String,
    pub description: String,
    pub customer: Option<(String, String)>,
    pub amount: String,
    pub tax: String,
    pub total: String,
    pub balance_after: String,
    pub paid_by: String,
    pub actor: String,
}

pub(super) fn entry_line(entry: &LedgerEntryRow, zone: &str) -> EntryLine {
    let kind = match entry.kind.as_str() {
        "top_up" => "Top-up",
        "charge" => "Charge",
        "refund" => "Refund",
        "adjustment" => "Adjustment",
        other => other,
    };
    EntryLine {
        when: local_time(entry.created_us, zone),
        kind: kind.to_string(),
        description: entry.description.clone(),
        customer: entry.customer_id.as_ref().map(|id| {
            (
                id.to_string(),
                entry
                    .customer_name
                    .clone()
                    .unwrap_or_else(|| id.to_string()),
            )
        }),
        amount: format_money(entry.amount_minor, &entry.currency),
        tax: format_money(entry.tax_minor, &entry.currency),
        total: format_money(entry.amount_minor + entry.tax_minor, &entry.currency),
        balance_after: format_money(entry.balance_after_minor, &entry.currency),
        paid_by: if entry.account_kind == "white_label" {
            "White label".into()
        } else {
            "Customer".into()
        },
        actor: entry.actor_label.clone(),
    }
}

/// A customer with everything its page shows, formatted.
struct CustomerView {
    id: String,
    account_number: String,
    legal_name: String,
    trading_name: Option<String>,
    business_number: Option<String>,
    tax_number: Option<String>,
    status: String,
    status_class: String,
    payer: String,
    plan: String,
    contact_name: String,
    contact_email: String,
    contact_phone: String,
    contact_job_title: Option<String>,
    billing_address: Vec<String>,
    service_address: Vec<String>,
    service_same: bool,
    time_zone: String,
    balance: String,
    created: String,
}

fn address_lines(address: &AddressRow) -> Vec<String> {
    let mut lines = vec![address.line1.clone()];
    lines.extend(address.line2.clone());
    lines.extend(address.suburb.clone());
    let city = match &address.region {
        Some(region) => format!("{} {}, {}", address.city, address.postcode, region),
        None => format!("{} {}", address.city, address.postcode),
    };
    lines.push(city);
    let country = Country::parse(&address.country)
        .map(|c| c.name().to_string())
        .unwrap_or_else(|_| address.country.clone());
    lines.push(country);
    lines
}

fn customer_view(row: &CustomerRow) -> CustomerView {
    let phone = Country::parse(&row.billing_address.country)
        .ok()
        .and_then(|country| tandem_domain::PhoneNumber::parse(&row.contact_phone, country).ok())
        .map(|p| p.format_international())
        .unwrap_or_else(|| row.contact_phone.clone());
    CustomerView {
        id: row.id.to_string(),
        account_number: display_account_number(&row.account_number),
        legal_name: row.legal_name.clone(),
        trading_name: row.trading_name.clone(),
        business_number: row.business_number.clone(),
        tax_number: row.tax_number.clone(),
        status: status_label(&row.status),
        status_class: row.status.clone(),
        payer: payer_label(&row.payer).to_string(),
        plan: row.plan_name.clone(),
        contact_name: format!("{} {}", row.contact_given_name, row.contact_family_name),
        contact_email: row.contact_email.clone(),
        contact_phone: phone,
        contact_job_title: row.contact_job_title.clone(),
        billing_address: address_lines(&row.billing_address),
        service_address: address_lines(&row.service_address),
        service_same: row.service_same_as_billing,
        time_zone: row.time_zone.clone(),
        balance: format_money(row.balance_minor, &row.currency),
        created: local_time(row.created_us, &row.time_zone),
    }
}

#[derive(Template)]
#[template(path = "customer.html")]
struct ShowPage {
    chrome: Chrome,
    customer: CustomerView,
    entries: Vec<EntryLine>,
    activation: Option<ActivationView>,
    pending: bool,
    form: Form,
}

/// A pending customer's activation, as the white label sees it.
struct ActivationView {
    state: String,
    expires: String,
    sent_to: String,
    mail_state: String,
}

fn activation_label(state: &str) -> String {
    match state {
        "queued" => "Activation email queued",
        "sent" => "Activation email sent",
        "opened" => "Link opened",
        "payment_started" => "Payment started",
        "payment_failed" => "Payment failed",
        "expired" => "Link expired",
        other => other,
    }
    .to_string()
}
async fn load(
    state: &AppState,
    portal: &WhiteLabelPortal,
    id: &str,
) -> Result<(CustomerRow, Vec<LedgerEntryRow>), Response> {
    let not_found = || {
        super::message_page(
            state,
            &portal.session.brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such customer.",
        )
    };
    let Ok(id) = CustomerId::parse(id) else {
        return Err(not_found());
    };
    let customer = match state.app.customer(&portal.admin, &id).await {
        Ok(customer) => customer,
        Err(tandem_app::AppError::NotFound(_)) => return Err(not_found()),
        Err(error) => return Err(error_page(state, &portal.session.brand, error)),
    };
    match state.app.customer_ledger(&portal.admin, &id, 100).await {
        Ok(entries) => Ok((customer, entries)),
        Err(error) => Err(error_page(state, &portal.session.brand, error)),
    }
}

async fn show(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Path(id): Path<String>,
) -> Response {
    show_page(&state, &portal, &id, Form::default(), None, StatusCode::OK).await
}

async fn show_page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    id: &str,
    form: Form,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let (customer, entries) = match load(state, portal, id).await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let activation = match state
        .app
        .activation_status(&portal.admin, &customer.id)
        .await
    {
        Ok(status) => status.map(|a| ActivationView {
            state: activation_label(&a.state),
            expires: a
                .expires_us
                .map(|us| local_time(us, &customer.time_zone))
                .unwrap_or_default(),
            sent_to: a.sent_to.unwrap_or_default(),
            mail_state: a.mail_state.unwrap_or_else(|| "not recorded".into()),
        }),
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let mut chrome = portal.chrome(state, &customer.legal_name, "/customers");
    chrome.flash = flash;
    let page = ShowPage {
        chrome,
        entries: entries
            .iter()
            .map(|e| entry_line(e, &customer.time_zone))
            .collect(),
        pending: customer.status == "pending_activation",
        customer: customer_view(&customer),
        activation,
        form,
    };
    (status, render(&page)).into_response()
}

async fn pending_action(
    state: &AppState,
    portal: &WhiteLabelPortal,
    id: &str,
    done: &str,
    result: Result<(), tandem_app::AppError>,
    fields: FormFields,
) -> Response {
    match result {
        Ok(()) => {
            show_page(
                state,
                portal,
                id,
                Form::default(),
                Some(done.to_string()),
                StatusCode::OK,
            )
            .await
        }
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    show_page(
                        state,
                        portal,
                        id,
                        form,
                        None,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(state, &portal.session.brand, error),
            }
        }
    }
}

fn parse_customer(id: &str) -> Result<CustomerId, tandem_app::AppError> {
    CustomerId::parse(id).map_err(|_| tandem_app::AppError::NotFound("customer"))
}

async fn resend_activation(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let result = match parse_customer(&id) {
        Ok(customer_id) => {
            state
                .app
                .resend_activation(&portal.admin, &customer_id)
                .await
        }
        Err(error) => Err(error),
    };
    let done = "A new activation link was sent; the previous one no longer works.";
    pending_action(&state, &portal, &id, done, result, form).await
}

async fn change_activation_email(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let email = form.get("contact.email").to_string();
    let result = match parse_customer(&id) {
        Ok(customer_id) => {
            state
                .app
                .change_activation_email(&portal.admin, &customer_id, &email)
                .await
        }
        Err(error) => Err(error),
    };
    let done = "The contact email was changed and a new activation link sent to it.";
    pending_action(&state, &portal, &id, done, result, form).await
}

async fn cancel_pending(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let reason = form.get("reason").to_string();
    let result = match parse_customer(&id) {
        Ok(customer_id) => {
            state
                .app
                .cancel_pending_customer(&portal.admin, &customer_id, &reason)
                .await
        }
        Err(error) => Err(error),
    };
    pending_action(
        &state,
        &portal,
        &id,
        "The pending account was cancelled.",
        result,
        form,
    )
    .await
}

async fn convert_to_managed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let result = match parse_customer(&id) {
        Ok(customer_id) => {
            state
                .app
                .convert_to_managed(&portal.admin, &customer_id)
                .await
        }
        Err(error) => Err(error),
    };
    let portal = refresh(&state, portal).await;
    let done =
        "The account is active and managed by you; its charges were debited from your balance.";
    pending_action(&state, &portal, &id, done, result, form).await
}
#[derive(Template)]
#[template(path = "customer_created.html")]
struct CreatedPage {
    chrome: Chrome,
    customer: CustomerView,
    entries: Vec<EntryLine>,
    white_label_balance: String,
}

async fn created(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Path(id): Path<String>,
) -> Response {
    let (customer, entries) = match load(&state, &portal, &id).await {
        Ok(loaded) => loaded,
        Err(response) => return response,
    };
    let wl = &portal.white_label;
    let page = CreatedPage {
        chrome: portal.chrome(&state, "Customer created", "/customers"),
        entries: entries
            .iter()
            .map(|e| entry_line(e, &customer.time_zone))
            .collect(),
        white_label_balance: format_money(wl.balance_minor, &wl.currency),
        customer: customer_view(&customer),
    };
    render(&page)
}
