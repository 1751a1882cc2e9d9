//! Plans: list, create, edit and retire.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::plans::PlanInput;
use tandem_domain::{Currency, Money, PlanId, TaxRate};

use super::forms::{FormFields, Posted};
use super::{error_page, render, Chrome, Form, WhiteLabelPortal};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/plans", get(list).post(create))
        .route("/plans/new", get(new_form))
        .route("/plans/{id}", get(edit_form).post(update))
        .route("/plans/{id}/retire", post(retire))
}

/// Formats a price as the white label shows prices: with tax added, or plus tax.
pub(super) fn price(
    minor: i64,
    currency: &str,
    show_tax: bool,
    tax_bp: i64,
    tax_name: &str,
) -> String {
    let Ok(currency) = Currency::parse(currency) else {
        return format!("{minor} {currency}");
    };
    if show_tax {
        let tax = TaxRate::from_basis_points(tax_bp as u32).tax_on(minor);
        format!(
            "{} incl. {tax_name}",
            Money::new(minor + tax, currency).format()
        )
    } else {
        format!("{} + {tax_name}", Money::new(minor, currency).format())
    }
}

/// A plan as a row of the list.
struct PlanLine {
    id: String,
    name: String,
    description: String,
    retired: bool,
    setup_fee: String,
    monthly_fee: String,
    included_extensions: i64,
    extra_extension_fee: String,
    number_rental: String,
    min_opening_credit: String,
    customers: i64,
}

#[derive(Template)]
#[template(path = "plans.html")]
struct ListPage {
    chrome: Chrome,
    plans: Vec<PlanLine>,
    tax_note: String,
}

async fn list(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    let plans = match state.app.list_plans(&portal.admin, true).await {
        Ok(plans) => plans,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let wl = &portal.white_label;
    let p = |minor: i64, currency: &str| {
        price(
            minor,
            currency,
            wl.show_prices_with_tax,
            wl.tax_rate_bp,
            &wl.tax_name,
        )
    };
    let lines = plans
        .iter()
        .map(|plan| PlanLine {
            id: plan.id.to_string(),
            name: plan.name.clone(),
            description: plan.description.clone(),
            retired: plan.status == "retired",
            setup_fee: p(plan.setup_fee_minor, &plan.currency),
            monthly_fee: p(plan.monthly_fee_minor, &plan.currency),
            included_extensions: plan.included_extensions,
            extra_extension_fee: p(plan.extra_extension_fee_minor, &plan.currency),
            number_rental: p(plan.number_rental_minor, &plan.currency),
            min_opening_credit: Money::new(
                plan.min_opening_credit_minor,
                Currency::parse(&plan.currency).unwrap_or(Currency::NZD),
            )
            .format(),
            customers: plan.customer_count,
        })
        .collect();
    let tax_note = if wl.show_prices_with_tax {
        format!(
            "Prices include {} at {}.",
            wl.tax_name,
            TaxRate::from_basis_points(wl.tax_rate_bp as u32)
        )
    } else {
        format!(
            "Prices exclude {}, charged at {}.",
            wl.tax_name,
            TaxRate::from_basis_points(wl.tax_rate_bp as u32)
        )
    };
    render(&ListPage {
        chrome: portal.chrome(&state, "Plans", "/plans"),
        plans: lines,
        tax_note,
    })
}

#[derive(Template)]
#[template(path = "plan_form.html")]
struct FormPage {
    chrome: Chrome,
    form: Form,
    action: String,
    heading: String,
    currency: String,
    version: i64,
    tax_note: String,
}

fn form_page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    form: Form,
    plan: Option<(&PlanId, i64)>,
    status: StatusCode,
) -> Response {
    let wl = &portal.white_label;
    let (action, heading, version) = match plan {
        Some((id, version)) => (format!("/plans/{id}"), "Edit plan".to_string(), version),
        None => ("/plans".to_string(), "New plan".to_string(), 0),
    };
    let page = FormPage {
        chrome: portal.chrome(state, &heading, "/plans"),
        form,
        action,
        heading,
        currency: wl.currency.clone(),
        version,
        tax_note: format!(
            "Enter amounts without {}; it is added at {} when charged.",
            wl.tax_name,
            TaxRate::from_basis_points(wl.tax_rate_bp as u32)
        ),
    };
    (status, render(&page)).into_response()
}

fn plan_values(input: &PlanInput) -> Form {
    let mut form = Form::default();
    for (key, value) in [
        ("name", &input.name),
        ("description", &input.description),
        ("setup_fee", &input.setup_fee),
        ("monthly_fee", &input.monthly_fee),
        ("included_extensions", &input.included_extensions),
        ("extra_extension_fee", &input.extra_extension_fee),
        ("number_rental", &input.number_rental),
        ("min_opening_credit", &input.min_opening_credit),
    ] {
        form.values.insert(key.to_string(), value.clone());
    }
    form
}

fn plan_input(form: &FormFields) -> PlanInput {
    PlanInput {
        name: form.get("name").to_string(),
        description: form.get("description").to_string(),
        setup_fee: form.get("setup_fee").to_string(),
        monthly_fee: form.get("monthly_fee").to_string(),
        included_extensions: form.get("included_extensions").to_string(),
        extra_extension_fee: form.get("extra_extension_fee").to_string(),
        number_rental: form.get("number_rental").to_string(),
        min_opening_credit: form.get("min_opening_credit").to_string(),
    }
}

async fn new_form(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    let defaults = PlanInput {
        setup_fee: "0.00".into(),
        monthly_fee: "0.00".into(),
        included_extensions: "1".into(),
        extra_extension_fee: "0.00".into(),
        number_rental: "0.00".into(),
        min_opening_credit: "0.00".into(),
        ..PlanInput::default()
    };
    form_page(
        &state,
        &portal,
        plan_values(&defaults),
        None,
        StatusCode::OK,
    )
}

async fn create(State(state): State<AppState>, posted: Posted<WhiteLabelPortal>) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    match state
        .app
        .create_plan(&portal.admin, &plan_input(&fields))
        .await
    {
        Ok(_) => Redirect::to("/plans").into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => form_page(
                    &state,
                    &portal,
                    form,
                    None,
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

fn plan_id(state: &AppState, portal: &WhiteLabelPortal, raw: &str) -> Result<PlanId, Response> {
    PlanId::parse(raw).map_err(|_| {
        super::message_page(
            state,
            &portal.session.brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such plan.",
        )
    })
}

async fn edit_form(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Path(id): Path<String>,
) -> Response {
    let id = match plan_id(&state, &portal, &id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match state.app.plan(&portal.admin, &id).await {
        Ok(plan) if plan.status == "active" => form_page(
            &state,
            &portal,
            plan_values(&PlanInput::from_row(&plan)),
            Some((&id, plan.version)),
            StatusCode::OK,
        ),
        Ok(plan) => super::message_page(
            &state,
            &portal.session.brand,
            StatusCode::CONFLICT,
            "Retired plan",
            &format!(
                "Plan '{}' is retired and can no longer be edited.",
                plan.name
            ),
        ),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let id = match plan_id(&state, &portal, &id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    let version: i64 = fields.get("version").parse().unwrap_or(0);
    match state
        .app
        .update_plan(&portal.admin, &id, version, &plan_input(&fields))
        .await
    {
        Ok(_) => Redirect::to("/plans").into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => form_page(
                    &state,
                    &portal,
                    form,
                    Some((&id, version)),
                    StatusCode::UNPROCESSABLE_ENTITY,
                ),
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

async fn retire(
    State(state): State<AppState>,
    Path(id): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let portal = posted.ctx;
    let id = match plan_id(&state, &portal, &id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    match state.app.retire_plan(&portal.admin, &id).await {
        Ok(_) => Redirect::to("/plans").into_response(),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}
