//! The phone system of one customer account, under `/accounts/{customer_id}/`: lists and
//! forms for its extensions, ring groups, IVR menus, voicemail boxes, time conditions and
//! conference bridges, the extension import, the outbound policy and the Phones page.
//!
//! The same pages serve a white label's administrators, for any of the white label's
//! accounts, and the account's own members whose role allows it. [`PbxPortal`] admits both and
//! shows each the navigation they know: the white label's or the account's.

mod extensions;
mod fields;
mod form;
mod phones;
mod policy;
mod summary;
mod upload;

use std::collections::HashMap;

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tandem_app::access::{AccountMember, AccountOperator};
use tandem_app::pbx::{ObjectView, Saved, MAX_RECORDING_BYTES};
use tandem_app::AppError;
use tandem_domain::pbx::ObjectKind;
use tandem_domain::{CustomerId, PbxObjectId, Permission};
use tandem_store::customers::CustomerRow;
use tandem_store::white_labels::WhiteLabelRow;

use self::fields::{Labels, Values};
use self::form::{form_page, target_label, Refusal};
use self::upload::{create_ivr_menu, update_ivr_menu};
use super::account::AccountPortal;
use super::forms::{CsrfSource, Posted};
use super::{error_page, message_page, nav, render, Chrome, Form, WHITE_LABEL_NAV};
use crate::extract::PortalSession;
use crate::AppState;

/// The account member's link to their account's phone system, in the account navigation.
const PHONE_SYSTEM_PATH: &str = "/account/phone-system";

/// The largest IVR menu form: a recording of the largest size accepted, and the menu's other
/// fields.
const IVR_FORM_LIMIT: usize = MAX_RECORDING_BYTES + 1024 * 1024;

pub(super) fn router() -> Router<AppState> {
    let ivr_limit = DefaultBodyLimit::max(IVR_FORM_LIMIT);
    Router::new()
        .route("/account/phone-system", get(phone_system))
        .route(
            "/accounts/{customer_id}/extensions",
            get(list).post(extensions::create),
        )
        .route("/accounts/{customer_id}/extensions/new", get(new_form))
        .route(
            "/accounts/{customer_id}/extensions/import",
            get(extensions::import_form).post(extensions::import),
        )
        .route(
            "/accounts/{customer_id}/extensions/{id}",
            get(edit_form).post(update),
        )
        .route(
            "/accounts/{customer_id}/extensions/{id}/delete",
            post(delete),
        )
        .route(
            "/accounts/{customer_id}/extensions/{id}/sip-password",
            post(extensions::reset_password),
        )
        .route(
            "/accounts/{customer_id}/ring-groups",
            get(list).post(create),
        )
        .route("/accounts/{customer_id}/ring-groups/new", get(new_form))
        .route(
            "/accounts/{customer_id}/ring-groups/{id}",
            get(edit_form).post(update),
        )
        .route(
            "/accounts/{customer_id}/ring-groups/{id}/delete",
            post(delete),
        )
        .route(
            "/accounts/{customer_id}/ivr-menus",
            get(list).post(create_ivr_menu).layer(ivr_limit),
        )
        .route("/accounts/{customer_id}/ivr-menus/new", get(new_form))
        .route(
            "/accounts/{customer_id}/ivr-menus/{id}",
            get(edit_form).post(update_ivr_menu).layer(ivr_limit),
        )
        .route(
            "/accounts/{customer_id}/ivr-menus/{id}/delete",
            post(delete),
        )
        .route(
            "/accounts/{customer_id}/voicemail-boxes",
            get(list).post(create),
        )
        .route("/accounts/{customer_id}/voicemail-boxes/new", get(new_form))
        .route(
            "/accounts/{customer_id}/voicemail-boxes/{id}",
            get(edit_form).post(update),
        )
        .route(
            "/accounts/{customer_id}/voicemail-boxes/{id}/delete",
            post(delete),
        )
        .route(
            "/accounts/{customer_id}/time-conditions",
            get(list).post(create),
        )
        .route("/accounts/{customer_id}/time-conditions/new", get(new_form))
        .route(
            "/accounts/{customer_id}/time-conditions/{id}",
            get(edit_form).post(update),
        )
        .route(
            "/accounts/{customer_id}/time-conditions/{id}/delete",
            post(delete),
        )
        .route(
            "/accounts/{customer_id}/conference-bridges",
            get(list).post(create),
        )
        .route(
            "/accounts/{customer_id}/conference-bridges/new",
            get(new_form),
        )
        .route(
            "/accounts/{customer_id}/conference-bridges/{id}",
            get(edit_form).post(update),
        )
        .route(
            "/accounts/{customer_id}/conference-bridges/{id}/delete",
            post(delete),
        )
        .route(
            "/accounts/{customer_id}/outbound-policy",
            get(policy::show).post(policy::save),
        )
        .route("/accounts/{customer_id}/phones", get(phones::show))
        .route(
            "/accounts/{customer_id}/phones/settings",
            post(phones::save),
        )
        .route(
            "/accounts/{customer_id}/phones/blocks/{block_id}/clear",
            post(phones::clear_block),
        )
}

// ---------------------------------------------------------------------------------------------
// Sections and the page guard
// ---------------------------------------------------------------------------------------------

/// The pages of one kind of object.
pub(super) struct Section {
    pub kind: ObjectKind,
    /// The path segment after `/accounts/{customer_id}/`, such as `ring-groups`.
    pub slug: &'static str,
    /// The heading of the list, such as `Ring groups`.
    pub heading: &'static str,
}

const SECTIONS: [Section; 6] = [
    Section {
        kind: ObjectKind::Extension,
        slug: "extensions",
        heading: "Extensions",
    },
    Section {
        kind: ObjectKind::RingGroup,
        slug: "ring-groups",
        heading: "Ring groups",
    },
    Section {
        kind: ObjectKind::IvrMenu,
        slug: "ivr-menus",
        heading: "IVR menus",
    },
    Section {
        kind: ObjectKind::VoicemailBox,
        slug: "voicemail-boxes",
        heading: "Voicemail boxes",
    },
    Section {
        kind: ObjectKind::TimeCondition,
        slug: "time-conditions",
        heading: "Time conditions",
    },
    Section {
        kind: ObjectKind::ConferenceBridge,
        slug: "conference-bridges",
        heading: "Conference bridges",
    },
];

fn section_of(kind: ObjectKind) -> &'static Section {
    SECTIONS
        .iter()
        .find(|section| section.kind == kind)
        .expect("every kind has a section")
}

/// A signed-in page of one customer account's phone system, on its white label's host. The
/// caller is one of the white label's administrators or a member of the account, and their
/// role grants the page's permission: Manage conferences on the conference bridge pages and
/// Manage PBX on the others. An account of another white label, or one the member does not
/// belong to, is not found.
pub struct PbxPortal {
    pub session: PortalSession,
    pub op: AccountOperator,
    pub customer: CustomerRow,
    pub white_label: WhiteLabelRow,
    /// The member's guard when the caller acts from inside the account; `None` for the white
    /// label's administrators.
    member: Option<AccountMember>,
    /// The kind of object the page lists or edits; `None` on the outbound policy page.
    section: Option<&'static Section>,
}

impl CsrfSource for PbxPortal {
    fn csrf_token(&self) -> &str {
        &self.session.csrf_token
    }
}

impl FromRequestParts<AppState> for PbxPortal {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let session = PortalSession::from_request_parts(parts, state).await?;
        let brand = session.brand.clone();
        let Some(white_label) = brand.white_label.clone() else {
            return Err(message_page(
                state,
                &brand,
                StatusCode::NOT_FOUND,
                "Not found",
                "Customer accounts are reached through their provider's portal.",
            ));
        };
        crate::ops::record_tenant(white_label.id.as_str());

        // The route's path names the section, such as
        // `/accounts/{customer_id}/conference-bridges/{id}`.
        let slug = parts
            .extensions
            .get::<MatchedPath>()
            .and_then(|path| path.as_str().split('/').nth(3).map(str::to_owned))
            .unwrap_or_default();
        let section = SECTIONS.iter().find(|section| section.slug == slug);
        let permission = match section {
            Some(section) if section.kind == ObjectKind::ConferenceBridge => {
                Permission::ManageConferences
            }
            _ => Permission::ManagePbx,
        };

        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fail = |error: AppError| error_page(state, &brand, error);
        let customer_id = params
            .get("customer_id")
            .and_then(|raw| CustomerId::parse(raw).ok())
            .ok_or_else(|| fail(AppError::NotFound("customer account")))?;

        let principal = &session.principal;
        let op = principal
            .account_operator(&white_label.id, &customer_id, permission)
            .map_err(fail)?;
        // The operator guard does not look the account up: reading it here turns an account
        // of another white label into the not-found page before any handler runs.
        let (customer, member) = if op.is_white_label() {
            let admin = principal
                .white_label_admin(&white_label.id, Permission::ViewCustomers)
                .map_err(fail)?;
            let customer = state.app.customer(&admin, &customer_id).await;
            (customer.map_err(fail)?, None)
        } else {
            let member = principal
                .account_member(&white_label.id, &customer_id)
                .map_err(fail)?;
            let customer = state.app.own_account(&member).await.map_err(fail)?;
            (customer, Some(member))
        };
        Ok(PbxPortal {
            session,
            op,
            customer,
            white_label,
            member,
            section,
        })
    }
}

impl PbxPortal {
    /// Builds the chrome of a page: the white label's navigation for its administrators, and
    /// the account's navigation, with its phone system link current, for the account's members.
    fn chrome(&self, state: &AppState, title: &str) -> Chrome {
        match &self.member {
            None => Chrome::signed_in(
                &self.session,
                &state.settings.platform_name,
                title,
                nav(WHITE_LABEL_NAV, "/customers"),
            ),
            Some(member) => {
                let account = AccountPortal {
                    session: self.session.clone(),
                    member: member.clone(),
                    white_label: self.white_label.clone(),
                };
                let mut chrome = account.chrome(state, title);
                for link in &mut chrome.nav {
                    link.active = link.href == PHONE_SYSTEM_PATH;
                }
                chrome
            }
        }
    }

    /// Returns the account as the page header shows it.
    fn head(&self) -> AccountHead {
        let id = self.customer.id.to_string();
        AccountHead {
            customer_href: self.member.is_none().then(|| format!("/customers/{id}")),
            name: self.customer.legal_name.clone(),
            time_zone: self.customer.time_zone.clone(),
            id,
        }
    }

    /// Returns the path of the account's pages, such as `/accounts/cus_…`.
    fn base(&self) -> String {
        format!("/accounts/{}", self.customer.id)
    }

    /// Returns the path of the section's list, such as `/accounts/cus_…/ring-groups`.
    fn list_href(&self, section: &Section) -> String {
        format!("{}/{}", self.base(), section.slug)
    }

    fn error(&self, state: &AppState, error: AppError) -> Response {
        error_page(state, &self.session.brand, error)
    }

    /// Returns the page's section, or the not-found page on a route that names none.
    fn section(&self, state: &AppState) -> Result<&'static Section, Response> {
        self.section
            .ok_or_else(|| self.error(state, AppError::NotFound("page")))
    }
}

/// The account a page is about, as the page header shows it.
pub(super) struct AccountHead {
    pub id: String,
    pub name: String,
    /// The customer's page, for the white label's administrators.
    pub customer_href: Option<String>,
    pub time_zone: String,
}

/// Sends an account member from their navigation to the phone system pages of the account
/// they are acting on.
async fn phone_system(State(state): State<AppState>, portal: AccountPortal) -> Response {
    let role = portal.member.role();
    let slug = if role.permits(Permission::ManagePbx) {
        "extensions"
    } else if role.permits(Permission::ManageConferences) {
        "conference-bridges"
    } else {
        let error = AppError::Forbidden(format!(
            "the {} role does not include the phone system",
            role.label()
        ));
        return error_page(&state, &portal.session.brand, error);
    };
    let customer_id = portal.member.customer_id();
    Redirect::to(&format!("/accounts/{customer_id}/{slug}")).into_response()
}

/// Lists the account's objects, or only the conference bridges on their pages: the
/// Conference role may see no others.
async fn account_objects(
    state: &AppState,
    portal: &PbxPortal,
    kind: ObjectKind,
) -> Result<Vec<ObjectView>, AppError> {
    let filter = (kind == ObjectKind::ConferenceBridge).then_some(kind);
    state.app.pbx_objects(&portal.op, filter).await
}

// ---------------------------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------------------------

/// An object as one row of a list.
struct ObjectLine {
    href: String,
    number: String,
    name: String,
    summary: String,
}

#[derive(Template)]
#[template(path = "pbx_list.html")]
struct ListPage {
    chrome: Chrome,
    account: AccountHead,
    active: &'static str,
    heading: &'static str,
    new_label: String,
    new_href: String,
    import_href: Option<String>,
    has_numbers: bool,
    rows: Vec<ObjectLine>,
    warnings: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    /// `saved` or `deleted`, after a change that redirected here.
    done: String,
}

async fn list(
    State(state): State<AppState>,
    portal: PbxPortal,
    Query(query): Query<ListQuery>,
) -> Response {
    let flash = match query.done.as_str() {
        "saved" => Some("Saved.".to_owned()),
        "deleted" => Some("Deleted.".to_owned()),
        _ => None,
    };
    list_page(&state, &portal, flash, Vec::new()).await
}

async fn list_page(
    state: &AppState,
    portal: &PbxPortal,
    flash: Option<String>,
    warnings: Vec<String>,
) -> Response {
    let section = match portal.section(state) {
        Ok(section) => section,
        Err(response) => return response,
    };
    let objects = match account_objects(state, portal, section.kind).await {
        Ok(objects) => objects,
        Err(error) => return portal.error(state, error),
    };
    let list_href = portal.list_href(section);
    let mut of_kind: Vec<&ObjectView> = objects
        .iter()
        .filter(|view| view.kind == section.kind)
        .collect();
    of_kind.sort_by(|a, b| form::by_number(a, b));
    let rows = of_kind
        .into_iter()
        .map(|view| ObjectLine {
            href: format!("{list_href}/{}", view.id),
            number: view.short_number.clone().unwrap_or_default(),
            name: view.name.clone(),
            summary: summary::describe(view, &objects),
        })
        .collect();
    let mut chrome = portal.chrome(state, section.heading);
    chrome.flash = flash;
    render(&ListPage {
        chrome,
        account: portal.head(),
        active: section.slug,
        heading: section.heading,
        new_label: format!("New {}", section.kind.label()),
        new_href: format!("{list_href}/new"),
        import_href: (section.kind == ObjectKind::Extension).then(|| format!("{list_href}/import")),
        has_numbers: section.kind.has_short_number(),
        rows,
        warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// The create and edit forms
// ---------------------------------------------------------------------------------------------

async fn new_form(State(state): State<AppState>, portal: PbxPortal) -> Response {
    let section = match portal.section(&state) {
        Ok(section) => section,
        Err(response) => return response,
    };
    let form = Form::with_values(fields::default_values(section.kind));
    form_page(&state, &portal, None, form, None, StatusCode::OK).await
}

/// Reads an object of the page's kind; the not-found page for another kind's object.
async fn load_object(
    state: &AppState,
    portal: &PbxPortal,
    raw_id: &str,
) -> Result<ObjectView, Response> {
    let section = portal.section(state)?;
    let not_found = || portal.error(state, AppError::NotFound(section.kind.label()));
    let id = PbxObjectId::parse(raw_id).map_err(|_| not_found())?;
    match state.app.pbx_object(&portal.op, &id).await {
        Ok(view) if view.kind == section.kind => Ok(view),
        Ok(_) | Err(AppError::NotFound(_)) => Err(not_found()),
        Err(error) => Err(portal.error(state, error)),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    portal: PbxPortal,
    Path((_, id)): Path<(String, String)>,
) -> Response {
    let view = match load_object(&state, &portal, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let form = Form::with_values(fields::object_values(&view));
    form_page(&state, &portal, Some(&view), form, None, StatusCode::OK).await
}

/// Picks the status of a form shown again with a use case's error: 409 for a conflict that
/// concerns no field, such as an edit of an old version, and 422 otherwise.
fn error_status(form: &Form) -> StatusCode {
    if form.errors.is_empty() && form.summary.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// Shows the form again with `errors` (in the form's field names) or a use case's error.
async fn form_with_error(
    state: &AppState,
    portal: &PbxPortal,
    object: Option<&ObjectView>,
    values: Values,
    error: AppError,
    labels: &Labels,
) -> Response {
    let mut form = Form::with_values(values);
    match fields::absorb(&mut form, error, labels) {
        Ok(()) => {
            let status = error_status(&form);
            form_page(state, portal, object, form, None, status).await
        }
        Err(error) => portal.error(state, error),
    }
}

/// Shows the problems the form's layout found (`parsed.errors`). For a new object, a dry run
/// of the creation, which writes nothing, adds what the use case finds in the rest of the
/// input, so that one round shows every problem. An edit has no dry run, so its other
/// problems show once these are fixed.
async fn layout_errors(
    state: &AppState,
    portal: &PbxPortal,
    object: Option<&ObjectView>,
    values: Values,
    parsed: fields::Parsed<tandem_app::pbx::ObjectInput>,
) -> Response {
    let section = match portal.section(state) {
        Ok(section) => section,
        Err(response) => return response,
    };
    let mut form = Form::with_values(values);
    let errors = AppError::Invalid(parsed.errors);
    if let Err(error) = form.absorb(errors, &|field| field.to_owned()) {
        return portal.error(state, error);
    }
    if object.is_none() {
        let dry_run = state
            .app
            .create_pbx_object(&portal.op, section.kind, &parsed.input, true)
            .await;
        if let Err(error) = dry_run {
            if let Err(error) = fields::absorb(&mut form, error, &parsed.labels) {
                return portal.error(state, error);
            }
        }
    }
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    form_page(state, portal, object, form, None, status).await
}

/// Returns to the list after a save. When the configuration has warnings, the list is shown
/// at once with them, because they are not stored and a redirect would lose them.
async fn after_save(state: &AppState, portal: &PbxPortal, saved: Saved) -> Response {
    let section = section_of(saved.object.kind);
    if saved.warnings.is_empty() {
        let href = format!("{}?done=saved", portal.list_href(section));
        return Redirect::to(&href).into_response();
    }
    let flash = format!("Saved {}.", target_label(&saved.object));
    let warnings = saved.warnings.into_iter().map(|w| w.message).collect();
    list_page(state, portal, Some(flash), warnings).await
}

/// Creates or updates (when `object` is given) an object from posted values.
async fn save(
    state: &AppState,
    portal: &PbxPortal,
    object: Option<&ObjectView>,
    values: Values,
) -> Response {
    let section = match portal.section(state) {
        Ok(section) => section,
        Err(response) => return response,
    };
    let parsed = fields::object_input(section.kind, &values);
    if !parsed.errors.is_empty() {
        return layout_errors(state, portal, object, values, parsed).await;
    }
    let result = match object {
        None => {
            state
                .app
                .create_pbx_object(&portal.op, section.kind, &parsed.input, false)
                .await
        }
        Some(view) => {
            state
                .app
                .update_pbx_object(&portal.op, &view.id, &parsed.input)
                .await
        }
    };
    match result {
        Ok(saved) => after_save(state, portal, saved).await,
        Err(error) => form_with_error(state, portal, object, values, error, &parsed.labels).await,
    }
}

async fn create(State(state): State<AppState>, posted: Posted<PbxPortal>) -> Response {
    let Posted { ctx: portal, form } = posted;
    save(&state, &portal, None, form.into_values()).await
}

async fn update(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    posted: Posted<PbxPortal>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let view = match load_object(&state, &portal, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    save(&state, &portal, Some(&view), form.into_values()).await
}

async fn delete(
    State(state): State<AppState>,
    Path((_, id)): Path<(String, String)>,
    posted: Posted<PbxPortal>,
) -> Response {
    let portal = posted.ctx;
    let view = match load_object(&state, &portal, &id).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    match state.app.delete_pbx_object(&portal.op, &view.id).await {
        Ok(()) => {
            let section = section_of(view.kind);
            let href = format!("{}?done=deleted", portal.list_href(section));
            Redirect::to(&href).into_response()
        }
        Err(AppError::Refused {
            code: "in_use",
            message,
            details,
        }) => {
            let form = Form::with_values(fields::object_values(&view));
            let refusal = Refusal { message, details };
            let status = StatusCode::CONFLICT;
            form_page(&state, &portal, Some(&view), form, Some(refusal), status).await
        }
        Err(error) => portal.error(&state, error),
    }
}
