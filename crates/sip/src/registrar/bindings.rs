//! Applying the Contact header fields of a REGISTER to an address-of-record's
//! bindings (RFC 3261 section 10.3, steps 6 and 7).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::location::Binding;
use super::register::RegistrarConfig;
use crate::msg::{Contacts, NameAddr, Params, Request, Uri};

/// A reason a REGISTER cannot change the bindings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BindingError {
    /// `Contact: *` with other contacts or an expiry other than 0 (400).
    InvalidWildcard,
    /// A contact requests less than the minimum (423 with Min-Expires).
    IntervalTooBrief {
        /// The minimum to advertise.
        min_expires: u32,
    },
    /// The same Call-ID with a CSeq not above the stored one (500).
    OutOfOrder,
    /// More contacts than an address-of-record may hold (403).
    TooManyContacts,
}

/// Returns the bindings after `request`, or why it cannot apply. All checks
/// run before any change, so a failed REGISTER changes nothing.
pub(crate) fn apply_contacts(
    request: &Request<'_>,
    mut bindings: Vec<Binding>,
    source: SocketAddr,
    now: SystemTime,
    config: &RegistrarConfig,
) -> Result<Vec<Binding>, BindingError> {
    let call_id = request.call_id();
    let cseq = request.cseq().seq;
    let out_of_order = |binding: &Binding| binding.call_id == call_id && cseq <= binding.cseq;
    let contacts = match request.headers.contacts() {
        None => return Ok(bindings),
        Some(Contacts::Star) => {
            let only_star = request
                .headers
                .named(crate::msg::HeaderName::Contact)
                .count()
                == 1;
            if !only_star || request.headers.expires() != Some(0) {
                return Err(BindingError::InvalidWildcard);
            }
            if bindings.iter().any(out_of_order) {
                return Err(BindingError::OutOfOrder);
            }
            return Ok(Vec::new());
        }
        Some(Contacts::List(list)) => list,
    };

    let header_expires = request.headers.expires();
    let mut changes = Vec::with_capacity(contacts.len());
    for contact in &contacts {
        let requested = contact
            .params
            .value("expires")
            .and_then(|v| v.parse::<u32>().ok())
            .or(header_expires)
            .unwrap_or(config.default_expires);
        if requested != 0 && requested < config.min_expires {
            return Err(BindingError::IntervalTooBrief {
                min_expires: config.min_expires,
            });
        }
        changes.push((contact, requested.min(config.max_expires)));
    }

    for (contact, expires) in changes {
        let existing = bindings
            .iter()
            .position(|b| same_contact(&b.contact, &contact.uri));
        if let Some(index) = existing {
            if out_of_order(&bindings[index]) {
                return Err(BindingError::OutOfOrder);
            }
            bindings.remove(index);
        }
        if expires > 0 {
            bindings.push(new_binding(contact, expires, request, source, now));
        }
    }
    if bindings.len() > config.max_contacts {
        return Err(BindingError::TooManyContacts);
    }
    Ok(bindings)
}

fn new_binding(
    contact: &NameAddr<'_>,
    expires: u32,
    request: &Request<'_>,
    source: SocketAddr,
    now: SystemTime,
) -> Binding {
    let params: Vec<_> = contact
        .params
        .iter()
        .filter(|p| !p.name.eq_ignore_ascii_case("expires"))
        .copied()
        .collect();
    Binding {
        contact: contact.uri.to_string(),
        params: Params(params).to_string(),
        expires_at: now + Duration::from_secs(u64::from(expires)),
        call_id: request.call_id().to_owned(),
        cseq: request.cseq().seq,
        source,
        transport: request.top_via().transport.to_ascii_uppercase(),
        user_agent: request
            .headers
            .text("User-Agent")
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
    }
}

/// Compares a stored contact with a new one: SIP URIs by RFC 3261 rules,
/// other schemes as text.
fn same_contact(stored: &str, uri: &Uri<'_>) -> bool {
    match (Uri::parse(stored), uri) {
        (Ok(Uri::Sip(a)), Uri::Sip(b)) => a.matches(b),
        _ => stored == uri.to_string(),
    }
}

#[cfg(test)]
#[path = "bindings_tests.rs"]
mod tests;
