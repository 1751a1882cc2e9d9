//! Checks a UAS makes on a request that parsed (RFC 3261 section 8.2.2):
//! the Request-URI scheme (416) and the extensions in Require (420).

use super::error::Rejection;
use super::header::HeaderName;
use super::message::Request;
use super::method::Method;
use super::uri::Uri;

/// Checks the Request-URI scheme and Require against the option tags in
/// `supported`, in the order RFC 3261 section 8.2.2 gives.
///
/// Require is not checked for ACK and CANCEL, which cannot be rejected
/// (RFC 3261 section 8.2.2.3). Proxy-Require is a proxy's concern; see
/// [`check_proxy_require`].
pub fn check_request(request: &Request<'_>, supported: &[&str]) -> Result<(), Rejection> {
    if matches!(request.uri, Uri::Other { .. }) {
        return Err(Rejection::UnsupportedUriScheme);
    }
    if matches!(request.method, Method::Ack | Method::Cancel) {
        return Ok(());
    }
    unsupported(request, HeaderName::Require, supported)
}

/// Checks Proxy-Require as a proxy does (RFC 3261 section 16.3 step 5).
pub fn check_proxy_require(request: &Request<'_>, supported: &[&str]) -> Result<(), Rejection> {
    unsupported(request, HeaderName::ProxyRequire, supported)
}

fn unsupported(
    request: &Request<'_>,
    name: HeaderName<'_>,
    supported: &[&str],
) -> Result<(), Rejection> {
    let missing: Vec<String> = request
        .headers
        .option_tags(name)
        .filter(|tag| !supported.iter().any(|s| s.eq_ignore_ascii_case(tag)))
        .map(str::to_owned)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Rejection::BadExtension(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_request, Framing};

    fn request(extra: &str, uri: &str, method: &str) -> Vec<u8> {
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn check_request_rejects_other_schemes_with_416() {
        let raw = request("", "tel:+15551234", "OPTIONS");
        let parsed = parse_request(&raw, Framing::Datagram).unwrap();
        assert_eq!(
            check_request(&parsed, &[]),
            Err(Rejection::UnsupportedUriScheme)
        );
    }

    #[test]
    fn check_request_lists_unsupported_requires() {
        let raw = request("Require: path, foo\r\n", "sip:a@b", "OPTIONS");
        let parsed = parse_request(&raw, Framing::Datagram).unwrap();
        let rejection = check_request(&parsed, &["path"]).unwrap_err();
        assert_eq!(rejection, Rejection::BadExtension(vec!["foo".to_owned()]));
        assert_eq!(rejection.status_code(), 420);
    }

    #[test]
    fn check_request_ignores_require_on_ack() {
        let raw = request("Require: foo\r\n", "sip:a@b", "ACK");
        let parsed = parse_request(&raw, Framing::Datagram).unwrap();
        assert_eq!(check_request(&parsed, &[]), Ok(()));
    }

    #[test]
    fn check_proxy_require_lists_unsupported() {
        let raw = request("Proxy-Require: foo\r\n", "sip:a@b", "OPTIONS");
        let parsed = parse_request(&raw, Framing::Datagram).unwrap();
        assert_eq!(check_request(&parsed, &[]), Ok(()));
        assert!(check_proxy_require(&parsed, &[]).is_err());
    }
}
