//! Parse errors and the response code each one calls for.
//!
//! Every error names what was wrong with `&'static str` parts only, so that an
//! error never copies attacker-controlled text into a reason phrase or a log.

/// A reason a message could not be parsed or failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The buffer held nothing but white space.
    #[error("empty message")]
    Empty,
    /// No empty line ends the header section.
    #[error("header section is not terminated by an empty line")]
    Unterminated,
    /// The start line or a header field is not UTF-8 text.
    #[error("start line or header is not valid UTF-8")]
    NotUtf8,
    /// A CR or LF appears outside a CRLF line ending.
    #[error("bare CR or LF in the header section")]
    BareLineBreak,
    /// The request line does not match `Method SP Request-URI SP SIP-Version`.
    #[error("invalid request line: {0}")]
    RequestLine(&'static str),
    /// The status line does not match `SIP-Version SP Status-Code SP Reason-Phrase`.
    #[error("invalid status line: {0}")]
    StatusLine(&'static str),
    /// The SIP-Version is well formed but not SIP/2.0.
    #[error("SIP version not supported")]
    VersionNotSupported,
    /// The Request-URI does not match the URI grammar.
    #[error("invalid Request-URI: {0}")]
    RequestUri(&'static str),
    /// A header line has no colon or an invalid field name.
    #[error("invalid header line: {0}")]
    HeaderLine(&'static str),
    /// A known header field has a value that does not match its grammar.
    #[error("invalid {header} header: {reason}")]
    Header {
        /// Canonical name of the header field.
        header: &'static str,
        /// What did not match.
        reason: &'static str,
    },
    /// A mandatory header field is absent.
    #[error("missing {0} header")]
    Missing(&'static str),
    /// A header field that allows one value appears more than once.
    #[error("more than one {0} header")]
    Duplicate(&'static str),
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// The body is shorter than Content-Length, or longer on a stream transport.
    #[error("body length does not match Content-Length")]
    BodyLength,
    /// A message on a stream transport has no Content-Length.
    #[error("missing Content-Length header on a stream transport")]
    MissingContentLength,
}

impl ParseError {
    /// Returns the status code for a request that failed with this error:
    /// 505 for an unsupported SIP version, 400 for everything else.
    ///
    /// A response that fails to parse is dropped instead (RFC 3261 section 18.1.2).
    pub fn status_code(&self) -> u16 {
        match self {
            ParseError::VersionNotSupported => 505,
            _ => 400,
        }
    }

    /// Returns a reason phrase naming the problem, such as "Invalid CSeq Header".
    pub fn reason_phrase(&self) -> String {
        match self {
            ParseError::VersionNotSupported => "Version Not Supported".to_owned(),
            ParseError::Header { header, .. } => format!("Invalid {header} Header"),
            ParseError::Missing(header) => format!("Missing {header} Header"),
            ParseError::Duplicate(header) => format!("Multiple {header} Headers"),
            ParseError::CSeqMethodMismatch => "CSeq Method Mismatch".to_owned(),
            ParseError::BodyLength => "Content-Length Mismatch".to_owned(),
            ParseError::MissingContentLength => "Missing Content-Length Header".to_owned(),
            ParseError::RequestUri(_) => "Invalid Request-URI".to_owned(),
            ParseError::RequestLine(_) => "Invalid Request Line".to_owned(),
            _ => "Bad Request".to_owned(),
        }
    }
}

/// A reason to reject a request that parsed, with the response that says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The Request-URI scheme is not sip or sips: 416 Unsupported URI Scheme.
    #[error("unsupported Request-URI scheme")]
    UnsupportedUriScheme,
    /// Require names extensions this element does not support: 420 Bad Extension,
    /// with these option tags in Unsupported.
    #[error("unsupported extensions required: {0:?}")]
    BadExtension(Vec<String>),
}

impl Rejection {
    /// Returns the status code of the response.
    pub fn status_code(&self) -> u16 {
        match self {
            Rejection::UnsupportedUriScheme => 416,
            Rejection::BadExtension(_) => 420,
        }
    }

    /// Returns the reason phrase of the response.
    pub fn reason_phrase(&self) -> &'static str {
        match self {
            Rejection::UnsupportedUriScheme => "Unsupported URI Scheme",
            Rejection::BadExtension(_) => "Bad Extension",
        }
    }
}
