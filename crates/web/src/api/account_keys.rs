//! API keys of a customer account through the API: `/api/v1/account/api-keys`. The account is
//! the caller's own: a customer account's key acts on its account, and a person on the
//! account named by `account_id` among those they are a member of (their first one when
//! absent). Only Account Administrators may call these routes.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tandem_app::access::AccountMember;
use tandem_app::AppError;
use tandem_domain::{ApiKeyId, CustomerId};
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
        .routes(routes!(list_keys, create_key))
        .routes(routes!(revoke_key))
}

/// The query parameter that picks one of the caller's accounts.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct AccountQuery {
    /// One of the caller's own customer accounts (`cus_…`); absent means their first one.
    /// Ignored for a customer account's API key, which acts on its own account.
    account_id: Option<String>,
}

/// Builds the guard for the caller's own account. A caller with no role on any account of the
/// white label, such as a white label's own key, is rejected with 403. An `account_id` that is
/// not one of the caller's accounts is 404, as if it did not exist.
fn account_member(caller: &ApiCaller, account_id: Option<&str>) -> Result<AccountMember, ApiError> {
    let white_label_id = caller.white_label_id().cloned().ok_or_else(|| {
        AppError::Forbidden("call this on a white label's host or with an account's API key".into())
    })?;
    let roles = caller.principal.customer_roles(&white_label_id);
    let Some((first, _)) = roles.first() else {
        return Err(AppError::Forbidden(
            "this route acts on your own customer account: call it with a customer account's \
             API key or as a member of the account"
                .into(),
        )
        .into());
    };
    let customer_id = match account_id.filter(|a| !a.is_empty()) {
        Some(raw) => CustomerId::parse(raw).map_err(|_| AppError::NotFound("customer account"))?,
        None => first.clone(),
    };
    Ok(caller
        .principal
        .account_member(&white_label_id, &customer_id)?)
}

/// An API key of a customer account; the secret is never listed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountApiKeyDto {
    /// `key_…`
    pub id: String,
    pub name: String,
    /// `account_administrator`, `tech`, `conference` or `standard_user`.
    pub role: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A key just created: the secret is in this response and nowhere else.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedAccountApiKeyDto {
    /// `key_…`
    pub id: String,
    /// The whole key, shown once. Send it as `Authorization: Bearer <secret>`.
    pub secret: String,
    pub prefix: String,
    pub role: String,
}

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateAccountApiKeyRequest {
    /// A name that says what uses the key, up to 80 characters.
    pub name: String,
    /// The key's role on the account, no higher than the caller's own: `account_administrator`,
    /// `tech`, `conference` or `standard_user`.
    pub role: String,
}

/// List the API keys of your customer account, newest first, revoked ones included.
#[utoipa::path(get, path = "/api/v1/account/api-keys", tag = "account", params(AccountQuery),
    responses((status = 200, body = Vec<AccountApiKeyDto>), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn list_keys(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<AccountQuery>,
) -> Result<Json<Vec<AccountApiKeyDto>>, ApiError> {
    let member = account_member(&caller, query.account_id.as_deref())?;
    let keys = state.app.list_account_api_keys(&member).await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| AccountApiKeyDto {
                id: k.id.to_string(),
                name: k.name,
                role: k.role,
                prefix: k.key_prefix,
                created_at: rfc3339(k.created_us),
                last_used_at: k.last_used_us.map(rfc3339),
                revoked_at: k.revoked_us.map(rfc3339),
            })
            .collect(),
    ))
}

/// Create an API key of your customer account with a role no higher than your own.
#[utoipa::path(post, path = "/api/v1/account/api-keys", tag = "account", params(AccountQuery),
    request_body = CreateAccountApiKeyRequest,
    responses((status = 201, body = CreatedAccountApiKeyDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    Query(query): Query<AccountQuery>,
    body: JsonBody<CreateAccountApiKeyRequest>,
) -> Result<Response, ApiError> {
    let member = account_member(&caller, query.account_id.as_deref())?;
    let request = body.value;
    let created = state
        .app
        .create_account_api_key(&member, &request.name, &request.role)
        .await?;
    let dto = CreatedAccountApiKeyDto {
        id: created.id.to_string(),
        secret: created.secret,
        prefix: created.key_prefix,
        role: request.role.trim().to_string(),
    };
    Ok((StatusCode::CREATED, Json(dto)).into_response())
}

/// Revoke an API key of your customer account; it stops working at once.
#[utoipa::path(delete, path = "/api/v1/account/api-keys/{id}", tag = "account",
    params(("id" = String, Path, description = "key_…"), AccountQuery),
    responses((status = 204, description = "Revoked"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_key(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    Query(query): Query<AccountQuery>,
) -> Result<StatusCode, ApiError> {
    let member = account_member(&caller, query.account_id.as_deref())?;
    let id = ApiKeyId::parse(&id).map_err(|_| AppError::NotFound("API key"))?;
    state.app.revoke_account_api_key(&member, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
