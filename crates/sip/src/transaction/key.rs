//! Matching messages to transactions (RFC 3261 sections 17.1.3 and 17.2.3).

use crate::msg::{Method, Request, Response};

/// Identifies a server transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// The top Via carries an RFC 3261 branch: branch, sent-by and method
    /// identify the transaction. ACK maps to INVITE, so that the ACK for a
    /// non-2xx response finds the INVITE transaction.
    Branch {
        /// Branch parameter, case-sensitive.
        branch: String,
        /// Sent-by of the top Via, lower case.
        sent_by: String,
        /// Request method, INVITE for ACK.
        method: String,
    },
    /// An RFC 2543 request (no branch, or a branch without the magic cookie):
    /// Request-URI, tags, Call-ID, CSeq and top Via identify the transaction.
    Rfc2543 {
        /// Request-URI as printed.
        request_uri: String,
        /// From tag.
        from_tag: Option<String>,
        /// To tag; left out for INVITE and ACK, because the ACK carries the
        /// tag of the response while the INVITE had none.
        to_tag: Option<String>,
        /// Call-ID.
        call_id: String,
        /// CSeq number.
        cseq: u32,
        /// Request method, INVITE for ACK.
        method: String,
        /// Top Via as printed.
        top_via: String,
    },
}

impl ServerKey {
    /// Returns the key of the server transaction `request` belongs to.
    ///
    /// NOTE: for an RFC 2543 ACK, RFC 3261 also requires its To tag to equal
    /// the tag of the response the transaction sent. This key leaves the To
    /// tag out for INVITE and ACK, so that check is not made.
    pub fn for_request(request: &Request<'_>) -> Self {
        let via = request.top_via();
        let method = match request.method {
            Method::Ack => "INVITE".to_owned(),
            other => other.as_str().to_owned(),
        };
        if via.has_rfc3261_branch() {
            return ServerKey::Branch {
                branch: via.branch.unwrap_or_default().to_owned(),
                sent_by: via.sent_by().to_ascii_lowercase(),
                method,
            };
        }
        let invite_like = matches!(request.method, Method::Invite | Method::Ack);
        ServerKey::Rfc2543 {
            request_uri: request.uri.to_string(),
            from_tag: request.from().tag().map(str::to_owned),
            to_tag: if invite_like {
                None
            } else {
                request.to().tag().map(str::to_owned)
            },
            call_id: request.call_id().to_owned(),
            cseq: request.cseq().seq,
            method,
            top_via: via.to_string(),
        }
    }
}

/// Identifies a client transaction: the branch it put in its Via and the
/// method in CSeq (RFC 3261 section 17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// Branch parameter of the top Via.
    pub branch: String,
    /// CSeq method.
    pub method: String,
}

impl ClientKey {
    /// Returns the key of a request this element sends.
    pub fn for_request(request: &Request<'_>) -> Option<Self> {
        let branch = request.top_via().branch?;
        Some(Self {
            branch: branch.to_owned(),
            method: request.cseq().method.as_str().to_owned(),
        })
    }

    /// Returns the key of the client transaction a response belongs to.
    pub fn for_response(response: &Response<'_>) -> Option<Self> {
        let branch = response.top_via().branch?;
        Some(Self {
            branch: branch.to_owned(),
            method: response.cseq().method.as_str().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_request, parse_response, Framing};
    use crate::transaction::test_support::{request, response};

    fn key(bytes: &[u8]) -> ServerKey {
        ServerKey::for_request(&parse_request(bytes, Framing::Datagram).unwrap())
    }

    #[test]
    fn server_key_matches_ack_to_invite_by_branch() {
        assert_eq!(
            key(&request("INVITE", "z9hG4bK1")),
            key(&request("ACK", "z9hG4bK1"))
        );
        assert_ne!(
            key(&request("INVITE", "z9hG4bK1")),
            key(&request("CANCEL", "z9hG4bK1"))
        );
        assert_ne!(
            key(&request("INVITE", "z9hG4bK1")),
            key(&request("INVITE", "z9hG4bK2"))
        );
    }

    #[test]
    fn server_key_includes_sent_by() {
        let other = String::from_utf8(request("OPTIONS", "z9hG4bK1"))
            .unwrap()
            .replace("127.0.0.1:5070", "127.0.0.1:5071");
        assert_ne!(key(&request("OPTIONS", "z9hG4bK1")), key(other.as_bytes()));
    }

    #[test]
    fn server_key_falls_back_to_rfc2543() {
        let invite = key(&request("INVITE", "old1"));
        assert!(matches!(invite, ServerKey::Rfc2543 { .. }));
        let ack = String::from_utf8(request("ACK", "old1")).unwrap().replace(
            "To: <sip:bob@example.com>",
            "To: <sip:bob@example.com>;tag=b2",
        );
        assert_eq!(
            invite,
            key(ack.as_bytes()),
            "ACK with To tag matches the INVITE"
        );
        let retransmission = key(&request("INVITE", "old1"));
        assert_eq!(invite, retransmission);
        let other_cseq = String::from_utf8(request("INVITE", "old1"))
            .unwrap()
            .replace("CSeq: 1", "CSeq: 2");
        assert_ne!(invite, key(other_cseq.as_bytes()));
    }

    #[test]
    fn server_key_treats_bare_cookie_as_rfc2543() {
        assert!(matches!(
            key(&request("OPTIONS", "z9hG4bK")),
            ServerKey::Rfc2543 { .. }
        ));
    }

    #[test]
    fn client_key_matches_response_to_request() {
        let sent = request("OPTIONS", "z9hG4bKc");
        let sent = parse_request(&sent, Framing::Datagram).unwrap();
        let got = response(200, "OPTIONS", "z9hG4bKc");
        let got = parse_response(&got, Framing::Datagram).unwrap();
        assert_eq!(ClientKey::for_request(&sent), ClientKey::for_response(&got));
        let cancel = response(200, "CANCEL", "z9hG4bKc");
        let cancel = parse_response(&cancel, Framing::Datagram).unwrap();
        assert_ne!(
            ClientKey::for_request(&sent),
            ClientKey::for_response(&cancel)
        );
    }
}
