//! Collects every field error of a request before failing, so a form shows them all at once.

use tandem_domain::ValueError;

use crate::{AppError, AppResult, FieldError};

/// A collector of field errors.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    errors: Vec<FieldError>,
}

impl Fields {
    /// Keeps the value of `result`, or records its error against `field`.
    pub(crate) fn check<T>(&mut self, field: &str, result: Result<T, ValueError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(FieldError::new(field, error));
                None
            }
        }
    }

    /// Records an error of the caller's own.
    pub(crate) fn push(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// Whether any error was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Fails with every recorded error, if any.
    pub(crate) fn finish(self) -> AppResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.errors))
        }
    }
}

/// Treats an empty or blank optional input as absent.
pub(crate) fn present(input: &Option<String>) -> Option<&str> {
    input.as_deref().map(str::trim).filter(|s| !s.is_empty())
}
