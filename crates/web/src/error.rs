//! API errors as RFC 9457 problem details (`application/problem+json`) with a stable `code`.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tandem_app::{AppError, FieldError};

/// A problem-details body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`about:blank` plus the code is enough here).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code, such as `invalid_input` or `insufficient_funds`.
    pub code: String,
    pub detail: String,
    /// One entry per rejected field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// The current version, for version conflicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// The objects behind a refusal, one line each: the steps of a routing loop, or what still
    /// refers to an object that was to be deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

/// A rejected field of a request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// The field's path in the request body, such as `contact.phone`.
    pub field: String,
    pub code: String,
    pub message: String,
}

impl From<&FieldError> for ProblemField {
    fn from(error: &FieldError) -> Self {
        Self {
            field: error.field.clone(),
            code: error.code.clone(),
            message: error.message.clone(),
        }
    }
}

/// An error answered by the API.
#[derive(Debug)]
pub enum ApiError {
    /// A use case refused the request.
    App(AppError),
    /// The request is not the JSON (or query) the endpoint takes: 400.
    Malformed(String),
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        ApiError::App(error)
    }
}

fn problem(status: StatusCode, code: &str, detail: String) -> Problem {
    Problem {
        kind: format!("https://tandem.invalid/problems/{code}"),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        code: code.to_string(),
        detail,
        errors: Vec::new(),
        current_version: None,
        details: Vec::new(),
    }
}

/// Maps an application error to its status and problem body. Internal causes are logged here
/// and replaced by a generic message.
pub fn to_problem(error: &AppError) -> Problem {
    match error {
        AppError::Invalid(fields) => {
            let detail = match fields.len() {
                1 => format!("{}: {}", fields[0].field, fields[0].message),
                n => format!("{n} fields are invalid: see errors for each one"),
            };
            let mut body = problem(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail);
            body.errors = fields.iter().map(ProblemField::from).collect();
            body
        }
        AppError::Unauthenticated => problem(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send an API key as 'Authorization: Bearer <key>'".into(),
        ),
        AppError::Forbidden(reason) => problem(StatusCode::FORBIDDEN, "forbidden", reason.clone()),
        AppError::NotFound(what) => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        ),
        AppError::Conflict {
            code,
            message,
            field,
        } => {
            let mut body = problem(StatusCode::CONFLICT, code, message.clone());
            if let Some(field) = field {
                body.errors.push(ProblemField {
                    field: field.clone(),
                    code: code.to_string(),
                    message: message.clone(),
                });
            }
            body
        }
        AppError::Refused {
            code,
            message,
            details,
        } => {
            let mut body = problem(StatusCode::CONFLICT, code, message.clone());
            body.details = details.clone();
            body
        }
        AppError::EditConflict { current } => {
            let mut body = problem(StatusCode::CONFLICT, "edit_conflict", error.to_string());
            body.current_version = Some(*current);
            body
        }
        AppError::VersionMismatch { current, .. } => {
            let mut body = problem(
                StatusCode::PRECONDITION_FAILED,
                "version_mismatch",
                error.to_string(),
            );
            body.current_version = Some(*current);
            body
        }
        AppError::InsufficientFunds { message } => {
            problem(StatusCode::CONFLICT, "insufficient_funds", message.clone())
        }
        AppError::RateLimited { retry_after_secs } => problem(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many attempts: try again in {retry_after_secs} seconds"),
        ),
        AppError::IdempotencyKeyReused => problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            error.to_string(),
        ),
        AppError::Store(_) | AppError::Internal(_) => {
            tracing::error!(error = %error, "request failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "the request failed on the server; it has been logged".into(),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match &self {
            ApiError::App(error) => to_problem(error),
            ApiError::Malformed(detail) => {
                problem(StatusCode::BAD_REQUEST, "malformed_request", detail.clone())
            }
        };
        let status = StatusCode::from_u16(body.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let json = serde_json::to_string(&body).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            json,
        )
            .into_response()
    }
}
