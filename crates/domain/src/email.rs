//! Email addresses as people type them for logins, invitations and invoices. The address keeps
//! the case it was typed in, because the local part may be case-sensitive on the receiving
//! server, while `key()` gives the lowercased form used to keep addresses unique.

use std::fmt;

use email_address::Options;

use crate::error::ValueError;
use crate::serde_string::string_serde;

/// Maximum length of an address in characters, the path limit of RFC 5321 less the brackets.
pub const EMAIL_MAX_LEN: usize = 254;

/// A validated email address of the form `name@example.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses an address, trimming surrounding whitespace and keeping the case as typed.
    ///
    /// Display names (`Ann <ann@example.com>`), IP address literals and domains without a dot
    /// (`ann@localhost`) are rejected, because mail to them cannot be delivered from here.
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(ValueError::required());
        }
        let length = trimmed.chars().count();
        if length > EMAIL_MAX_LEN {
            return Err(ValueError::new(
                "invalid_email",
                format!(
                    "This email address is {length} characters long, but at most \
                     {EMAIL_MAX_LEN} are allowed: check it was pasted correctly."
                ),
            ));
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed = email_address::EmailAddress::parse_with_options(trimmed, options)
            .map_err(|error| invalid(trimmed, &describe(&error)))?;
        // Quoted local parts and comments are valid RFC 5322 but not deliverable through the
        // mailer, so only a dot-atom local part is accepted.
        let local_ok = parsed.local_part().chars().all(|c| {
            c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
        });
        if !local_ok || parsed.local_part().starts_with('.') || parsed.local_part().ends_with('.') {
            return Err(invalid(
                trimmed,
                "the part before @ may use letters, digits and . ! # $ % & ' * + - / = ? ^ _ ` { | } ~ only",
            ));
        }
        if !parsed.domain().contains('.') {
            return Err(invalid(
                trimmed,
                "the part after @ needs a dot, as in example.com",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// Returns the address as typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the whole address lowercased, for case-insensitive uniqueness checks.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Builds the `invalid_email` error for `value` with a short `reason`.
fn invalid(value: &str, reason: &str) -> ValueError {
    ValueError::new(
        "invalid_email",
        format!(
            "'{value}' is not a valid email address because {reason}. Enter it as \
             name@example.com."
        ),
    )
}

/// Describes a parser error in words a person filling in a form can act on.
fn describe(error: &email_address::Error) -> String {
    use email_address::Error;
    match error {
        Error::MissingSeparator => "it has no @".to_owned(),
        Error::LocalPartEmpty => "nothing comes before the @".to_owned(),
        Error::LocalPartTooLong => "the part before the @ is over 64 characters".to_owned(),
        Error::DomainEmpty => "nothing comes after the @".to_owned(),
        Error::DomainTooFew => "the part after @ needs a dot, as in example.com".to_owned(),
        Error::SubDomainEmpty => "the part after @ has an empty section between dots".to_owned(),
        Error::UnsupportedDisplayName | Error::InvalidCharacter => {
            "it contains a space or a character not allowed in addresses".to_owned()
        }
        Error::UnsupportedDomainLiteral => "IP addresses in brackets are not accepted".to_owned(),
        other => format!("the address checker reported: {other}"),
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

string_serde!(EmailAddress);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_valid_cases() {
        let valid = [
            ("ann@example.com", "ann@example.com"),
            ("  Ann.Smith@Example.co.nz \n", "Ann.Smith@Example.co.nz"),
            ("first+tag@sub.example.org", "first+tag@sub.example.org"),
            ("o'brien@example.ie", "o'brien@example.ie"),
        ];
        for (input, expected) in valid {
            let email = EmailAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(email.as_str(), expected);
        }
    }

    #[test]
    fn email_invalid_cases() {
        let invalid = [
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "ann smith@example.com",
            "Ann <ann@example.com>",
            "ann@[127.0.0.1]",
            "ann@@example.com",
            "ann@example..com",
            "ann@.example.com",
        ];
        for input in invalid {
            let error = EmailAddress::parse(input).expect_err(input);
            assert_eq!(error.code, "invalid_email", "{input}");
        }
    }

    #[test]
    fn email_empty_is_required() {
        assert_eq!(EmailAddress::parse(" \t ").unwrap_err().code, "required");
    }

    #[test]
    fn email_over_254_chars_rejected() {
        let input = format!("ann@{}.com", "a".repeat(250));
        assert_eq!(
            EmailAddress::parse(&input).unwrap_err().code,
            "invalid_email"
        );
    }

    #[test]
    fn email_localhost_message_explains_dot() {
        let error = EmailAddress::parse("a@localhost").unwrap_err();
        assert!(error.message.contains("'a@localhost'"), "{}", error.message);
        assert!(error.message.contains("dot"), "{}", error.message);
    }

    #[test]
    fn email_keeps_case_and_key_lowercases() {
        let email = EmailAddress::parse("Ann@Example.COM").unwrap();
        assert_eq!(email.as_str(), "Ann@Example.COM");
        assert_eq!(email.key(), "ann@example.com");
    }

    #[test]
    fn email_serde_round_trip() {
        let email = EmailAddress::parse("ann@example.com").unwrap();
        let json = serde_json::to_string(&email).unwrap();
        assert_eq!(json, "\"ann@example.com\"");
        let back: EmailAddress = serde_json::from_str(&json).unwrap();
        assert_eq!(back, email);
    }

    #[test]
    fn email_deserialize_rejects_invalid() {
        let result: Result<EmailAddress, _> = serde_json::from_str("\"a@localhost\"");
        assert!(result.is_err());
    }

    #[test]
    fn email_quoted_local_part_rejected() {
        assert!(EmailAddress::parse("\"a b\"@example.com").is_err());
        assert!(EmailAddress::parse("first.last+tag@example.com").is_ok());
    }
}
