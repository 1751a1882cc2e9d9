//! SIP request methods.

use std::fmt;

/// A request method. Methods are case-sensitive tokens (RFC 3261 section 7.1),
/// so `INVITEX` and `invite` are extension methods, not INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method<'a> {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// REGISTER (RFC 3261).
    Register,
    /// OPTIONS (RFC 3261).
    Options,
    /// Any other method token, such as MESSAGE or SUBSCRIBE.
    Extension(&'a str),
}

impl<'a> Method<'a> {
    /// Maps a method token to a method; the caller has checked it is a token.
    pub fn from_token(token: &'a str) -> Self {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            other => Method::Extension(other),
        }
    }

    /// Returns the method token.
    pub fn as_str(&self) -> &'a str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Extension(token) => token,
        }
    }
}

impl fmt::Display for Method<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_match_is_exact() {
        assert_eq!(Method::from_token("INVITE"), Method::Invite);
        assert_eq!(Method::from_token("INVITEX"), Method::Extension("INVITEX"));
        assert_eq!(Method::from_token("invite"), Method::Extension("invite"));
    }
}
