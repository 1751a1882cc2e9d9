//! Form bodies, CSRF checks and the values-and-errors model that form pages render.

use std::collections::HashMap;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tandem_app::{AppError, FieldError};

use crate::extract::{cookie, PRE_SESSION_CSRF_COOKIE};
use crate::AppState;

/// The hidden field that carries the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// Compares two tokens in constant time; an empty token never matches.
pub fn tokens_match(sent: &str, expected: &str) -> bool {
    !sent.is_empty() && sent.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// Builds a `Set-Cookie` value: path `/`, HttpOnly, SameSite=Lax, and Secure when the portal
/// is served over TLS. Cookie values here are base64url tokens or ids.
pub fn cookie_header(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are base64url")
}

/// Reads the anonymous CSRF cookie of a page shown before sign-in, or makes a new token.
pub fn anonymous_csrf(parts: &Parts) -> String {
    cookie(parts, PRE_SESSION_CSRF_COOKIE)
        .filter(|c| c.len() >= 32)
        .unwrap_or_else(tandem_app::auth::random_token)
}

/// Reads a form posted before sign-in and checks its CSRF field against the double-submitted
/// cookie; returns the fields and the token.
pub async fn read_anonymous_form(
    state: &AppState,
    request: Request,
) -> Result<(Vec<(String, String)>, String), Response> {
    let (parts, body) = request.into_parts();
    let expected = cookie(&parts, PRE_SESSION_CSRF_COOKIE).unwrap_or_default();
    let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
        .await
        .map_err(IntoResponse::into_response)?;
    let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
    let sent = fields
        .iter()
        .find(|(k, _)| k == CSRF_FIELD)
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !tokens_match(sent, &expected) {
        return Err(csrf_failure());
    }
    Ok((fields, expected))
}

/// The fields of a submitted form, in order.
#[derive(Debug, Clone, Default)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// The first value of a field, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    /// The value of a field, or `None` when absent or blank.
    pub fn optional(&self, name: &str) -> Option<String> {
        let value = self.get(name);
        (!value.trim().is_empty()).then(|| value.to_string())
    }

    /// Whether a checkbox was ticked.
    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1" | "yes")
    }

    /// The fields as the values of a re-rendered form (the CSRF token left out).
    pub fn into_values(self) -> HashMap<String, String> {
        self.0
            .into_iter()
            .filter(|(k, _)| k != CSRF_FIELD)
            .collect()
    }
}

/// A page context that knows its session's CSRF token.
pub trait CsrfSource {
    /// The token the form must carry.
    fn csrf_token(&self) -> &str;
}

/// A form posted by a signed-in user: the page context and the fields, CSRF already checked.
pub struct Posted<C> {
    pub ctx: C,
    pub form: FormFields,
}

impl<C> FromRequest<AppState> for Posted<C>
where
    C: FromRequestParts<AppState, Rejection = Response> + CsrfSource + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let ctx = C::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields: Vec<(String, String)> = form_urlencoded::parse(&bytes).into_owned().collect();
        let form = FormFields(fields);
        if !tokens_match(form.get(CSRF_FIELD), ctx.csrf_token()) {
            return Err(csrf_failure());
        }
        Ok(Posted { ctx, form })
    }
}

/// The answer to a form whose CSRF token is missing or stale.
pub fn csrf_failure() -> Response {
    (
        StatusCode::FORBIDDEN,
        axum::response::Html(
            "<!doctype html><title>Form expired</title><link rel=stylesheet href=/static/tandem.css>\
             <main class=narrow><h1>This form has expired</h1><p>Your session changed since the \
             page was loaded. Go back, reload the page and submit it again.</p></main>",
        ),
    )
        .into_response()
}

/// Values typed into a form and the errors found in them, keyed by field name.
#[derive(Debug, Clone, Default)]
pub struct Form {
    pub values: HashMap<String, String>,
    pub errors: HashMap<String, String>,
    /// An error that belongs to no single field.
    pub summary: Option<String>,
    /// Field names in the order their errors were found, which follows the form's order.
    pub order: Vec<String>,
}

impl Form {
    /// A form showing `values`.
    pub fn with_values(values: HashMap<String, String>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }

    /// The value of a field, or "".
    pub fn v(&self, name: &str) -> &str {
        self.values.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether a checkbox field is ticked.
    pub fn on(&self, name: &str) -> bool {
        matches!(self.v(name), "on" | "true" | "1" | "yes")
    }

    /// Whether a select field holds `option`.
    pub fn is(&self, name: &str, option: &str) -> bool {
        self.v(name) == option
    }

    /// The error of a field, if any.
    pub fn e(&self, name: &str) -> Option<&str> {
        self.errors.get(name).map(String::as_str)
    }

    /// Whether any error is shown.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty() || self.summary.is_some()
    }

    /// Every error, for the summary at the top of the form.
    pub fn error_list(&self) -> Vec<(String, String)> {
        let mut list: Vec<(String, String)> = self
            .order
            .iter()
            .filter_map(|k| self.errors.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        let mut rest: Vec<_> = self
            .errors
            .iter()
            .filter(|(k, _)| !self.order.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        rest.sort();
        list.extend(rest);
        list
    }

    /// Shows a use case's error on the form; returns the error back if it is not about input.
    pub fn absorb(
        &mut self,
        error: AppError,
        field_names: &dyn Fn(&str) -> String,
    ) -> Result<(), AppError> {
        match error {
            AppError::Invalid(fields) => {
                for FieldError { field, message, .. } in fields {
                    let name = field_names(&field);
                    if !self.errors.contains_key(&name) {
                        self.order.push(name.clone());
                    }
                    self.errors.entry(name).or_insert(message);
                }
                Ok(())
            }
            AppError::Conflict {
                message,
                field: Some(field),
                ..
            } => {
                self.errors.insert(field_names(&field), message);
                Ok(())
            }
            AppError::Conflict {
                message,
                field: None,
                ..
            }
            | AppError::InsufficientFunds { message } => {
                self.summary = Some(message);
                Ok(())
            }
            AppError::Refused {
                message, details, ..
            } => {
                self.summary = Some(if details.is_empty() {
                    message
                } else {
                    format!("{message}: {}", details.join("; "))
                });
                Ok(())
            }
            AppError::VersionMismatch { current, .. } | AppError::EditConflict { current } => {
                self.summary = Some(format!(
                    "Someone else saved a change while you were editing (now version {current}). \
                     Reload the page to see it, then make your change again."
                ));
                Ok(())
            }
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_rejects_empty() {
        assert!(!tokens_match("", ""));
    }

    #[test]
    fn tokens_match_compares_whole_token() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abd", "abc"));
        assert!(!tokens_match("ab", "abc"));
    }
}
