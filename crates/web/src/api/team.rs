//! Teams through the API: `/api/v1/users`, `/api/v1/invitations` and `/api/v1/memberships`.
//! Each call acts on the caller's own white label, or on one of its customer accounts named by
//! `account_id`; the white label always comes from the credentials, never from the body.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_app::access::TeamAdmin;
use tandem_app::team::MemberChange;
use tandem_app::AppError;
use tandem_domain::{CustomerId, InvitationId, MembershipId, Role};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::dto::rfc3339;
use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::ApiCaller;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(list_invitations, create_invitations))
        .routes(routes!(resend_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(update_membership, remove_membership))
}

/// Which team a call acts on.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct TeamQuery {
    /// A customer account (`cus_…`) of the caller's white label; absent means the caller's own
    /// white label, or for a customer's member, their account.
    account_id: Option<String>,
}

fn team_admin(caller: &ApiCaller, account_id: Option<&str>) -> Result<TeamAdmin, ApiError> {
    let white_label_id = caller.white_label_id().cloned().ok_or_else(|| {
        AppError::Forbidden("call this on a white label's host or with its API key".into())
    })?;
    let customer_id = match account_id.filter(|a| !a.is_empty()) {
        Some(raw) => {
            Some(CustomerId::parse(raw).map_err(|_| AppError::NotFound("customer account"))?)
        }
        None if caller
            .principal
            .role_on_white_label(&white_label_id)
            .is_none() =>
        {
            caller
                .principal
                .customer_roles(&white_label_id)
                .first()
                .map(|(id, _)| id.clone())
        }
        None => None,
    };
    Ok(caller
        .principal
        .team_admin(&white_label_id, customer_id.as_ref())?)
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw).map_err(|e| ApiError::from(AppError::field("role", e)))
}

/// A member of a team.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserDto {
    /// `usr_…`
    pub id: String,
    /// `mem_…`, the membership on this team.
    pub membership_id: String,
    pub name: String,
    pub email: String,
    /// Such as `account_administrator`.
    pub role: String,
    /// `active` or `disabled`.
    pub state: String,
    pub last_sign_in_at: Option<String>,
}

/// List a team's members.
#[utoipa::path(get, path = "/api/v1/users", tag = "team", params(TeamQuery),
    responses((status = 200, body = Vec<UserDto>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_users(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<TeamQuery>,
) -> Result<Json<Vec<UserDto>>, ApiError> {
    let admin = team_admin(&caller, query.account_id.as_deref())?;
    let team = state.app.team(&admin).await?;
    Ok(Json(
        team.members
            .into_iter()
            .map(|m| UserDto {
                id: m.user_id.to_string(),
                membership_id: m.membership_id.to_string(),
                name: m.name,
                email: m.email,
                role: m.role.as_str().to_string(),
                state: m.state,
                last_sign_in_at: m.last_sign_in_us.map(rfc3339),
            })
            .collect(),
    ))
}

/// A user to add to a team.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateUserRequest {
    pub name: String,
    pub email: String,
    pub role: String,
    pub account_id: Option<String>,
}

/// The user added.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedUserDto {
    pub id: String,
    /// True when the email already had a login and that user got a membership instead.
    pub existing_user: bool,
    /// True when the existing login was sent an invitation instead, and joins on accepting it.
    pub invited: bool,
}

/// Add a user to a team. A new user is emailed a link to set a password; an email that already
/// has a login gets a membership on that user.
#[utoipa::path(post, path = "/api/v1/users", tag = "team", request_body = CreateUserRequest,
    responses((status = 201, body = CreatedUserDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_user(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonBody<CreateUserRequest>,
) -> Result<Response, ApiError> {
    let request = body.value;
    let admin = team_admin(&caller, request.account_id.as_deref())?;
    let added = state
        .app
        .add_member(
            &admin,
            &request.name,
            &request.email,
            parse_role(&request.role)?,
        )
        .await?;
    let dto = CreatedUserDto {
        id: added.user_id.to_string(),
        existing_user: added.existing_user,
        invited: added.invited,
    };
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// An open invitation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationDto {
    /// `inv_…`
    pub id: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: String,
}

/// List a team's open invitations.
#[utoipa::path(get, path = "/api/v1/invitations", tag = "team", params(TeamQuery),
    responses((status = 200, body = Vec<InvitationDto>)))]
async fn list_invitations(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<TeamQuery>,
) -> Result<Json<Vec<InvitationDto>>, ApiError> {
    let admin = team_admin(&caller, query.account_id.as_deref())?;
    let team = state.app.team(&admin).await?;
    Ok(Json(
        team.invitations
            .into_iter()
            .map(|i| InvitationDto {
                id: i.id.to_string(),
                email: i.email,
                role: i.role,
                invited_by: i.invited_by,
                expires_at: rfc3339(i.expires_us),
            })
            .collect(),
    ))
}

/// Emails to invite.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct InvitationRequest {
    pub emails: Vec<String>,
    pub role: String,
    /// Defaults to the caller's own account.
    pub account_id: Option<String>,
}

/// The invitations sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationsSentDto {
    pub ids: Vec<String>,
}

/// Invite one or more emails to a team with a role; each gets a branded mail with a single-use
/// link. Nobody is invited if any email is invalid or already a member (409 naming them).
#[utoipa::path(post, path = "/api/v1/invitations", tag = "team", request_body = InvitationRequest,
    responses((status = 201, body = InvitationsSentDto), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_invitations(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonBody<InvitationRequest>,
) -> Result<Response, ApiError> {
    let request = body.value;
    let admin = team_admin(&caller, request.account_id.as_deref())?;
    let ids = state
        .app
        .invite(&admin, &request.emails, parse_role(&request.role)?)
        .await?;
    let dto = InvitationsSentDto {
        ids: ids.iter().map(|id| id.to_string()).collect(),
    };
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

fn invitation_id(raw: &str) -> Result<InvitationId, ApiError> {
    InvitationId::parse(raw).map_err(|_| ApiError::from(AppError::NotFound("invitation")))
}

/// Send an invitation again with a new link.
#[utoipa::path(post, path = "/api/v1/invitations/{id}/resend", tag = "team",
    params(("id" = String, Path, description = "inv_…"), TeamQuery),
    responses((status = 204, description = "Sent"), (status = 404, body = Problem)))]
async fn resend_invitation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<TeamQuery>,
) -> Result<StatusCode, ApiError> {
    let admin = team_admin(&caller, query.account_id.as_deref())?;
    state
        .app
        .resend_invitation(&admin, &invitation_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revoke an invitation.
#[utoipa::path(delete, path = "/api/v1/invitations/{id}", tag = "team",
    params(("id" = String, Path, description = "inv_…"), TeamQuery),
    responses((status = 204, description = "Revoked"), (status = 404, body = Problem)))]
async fn revoke_invitation(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<TeamQuery>,
) -> Result<StatusCode, ApiError> {
    let admin = team_admin(&caller, query.account_id.as_deref())?;
    state
        .app
        .revoke_invitation(&admin, &invitation_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A change to a membership.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MembershipRequest {
    /// A new role.
    pub role: Option<String>,
    /// `active` or `disabled`.
    pub state: Option<String>,
    /// When true, signs the member out everywhere and mails them a link to set a new password.
    pub reset_password: bool,
}

fn membership_id(raw: &str) -> Result<MembershipId, ApiError> {
    MembershipId::parse(raw).map_err(|_| ApiError::from(AppError::NotFound("member")))
}

/// Change a member's role, or disable or re-enable them. A disabled member's sessions stop
/// granting the role at once.
#[utoipa::path(patch, path = "/api/v1/memberships/{id}", tag = "team", request_body = MembershipRequest,
    params(("id" = String, Path, description = "mem_…"), TeamQuery),
    responses((status = 204, description = "Changed"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn update_membership(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<TeamQuery>,
    body: JsonBody<MembershipRequest>,
) -> Result<StatusCode, ApiError> {
    let admin = team_admin(&caller, query.account_id.as_deref())?;
    let id = membership_id(&id)?;
    if let Some(role) = &body.value.role {
        state
            .app
            .update_member(&admin, &id, MemberChange::Role(parse_role(role)?))
            .await?;
    }
    match body.value.state.as_deref() {
        Some("disabled") => {
            state
                .app
                .update_member(&admin, &id, MemberChange::Disable)
                .await?
        }
        Some("active") => {
            state
                .app
                .update_member(&admin, &id, MemberChange::Enable)
                .await?
        }
        Some(other) => {
            return Err(AppError::Invalid(vec![tandem_app::FieldError::custom(
                "state",
                "invalid_state",
                format!("'{other}' is not a state: use active or disabled"),
            )])
            .into())
        }
        None => {}
    }
    if body.value.reset_password {
        state
            .app
            .update_member(&admin, &id, MemberChange::ResetPassword)
            .await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a member from a team.
#[utoipa::path(delete, path = "/api/v1/memberships/{id}", tag = "team",
    params(("id" = String, Path, description = "mem_…"), TeamQuery),
    responses((status = 204, description = "Removed"), (status = 404, body = Problem)))]
async fn remove_membership(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<TeamQuery>,
) -> Result<StatusCode, ApiError> {
    let admin = team_admin(&caller, query.account_id.as_deref())?;
    state
        .app
        .update_member(&admin, &membership_id(&id)?, MemberChange::Remove)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
