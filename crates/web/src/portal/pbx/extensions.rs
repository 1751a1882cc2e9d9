//! The extension pages beyond the shared list and forms: creating an extension after its
//! charges are confirmed, showing a new SIP password once, and importing extensions from CSV.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tandem_app::pbx::{ChargePreview, ObjectView, Saved};
use tandem_app::{AppError, FieldError};
use tandem_domain::pbx::ObjectKind;

use super::fields::{self, Values};
use super::form::{form_page, Choice};
use super::upload::Upload;
use super::{form_with_error, layout_errors, load_object, AccountHead, PbxPortal};
use crate::api::format_money;
use crate::portal::forms::{Posted, CSRF_FIELD};
use crate::portal::{render, Chrome, Form};
use crate::AppState;

/// Lists the account's users for the extension form's user select. Returns `None` when the
/// caller may not list them (a Tech may configure extensions but not see the team), so that
/// the form takes a user id as text.
pub(super) async fn user_choices(state: &AppState, portal: &PbxPortal) -> Option<Vec<Choice>> {
    let admin = portal
        .session
        .principal
        .team_admin(&portal.white_label.id, Some(&portal.customer.id))
        .ok()?;
    match state.app.team(&admin).await {
        Ok(team) => Some(
            team.members
                .iter()
                .map(|member| Choice {
                    value: member.user_id.to_string(),
                    label: if member.state == "active" {
                        format!("{} ({})", member.name, member.email)
                    } else {
                        format!("{} ({}, {})", member.name, member.email, member.state)
                    },
                })
                .collect(),
        ),
        Err(AppError::Forbidden(_)) => None,
        Err(error) => {
            tracing::warn!(%error, customer_id = %portal.customer.id,
                "listing the account's users failed; the extension form asks for a user id");
            None
        }
    }
}

/// Lists the account's numbers for the caller ID select.
pub(super) async fn caller_id_choices(
    state: &AppState,
    portal: &PbxPortal,
) -> Result<Vec<Choice>, AppError> {
    let choice = |e164: &str, live: bool| Choice {
        value: e164.to_owned(),
        label: if live {
            fields::readable_number(e164)
        } else {
            format!("{} (port not complete)", fields::readable_number(e164))
        },
    };
    match state.app.account_numbers(&portal.op).await {
        Ok(numbers) => Ok(numbers
            .iter()
            .map(|number| choice(&number.number, number.live))
            .collect()),
        // The numbers listing needs Manage numbers, which a Tech lacks, so the numbers are
        // read from the account's configuration instead.
        Err(AppError::Forbidden(_)) => {
            let (_, config) = state.app.routing_table(&portal.op).await?;
            Ok(config
                .numbers
                .iter()
                .map(|number| choice(&number.number, number.live))
                .collect())
        }
        Err(error) => Err(error),
    }
}

// ---------------------------------------------------------------------------------------------
// Creating an extension, after its charges are confirmed
// ---------------------------------------------------------------------------------------------

/// One charge as a row of the confirmation page.
struct ChargeLine {
    description: String,
    amount: String,
    tax: String,
}

#[derive(Template)]
#[template(path = "pbx_charges.html")]
struct ChargesPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    action: String,
    /// True when the charges differ from those the user confirmed a moment before.
    changed: bool,
    items: Vec<ChargeLine>,
    total: String,
    total_minor: i64,
    payer: String,
    balance: String,
    covered: bool,
    /// The posted fields, sent again with the confirmation.
    hidden: Vec<(String, String)>,
}

fn charges_page(
    state: &AppState,
    portal: &PbxPortal,
    charges: &ChargePreview,
    values: &Values,
    changed: bool,
) -> Response {
    let money = |minor| format_money(minor, &charges.currency);
    let payer = if charges.payer == "white_label" {
        format!("{}, the provider, pays these charges", charges.payer_name)
    } else {
        format!("{} pays these charges", charges.payer_name)
    };
    let mut hidden: Vec<(String, String)> = values
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "confirm" | "confirmed_total" | "edit"))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    hidden.sort();
    let page = ChargesPage {
        chrome: portal.chrome(state, "Confirm the charges"),
        account: portal.head(),
        active: "extensions",
        action: format!("{}/extensions", portal.base()),
        changed,
        items: charges
            .items
            .iter()
            .map(|item| ChargeLine {
                description: item.description.clone(),
                amount: money(item.amount_minor),
                tax: money(item.tax_minor),
            })
            .collect(),
        total: money(charges.total_minor),
        total_minor: charges.total_minor,
        payer,
        balance: money(charges.balance_minor),
        covered: charges.covered,
        hidden,
    };
    render(&page)
}

/// Creates an extension. A first dry run shows what the extension would cost. When it costs
/// anything, a confirmation page lists the charges and posts the same fields again with
/// `confirm=1` and the total confirmed, and only then is the extension created.
pub(super) async fn create(State(state): State<AppState>, posted: Posted<PbxPortal>) -> Response {
    let Posted { ctx: portal, form } = posted;
    let values = form.into_values();
    if values.contains_key("edit") {
        let form = Form::with_values(values);
        return form_page(&state, &portal, None, form, None, StatusCode::OK).await;
    }

    let parsed = fields::object_input(ObjectKind::Extension, &values);
    if !parsed.errors.is_empty() {
        return layout_errors(&state, &portal, None, values, parsed).await;
    }
    let app = &state.app;
    let preview = app
        .create_pbx_object(&portal.op, ObjectKind::Extension, &parsed.input, true)
        .await;
    let preview = match preview {
        Ok(preview) => preview,
        Err(error) => {
            return form_with_error(&state, &portal, None, values, error, &parsed.labels).await
        }
    };

    let total = preview.charges.total_minor;
    if total > 0 {
        let confirmed = values.get("confirm").is_some_and(|v| v == "1");
        let confirmed_total = values.get("confirmed_total").and_then(|v| v.parse().ok());
        if !confirmed || confirmed_total != Some(total) {
            let changed = confirmed;
            return charges_page(&state, &portal, &preview.charges, &values, changed);
        }
    }

    let created = app
        .create_pbx_object(&portal.op, ObjectKind::Extension, &parsed.input, false)
        .await;
    match created {
        Ok(saved) => created_page(&state, &portal, saved),
        Err(error) => form_with_error(&state, &portal, None, values, error, &parsed.labels).await,
    }
}

// ---------------------------------------------------------------------------------------------
// The SIP password, shown once
// ---------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "pbx_sip_password.html")]
struct PasswordPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    heading: String,
    username: String,
    domain: String,
    password: String,
    /// The charges posted for a new extension, such as an extension beyond the plan's.
    charged: Option<String>,
    warnings: Vec<String>,
    edit_href: String,
    list_href: String,
}

fn password_page(
    state: &AppState,
    portal: &PbxPortal,
    heading: String,
    object: &ObjectView,
    password: String,
    charged: Option<String>,
    warnings: Vec<String>,
) -> Response {
    let list_href = format!("{}/extensions", portal.base());
    let (username, domain) = object
        .sip
        .as_ref()
        .map(|sip| (sip.username.clone(), sip.domain.clone()))
        .unwrap_or_default();
    let page = PasswordPage {
        chrome: portal.chrome(state, &heading),
        account: portal.head(),
        active: "extensions",
        heading,
        username,
        domain,
        password,
        charged,
        warnings,
        edit_href: format!("{list_href}/{}", object.id),
        list_href,
    };
    render(&page)
}

fn created_page(state: &AppState, portal: &PbxPortal, saved: Saved) -> Response {
    let Some(password) = saved.sip_password else {
        // A new extension always gets a password: the one given, or a generated one.
        let error = AppError::Internal("a new extension came back without its password".into());
        return portal.error(state, error);
    };
    let charges = &saved.charges;
    let charged = (charges.total_minor > 0).then(|| {
        format!(
            "{} was charged to {}.",
            format_money(charges.total_minor, &charges.currency),
            charges.payer_name
        )
    });
    let heading = format!(
        "Extension {} created",
        saved.object.short_number.as_deref().unwrap_or("")
    );
    let warnings = saved.warnings.into_iter().map(|w| w.message).collect();
    password_page(
        state,
        portal,
        heading,
        &saved.object,
        password,
        charged,
        warnings,
    )
}

/// Sets a new SIP password for an extension and shows it once.
pub(super) async fn reset_password(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    posted: Posted<PbxPortal>,
) -> Response {
    let portal = posted.ctx;
    let view = match load_object(&state, &portal, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    match state.app.reset_sip_password(&portal.op, &view.id).await {
        Ok(password) => {
            let heading = format!(
                "New SIP password for extension {}",
                view.short_number.as_deref().unwrap_or("")
            );
            password_page(&state, &portal, heading, &view, password, None, Vec::new())
        }
        Err(error) => portal.error(&state, error),
    }
}

// ---------------------------------------------------------------------------------------------
// Importing extensions from CSV
// ---------------------------------------------------------------------------------------------

/// A created row of the import report.
struct ImportedLine {
    line: usize,
    number: String,
    href: String,
    /// The generated password, shown once; `None` when the file gave the password.
    password: Option<String>,
}

/// A rejected row of the import report.
struct RejectedLine {
    line: usize,
    input: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "pbx_import.html")]
struct ImportPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    action: String,
    list_href: String,
    form: Form,
    /// The SIP domain the imported extensions register in.
    domain: String,
    created: Vec<ImportedLine>,
    rejected: Vec<RejectedLine>,
    /// Whether an import ran, which distinguishes an empty report from no report.
    imported: bool,
    /// What the import charged for extensions beyond the plan, formatted; `None` for nothing.
    charged: Option<String>,
}

impl ImportPage {
    async fn new(state: &AppState, portal: &PbxPortal, form: Form) -> Self {
        let domain = match state.app.account_sip(&portal.op).await {
            Ok(sip) => sip.domain,
            Err(error) => {
                tracing::warn!(%error, "reading the account's SIP domain failed");
                String::new()
            }
        };
        let list_href = format!("{}/extensions", portal.base());
        Self {
            chrome: portal.chrome(state, "Import extensions"),
            account: portal.head(),
            active: "extensions",
            action: format!("{list_href}/import"),
            list_href,
            form,
            domain,
            created: Vec::new(),
            rejected: Vec::new(),
            imported: false,
            charged: None,
        }
    }
}

pub(super) async fn import_form(State(state): State<AppState>, portal: PbxPortal) -> Response {
    render(&ImportPage::new(&state, &portal, Form::default()).await)
}

/// Reads the CSV text of the import: the uploaded file, or the pasted rows without one.
fn import_text(upload: Upload) -> Result<(String, Values), (Values, FieldError)> {
    let mut values = upload.values;
    values.remove(CSRF_FIELD);
    if upload.incomplete {
        let error = FieldError::custom(
            "file",
            "upload_failed",
            "The file could not be read in full: send a smaller file, of at most 500 rows.",
        );
        return Err((values, error));
    }
    let text = match upload.file {
        Some(file) => match String::from_utf8(file.bytes) {
            Ok(text) => text,
            Err(_) => {
                let error = FieldError::custom(
                    "file",
                    "not_text",
                    "The file is not UTF-8 text: save it from the spreadsheet as CSV UTF-8.",
                );
                return Err((values, error));
            }
        },
        None => values.get("rows").cloned().unwrap_or_default(),
    };
    if text.trim().is_empty() {
        let error = FieldError::custom(
            "file",
            "required",
            "Choose a CSV file, or paste its rows below.",
        );
        return Err((values, error));
    }
    Ok((text, values))
}

pub(super) async fn import(
    State(state): State<AppState>,
    portal: PbxPortal,
    multipart: Multipart,
) -> Response {
    let upload = Upload::read(multipart, "file").await;
    if !upload.incomplete && !upload.csrf_matches(&portal) {
        return crate::portal::forms::csrf_failure();
    }
    let (text, values) = match import_text(upload) {
        Ok(read) => read,
        Err((values, error)) => {
            let mut form = Form::with_values(values);
            let unexpected = form.absorb(AppError::Invalid(vec![error]), &|f| f.to_owned());
            debug_assert!(unexpected.is_ok(), "field errors are always shown");
            let page = ImportPage::new(&state, &portal, form).await;
            return (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response();
        }
    };
    let report = match state.app.import_extensions(&portal.op, &text).await {
        Ok(report) => report,
        Err(error) => {
            let mut form = Form::with_values(values);
            return match form.absorb(error, &|f| f.to_owned()) {
                Ok(()) => {
                    let page = ImportPage::new(&state, &portal, form).await;
                    (StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response()
                }
                Err(error) => portal.error(&state, error),
            };
        }
    };
    let mut page = ImportPage::new(&state, &portal, Form::default()).await;
    page.imported = true;
    let charged: i64 = report.created.iter().map(|row| row.charged_minor).sum();
    page.charged =
        (charged > 0).then(|| crate::api::format_money(charged, &portal.white_label.currency));
    page.created = report
        .created
        .into_iter()
        .map(|row| ImportedLine {
            line: row.line,
            href: format!("{}/{}", page.list_href, row.id),
            number: row.number,
            password: row.sip_password,
        })
        .collect();
    page.rejected = report
        .rejected
        .into_iter()
        .map(|row| RejectedLine {
            line: row.line,
            input: row.input,
            reason: row.reason,
        })
        .collect();
    render(&page)
}
