//! The error every parser in this crate returns: a stable machine code for programs and a
//! plain-language message for people. Messages quote the rejected value and explain how to fix
//! it, but never name the form field, because the caller adds the field name.

/// A rejected value: `code` is a stable snake_case identifier, `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// Stable snake_case machine code, such as `invalid_phone` or `required`.
    pub code: &'static str,
    /// Explanation of the problem and its fix for people, without the field name.
    pub message: String,
}

impl ValueError {
    /// Creates an error from a machine code and a message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Creates the error for an empty value where one is required.
    pub fn required() -> Self {
        Self::new(
            "required",
            "A value is required, so this cannot be left blank.",
        )
    }

    /// Creates the error for a value longer than `max_chars` characters.
    pub fn too_long(max_chars: usize, actual_chars: usize) -> Self {
        Self::new(
            "too_long",
            format!(
                "This is {actual_chars} characters long, but at most {max_chars} are allowed: \
                 shorten it."
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_error_required_code() {
        assert_eq!(ValueError::required().code, "required");
    }

    #[test]
    fn value_error_display_is_message() {
        let error = ValueError::new("invalid_thing", "'x' is not a thing.");
        assert_eq!(error.to_string(), "'x' is not a thing.");
    }

    #[test]
    fn value_error_too_long_names_limit() {
        let error = ValueError::too_long(10, 12);
        assert_eq!(error.code, "too_long");
        assert!(error.message.contains("at most 10"), "{}", error.message);
    }
}
