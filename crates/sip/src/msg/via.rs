//! The Via header field (RFC 3261 section 20.42, RFC 3581 for `rport`).

use std::fmt;
use std::net::IpAddr;

use super::host::{parse_host, parse_port, Host};
use super::params::{parse_header_params, Params};
use super::scan::{parse_digits, split_commas, Cursor, Invalid};

/// The magic cookie that starts every RFC 3261 branch parameter.
pub const BRANCH_COOKIE: &str = "z9hG4bK";

/// One Via header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via<'a> {
    /// Protocol name, normally `SIP`.
    pub protocol: &'a str,
    /// Protocol version, normally `2.0`.
    pub version: &'a str,
    /// Transport such as `UDP`, `TCP` or `TLS`, as written.
    pub transport: &'a str,
    /// Host of sent-by.
    pub host: Host<'a>,
    /// Port of sent-by, when written.
    pub port: Option<u16>,
    /// All parameters in order, including the typed ones below.
    pub params: Params<'a>,
    /// `branch`.
    pub branch: Option<&'a str>,
    /// `received`.
    pub received: Option<IpAddr>,
    /// `rport`: `Some(None)` for the flag a client sends, `Some(Some(port))`
    /// when a server has filled it in.
    pub rport: Option<Option<u16>>,
    /// `maddr`.
    pub maddr: Option<Host<'a>>,
    /// `ttl`.
    pub ttl: Option<u8>,
}

impl<'a> Via<'a> {
    /// Returns whether the branch starts with the RFC 3261 magic cookie and has
    /// something after it. A branch that is only the cookie cannot be unique,
    /// so transaction matching treats it like an RFC 2543 branch.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch
            .is_some_and(|b| b.len() > BRANCH_COOKIE.len() && b.starts_with(BRANCH_COOKIE))
    }

    /// Returns sent-by as `host[:port]`.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.to_string(),
        }
    }
}

impl fmt::Display for Via<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol,
            self.version,
            self.transport,
            self.sent_by()
        )?;
        write!(f, "{}", self.params)
    }
}

/// Parses a Via header value: one or more comma-separated via-parms.
pub(crate) fn parse_vias(value: &str) -> Result<Vec<Via<'_>>, Invalid> {
    split_commas(value)?.into_iter().map(parse_via).collect()
}

/// Parses `sent-protocol LWS sent-by *( SEMI via-params )`, where
/// `sent-protocol = protocol-name SLASH protocol-version SLASH transport`.
fn parse_via(text: &str) -> Result<Via<'_>, Invalid> {
    if text.is_empty() {
        return Err("empty Via value");
    }
    let mut cursor = Cursor::new(text);
    let protocol = cursor.token().map_err(|_| "invalid protocol name")?;
    if !cursor.eat_separator(b'/') {
        return Err("missing '/' after protocol name");
    }
    let version = cursor.token().map_err(|_| "invalid protocol version")?;
    if !cursor.eat_separator(b'/') {
        return Err("missing '/' after protocol version");
    }
    let transport = cursor.token().map_err(|_| "invalid transport")?;

    if !cursor.skip_lws() {
        return Err("missing white space before sent-by");
    }
    let host = parse_host(&mut cursor)?;
    let port = parse_port(&mut cursor)?;
    let params = parse_header_params(&mut cursor)?;
    cursor.skip_lws();
    if !cursor.at_end() {
        return Err("unexpected text after Via parameters");
    }

    let mut via = Via {
        protocol,
        version,
        transport,
        host,
        port,
        params,
        branch: None,
        received: None,
        rport: None,
        maddr: None,
        ttl: None,
    };
    type_params(&mut via)?;
    Ok(via)
}

/// Checks and copies the parameters RFC 3261 and RFC 3581 give a meaning to.
fn type_params(via: &mut Via<'_>) -> Result<(), Invalid> {
    for param in via.params.iter() {
        let value = param.value;
        let name = param.name;
        if name.eq_ignore_ascii_case("branch") {
            // The grammar makes branch a token; a quoted string is not one.
            via.branch = Some(
                value
                    .filter(|v| !v.starts_with('"'))
                    .ok_or("invalid branch")?,
            );
        } else if name.eq_ignore_ascii_case("received") {
            let text = value.ok_or("received without value")?;
            via.received = Some(text.parse().map_err(|_| "invalid received address")?);
        } else if name.eq_ignore_ascii_case("rport") {
            via.rport = Some(match value {
                None => None,
                Some(port) => Some(parse_digits(port, 65535).map_err(|_| "invalid rport")? as u16),
            });
        } else if name.eq_ignore_ascii_case("maddr") {
            via.maddr = Some(Host::parse(value.ok_or("maddr without value")?)?);
        } else if name.eq_ignore_ascii_case("ttl") {
            let text = value.ok_or("ttl without value")?;
            if text.len() > 3 {
                return Err("invalid ttl");
            }
            via.ttl = Some(parse_digits(text, 255).map_err(|_| "invalid ttl")? as u8);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_parses_folded_white_space() {
        let value = "SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8  ,\r\n SIP  /    2.0   / UDP  192.168.255.111   ; branch=\r\n z9hG4bK30239";
        let vias = parse_vias(value).unwrap();
        assert_eq!(vias.len(), 2);
        assert_eq!(vias[0].transport, "TCP");
        assert_eq!(vias[0].host, Host::Domain("spindle.example.com"));
        assert_eq!(vias[0].branch, Some("z9hG4bK9ikj8"));
        assert_eq!(vias[1].branch, Some("z9hG4bK30239"));
    }

    #[test]
    fn via_types_received_rport_maddr_ttl() {
        let value = "SIP/2.0/UDP pc33.example.com:5066;branch=z9hG4bKnash;received=192.0.2.4;rport=5067;maddr=224.2.0.1;ttl=16";
        let via = &parse_vias(value).unwrap()[0];
        assert_eq!(via.port, Some(5066));
        assert_eq!(via.received, Some("192.0.2.4".parse().unwrap()));
        assert_eq!(via.rport, Some(Some(5067)));
        assert_eq!(via.maddr, Some(Host::Ipv4("224.2.0.1".parse().unwrap())));
        assert_eq!(via.ttl, Some(16));
    }

    #[test]
    fn via_rport_flag_without_value() {
        let via = &parse_vias("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d8;rport").unwrap()[0];
        assert_eq!(via.rport, Some(None));
    }

    #[test]
    fn via_rejects_malformed() {
        assert!(parse_vias("SIP/2.0/UDP 192.0.2.15;;,;,,").is_err());
        assert!(parse_vias("SIP/2.0/UDP").is_err());
        assert!(parse_vias("SIP/2.0/UDP host;ttl=256").is_err());
        assert!(parse_vias("SIP/2.0/UDP host;received=host.example.com").is_err());
        assert!(parse_vias("SIP/2.0 UDP host").is_err());
    }

    #[test]
    fn via_branch_cookie_alone_is_not_rfc3261() {
        let via = &parse_vias("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").unwrap()[0];
        assert!(!via.has_rfc3261_branch());
        let via = &parse_vias("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK776").unwrap()[0];
        assert!(via.has_rfc3261_branch());
    }

    #[test]
    fn via_display_round_trips() {
        let text = "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK1;rport=5060;received=2001:db8::9";
        let via = &parse_vias(text).unwrap()[0];
        assert_eq!(via.to_string(), text);
    }
}
