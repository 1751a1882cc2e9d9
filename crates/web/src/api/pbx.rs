//! The PBX of one customer account under `/api/v1/customers/{id}/`: its objects (one set of
//! routes per kind), recordings, outbound policy and routing table.
//!
//! Every route acts on an account of the caller's white label: a white label's administrators
//! configure any of its accounts, an account's members (or its API keys) their own. Another
//! tenant's account or object is a 404, as if it did not exist.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tandem_app::access::AccountOperator;
use tandem_app::pbx::{ObjectInput, PolicyInput};
use tandem_app::AppError;
use tandem_domain::pbx::ObjectKind;
use tandem_domain::{CustomerId, PbxObjectId, Permission};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::JsonBody;
use crate::error::{ApiError, Problem};
use crate::extract::ApiCaller;
use crate::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(extensions::list, extensions::create))
        .routes(routes!(
            extensions::read,
            extensions::update,
            extensions::delete
        ))
        .routes(routes!(reset_sip_password))
        .routes(routes!(import_extensions))
        .routes(routes!(ring_groups::list, ring_groups::create))
        .routes(routes!(
            ring_groups::read,
            ring_groups::update,
            ring_groups::delete
        ))
        .routes(routes!(ivr_menus::list, ivr_menus::create))
        .routes(routes!(
            ivr_menus::read,
            ivr_menus::update,
            ivr_menus::delete
        ))
        .routes(routes!(voicemail_boxes::list, voicemail_boxes::create))
        .routes(routes!(
            voicemail_boxes::read,
            voicemail_boxes::update,
            voicemail_boxes::delete
        ))
        .routes(routes!(time_conditions::list, time_conditions::create))
        .routes(routes!(
            time_conditions::read,
            time_conditions::update,
            time_conditions::delete
        ))
        .routes(routes!(
            conference_bridges::list,
            conference_bridges::create
        ))
        .routes(routes!(
            conference_bridges::read,
            conference_bridges::update,
            conference_bridges::delete
        ))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload_recording))
                // A recording just over the limit still reaches the use case, whose message
                // names the limit.
                .layer(axum::extract::DefaultBodyLimit::max(
                    tandem_app::pbx::MAX_RECORDING_BYTES + 1024 * 1024,
                )),
        )
        .routes(routes!(get_outbound_policy, put_outbound_policy))
        .routes(routes!(routing))
        .routes(routes!(trace))
}

/// Builds the guard for an account of the caller's white label.
pub(super) fn operator(
    caller: &ApiCaller,
    customer: &str,
    permission: Permission,
) -> Result<AccountOperator, ApiError> {
    let white_label_id = caller.white_label_id().cloned().ok_or_else(|| {
        AppError::Forbidden("call this on a white label's host or with its API key".into())
    })?;
    let customer_id =
        CustomerId::parse(customer).map_err(|_| AppError::NotFound("customer account"))?;
    crate::ops::record_tenant(white_label_id.as_str());
    Ok(caller
        .principal
        .account_operator(&white_label_id, &customer_id, permission)?)
}

fn permission_for(kind: ObjectKind) -> Permission {
    match kind {
        ObjectKind::ConferenceBridge => Permission::ManageConferences,
        _ => Permission::ManagePbx,
    }
}

fn object_id(raw: &str) -> Result<PbxObjectId, ApiError> {
    PbxObjectId::parse(raw).map_err(|_| ApiError::from(AppError::NotFound("PBX object")))
}

/// Options of a create request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub(super) struct DryRun {
    /// Check the request and return what would be saved and charged, without saving.
    dry_run: bool,
}

impl DryRun {
    pub(super) fn dry_run(&self) -> bool {
        self.dry_run
    }
}

async fn list_kind(
    state: AppState,
    caller: ApiCaller,
    customer: String,
    kind: ObjectKind,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, permission_for(kind))?;
    let objects = state.app.pbx_objects(&op, Some(kind)).await?;
    Ok(Json(serde_json::json!({ "items": objects })).into_response())
}

async fn create_kind(
    state: AppState,
    caller: ApiCaller,
    customer: String,
    kind: ObjectKind,
    dry_run: bool,
    input: ObjectInput,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, permission_for(kind))?;
    let saved = state
        .app
        .create_pbx_object(&op, kind, &input, dry_run)
        .await?;
    let status = if dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(saved)).into_response())
}

async fn read_kind(
    state: AppState,
    caller: ApiCaller,
    customer: String,
    id: String,
    kind: ObjectKind,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, permission_for(kind))?;
    let object = state.app.pbx_object(&op, &object_id(&id)?).await?;
    if object.kind != kind {
        return Err(AppError::NotFound("PBX object").into());
    }
    Ok(Json(object).into_response())
}

async fn update_kind(
    state: AppState,
    caller: ApiCaller,
    customer: String,
    id: String,
    kind: ObjectKind,
    input: ObjectInput,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, permission_for(kind))?;
    let id = object_id(&id)?;
    if state.app.pbx_object(&op, &id).await?.kind != kind {
        return Err(AppError::NotFound("PBX object").into());
    }
    let saved = state.app.update_pbx_object(&op, &id, &input).await?;
    Ok(Json(saved).into_response())
}

async fn delete_kind(
    state: AppState,
    caller: ApiCaller,
    customer: String,
    id: String,
    kind: ObjectKind,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, permission_for(kind))?;
    let id = object_id(&id)?;
    if state.app.pbx_object(&op, &id).await?.kind != kind {
        return Err(AppError::NotFound("PBX object").into());
    }
    state.app.delete_pbx_object(&op, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Declares the five routes of one kind of object. utoipa needs literal paths, so each kind
/// gets its own handlers, all delegating to the functions above.
macro_rules! object_routes {
    ($module:ident, $kind:expr, $tag:literal, $noun:literal, $list:literal, $one:literal) => {
        object_routes!($module, $kind, $tag, $noun, $tag, $list, $one);
    };
    ($module:ident, $kind:expr, $tag:literal, $noun:literal, $plural:literal, $list:literal, $one:literal) => {
        pub(super) mod $module {
            use super::*;

            #[doc = concat!("List the account's ", $plural, ".")]
            #[utoipa::path(get, path = $list, tag = $tag,
                params(("id" = String, Path, description = "cus_…")),
                responses((status = 200, description = "`{\"items\": [object]}`"),
                    (status = 404, body = Problem)))]
            pub(crate) async fn list(
                State(state): State<AppState>,
                caller: ApiCaller,
                Path(customer): Path<String>,
            ) -> Result<Response, ApiError> {
                list_kind(state, caller, customer, $kind).await
            }

            #[doc = concat!("Create a ", $noun, ". With `?dry_run=true` nothing is saved and the ",
                "answer shows what would be saved and charged, and to which balance.")]
            #[utoipa::path(post, path = $list, tag = $tag,
                params(("id" = String, Path, description = "cus_…"), DryRun),
                request_body(content = serde_json::Value, description = "The object's fields"),
                responses((status = 201, description = "`{object, sip_password?, warnings, charges}`"),
                    (status = 409, body = Problem), (status = 422, body = Problem)))]
            pub(crate) async fn create(
                State(state): State<AppState>,
                caller: ApiCaller,
                Path(customer): Path<String>,
                Query(query): Query<DryRun>,
                body: JsonBody<ObjectInput>,
            ) -> Result<Response, ApiError> {
                create_kind(state, caller, customer, $kind, query.dry_run, body.value).await
            }

            #[doc = concat!("Read a ", $noun, ".")]
            #[utoipa::path(get, path = $one, tag = $tag,
                params(("id" = String, Path, description = "cus_…"),
                    ("object" = String, Path, description = "pbx_…")),
                responses((status = 200, description = "The object"), (status = 404, body = Problem)))]
            pub(crate) async fn read(
                State(state): State<AppState>,
                caller: ApiCaller,
                Path((customer, id)): Path<(String, String)>,
            ) -> Result<Response, ApiError> {
                read_kind(state, caller, customer, id, $kind).await
            }

            #[doc = concat!("Replace a ", $noun, "'s fields. Send the `version` you edited; ",
                "an older version is 409 `edit_conflict` with `current_version`.")]
            #[utoipa::path(put, path = $one, tag = $tag,
                params(("id" = String, Path, description = "cus_…"),
                    ("object" = String, Path, description = "pbx_…")),
                request_body(content = serde_json::Value, description = "The object's fields and `version`"),
                responses((status = 200, description = "`{object, warnings, charges}`"),
                    (status = 409, body = Problem), (status = 422, body = Problem)))]
            pub(crate) async fn update(
                State(state): State<AppState>,
                caller: ApiCaller,
                Path((customer, id)): Path<(String, String)>,
                body: JsonBody<ObjectInput>,
            ) -> Result<Response, ApiError> {
                update_kind(state, caller, customer, id, $kind, body.value).await
            }

            #[doc = concat!("Delete a ", $noun, ". Refused (409 `in_use`) while anything routes ",
                "to it; `details` lists what does.")]
            #[utoipa::path(delete, path = $one, tag = $tag,
                params(("id" = String, Path, description = "cus_…"),
                    ("object" = String, Path, description = "pbx_…")),
                responses((status = 204), (status = 409, body = Problem)))]
            pub(crate) async fn delete(
                State(state): State<AppState>,
                caller: ApiCaller,
                Path((customer, id)): Path<(String, String)>,
            ) -> Result<Response, ApiError> {
                delete_kind(state, caller, customer, id, $kind).await
            }
        }
    };
}

object_routes!(
    extensions,
    ObjectKind::Extension,
    "extensions",
    "extension",
    "/api/v1/customers/{id}/extensions",
    "/api/v1/customers/{id}/extensions/{object}"
);
object_routes!(
    ring_groups,
    ObjectKind::RingGroup,
    "ring groups",
    "ring group",
    "/api/v1/customers/{id}/ring-groups",
    "/api/v1/customers/{id}/ring-groups/{object}"
);
object_routes!(
    ivr_menus,
    ObjectKind::IvrMenu,
    "IVR menus",
    "IVR menu",
    "/api/v1/customers/{id}/ivr-menus",
    "/api/v1/customers/{id}/ivr-menus/{object}"
);
object_routes!(
    voicemail_boxes,
    ObjectKind::VoicemailBox,
    "voicemail boxes",
    "voicemail box",
    "/api/v1/customers/{id}/voicemail-boxes",
    "/api/v1/customers/{id}/voicemail-boxes/{object}"
);
object_routes!(
    time_conditions,
    ObjectKind::TimeCondition,
    "time conditions",
    "time condition",
    "/api/v1/customers/{id}/time-conditions",
    "/api/v1/customers/{id}/time-conditions/{object}"
);
object_routes!(
    conference_bridges,
    ObjectKind::ConferenceBridge,
    "conference bridges",
    "conference bridge",
    "/api/v1/customers/{id}/conference-bridges",
    "/api/v1/customers/{id}/conference-bridges/{object}"
);

/// Set a new SIP password for an extension. The response contains it, and it is never shown
/// again.
#[utoipa::path(post, path = "/api/v1/customers/{id}/extensions/{object}/sip-password",
    tag = "extensions",
    params(("id" = String, Path, description = "cus_…"), ("object" = String, Path, description = "pbx_…")),
    responses((status = 200, description = "`{\"sip_password\": \"…\"}`"), (status = 404, body = Problem)))]
async fn reset_sip_password(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path((customer, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    let password = state.app.reset_sip_password(&op, &object_id(&id)?).await?;
    Ok(Json(serde_json::json!({ "sip_password": password })).into_response())
}

/// Import extensions from CSV (`text/csv`): columns `number`, `name` and optionally
/// `sip_password` (for phones moved from another platform). Each row is checked and saved on
/// its own; the response reports every row and what each cost. There is no dry run.
#[utoipa::path(post, path = "/api/v1/customers/{id}/extensions/import", tag = "extensions",
    params(("id" = String, Path, description = "cus_…")),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, description = "`{created: [...], rejected: [...]}`"), (status = 400, body = Problem)))]
async fn import_extensions(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    Query(query): Query<DryRun>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    if query.dry_run {
        return Err(AppError::field(
            "dry_run",
            tandem_domain::ValueError::new(
                "unsupported",
                "An import has no dry run: check the price of one extension with POST \
                 …/extensions?dry_run=true, then import.",
            ),
        )
        .into());
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::Malformed("send the CSV file as UTF-8 text".into()))?;
    let report = state.app.import_extensions(&op, text).await?;
    Ok(Json(report).into_response())
}

/// Upload a greeting recording (WAV, MP3 or Ogg, at most 5 MB) as the request body; the
/// answer's id goes in an IVR menu's `greeting_recording`.
#[utoipa::path(post, path = "/api/v1/customers/{id}/recordings", tag = "IVR menus",
    params(("id" = String, Path, description = "cus_…")),
    request_body(content = Vec<u8>, content_type = "audio/wav"),
    responses((status = 201, description = "`{\"id\": \"med_…\"}`"), (status = 422, body = Problem)))]
async fn upload_recording(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let id = state
        .app
        .upload_recording(&op, "upload", content_type, body.to_vec())
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))).into_response())
}

/// Read the account's outbound policy (the default until someone saves one, at version 0).
#[utoipa::path(get, path = "/api/v1/customers/{id}/outbound-policy", tag = "outbound policy",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "The policy"), (status = 404, body = Problem)))]
async fn get_outbound_policy(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    Ok(Json(state.app.outbound_policy(&op).await?).into_response())
}

/// Replace the account's outbound policy. Send the `version` you edited (0 for the default).
/// A dial rule that would capture an emergency number is saved with a warning; emergency
/// numbers are always sent unchanged before any rule.
#[utoipa::path(put, path = "/api/v1/customers/{id}/outbound-policy", tag = "outbound policy",
    params(("id" = String, Path, description = "cus_…")),
    request_body(content = serde_json::Value, description = "`allowed`, `concurrent_calls`, `dial_rules`, `version`"),
    responses((status = 200, description = "`{policy, warnings}`"), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn put_outbound_policy(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    body: JsonBody<PolicyInput>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    let (policy, warnings) = state.app.save_outbound_policy(&op, &body.value).await?;
    Ok(Json(serde_json::json!({ "policy": policy, "warnings": warnings })).into_response())
}

/// The account's resolved routing table: for every number and short number, what happens.
#[utoipa::path(get, path = "/api/v1/customers/{id}/routing", tag = "routing",
    params(("id" = String, Path, description = "cus_…")),
    responses((status = 200, description = "The routing table"), (status = 404, body = Problem)))]
async fn routing(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    let (table, _) = state.app.routing_table(&op).await?;
    Ok(Json(table).into_response())
}

/// The call to trace.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct TraceQuery {
    /// The number dialled: one of the account's numbers, a short number or an emergency number.
    number: String,
    /// When: a local time of the account's zone (`2026-12-07T10:00`) or RFC 3339
    /// (`2026-12-07T10:00:00+13:00`); now when absent.
    at: Option<String>,
}

/// Trace a call to a number at a given time, step by step.
#[utoipa::path(get, path = "/api/v1/customers/{id}/routing/trace", tag = "routing",
    params(("id" = String, Path, description = "cus_…"), TraceQuery),
    responses((status = 200, description = "The steps"), (status = 422, body = Problem)))]
async fn trace(
    State(state): State<AppState>,
    caller: ApiCaller,
    Path(customer): Path<String>,
    Query(query): Query<TraceQuery>,
) -> Result<Response, ApiError> {
    let op = operator(&caller, &customer, Permission::ManagePbx)?;
    if query.number.trim().is_empty() {
        return Err(AppError::field("number", tandem_domain::ValueError::required()).into());
    }
    let trace = match query.at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            state
                .app
                .trace_call(&op, &query.number, jiff::Timestamp::now())
                .await?
        }
        Some(text) => match (
            text.parse::<jiff::Timestamp>(),
            text.parse::<jiff::civil::DateTime>(),
        ) {
            (Ok(at), _) => state.app.trace_call(&op, &query.number, at).await?,
            (Err(_), Ok(local)) => {
                state
                    .app
                    .trace_call_local(&op, &query.number, local)
                    .await?
            }
            (Err(_), Err(_)) => {
                return Err(AppError::field(
                    "at",
                    tandem_domain::ValueError::new(
                        "invalid_time",
                        format!(
                            "'{text}' is not a time: give 2026-12-07T10:00 in the account's \
                             time zone, or an RFC 3339 time such as 2026-12-07T10:00:00+13:00"
                        ),
                    ),
                )
                .into())
            }
        },
    };
    Ok(Json(trace).into_response())
}
