//! REGISTER processing (RFC 3261 section 10.3): authentication, authorization
//! and binding updates.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::bindings::{apply_contacts, BindingError};
use super::location::LocationStore;
use super::lockout::{Blocked, FailureLimiter, LockoutConfig};
use crate::auth::{Algorithm, AuthOutcome, DigestAuthenticator, StoredCredential};
use crate::msg::{
    check_request, format_date, HeaderName, Rejection, Request, ResponseBuilder, Uri,
};

/// The user database the registrar authenticates against.
pub trait Credentials {
    /// Returns the stored HA1 values of `user` in `realm`, if the user exists.
    /// Tandem's realm is the SIP domain, so `101` in `a.example` and `101` in
    /// `b.example` are different identities.
    fn lookup(&self, realm: &str, user: &str) -> Option<StoredCredential>;

    /// Returns whether this registrar is responsible for `domain`.
    fn serves_domain(&self, domain: &str) -> bool {
        let _ = domain;
        true
    }

    /// Returns the digest algorithms `realm` accepts, offered in this order.
    /// The default offers SHA-256, then MD5 for phones that lack SHA-256.
    fn algorithms(&self, realm: &str) -> &[Algorithm] {
        let _ = realm;
        &[Algorithm::Sha256, Algorithm::Md5]
    }
}

/// The kind of subject a block applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockSubject {
    /// A source IP address.
    Source,
    /// An address-of-record.
    Aor,
}

impl BlockSubject {
    /// Returns `source` or `aor`.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockSubject::Source => "source",
            BlockSubject::Aor => "aor",
        }
    }
}

/// Something the registrar did that its owner may record or count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrarEvent {
    /// A wrong password or an unknown user.
    AuthFailed {
        /// The source address of the REGISTER.
        source: SocketAddr,
        /// The address-of-record it was for.
        aor: String,
        /// The username it claimed.
        username: String,
    },
    /// Failures started a block.
    Blocked {
        /// Whether a source address or an address-of-record is blocked.
        subject: BlockSubject,
        /// The IP address or the address-of-record.
        value: String,
        /// The address-of-record of the failure that started the block.
        aor: String,
        /// When the block ends.
        until: SystemTime,
    },
}

/// Registrar settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Minimum registration time accepted, in seconds. Shorter requests get 423.
    pub min_expires: u32,
    /// Maximum registration time granted, in seconds. Longer requests are reduced to it.
    pub max_expires: u32,
    /// Registration time when the request names none, in seconds.
    pub default_expires: u32,
    /// Most contacts one address-of-record may hold.
    pub max_contacts: usize,
    /// Option tags accepted in Require.
    pub supported: Vec<String>,
    /// Failed-authentication blocking.
    pub lockout: LockoutConfig,
    /// This server's own addresses. A digest `uri` of `sip:` and one of them is accepted as
    /// well as the Request-URI itself, because some clients (sipp among them) put the server
    /// they send to there.
    pub server_addresses: Vec<SocketAddr>,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 10,
            supported: Vec::new(),
            lockout: LockoutConfig::default(),
            server_addresses: Vec::new(),
        }
    }
}

/// A registrar over a user database and a location store.
#[derive(Debug)]
pub struct Registrar<C, L> {
    config: RegistrarConfig,
    credentials: C,
    location: L,
    auth: DigestAuthenticator,
    limiter: FailureLimiter,
    events: Vec<RegistrarEvent>,
}

/// Maximum length of an address-of-record, in bytes. Longer ones get 400, so that failure
/// counters cannot be filled with huge keys.
const MAX_AOR_LEN: usize = 256;

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

impl<C: Credentials, L: LocationStore> Registrar<C, L> {
    /// Creates a registrar.
    pub fn new(
        config: RegistrarConfig,
        credentials: C,
        location: L,
        auth: DigestAuthenticator,
    ) -> Self {
        let limiter = FailureLimiter::new(config.lockout);
        Self {
            config,
            credentials,
            location,
            auth,
            limiter,
            events: Vec::new(),
        }
    }

    /// Returns the user database.
    pub fn credentials(&self) -> &C {
        &self.credentials
    }

    /// Returns and clears the events since the last call.
    pub fn take_events(&mut self) -> Vec<RegistrarEvent> {
        std::mem::take(&mut self.events)
    }

    /// Lifts the block of a source address and clears its failures.
    /// Returns whether it had any.
    pub fn unblock_source(&mut self, source: IpAddr) -> bool {
        self.limiter.clear_source(source)
    }

    /// Lifts the block of an address-of-record and clears its failures.
    /// Returns whether it had any.
    pub fn unblock_aor(&mut self, aor: &str) -> bool {
        self.limiter.clear_aor(aor)
    }

    /// Returns how many sources and addresses-of-record are blocked at `now`.
    pub fn blocked_count(&self, now: SystemTime) -> usize {
        self.limiter.blocked_count(now)
    }

    /// Returns the location store.
    pub fn location(&self) -> &L {
        &self.location
    }

    /// Returns the location store for maintenance such as purging.
    pub fn location_mut(&mut self) -> &mut L {
        &mut self.location
    }

    /// Handles a REGISTER that arrived from `source` at `now` and returns the
    /// response to send.
    pub fn handle(
        &mut self,
        request: &Request<'_>,
        source: SocketAddr,
        now: SystemTime,
    ) -> ResponseBuilder {
        let reply = |status, reason: &str| {
            ResponseBuilder::for_request(request, Some(source), status, reason).to_tag(&new_tag())
        };
        let supported: Vec<&str> = self.config.supported.iter().map(String::as_str).collect();
        if let Err(rejection) = check_request(request, &supported) {
            let response = reply(rejection.status_code(), rejection.reason_phrase());
            return match rejection {
                Rejection::BadExtension(tags) => response.header("Unsupported", tags.join(", ")),
                Rejection::UnsupportedUriScheme => response,
            };
        }
        let Uri::Sip(request_uri) = &request.uri else {
            return reply(416, "Unsupported URI Scheme");
        };
        let domain = request_uri.host.to_lowercase();
        if !self.credentials.serves_domain(&domain) {
            return reply(404, "Domain Not Served");
        }
        let to_uri = request.to().uri.as_sip();
        let aor = match to_uri {
            Some(uri) => uri.address_of_record(),
            None => request.to().uri.to_string(),
        };
        if aor.len() > MAX_AOR_LEN {
            return reply(400, "Address-of-Record Too Long");
        }

        // Authentication (step 3).
        let credentials = request
            .headers
            .auth(HeaderName::Authorization)
            .find(|c| c.is_digest() && c.param("realm").as_deref() == Some(domain.as_str()));
        // Failures count against the user the credentials claim, which a guesser cannot
        // move elsewhere by changing To.
        let claimed = credentials
            .and_then(|c| c.param("username"))
            .filter(|user| user.len() <= MAX_AOR_LEN)
            .map(|user| format!("sip:{user}@{domain}"))
            .unwrap_or_else(|| aor.clone());
        let aor_blocked = match self.limiter.check(source.ip(), &claimed, now) {
            Blocked::Source => return reply(403, "Forbidden"),
            Blocked::Aor => true,
            Blocked::No => self.limiter.check(source.ip(), &aor, now) == Blocked::Aor,
        };
        let store = &self.credentials;
        let algorithms = store.algorithms(&domain);
        let lookup = |user: &str| store.lookup(&domain, user);
        let outcome = self.auth.verify_offering(
            credentials,
            &domain,
            "REGISTER",
            algorithms,
            lookup,
            unix_secs(now),
        );
        let username = match outcome {
            AuthOutcome::Authenticated { username, .. } => username,
            AuthOutcome::Missing => {
                return self.challenge(reply(401, "Unauthorized"), &domain, false, now)
            }
            AuthOutcome::Stale => {
                return self.challenge(reply(401, "Unauthorized"), &domain, true, now)
            }
            AuthOutcome::Failed { username } => {
                tracing::info!(%source, %aor, %username, "digest authentication failed");
                self.record_failure(source, &claimed, aor_blocked, username, now);
                if aor_blocked {
                    return reply(403, "Forbidden");
                }
                return self.challenge(reply(401, "Unauthorized"), &domain, false, now);
            }
        };
        if aor_blocked {
            // Right or not, a stranger's password is not accepted while the extension is blocked.
            return reply(403, "Forbidden");
        }
        let digest_uri = credentials.and_then(|c| c.param("uri"));
        let servers = &self.config.server_addresses;
        if !digest_uri
            .is_some_and(|uri| uri_matches(&uri, &request.uri) || names_server(&uri, servers))
        {
            return reply(400, "Authorization URI Mismatch");
        }

        // Authorization (step 4) and the address-of-record (step 5).
        let Some(to_uri) = to_uri else {
            return reply(404, "Not Found");
        };
        let same_user = to_uri.user_decoded().as_deref() == Some(username.as_str());
        if !same_user || !to_uri.host.matches(&request_uri.host) {
            return reply(403, "Forbidden");
        }
        self.limiter.record_success(source.ip(), &aor, now);

        // Bindings (steps 6 to 8).
        let current = self.location.get(&aor, now);
        let bindings = match apply_contacts(request, current, source, now, &self.config) {
            Ok(bindings) => bindings,
            Err(error) => return binding_error_response(reply, error),
        };
        self.location.put(&aor, bindings.clone());
        let mut response = reply(200, "OK");
        for binding in &bindings {
            let remaining = binding.remaining_secs(now);
            let value = format!(
                "<{}>{};expires={remaining}",
                binding.contact, binding.params
            );
            response = response.header("Contact", value);
        }
        response.header("Date", format_date(now))
    }

    fn record_failure(
        &mut self,
        source: SocketAddr,
        aor: &str,
        aor_blocked: bool,
        username: String,
        now: SystemTime,
    ) {
        let started = if aor_blocked {
            self.limiter.record_source_failure(source.ip(), now)
        } else {
            self.limiter.record_failure(source.ip(), aor, now)
        };
        self.events.push(RegistrarEvent::AuthFailed {
            source,
            aor: aor.to_owned(),
            username,
        });
        let blocks = [
            (
                BlockSubject::Source,
                source.ip().to_string(),
                started.source_until,
            ),
            (BlockSubject::Aor, aor.to_owned(), started.aor_until),
        ];
        for (subject, value, until) in blocks {
            if let Some(until) = until {
                tracing::warn!(
                    subject = subject.as_str(),
                    %value,
                    %aor,
                    "blocked after repeated authentication failures"
                );
                self.events.push(RegistrarEvent::Blocked {
                    subject,
                    value,
                    aor: aor.to_owned(),
                    until,
                });
            }
        }
    }

    fn challenge(
        &self,
        response: ResponseBuilder,
        realm: &str,
        stale: bool,
        now: SystemTime,
    ) -> ResponseBuilder {
        let algorithms = self.credentials.algorithms(realm);
        self.auth
            .challenge_offering(realm, algorithms, stale, unix_secs(now))
            .into_iter()
            .fold(response, |response, value| {
                response.header("WWW-Authenticate", value)
            })
    }
}

fn binding_error_response(
    reply: impl Fn(u16, &str) -> ResponseBuilder,
    error: BindingError,
) -> ResponseBuilder {
    match error {
        BindingError::InvalidWildcard => reply(400, "Invalid Wildcard Contact"),
        BindingError::IntervalTooBrief { min_expires } => {
            reply(423, "Interval Too Brief").header("Min-Expires", min_expires.to_string())
        }
        BindingError::OutOfOrder => reply(500, "Out Of Order Request"),
        BindingError::TooManyContacts => reply(403, "Too Many Contacts"),
    }
}

/// Returns whether the digest `uri` directive names the Request-URI
/// (RFC 7616 section 3.4.6), comparing SIP URIs by RFC 3261 rules.
fn uri_matches(directive: &str, request_uri: &Uri<'_>) -> bool {
    match (Uri::parse(directive), request_uri) {
        (Ok(Uri::Sip(a)), Uri::Sip(b)) => a.matches(b),
        _ => directive == request_uri.to_string(),
    }
}

/// Returns whether the digest `uri` directive is `sip:` and one of `servers`.
fn names_server(directive: &str, servers: &[SocketAddr]) -> bool {
    directive
        .strip_prefix("sip:")
        .and_then(|rest| rest.parse::<SocketAddr>().ok())
        .is_some_and(|addr| servers.contains(&addr))
}

fn new_tag() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
#[path = "register_tests.rs"]
mod tests;
