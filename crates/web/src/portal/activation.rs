//! Pages a new customer sees on the white label's host: the activation page, the built-in test
//! gateway's payment page, and the page they return to after paying.

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use tandem_app::activation::{ActivationInput, ActivationReturn, ActivationView};
use tandem_app::AppError;
use tandem_domain::{Money, PaymentId, TaxRate};

use super::forms::{anonymous_csrf, cookie_header, read_anonymous_form, CSRF_FIELD};
use super::{message_page, render, Chrome, Form};
use crate::api::format_money;
use crate::extract::{cookie, Brand, ClientIp, PRE_SESSION_CSRF_COOKIE, SESSION_COOKIE};
use crate::AppState;

/// The cookie that proves a returning browser is the one that started the payment.
const PAYMENT_RETURN_COOKIE: &str = "tandem_payment_return";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/activate/{token}", get(show).post(submit))
        .route("/activate/return/{payment_id}", get(returned))
        .route("/pay/test/{payment_id}", get(test_page).post(test_decide))
}

fn no_white_label(state: &AppState, brand: &Brand) -> Response {
    message_page(
        state,
        brand,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is nothing to activate here.",
    )
}

/// A charge line on the activation page.
struct ChargeLine {
    label: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "activation.html")]
struct ActivationPage {
    chrome: Chrome,
    form: Form,
    token: String,
    legal_name: String,
    account_number: String,
    plan_name: String,
    charges: Vec<ChargeLine>,
    opening_charges: String,
    credit_hint: String,
    terms_url: Option<String>,
    white_label_name: String,
    last_failure: Option<String>,
    email: String,
}

async fn page(
    state: &AppState,
    brand: &Brand,
    token: &str,
    mut form: Form,
    csrf: &str,
    status: StatusCode,
) -> Response {
    let Some(white_label) = &brand.white_label else {
        return no_white_label(state, brand);
    };
    let view = match state.app.open_activation(&white_label.id, token).await {
        Ok(view) => view,
        Err(error) => return super::error_page(state, brand, error),
    };
    let details = match view {
        ActivationView::Ready(details) => details,
        ActivationView::Used => {
            return message_page(state, brand, StatusCode::GONE, "This link has already been used",
                "This account is already activated. Sign in with the email address and password you chose.")
        }
        ActivationView::Expired { support_email } => {
            return message_page(state, brand, StatusCode::GONE, "This link has expired",
                &format!("Activation links work for a limited time, and only the newest one works. Ask {} for a new link at {support_email}.", white_label.name))
        }
        ActivationView::NotFound => {
            return message_page(state, brand, StatusCode::NOT_FOUND, "This link is not valid",
                &format!("Check that you copied the whole link from the email. If it still does not work, ask {} for a new one at {}.", white_label.name, white_label.support_email))
        }
    };
    let currency = details.opening_charges.currency();
    let tax = TaxRate::from_basis_points(details.white_label.tax_rate_bp as u32);
    let with_tax = |minor: i64| Money::new(minor + tax.tax_on(minor), currency).format();
    let plan = &details.plan;
    let tax_label = format!("incl. {} {}", details.white_label.tax_name, tax);
    let charges = vec![
        ChargeLine {
            label: format!("Setup fee ({tax_label})"),
            amount: with_tax(plan.setup_fee_minor),
        },
        ChargeLine {
            label: format!("First month of the {} plan ({tax_label})", plan.name),
            amount: with_tax(plan.monthly_fee_minor),
        },
    ];
    if form.v("given_name").is_empty() && !form.has_errors() {
        form.values.insert(
            "given_name".into(),
            details.customer.contact_given_name.clone(),
        );
        form.values.insert(
            "family_name".into(),
            details.customer.contact_family_name.clone(),
        );
        form.values.insert(
            "opening_credit".into(),
            details.minimum_credit.format_plain(),
        );
    }
    let page = ActivationPage {
        chrome: Chrome::anonymous(
            brand,
            &state.settings.platform_name,
            "Activate your account",
            csrf,
        ),
        form,
        token: token.to_string(),
        legal_name: details.customer.legal_name.clone(),
        account_number: tandem_domain::AccountNumber::parse(&details.customer.account_number)
            .map(|n| n.display())
            .unwrap_or_default(),
        plan_name: plan.name.clone(),
        charges,
        opening_charges: details.opening_charges.format(),
        credit_hint: format!("At least {}", details.minimum_credit.format()),
        terms_url: details.white_label.terms_url.clone(),
        white_label_name: details.white_label.name.clone(),
        last_failure: details.last_payment_failed.clone(),
        email: details.customer.contact_email.clone(),
    };
    let mut response = (status, render(&page)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(state, PRE_SESSION_CSRF_COOKIE, csrf, 3600),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn show(
    State(state): State<AppState>,
    brand: Brand,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let csrf = anonymous_csrf(&parts);
    page(
        &state,
        &brand,
        &token,
        Form::default(),
        &csrf,
        StatusCode::OK,
    )
    .await
}

async fn submit(
    State(state): State<AppState>,
    brand: Brand,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let Some(white_label) = brand.white_label.clone() else {
        return no_white_label(&state, &brand);
    };
    let (fields, csrf) = match read_anonymous_form(&state, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let input = ActivationInput {
        given_name: get("given_name"),
        family_name: get("family_name"),
        password: get("password"),
        password_confirmation: get("password_confirmation"),
        accept_terms: get("accept_terms") == "on",
        opening_credit: get("opening_credit"),
    };
    match state
        .app
        .start_activation_payment(&white_label.id, &token, &input)
        .await
    {
        Ok(started) => {
            let mut response = Redirect::to(&started.redirect_url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie_header(
                    &state,
                    PAYMENT_RETURN_COOKIE,
                    &started.return_secret,
                    86_400,
                ),
            );
            response
        }
        Err(error) => {
            let mut form = Form::with_values(
                fields
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("password") && k != CSRF_FIELD)
                    .collect(),
            );
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    page(
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
#[template(path = "activation_return.html")]
struct ReturnPage {
    chrome: Chrome,
    heading: String,
    message: String,
    retry: bool,
    sign_in: bool,
    refresh: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ReturnQuery {
    cancelled: Option<String>,
}

async fn returned(
    State(state): State<AppState>,
    brand: Brand,
    ClientIp(ip): ClientIp,
    Path(payment_id): Path<String>,
    Query(query): Query<ReturnQuery>,
    request: Request,
) -> Response {
    let Some(white_label) = brand.white_label.clone() else {
        return no_white_label(&state, &brand);
    };
    let Ok(payment_id) = PaymentId::parse(&payment_id) else {
        return message_page(
            &state,
            &brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such payment.",
        );
    };
    let (parts, _) = request.into_parts();
    let secret = cookie(&parts, PAYMENT_RETURN_COOKIE);
    let outcome = state
        .app
        .activation_return(
            &white_label.id,
            &payment_id,
            secret.as_deref(),
            ip.as_deref(),
        )
        .await;
    let page =
        |heading: &str, message: String, retry: bool, sign_in: bool, refresh: bool| ReturnPage {
            chrome: Chrome::anonymous(&brand, &state.settings.platform_name, heading, ""),
            heading: heading.to_string(),
            message,
            retry,
            sign_in,
            refresh,
        };
    match outcome {
        Ok(ActivationReturn::SignedIn(session)) => {
            let mut response = Redirect::to("/account?welcome=1").into_response();
            let headers = response.headers_mut();
            headers.append(header::SET_COOKIE, cookie_header(&state, SESSION_COOKIE, &session.token, 12 * 3600));
            headers.append(header::SET_COOKIE, cookie_header(&state, PAYMENT_RETURN_COOKIE, "", 0));
            response
        }
        Ok(ActivationReturn::Activated) => render(&page("Your account is active", "Your payment was received and your account is active. Sign in with your email address and password.".into(), false, true, false)),
        Ok(ActivationReturn::Pending) if query.cancelled.is_some() => render(&page("Payment not completed", "You left the payment page before paying. Go back to the link in your activation email to try again.".into(), true, false, false)),
        Ok(ActivationReturn::Pending) => render(&page("Waiting for your payment", "We have not yet heard from the payment provider. This page checks again when you reload it.".into(), false, false, true)),
        Ok(ActivationReturn::Failed { reason }) => render(&page("The payment did not go through", format!("The payment provider said: {}. Nothing was charged. Open the link in your activation email again to retry.", reason.trim_end_matches('.')), true, false, false)),
        Ok(ActivationReturn::Held) => render(&page("Your payment is being checked", format!("Your payment was received but needs a check by {} before your account opens. They will be in touch.", white_label.name), false, false, false)),
        Err(AppError::NotFound(_)) => message_page(&state, &brand, StatusCode::NOT_FOUND, "Not found", "There is no such payment."),
        Err(error) => super::error_page(&state, &brand, error),
    }
}

#[derive(Template)]
#[template(path = "test_gateway.html")]
struct TestGatewayPage {
    chrome: Chrome,
    payment_id: String,
    amount: String,
    customer: String,
    white_label_name: String,
    pending: bool,
    state: String,
}

async fn test_page(
    State(state): State<AppState>,
    brand: Brand,
    Path(payment_id): Path<String>,
    request: Request,
) -> Response {
    let Some(white_label) = brand.white_label.clone() else {
        return no_white_label(&state, &brand);
    };
    let Ok(id) = PaymentId::parse(&payment_id) else {
        return message_page(
            &state,
            &brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such payment.",
        );
    };
    let payment = match state.app.test_gateway_payment(&white_label.id, &id).await {
        Ok(payment) => payment,
        Err(error) => return super::error_page(&state, &brand, error),
    };
    let (parts, _) = request.into_parts();
    let csrf = anonymous_csrf(&parts);
    let page = TestGatewayPage {
        chrome: Chrome::anonymous(&brand, &state.settings.platform_name, "Test payment", &csrf),
        payment_id: payment.id.to_string(),
        amount: format_money(payment.amount_minor, &payment.currency),
        customer: payment.customer_name.clone().unwrap_or_default(),
        white_label_name: white_label.name.clone(),
        // A superseded payment can still be paid, as a real gateway's open checkout can.
        pending: payment.state == "pending" || payment.state == "superseded",
        state: payment.state.clone(),
    };
    let mut response = render(&page);
    response.headers_mut().append(
        header::SET_COOKIE,
        cookie_header(&state, PRE_SESSION_CSRF_COOKIE, &csrf, 3600),
    );
    response
}

async fn test_decide(
    State(state): State<AppState>,
    brand: Brand,
    Path(payment_id): Path<String>,
    request: Request,
) -> Response {
    let Some(white_label) = brand.white_label.clone() else {
        return no_white_label(&state, &brand);
    };
    let Ok(id) = PaymentId::parse(&payment_id) else {
        return message_page(
            &state,
            &brand,
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such payment.",
        );
    };
    let (fields, _) = match read_anonymous_form(&state, request).await {
        Ok(read) => read,
        Err(response) => return response,
    };
    let approve = fields
        .iter()
        .any(|(k, v)| k == "decision" && v == "approve");
    match state
        .app
        .test_gateway_decide(&white_label.id, &id, approve)
        .await
    {
        Ok(_) => Redirect::to(&format!("/activate/return/{id}")).into_response(),
        Err(error) => super::error_page(&state, &brand, error),
    }
}
