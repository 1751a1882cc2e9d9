//! `name-addr` and `addr-spec` values: From, To, Contact, Route and Record-Route.

use std::borrow::Cow;
use std::fmt;

use super::params::{parse_header_params, Params};
use super::scan::{is_token, parse_digits, split_commas, unquote, Cursor, Invalid};
use super::uri::{parse_unbracketed, Uri};

/// A display name as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayName<'a> {
    /// A quoted string; the text is inside the quotes, still escaped.
    Quoted(&'a str),
    /// One or more tokens separated by white space.
    Tokens(&'a str),
}

impl<'a> DisplayName<'a> {
    /// Returns the display name with quotes and escapes removed.
    pub fn text(&self) -> Cow<'a, str> {
        match self {
            DisplayName::Quoted(inner) => unquote(inner),
            DisplayName::Tokens(text) => Cow::Borrowed(text),
        }
    }
}

/// A `name-addr` or `addr-spec` with the header parameters that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr<'a> {
    /// Display name, if any.
    pub display_name: Option<DisplayName<'a>>,
    /// The URI.
    pub uri: Uri<'a>,
    /// Whether the URI was in angle brackets. Without them, parameters after
    /// the URI are header parameters and the URI itself has none.
    pub bracketed: bool,
    /// Header parameters such as `tag`, `q` and `expires`.
    pub params: Params<'a>,
}

impl<'a> NameAddr<'a> {
    /// Returns the `tag` parameter of a From or To value.
    pub fn tag(&self) -> Option<&'a str> {
        self.params.value("tag")
    }
}

impl fmt::Display for NameAddr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.display_name {
            Some(DisplayName::Quoted(inner)) => write!(f, "\"{inner}\" ")?,
            Some(DisplayName::Tokens(text)) => write!(f, "{text} ")?,
            None => {}
        }
        // Printing always uses brackets: they are required around a URI with
        // parameters, and harmless otherwise.
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// Parses one `name-addr` or `addr-spec` and its parameters, consuming all of `text`.
pub(crate) fn parse_name_addr(
    text: &str,
    allow_unbracketed: bool,
) -> Result<NameAddr<'_>, Invalid> {
    let mut cursor = Cursor::new(text);
    cursor.skip_lws();
    let display_name = parse_display_name(&mut cursor)?;
    let (uri, bracketed) = if cursor.eat(b'<') {
        let rest = cursor.rest();
        let end = rest.find('>').ok_or("missing '>'")?;
        let uri = Uri::parse(&rest[..end])?;
        cursor.advance(end + 1);
        (uri, true)
    } else if display_name.is_some() {
        return Err("display name without '<'");
    } else if allow_unbracketed {
        (parse_unbracketed(&mut cursor)?, false)
    } else {
        return Err("URI must be in angle brackets");
    };
    let params = parse_header_params(&mut cursor)?;
    cursor.skip_lws();
    if !cursor.at_end() {
        return Err("unexpected text after address");
    }
    Ok(NameAddr {
        display_name,
        uri,
        bracketed,
        params,
    })
}

/// Consumes a display name if one precedes `<`, leaving the cursor on `<`.
fn parse_display_name<'a>(cursor: &mut Cursor<'a>) -> Result<Option<DisplayName<'a>>, Invalid> {
    if cursor.peek() == Some(b'"') {
        let inner = cursor.quoted_string()?;
        cursor.skip_lws();
        if cursor.peek() != Some(b'<') {
            return Err("display name without '<'");
        }
        return Ok(Some(DisplayName::Quoted(inner)));
    }
    let start = cursor.position();
    let mut end = start;
    while cursor.peek().is_some_and(is_token) {
        cursor.take_while(is_token);
        end = cursor.position();
        cursor.skip_lws();
    }
    if end > start && cursor.peek() == Some(b'<') {
        let text = &cursor.slice_from(start)[..end - start];
        return Ok(Some(DisplayName::Tokens(text)));
    }
    // Not a display name: rewind so the text parses as an addr-spec.
    cursor.set_position(start);
    Ok(None)
}

/// The Contact header value: `*` or a list of addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contacts<'a> {
    /// `Contact: *`, allowed only in REGISTER with Expires 0.
    Star,
    /// One or more contact addresses.
    List(Vec<NameAddr<'a>>),
}

/// Parses a Contact value, checking the `q` and `expires` parameters.
pub(crate) fn parse_contacts(value: &str) -> Result<Contacts<'_>, Invalid> {
    if value == "*" {
        return Ok(Contacts::Star);
    }
    let mut list = Vec::new();
    for part in split_commas(value)? {
        if part.is_empty() {
            return Err("empty contact");
        }
        let contact = parse_name_addr(part, true)?;
        if let Some(q) = contact.params.find("q") {
            if !q.value.is_some_and(is_qvalue) {
                return Err("invalid q parameter");
            }
        }
        if let Some(expires) = contact.params.find("expires") {
            let valid = expires
                .value
                .is_some_and(|v| parse_digits(v, u64::from(u32::MAX)).is_ok());
            if !valid {
                return Err("invalid expires parameter");
            }
        }
        list.push(contact);
    }
    Ok(Contacts::List(list))
}

/// Parses a comma-separated list of `name-addr` in angle brackets (Route, Record-Route).
pub(crate) fn parse_routes(value: &str) -> Result<Vec<NameAddr<'_>>, Invalid> {
    split_commas(value)?
        .into_iter()
        .map(|part| parse_name_addr(part, false))
        .collect()
}

/// Checks `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`.
fn is_qvalue(text: &str) -> bool {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (text, ""),
    };
    let frac_ok = frac.len() <= 3 && frac.bytes().all(|b| b.is_ascii_digit());
    match int {
        "0" => frac_ok,
        "1" => frac_ok && frac.bytes().all(|b| b == b'0'),
        _ => false,
    }
}

#[cfg(test)]
#[path = "name_addr_tests.rs"]
mod tests;
