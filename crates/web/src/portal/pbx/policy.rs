//! The outbound policy page: which classes of number the account's phones may call, how many
//! outbound calls may run at once, and the dial rules that rewrite dialled digits.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tandem_app::AppError;
use tandem_domain::pbx::DestinationClass;

use super::fields::{self, Labels, Values};
use super::{AccountHead, PbxPortal};
use crate::portal::forms::Posted;
use crate::portal::{render, Chrome, Form};
use crate::AppState;

/// A destination class checkbox.
struct ClassChoice {
    name: String,
    label: &'static str,
    hint: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "pbx_policy.html")]
struct PolicyPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    action: String,
    form: Form,
    classes: Vec<ClassChoice>,
    /// The configuration's warnings after a save, such as a dial rule that would capture an
    /// emergency number.
    warnings: Vec<String>,
}

fn class_hint(class: DestinationClass) -> &'static str {
    match class {
        DestinationClass::International | DestinationClass::Premium => {
            "Off unless the account needs it: these calls are the usual target of toll fraud."
        }
        _ => "",
    }
}

fn page(
    state: &AppState,
    portal: &PbxPortal,
    form: Form,
    flash: Option<String>,
    warnings: Vec<String>,
    status: StatusCode,
) -> Response {
    let mut chrome = portal.chrome(state, "Outbound policy");
    chrome.flash = flash;
    let classes = DestinationClass::ALL
        .into_iter()
        .map(|class| {
            let name = fields::class_field(class);
            ClassChoice {
                checked: form.on(&name),
                name,
                label: class.label(),
                hint: class_hint(class),
            }
        })
        .collect();
    let page = PolicyPage {
        chrome,
        account: portal.head(),
        active: "outbound-policy",
        action: format!("{}/outbound-policy", portal.base()),
        form,
        classes,
        warnings,
    };
    (status, render(&page)).into_response()
}

pub(super) async fn show(State(state): State<AppState>, portal: PbxPortal) -> Response {
    match state.app.outbound_policy(&portal.op).await {
        Ok(policy) => {
            let form = Form::with_values(fields::policy_values(&policy));
            page(&state, &portal, form, None, Vec::new(), StatusCode::OK)
        }
        Err(error) => portal.error(&state, error),
    }
}

fn with_error(
    state: &AppState,
    portal: &PbxPortal,
    values: Values,
    error: AppError,
    labels: &Labels,
) -> Response {
    let mut form = Form::with_values(values);
    match fields::absorb(&mut form, error, labels) {
        Ok(()) => {
            let status = super::error_status(&form);
            page(state, portal, form, None, Vec::new(), status)
        }
        Err(error) => portal.error(state, error),
    }
}

/// Saves the policy and shows it again with the warnings of the account's whole
/// configuration, which are not stored anywhere to be shown later.
pub(super) async fn save(State(state): State<AppState>, posted: Posted<PbxPortal>) -> Response {
    let Posted { ctx: portal, form } = posted;
    let values = form.into_values();
    let parsed = fields::policy_input(&values);
    if !parsed.errors.is_empty() {
        let error = AppError::Invalid(parsed.errors);
        return with_error(&state, &portal, values, error, &Labels::default());
    }
    match state
        .app
        .save_outbound_policy(&portal.op, &parsed.input)
        .await
    {
        Ok((policy, warnings)) => {
            let form = Form::with_values(fields::policy_values(&policy));
            let flash = format!("Outbound policy saved (version {}).", policy.version);
            let warnings = warnings.into_iter().map(|w| w.message).collect();
            page(&state, &portal, form, Some(flash), warnings, StatusCode::OK)
        }
        Err(error) => with_error(&state, &portal, values, error, &parsed.labels),
    }
}
