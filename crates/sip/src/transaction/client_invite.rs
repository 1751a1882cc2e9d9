//! The INVITE client transaction (RFC 3261 section 17.1.1), with timers A, B and D.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timers::TimerSet;
use super::{Action, Reliability, Timer, TimerConfig};
use crate::msg::{parse_request, Framing, HeaderName, ParseError, Response};

/// States of figure 5 in RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    /// INVITE sent, nothing received.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A final non-2xx response arrived and was acknowledged.
    Completed,
    /// Over.
    Terminated,
}

/// The parts of the INVITE an ACK for a non-2xx response repeats
/// (RFC 3261 section 17.1.1.3).
#[derive(Debug, Clone)]
struct AckTemplate {
    request_uri: String,
    top_via: String,
    from: String,
    call_id: String,
    cseq: u32,
    routes: Vec<String>,
}

/// An INVITE client transaction.
#[derive(Debug, Clone)]
pub struct ClientInvite {
    state: ClientInviteState,
    reliability: Reliability,
    config: TimerConfig,
    request: Arc<[u8]>,
    ack_template: AckTemplate,
    ack: Option<Arc<[u8]>>,
    interval_a: Duration,
    timers: TimerSet,
}

impl ClientInvite {
    /// Starts the transaction by sending `request`, which must be an INVITE.
    pub fn start(
        request: Vec<u8>,
        reliability: Reliability,
        config: TimerConfig,
        now: Instant,
    ) -> Result<(Self, Vec<Action>), ParseError> {
        let parsed = parse_request(&request, Framing::Datagram)?;
        let text = |name| parsed.headers.named(name).next().map(|h| unfold(h.value));
        let ack_template = AckTemplate {
            request_uri: parsed.uri.to_string(),
            top_via: parsed.top_via().to_string(),
            from: text(HeaderName::From).unwrap_or_default(),
            call_id: parsed.call_id().to_owned(),
            cseq: parsed.cseq().seq,
            routes: parsed
                .headers
                .named(HeaderName::Route)
                .map(|h| unfold(h.value))
                .collect(),
        };
        let request: Arc<[u8]> = request.into();
        let mut transaction = Self {
            state: ClientInviteState::Calling,
            reliability,
            config,
            request: request.clone(),
            ack_template,
            ack: None,
            interval_a: config.t1,
            timers: TimerSet::default(),
        };
        let mut actions = vec![Action::Transmit(request)];
        if reliability == Reliability::Unreliable {
            transaction
                .timers
                .start(Timer::A, now + config.t1, &mut actions);
        }
        transaction
            .timers
            .start(Timer::B, now + config.timeout(), &mut actions);
        Ok((transaction, actions))
    }

    /// Returns the current state.
    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    /// Returns when `on_timer` must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Handles a response matched to this transaction.
    pub fn on_response(&mut self, response: &Response<'_>, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match (self.state, response.status) {
            (ClientInviteState::Calling | ClientInviteState::Proceeding, 100..=199) => {
                self.state = ClientInviteState::Proceeding;
                self.timers.stop(Timer::A);
                actions.push(Action::PassToTu);
            }
            (ClientInviteState::Calling | ClientInviteState::Proceeding, 200..=299) => {
                // The TU acknowledges a 2xx itself, end to end.
                actions.push(Action::PassToTu);
                self.terminate(&mut actions);
            }
            (ClientInviteState::Calling | ClientInviteState::Proceeding, _) => {
                let ack = self.build_ack(response);
                actions.push(Action::Transmit(ack.clone()));
                self.ack = Some(ack);
                actions.push(Action::PassToTu);
                self.state = ClientInviteState::Completed;
                self.timers.clear();
                match self.reliability {
                    Reliability::Unreliable => {
                        self.timers
                            .start(Timer::D, now + self.config.timer_d, &mut actions);
                    }
                    Reliability::Reliable => self.terminate(&mut actions),
                }
            }
            (ClientInviteState::Completed, 300..=699) => {
                // A retransmitted final response: acknowledge it again, quietly.
                if let Some(ack) = &self.ack {
                    actions.push(Action::Transmit(ack.clone()));
                }
            }
            _ => {}
        }
        actions
    }

    /// Handles the timers due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some(timer) = self.timers.pop_due(now) {
            match (timer, self.state) {
                (Timer::A, ClientInviteState::Calling) => {
                    actions.push(Action::Transmit(self.request.clone()));
                    // Timer A doubles without the T2 cap of non-INVITE requests.
                    self.interval_a *= 2;
                    self.timers
                        .start(Timer::A, now + self.interval_a, &mut actions);
                }
                (Timer::B, ClientInviteState::Calling) => {
                    actions.push(Action::Timeout);
                    self.terminate(&mut actions);
                }
                (Timer::D, ClientInviteState::Completed) => self.terminate(&mut actions),
                _ => {}
            }
        }
        actions
    }

    /// Handles a transport failure while sending.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state == ClientInviteState::Calling {
            actions.push(Action::TransportError);
            self.terminate(&mut actions);
        }
        actions
    }

    fn terminate(&mut self, actions: &mut Vec<Action>) {
        self.state = ClientInviteState::Terminated;
        self.timers.clear();
        actions.push(Action::Terminated);
    }

    fn build_ack(&self, response: &Response<'_>) -> Arc<[u8]> {
        let template = &self.ack_template;
        let to = response
            .headers
            .named(HeaderName::To)
            .next()
            .map(|h| unfold(h.value));
        let mut text = format!("ACK {} SIP/2.0\r\n", template.request_uri);
        let _ = write!(text, "Via: {}\r\n", template.top_via);
        for route in &template.routes {
            let _ = write!(text, "Route: {route}\r\n");
        }
        let _ = write!(
            text,
            "Max-Forwards: 70\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
            template.from,
            to.unwrap_or_default(),
            template.call_id,
            template.cseq
        );
        text.into_bytes().into()
    }
}

fn unfold(value: &str) -> String {
    value.replace("\r\n", "")
}

#[cfg(test)]
#[path = "client_invite_tests.rs"]
mod tests;
