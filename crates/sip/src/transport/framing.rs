//! Cutting SIP messages out of a TCP byte stream by Content-Length
//! (RFC 3261 section 18.3).

/// A framing failure, after which the connection must be closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// A message is larger than the configured maximum.
    #[error("message exceeds the maximum size")]
    TooLarge,
    /// A header section has no valid Content-Length, so the body cannot be found.
    #[error("missing or invalid Content-Length on a stream")]
    NoContentLength,
}

/// Accumulates bytes from a stream and yields whole messages.
#[derive(Debug)]
pub struct StreamFramer {
    buf: Vec<u8>,
    max_message_size: usize,
}

impl StreamFramer {
    /// Creates a framer that rejects messages over `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_message_size,
        }
    }

    /// Returns whether part of a message is waiting for the rest (keep-alive
    /// line breaks do not count).
    pub fn has_partial(&self) -> bool {
        self.buf.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Returns the next complete message, `Ok(None)` if more bytes are needed.
    ///
    /// CRLFs before a message are keep-alives (RFC 5626 section 3.5.1) and
    /// are dropped.
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let start = self
            .buf
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(self.buf.len());
        self.buf.drain(..start);
        let Some(head_len) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.buf.len() > self.max_message_size {
                return Err(FramingError::TooLarge);
            }
            return Ok(None);
        };
        let body_len =
            content_length(&self.buf[..head_len]).ok_or(FramingError::NoContentLength)?;
        let total = head_len + 4 + body_len;
        if total > self.max_message_size {
            return Err(FramingError::TooLarge);
        }
        if self.buf.len() < total {
            return Ok(None);
        }
        Ok(Some(self.buf.drain(..total).collect()))
    }
}

/// Finds the Content-Length (or `l`) value in a header section.
fn content_length(head: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(head).ok()?;
    text.split("\r\n").skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim_end_matches([' ', '\t']);
        let is_length =
            name.eq_ignore_ascii_case("Content-Length") || name.eq_ignore_ascii_case("l");
        if !is_length {
            return None;
        }
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() || value.len() > 9 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        value.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nl: 4\r\n\r\nbody";

    #[test]
    fn framer_waits_for_whole_message() {
        let mut framer = StreamFramer::new(1_000);
        framer.push(&MESSAGE[..10]);
        assert_eq!(framer.next_message(), Ok(None));
        framer.push(&MESSAGE[10..MESSAGE.len() - 1]);
        assert_eq!(framer.next_message(), Ok(None));
        framer.push(&MESSAGE[MESSAGE.len() - 1..]);
        assert_eq!(framer.next_message(), Ok(Some(MESSAGE.to_vec())));
        assert_eq!(framer.next_message(), Ok(None));
    }

    #[test]
    fn framer_splits_messages_skips_keepalives() {
        let mut framer = StreamFramer::new(1_000);
        framer.push(b"\r\n\r\n");
        framer.push(MESSAGE);
        framer.push(b"\r\n");
        framer.push(MESSAGE);
        assert_eq!(framer.next_message(), Ok(Some(MESSAGE.to_vec())));
        assert_eq!(framer.next_message(), Ok(Some(MESSAGE.to_vec())));
        assert_eq!(framer.next_message(), Ok(None));
    }

    #[test]
    fn framer_rejects_oversize_and_missing_length() {
        let mut framer = StreamFramer::new(20);
        framer.push(MESSAGE);
        assert_eq!(framer.next_message(), Err(FramingError::TooLarge));
        let mut framer = StreamFramer::new(1_000);
        framer.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n");
        assert_eq!(framer.next_message(), Err(FramingError::NoContentLength));
        let mut framer = StreamFramer::new(100);
        framer.push(&[b'A'; 101]);
        assert_eq!(framer.next_message(), Err(FramingError::TooLarge));
    }
}
