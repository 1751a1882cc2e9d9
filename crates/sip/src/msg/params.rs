//! Parameter lists: `;name=value` after header values and inside SIP URIs.

use std::fmt;

use super::scan::{check_escaped, is_unreserved, unquote, Cursor, Invalid};

/// One parameter. The value is kept as written: a quoted string keeps its
/// quotes and a URI parameter keeps its escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'a> {
    /// Parameter name; names compare case-insensitively.
    pub name: &'a str,
    /// Parameter value, absent for a flag such as `lr` or `rport`.
    pub value: Option<&'a str>,
}

/// An ordered parameter list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params<'a>(pub Vec<Param<'a>>);

impl<'a> Params<'a> {
    /// Returns the first parameter named `name`, ignoring case.
    pub fn find(&self, name: &str) -> Option<&Param<'a>> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Returns whether a parameter named `name` is present, with or without value.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Returns the raw value of `name`; `None` when absent or a flag.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        self.find(name).and_then(|p| p.value)
    }

    /// Returns the value of `name` with the quotes of a quoted string removed.
    pub fn unquoted(&self, name: &str) -> Option<std::borrow::Cow<'a, str>> {
        self.value(name).map(
            |v| match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => unquote(inner),
                None => std::borrow::Cow::Borrowed(v),
            },
        )
    }

    /// Iterates over the parameters in order.
    pub fn iter(&self) -> impl Iterator<Item = &Param<'a>> {
        self.0.iter()
    }

    /// Returns whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Params<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for param in &self.0 {
            f.write_str(";")?;
            f.write_str(param.name)?;
            if let Some(value) = param.value {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

/// Consumes `*( SEMI generic-param )` after a header value, where
/// `generic-param = token [ EQUAL gen-value ]` and `gen-value` is a token,
/// a host or a quoted string.
pub(crate) fn parse_header_params<'a>(cursor: &mut Cursor<'a>) -> Result<Params<'a>, Invalid> {
    let mut params = Vec::new();
    while cursor.eat_separator(b';') {
        let name = cursor
            .token()
            .map_err(|_| "empty or invalid parameter name")?;
        let value = if cursor.eat_separator(b'=') {
            Some(parse_gen_value(cursor, name)?)
        } else {
            None
        };
        params.push(Param { name, value });
    }
    Ok(Params(params))
}

fn parse_gen_value<'a>(cursor: &mut Cursor<'a>, name: &str) -> Result<&'a str, Invalid> {
    if name.eq_ignore_ascii_case("received") && cursor.peek() != Some(b'"') {
        // Via received contains an IPv6address without brackets (RFC 3261 section 20.42).
        let value = cursor.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return if value.is_empty() {
            Err("invalid received value")
        } else {
            Ok(value)
        };
    }
    if cursor.peek() == Some(b'[') {
        // An IPv6 reference, as in maddr or received.
        let start = cursor.position();
        cursor.eat(b'[');
        cursor.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !cursor.eat(b']') {
            return Err("unterminated IPv6 reference in parameter");
        }
        return Ok(cursor.slice_from(start));
    }
    cursor
        .token_or_quoted()
        .map_err(|_| "invalid parameter value")
}

fn is_paramchar(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$')
}

/// Consumes `*( ";" uri-parameter )` inside a SIP URI, where names and values
/// are `1*paramchar` with escapes and no white space is allowed.
pub(crate) fn parse_uri_params<'a>(cursor: &mut Cursor<'a>) -> Result<Params<'a>, Invalid> {
    let mut params = Vec::new();
    while cursor.eat(b';') {
        let name = cursor.take_while(|b| is_paramchar(b) || b == b'%');
        if name.is_empty() || !check_escaped(name, is_paramchar) {
            return Err("empty or invalid URI parameter name");
        }
        let value = if cursor.eat(b'=') {
            let value = cursor.take_while(|b| is_paramchar(b) || b == b'%');
            if value.is_empty() || !check_escaped(value, is_paramchar) {
                return Err("invalid URI parameter value");
            }
            Some(value)
        } else {
            None
        };
        params.push(Param { name, value });
    }
    Ok(Params(params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_params_allow_white_space_around_separators() {
        let mut cursor = Cursor::new(" ;   tag    = 1918181833n ; lr ;q=\"x;y\"");
        let params = parse_header_params(&mut cursor).unwrap();
        assert!(cursor.at_end());
        assert_eq!(params.value("TAG"), Some("1918181833n"));
        assert!(params.contains("lr"));
        assert_eq!(params.unquoted("q").as_deref(), Some("x;y"));
    }

    #[test]
    fn header_params_reject_empty_names() {
        assert!(parse_header_params(&mut Cursor::new(";;;;")).is_err());
    }

    #[test]
    fn uri_params_keep_escapes() {
        let mut cursor = Cursor::new(";%6C%72;n%61me=v%61lue%25%34%31>");
        let params = parse_uri_params(&mut cursor).unwrap();
        assert_eq!(cursor.rest(), ">");
        assert_eq!(
            params.0[0],
            Param {
                name: "%6C%72",
                value: None
            }
        );
        assert_eq!(params.0[1].value, Some("v%61lue%25%34%31"));
    }

    #[test]
    fn uri_params_reject_bad_escape() {
        assert!(parse_uri_params(&mut Cursor::new(";a=%zz")).is_err());
    }
}
