//! The white label's own settings and branding, edited by its administrators.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::white_labels::{WhiteLabelInput, MAX_LOGO_BYTES};

use super::forms::{tokens_match, FormFields, Posted, CSRF_FIELD};
use super::{error_page, render, Chrome, Form, WhiteLabelPortal};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show).post(update))
        .route("/settings/logo", post(upload_logo))
        .route("/settings/two-factor", post(update_two_factor))
}

/// Turns white-label settings into form values.
pub(super) fn settings_form(input: &WhiteLabelInput) -> Form {
    let mut form = Form::default();
    for (key, value) in [
        ("name", input.name.clone()),
        ("hosts", input.hosts.clone()),
        ("country", input.country.clone()),
        ("currency", input.currency.clone()),
        ("support_email", input.support_email.clone()),
        (
            "support_phone",
            input.support_phone.clone().unwrap_or_default(),
        ),
        ("primary_colour", input.primary_colour.clone()),
        ("terms_url", input.terms_url.clone().unwrap_or_default()),
        ("tax_name", input.tax_name.clone()),
        ("tax_rate_percent", input.tax_rate_percent.clone()),
    ] {
        form.values.insert(key.to_string(), value);
    }
    if input.show_prices_with_tax {
        form.values
            .insert("show_prices_with_tax".into(), "on".into());
    }
    form
}

/// Reads white-label settings from a submitted form.
pub(super) fn settings_input(form: &FormFields) -> WhiteLabelInput {
    WhiteLabelInput {
        name: form.get("name").to_string(),
        hosts: form.get("hosts").to_string(),
        country: form.get("country").to_string(),
        currency: form.get("currency").to_string(),
        support_email: form.get("support_email").to_string(),
        support_phone: form.optional("support_phone"),
        primary_colour: form.get("primary_colour").to_string(),
        terms_url: form.optional("terms_url"),
        tax_name: form.get("tax_name").to_string(),
        tax_rate_percent: form.get("tax_rate_percent").to_string(),
        show_prices_with_tax: form.checked("show_prices_with_tax"),
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    chrome: Chrome,
    form: Form,
    version: i64,
    logo_href: Option<String>,
    logo_error: Option<String>,
    max_logo_kib: usize,
    /// Whether administrators and Account Administrators must sign in with a second factor.
    require_two_factor: bool,
}

async fn page(
    state: &AppState,
    portal: &WhiteLabelPortal,
    form: Form,
    logo_error: Option<String>,
    status: StatusCode,
) -> Response {
    let wl = &portal.white_label;
    let require_two_factor = match state.app.two_factor_requirement(&portal.admin).await {
        Ok(required) => required,
        Err(error) => return error_page(state, &portal.session.brand, error),
    };
    let page = SettingsPage {
        chrome: portal.chrome(state, "Settings", "/settings"),
        form,
        version: wl.version,
        logo_href: wl.has_logo.then(|| super::logo_path(wl)),
        logo_error,
        max_logo_kib: MAX_LOGO_BYTES / 1024,
        require_two_factor,
    };
    (status, render(&page)).into_response()
}

async fn show(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    let form = settings_form(&WhiteLabelInput::from_row(&portal.white_label));
    page(&state, &portal, form, None, StatusCode::OK).await
}

async fn update(State(state): State<AppState>, posted: Posted<WhiteLabelPortal>) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let version: i64 = fields.get("version").parse().unwrap_or(0);
    match state
        .app
        .update_white_label(&portal.admin, version, &settings_input(&fields))
        .await
    {
        Ok(_) => Redirect::to("/settings").into_response(),
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| f.to_string()) {
                Ok(()) => {
                    page(
                        &state,
                        &portal,
                        form,
                        None,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(&state, &portal.session.brand, error),
            }
        }
    }
}

async fn upload_logo(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    mut multipart: Multipart,
) -> Response {
    let mut csrf = String::new();
    let mut bytes = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                match name.as_str() {
                    CSRF_FIELD => csrf = field.text().await.unwrap_or_default(),
                    "logo" => bytes = field.bytes().await.ok(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(_) => {
                let form = settings_form(&WhiteLabelInput::from_row(&portal.white_label));
                let message = format!(
                    "the upload could not be read: the limit is {} KiB",
                    MAX_LOGO_BYTES / 1024
                );
                return page(
                    &state,
                    &portal,
                    form,
                    Some(message),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    }
    if !tokens_match(&csrf, &portal.session.csrf_token) {
        return super::forms::csrf_failure();
    }
    let bytes = bytes.unwrap_or_default();
    match state.app.set_white_label_logo(&portal.admin, &bytes).await {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(tandem_app::AppError::Invalid(errors)) => {
            let form = settings_form(&WhiteLabelInput::from_row(&portal.white_label));
            let message = errors.first().map(|e| e.message.clone());
            page(
                &state,
                &portal,
                form,
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

async fn update_two_factor(
    State(state): State<AppState>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    let Posted {
        ctx: portal,
        form: fields,
    } = posted;
    let required = fields.checked("require_two_factor");
    match state
        .app
        .set_two_factor_requirement(&portal.admin, required)
        .await
    {
        Ok(()) => Redirect::to("/settings").into_response(),
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}
