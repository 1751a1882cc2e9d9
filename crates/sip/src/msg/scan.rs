//! Character classes and a cursor for the RFC 3261 section 25 grammar.
//!
//! Header values reach the typed parsers as one `&str` that may still contain
//! folded lines. The line splitter has already checked that every CR is part of
//! a CRLF followed by SP or HTAB, so the cursor may treat CR and LF as ordinary
//! linear white space (LWS).

/// A reason a value does not match the grammar, named for the reason phrase.
pub(crate) type Invalid = &'static str;

/// `token` characters as a table, because token scanning dominates parsing.
static TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    table
};

/// Returns whether `b` is `alphanum` or one of the other `token` characters.
#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

/// Returns whether `b` may appear in a `word` (the Call-ID alphabet).
pub(crate) fn is_word(b: u8) -> bool {
    is_token(b)
        || matches!(
            b,
            b'(' | b')'
                | b'<'
                | b'>'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'{'
                | b'}'
        )
}

/// Returns whether `b` is `unreserved` (alphanum or mark).
pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
        )
}

/// Returns whether `b` is `reserved`.
pub(crate) fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b';' | b'/' | b'?' | b':' | b'@' | b'&' | b'=' | b'+' | b'$' | b','
    )
}

/// Returns whether `b` is linear white space inside an already unfolded value.
pub(crate) fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Returns whether `s` is a non-empty `token`.
pub(crate) fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

/// Checks that `s` consists of `allowed` characters and well-formed `escaped`
/// sequences (`%` HEXDIG HEXDIG).
pub(crate) fn check_escaped(s: &str, allowed: fn(u8) -> bool) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(|c| c.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if allowed(b) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// Decodes `escaped` sequences. The input must have passed [`check_escaped`].
pub(crate) fn unescape(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hi = (bytes[i + 1] as char).to_digit(16);
            let lo = (bytes[i + 2] as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hi, lo) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Removes the quotes and `quoted-pair` backslashes of a `quoted-string`
/// whose inner text (without the quotes) is `inner`.
pub(crate) fn unquote(inner: &str) -> std::borrow::Cow<'_, str> {
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A position in a header value, with the grammar's separators as methods.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn slice_from(&self, start: usize) -> &'a str {
        &self.text[start..self.pos]
    }

    /// Moves back to a position returned by [`Cursor::position`].
    pub(crate) fn set_position(&mut self, pos: usize) {
        self.pos = pos;
    }

    /// Moves forward `count` bytes; the caller lands on an ASCII boundary.
    pub(crate) fn advance(&mut self, count: usize) {
        self.pos = (self.pos + count).min(self.text.len());
    }

    /// Skips LWS and reports whether any was present.
    pub(crate) fn skip_lws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_lws) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes a separator such as SEMI, COMMA, EQUAL or SLASH: `SWS b SWS`.
    /// Leaves the cursor unchanged when `b` does not follow the white space.
    pub(crate) fn eat_separator(&mut self, b: u8) -> bool {
        let start = self.pos;
        self.skip_lws();
        if self.eat(b) {
            self.skip_lws();
            true
        } else {
            self.pos = start;
            false
        }
    }

    /// Consumes bytes while `pred` returns true and returns them.
    pub(crate) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// Consumes a non-empty `token`.
    pub(crate) fn token(&mut self) -> Result<&'a str, Invalid> {
        let token = self.take_while(is_token);
        if token.is_empty() {
            Err("expected a token")
        } else {
            Ok(token)
        }
    }

    /// Consumes a `quoted-string` and returns its inner text, still escaped.
    pub(crate) fn quoted_string(&mut self) -> Result<&'a str, Invalid> {
        if !self.eat(b'"') {
            return Err("expected a quoted string");
        }
        let start = self.pos;
        let bytes = self.text.as_bytes();
        loop {
            let Some(&b) = bytes.get(self.pos) else {
                return Err("unbalanced quotes");
            };
            match b {
                b'"' => {
                    let inner = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(inner);
                }
                b'\\' => match bytes.get(self.pos + 1) {
                    Some(&escaped) if escaped <= 0x7f && escaped != b'\r' && escaped != b'\n' => {
                        self.pos += 2;
                    }
                    _ => return Err("invalid escape in quoted string"),
                },
                b' ' | b'\t' | b'\r' | b'\n' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80.. => {
                    self.pos += 1;
                }
                _ => return Err("control character in quoted string"),
            }
        }
    }

    /// Consumes a `token` or a `quoted-string` (quotes included), as in `gen-value`.
    pub(crate) fn token_or_quoted(&mut self) -> Result<&'a str, Invalid> {
        if self.peek() == Some(b'"') {
            let start = self.pos;
            self.quoted_string()?;
            Ok(self.slice_from(start))
        } else {
            self.token()
        }
    }
}

/// Splits a header value at top-level commas, outside quoted strings and angle
/// brackets, for the header fields whose grammar is a comma-separated list.
pub(crate) fn split_commas(value: &str) -> Result<Vec<&str>, Invalid> {
    let bytes = value.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut in_angle = false;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let mut cursor = Cursor::new(&value[i..]);
                cursor.quoted_string()?;
                i += cursor.position();
                continue;
            }
            b'<' if !in_angle => in_angle = true,
            b'>' if in_angle => in_angle = false,
            b',' if !in_angle => {
                parts.push(trim_lws(&value[start..i]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if in_angle {
        return Err("unbalanced angle brackets");
    }
    parts.push(trim_lws(&value[start..]));
    Ok(parts)
}

/// Trims LWS from both ends.
pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_ascii() && is_lws(c as u8))
}

/// Parses 1*DIGIT into a `u64`, rejecting overflow past `max`.
pub(crate) fn parse_digits(s: &str, max: u64) -> Result<u64, Invalid> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected digits");
    }
    let mut value: u64 = 0;
    for b in s.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .filter(|v| *v <= max)
            .ok_or("number out of range")?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_string_accepts_escaped_controls() {
        let mut cursor = Cursor::new("\"BEL:\\\x07 NUL:\\\x00\" rest");
        assert_eq!(cursor.quoted_string(), Ok("BEL:\\\x07 NUL:\\\x00"));
        assert_eq!(cursor.rest(), " rest");
    }

    #[test]
    fn quoted_string_rejects_unbalanced() {
        assert_eq!(
            Cursor::new("\"open").quoted_string(),
            Err("unbalanced quotes")
        );
    }

    #[test]
    fn split_commas_respects_quotes_and_brackets() {
        let parts = split_commas("\"a,b\" <sip:x,y@h>, <sip:z@h>").unwrap();
        assert_eq!(parts, vec!["\"a,b\" <sip:x,y@h>", "<sip:z@h>"]);
    }

    #[test]
    fn parse_digits_rejects_overflow() {
        assert_eq!(parse_digits("0068", 255), Ok(68));
        assert_eq!(parse_digits("300", 255), Err("number out of range"));
        assert_eq!(parse_digits("-1", 255), Err("expected digits"));
    }

    #[test]
    fn unescape_decodes_percent_sequences() {
        assert_eq!(unescape("%75se%72"), b"user".to_vec());
        assert_eq!(unescape("%00"), vec![0]);
    }

    #[test]
    fn unquote_removes_backslashes() {
        assert_eq!(unquote("J Rosenberg \\\\\\\""), "J Rosenberg \\\"");
    }
}
