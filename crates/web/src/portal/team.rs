//! Team pages: the members and invitations of a white label (`/team`), of one of its customer
//! accounts as the white label sees it (`/customers/{id}/team`), and of a customer account as
//! its Account Administrator sees it (`/account/team`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tandem_app::access::TeamAdmin;
use tandem_app::team::MemberChange;
use tandem_app::AppError;
use tandem_domain::{CustomerId, InvitationId, MembershipId, Role};

use super::account::AccountPortal;
use super::forms::{FormFields, Posted};
use super::{error_page, local_time, render, Chrome, Form, WhiteLabelPortal};
use crate::extract::Brand;
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/team", get(white_label_team))
        .route("/team/{action}", post(white_label_action))
        .route("/team/{action}/{id}", post(white_label_item_action))
        .route("/customers/{customer}/team", get(customer_team))
        .route("/customers/{customer}/team/{action}", post(customer_action))
        .route(
            "/customers/{customer}/team/{action}/{id}",
            post(customer_item_action),
        )
        .route("/account/team", get(account_team))
        .route("/account/team/{action}", post(account_action))
        .route("/account/team/{action}/{id}", post(account_item_action))
}

/// A member as a row.
struct MemberLine {
    id: String,
    name: String,
    email: String,
    role: String,
    role_value: String,
    state: String,
    last_sign_in: String,
}

/// An open invitation as a row.
struct InvitationLine {
    id: String,
    email: String,
    role: String,
    invited_by: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    chrome: Chrome,
    heading: String,
    base: String,
    members: Vec<MemberLine>,
    invitations: Vec<InvitationLine>,
    roles: Vec<(&'static str, &'static str)>,
    form: Form,
}

fn roles_for(admin: &TeamAdmin) -> Vec<(&'static str, &'static str)> {
    let candidates: &[Role] = if admin.customer_id().is_some() {
        &[
            Role::AccountAdministrator,
            Role::Tech,
            Role::Conference,
            Role::StandardUser,
        ]
    } else {
        &[Role::WhiteLabel]
    };
    candidates
        .iter()
        .filter(|role| admin.role().may_grant(**role))
        .map(|role| (role.as_str(), role.label()))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn team_page(
    state: &AppState,
    brand: &Brand,
    admin: &TeamAdmin,
    mut chrome: Chrome,
    heading: String,
    base: String,
    form: Form,
    flash: Option<String>,
    status: StatusCode,
) -> Response {
    let team = match state.app.team(admin).await {
        Ok(team) => team,
        Err(error) => return error_page(state, brand, error),
    };
    let zone = "Pacific/Auckland";
    chrome.flash = flash;
    let page = TeamPage {
        chrome,
        heading,
        base,
        members: team
            .members
            .iter()
            .map(|m| MemberLine {
                id: m.membership_id.to_string(),
                name: m.name.clone(),
                email: m.email.clone(),
                role: m.role.label().to_string(),
                role_value: m.role.as_str().to_string(),
                state: m.state.clone(),
                last_sign_in: m
                    .last_sign_in_us
                    .map(|us| local_time(us, zone))
                    .unwrap_or_else(|| "Never".into()),
            })
            .collect(),
        invitations: team
            .invitations
            .iter()
            .map(|i| InvitationLine {
                id: i.id.to_string(),
                email: i.email.clone(),
                role: Role::parse(&i.role)
                    .map(|r| r.label().to_string())
                    .unwrap_or_else(|_| i.role.clone()),
                invited_by: i.invited_by.clone(),
                expires: local_time(i.expires_us, zone),
            })
            .collect(),
        roles: roles_for(admin),
        form,
    };
    (status, render(&page)).into_response()
}

/// Runs a team action from a posted form; returns the flash message on success.
async fn act(
    state: &AppState,
    admin: &TeamAdmin,
    action: &str,
    id: Option<&str>,
    form: &FormFields,
) -> Result<String, AppError> {
    let role = || Role::parse(form.get("role")).map_err(|e| AppError::field("role", e));
    match (action, id) {
        ("invite", None) => {
            let emails: Vec<String> = form
                .get("emails")
                .split([',', '\n', '\r', ' ', ';'])
                .filter(|e| !e.trim().is_empty())
                .map(str::to_string)
                .collect();
            let sent = state.app.invite(admin, &emails, role()?).await?;
            Ok(match sent.len() {
                1 => "1 invitation sent.".to_string(),
                n => format!("{n} invitations sent."),
            })
        }
        ("add", None) => {
            let added = state
                .app
                .add_member(admin, form.get("name"), form.get("email"), role()?)
                .await?;
            Ok(if added.existing_user {
                "That email already has a login, so its owner was sent an invitation; they join \
                 this team when they accept it."
                    .into()
            } else {
                "User created; they were emailed a link to set their password.".into()
            })
        }
        ("resend", Some(id)) => {
            let id = InvitationId::parse(id).map_err(|_| AppError::NotFound("invitation"))?;
            state.app.resend_invitation(admin, &id).await?;
            Ok("Invitation sent again with a new link.".into())
        }
        ("revoke", Some(id)) => {
            let id = InvitationId::parse(id).map_err(|_| AppError::NotFound("invitation"))?;
            state.app.revoke_invitation(admin, &id).await?;
            Ok("Invitation revoked.".into())
        }
        ("member", Some(id)) => {
            let id = MembershipId::parse(id).map_err(|_| AppError::NotFound("member"))?;
            let change = match form.get("change") {
                "role" => MemberChange::Role(role()?),
                "disable" => MemberChange::Disable,
                "enable" => MemberChange::Enable,
                "remove" => MemberChange::Remove,
                "reset_password" => MemberChange::ResetPassword,
                _ => {
                    return Err(AppError::field(
                        "change",
                        tandem_domain::ValueError::new(
                            "invalid_change",
                            "choose role, disable, enable or remove",
                        ),
                    ))
                }
            };
            state.app.update_member(admin, &id, change).await?;
            Ok("Member updated.".into())
        }
        _ => Err(AppError::NotFound("team action")),
    }
}

#[allow(clippy::too_many_arguments)]
async fn respond(
    state: &AppState,
    brand: &Brand,
    admin: &TeamAdmin,
    chrome: Chrome,
    heading: String,
    base: String,
    result: Result<String, AppError>,
    fields: FormFields,
) -> Response {
    match result {
        Ok(flash) => {
            team_page(
                state,
                brand,
                admin,
                chrome,
                heading,
                base,
                Form::default(),
                Some(flash),
                StatusCode::OK,
            )
            .await
        }
        Err(error) => {
            let mut form = Form::with_values(fields.into_values());
            match form.absorb(error, &|f| {
                if f.starts_with("emails") {
                    "emails".into()
                } else {
                    f.to_string()
                }
            }) {
                Ok(()) => {
                    team_page(
                        state,
                        brand,
                        admin,
                        chrome,
                        heading,
                        base,
                        form,
                        None,
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await
                }
                Err(error) => error_page(state, brand, error),
            }
        }
    }
}

fn white_label_admin(
    portal: &WhiteLabelPortal,
    customer: Option<&CustomerId>,
) -> Result<TeamAdmin, AppError> {
    portal
        .session
        .principal
        .team_admin(&portal.white_label.id, customer)
}

async fn white_label_team(State(state): State<AppState>, portal: WhiteLabelPortal) -> Response {
    match white_label_admin(&portal, None) {
        Ok(admin) => {
            let chrome = portal.chrome(&state, "Team", "/team");
            let heading = format!("{} team", portal.white_label.name);
            team_page(
                &state,
                &portal.session.brand,
                &admin,
                chrome,
                heading,
                "/team".into(),
                Form::default(),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

async fn white_label_post(
    state: AppState,
    posted: Posted<WhiteLabelPortal>,
    action: String,
    id: Option<String>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let admin = match white_label_admin(&portal, None) {
        Ok(admin) => admin,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let result = act(&state, &admin, &action, id.as_deref(), &form).await;
    let chrome = portal.chrome(&state, "Team", "/team");
    let heading = format!("{} team", portal.white_label.name);
    respond(
        &state,
        &portal.session.brand,
        &admin,
        chrome,
        heading,
        "/team".into(),
        result,
        form,
    )
    .await
}

async fn white_label_action(
    State(state): State<AppState>,
    Path(action): Path<String>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    white_label_post(state, posted, action, None).await
}

async fn white_label_item_action(
    State(state): State<AppState>,
    Path((action, id)): Path<(String, String)>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    white_label_post(state, posted, action, Some(id)).await
}

async fn customer_context(
    state: &AppState,
    portal: &WhiteLabelPortal,
    customer: &str,
) -> Result<(TeamAdmin, String), Response> {
    let not_found = || error_page(state, &portal.session.brand, AppError::NotFound("customer"));
    let Ok(customer_id) = CustomerId::parse(customer) else {
        return Err(not_found());
    };
    let row = match state.app.customer(&portal.admin, &customer_id).await {
        Ok(row) => row,
        Err(error) => return Err(error_page(state, &portal.session.brand, error)),
    };
    match white_label_admin(portal, Some(&customer_id)) {
        Ok(admin) => Ok((admin, format!("{} team", row.legal_name))),
        Err(error) => Err(error_page(state, &portal.session.brand, error)),
    }
}

async fn customer_team(
    State(state): State<AppState>,
    portal: WhiteLabelPortal,
    Path(customer): Path<String>,
) -> Response {
    let (admin, heading) = match customer_context(&state, &portal, &customer).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let chrome = portal.chrome(&state, &heading, "/customers");
    let base = format!("/customers/{customer}/team");
    team_page(
        &state,
        &portal.session.brand,
        &admin,
        chrome,
        heading,
        base,
        Form::default(),
        None,
        StatusCode::OK,
    )
    .await
}

async fn customer_post(
    state: AppState,
    posted: Posted<WhiteLabelPortal>,
    customer: String,
    action: String,
    id: Option<String>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let (admin, heading) = match customer_context(&state, &portal, &customer).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let result = act(&state, &admin, &action, id.as_deref(), &form).await;
    let chrome = portal.chrome(&state, &heading, "/customers");
    let base = format!("/customers/{customer}/team");
    respond(
        &state,
        &portal.session.brand,
        &admin,
        chrome,
        heading,
        base,
        result,
        form,
    )
    .await
}

async fn customer_action(
    State(state): State<AppState>,
    Path((customer, action)): Path<(String, String)>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    customer_post(state, posted, customer, action, None).await
}

async fn customer_item_action(
    State(state): State<AppState>,
    Path((customer, action, id)): Path<(String, String, String)>,
    posted: Posted<WhiteLabelPortal>,
) -> Response {
    customer_post(state, posted, customer, action, Some(id)).await
}

fn account_admin(portal: &AccountPortal) -> Result<TeamAdmin, AppError> {
    portal.session.principal.team_admin(
        portal.member.white_label_id(),
        Some(portal.member.customer_id()),
    )
}

async fn account_team(State(state): State<AppState>, portal: AccountPortal) -> Response {
    match account_admin(&portal) {
        Ok(admin) => {
            let chrome = portal.chrome(&state, "Team");
            team_page(
                &state,
                &portal.session.brand,
                &admin,
                chrome,
                "Your team".into(),
                "/account/team".into(),
                Form::default(),
                None,
                StatusCode::OK,
            )
            .await
        }
        Err(error) => error_page(&state, &portal.session.brand, error),
    }
}

async fn account_post(
    state: AppState,
    posted: Posted<AccountPortal>,
    action: String,
    id: Option<String>,
) -> Response {
    let Posted { ctx: portal, form } = posted;
    let admin = match account_admin(&portal) {
        Ok(admin) => admin,
        Err(error) => return error_page(&state, &portal.session.brand, error),
    };
    let result = act(&state, &admin, &action, id.as_deref(), &form).await;
    let chrome = portal.chrome(&state, "Team");
    respond(
        &state,
        &portal.session.brand,
        &admin,
        chrome,
        "Your team".into(),
        "/account/team".into(),
        result,
        form,
    )
    .await
}

async fn account_action(
    State(state): State<AppState>,
    Path(action): Path<String>,
    posted: Posted<AccountPortal>,
) -> Response {
    account_post(state, posted, action, None).await
}

async fn account_item_action(
    State(state): State<AppState>,
    Path((action, id)): Path<(String, String)>,
    posted: Posted<AccountPortal>,
) -> Response {
    account_post(state, posted, action, Some(id)).await
}
