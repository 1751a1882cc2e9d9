//! SIP: an account's domain and settings, its phones' registrations and the blocks after
//! failed authentications, and a white label's SIP domain.
//!
//! Registrations and blocks come from the SIP service (`tandem sip`), which writes them a
//! moment after they happen. Another tenant's account or block is a 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tandem_app::sip::AccountSipInput;
use tandem_app::AppError;
use tandem_domain::{Permission, SipBlockId};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pbx::operator;
use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::ApiCaller;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_account_sip, put_account_sip))
        .routes(routes!(registrations))
        .routes(routes!(account_blocks))
        .routes(routes!(clear_account_block))
        .routes(routes!(get_white_label_sip, put_white_label_sip))
        .routes(routes!(blocks))
        .routes(routes!(clear_block))
}

fn block_id(raw: &str) -> Result<SipBlockId, ApiError> {
    SipBlockId::parse(raw).map_err(|_| ApiError::from(AppError::NotFound("SIP block")))
}

/// The account's SIP domain (the realm of its extensions' passwords), the server its phones
/// register with, and whether SHA-256 digests are on.
#[utoipa::path(get, path = "/api/v1/customers/{id}/sip", tag = "sip",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "`domain`, `label`, `white_label_domain`, `server`, `sha256`"),
        (status = 404, body = Problem)))]
async fn get_account_sip(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    Ok(Json(state.app.account_sip(&op).await?).into_response())
}

/// Change the label of the account's domain (white label only; empty returns to the account
/// number) or turn SHA-256 digests on or off. A new label changes the realm: every extension's
/// password is deleted and must be set again, and `passwords_cleared` counts them.
#[utoipa::path(put, path = "/api/v1/customers/{id}/sip", tag = "sip",
    params(("id" = String, Path, description = "cus_…")),
    request_body(content = serde_json::Value, description = "`label`, `sha256`"),
    responses((status = 200, description = "`{settings, passwords_cleared}`"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_account_sip(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    body: JsonBody<AccountSipInput>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    Ok(Json(state.app.update_account_sip(&op, &body.value).await?).into_response())
}

/// The live registrations of the account's extensions: contact, source address and port,
/// transport, user agent and expiry.
#[utoipa::path(get, path = "/api/v1/customers/{id}/registrations", tag = "sip",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "`{items}`"), (status = 404, body = Problem)))]
async fn registrations(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    let items = state.app.registrations(&op).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

/// Blocks started by failed authentications against the account's extensions.
#[utoipa::path(get, path = "/api/v1/customers/{id}/sip/blocks", tag = "sip",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "`{items}`"), (status = 404, body = Problem)))]
async fn account_blocks(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    let items = state.app.account_sip_blocks(&op).await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

/// Lift a block of the account at once; the SIP service applies it within a second.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/sip/blocks/{block}", tag = "sip",
    params(("id" = String, Path, description = "cus_…"), ("block" = String, Path, description = "blk_…")),
    responses((status = 204, description = "Lifted"), (status = 404, body = Problem)))]
async fn clear_account_block(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((customer, block)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    state
        .app
        .clear_account_sip_block(&op, &block_id(&block)?)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A white label's SIP domain.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
struct WhiteLabelSipRequest {
    /// Such as `sip.harbour.example`; empty returns to `sip.` and the first portal host.
    sip_domain: String,
}

fn white_label_of(caller: &ApiCaller) -> Result<tandem_domain::WhiteLabelId, ApiError> {
    caller.white_label_id().cloned().ok_or_else(|| {
        ApiError::from(AppError::Forbidden(
            "call this on a white label's host or with its API key".into(),
        ))
    })
}

/// The caller's white label's SIP domain, under which every account gets its own.
#[utoipa::path(get, path = "/api/v1/white-label/sip", tag = "sip",
    responses((status = 200, description = "`{sip_domain}`"), (status = 403, body = Problem)))]
async fn get_white_label_sip(
    State(state): State<AppState>,
    caller: ApiCaller,
) -> Result<Response, ApiError> {
    let white_label_id = white_label_of(&caller)?;
    let domain = state
        .app
        .white_label_sip(&caller.principal, &white_label_id)
        .await?;
    Ok(Json(serde_json::json!({ "sip_domain": domain })).into_response())
}

/// Set the white label's SIP domain. Every account's domain changes with it, so every
/// extension password of the white label's accounts is deleted and must be set again;
/// `passwords_cleared` counts them.
#[utoipa::path(put, path = "/api/v1/white-label/sip", tag = "sip",
    request_body = WhiteLabelSipRequest,
    responses((status = 200, description = "`{sip_domain, passwords_cleared}`"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_white_label_sip(
    State(state): State<AppState>,
    caller: ApiCaller,
    body: JsonBody<WhiteLabelSipRequest>,
) -> Result<Response, ApiError> {
    let white_label_id = white_label_of(&caller)?;
    let (domain, cleared) = state
        .app
        .set_white_label_sip(&caller.principal, &white_label_id, &body.value.sip_domain)
        .await?;
    Ok(
        Json(serde_json::json!({ "sip_domain": domain, "passwords_cleared": cleared }))
            .into_response(),
    )
}

/// Blocks after failed authentications. On a white label's host or with its key, the list has
/// those started against its accounts. For a Platform Administrator on the platform host, it
/// has every block.
#[utoipa::path(get, path = "/api/v1/sip/blocks", tag = "sip",
    responses((status = 200, description = "`{items}`"), (status = 403, body = Problem)))]
async fn blocks(State(state): State<AppState>, caller: ApiCaller) -> Result<Response, ApiError> {
    let items = state
        .app
        .sip_blocks(&caller.principal, caller.white_label_id())
        .await?;
    Ok(Json(serde_json::json!({ "items": items })).into_response())
}

/// Lift a block in the caller's scope at once; the SIP service applies it within a second.
#[utoipa::path(delete, path = "/api/v1/sip/blocks/{block}", tag = "sip",
    params(("block" = String, Path, description = "blk_…")),
    responses((status = 204, description = "Lifted"), (status = 404, body = Problem)))]
async fn clear_block(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(block): Path<String>,
) -> Result<Response, ApiError> {
    state
        .app
        .clear_sip_block(
            &caller.principal,
            caller.white_label_id(),
            &block_id(&block)?,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
