//! The error every use case returns; the web layer maps each variant to one HTTP status.

use tandem_domain::ValueError;
use tandem_store::StoreError;

/// A rejected field: its path in the request (`contact.phone`), a stable code and a message that
/// says what to fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl FieldError {
    /// A field error from a value error.
    pub fn new(field: impl Into<String>, error: ValueError) -> Self {
        Self {
            field: field.into(),
            code: error.code.to_string(),
            message: error.message,
        }
    }

    /// A field error with its own code and message.
    pub fn custom(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Why a use case did not complete. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// One or more fields are invalid (HTTP 422).
    #[error("invalid input: {}", summary(.0))]
    Invalid(Vec<FieldError>),
    /// The caller is not signed in or the credentials are wrong (HTTP 401).
    #[error("not authenticated")]
    Unauthenticated,
    /// The caller may not do this (HTTP 403).
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// No such object in the caller's tenant (HTTP 404); another tenant's objects look the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (HTTP 409).
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        field: Option<String>,
    },
    /// A change refused because of other objects, such as a routing loop or an object still
    /// in use (HTTP 409); `details` lists them, one line each.
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        details: Vec<String>,
    },
    /// An edit made from an older version of the object (HTTP 409); nothing was saved.
    #[error("this was changed by someone else (now version {current}): reload it and make the change again")]
    EditConflict { current: i64 },
    /// The object changed since the caller read it (HTTP 412).
    #[error("version {expected} is out of date: the current version is {current}")]
    VersionMismatch { expected: i64, current: i64 },
    /// The payer's balance and credit limit cannot cover the charges (HTTP 409).
    #[error("{message}")]
    InsufficientFunds { message: String },
    /// Too many attempts; try again after the given number of seconds (HTTP 429).
    #[error("too many attempts: try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// An idempotency key came back with a different request (HTTP 422).
    #[error("Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    /// A storage failure; logged, never shown to clients (HTTP 500).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Any other internal failure (HTTP 500).
    #[error("{0}")]
    Internal(String),
}

fn summary(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<sqlx_error::Error> for AppError {
    fn from(error: sqlx_error::Error) -> Self {
        AppError::Store(StoreError::from(error))
    }
}

mod sqlx_error {
    pub use tandem_store::SqlxError as Error;
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An invalid-input error for one field.
    pub fn field(field: impl Into<String>, error: ValueError) -> Self {
        AppError::Invalid(vec![FieldError::new(field, error)])
    }
}
