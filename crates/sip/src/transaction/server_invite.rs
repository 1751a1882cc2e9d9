//! The INVITE server transaction (RFC 3261 section 17.2.1), with timers G, H and I.
//!
//! A 2xx response ends the transaction at once, as RFC 3261 has it; the TU
//! retransmits a 2xx itself until the ACK arrives. RFC 6026 later added an
//! Accepted state to absorb stray INVITE copies after a 2xx.
// TODO: add the RFC 6026 Accepted state once Tandem sends 2xx responses to INVITE.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timers::TimerSet;
use super::{Action, Reliability, Timer, TimerConfig};
use crate::msg::{Method, Request, ResponseBuilder};

/// States of figure 7 in RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    /// Waiting for the TU's final response; provisional responses may go out.
    Proceeding,
    /// A final non-2xx response went out; waiting for the ACK.
    Completed,
    /// The ACK arrived; absorbing ACK copies.
    Confirmed,
    /// Over.
    Terminated,
}

/// An INVITE server transaction.
#[derive(Debug, Clone)]
pub struct ServerInvite {
    state: ServerInviteState,
    reliability: Reliability,
    config: TimerConfig,
    last_response: Option<Arc<[u8]>>,
    interval_g: Duration,
    timers: TimerSet,
}

impl ServerInvite {
    /// Starts the transaction for a received INVITE: passes it to the TU and
    /// sends 100 (Trying) at once, because the TU may take longer than 200 ms
    /// (RFC 3261 section 17.2.1). `source` stamps the Via of the 100.
    pub fn start(
        request: &Request<'_>,
        source: Option<SocketAddr>,
        reliability: Reliability,
        config: TimerConfig,
    ) -> (Self, Vec<Action>) {
        let trying: Arc<[u8]> = ResponseBuilder::for_request(request, source, 100, "Trying")
            .build()
            .into();
        let transaction = Self {
            state: ServerInviteState::Proceeding,
            reliability,
            config,
            last_response: Some(trying.clone()),
            interval_g: config.t1,
            timers: TimerSet::default(),
        };
        (
            transaction,
            vec![Action::PassToTu, Action::Transmit(trying)],
        )
    }

    /// Returns the current state.
    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    /// Returns when `on_timer` must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Handles a request matched to this transaction: a retransmitted INVITE
    /// or the ACK for a non-2xx final response.
    pub fn on_request(&mut self, request: &Request<'_>, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match (request.method, self.state) {
            (Method::Invite, ServerInviteState::Proceeding | ServerInviteState::Completed) => {
                if let Some(response) = &self.last_response {
                    actions.push(Action::Transmit(response.clone()));
                }
            }
            (Method::Ack, ServerInviteState::Completed) => {
                self.state = ServerInviteState::Confirmed;
                self.timers.clear();
                match self.reliability {
                    Reliability::Unreliable => {
                        self.timers
                            .start(Timer::I, now + self.config.t4, &mut actions);
                    }
                    Reliability::Reliable => self.terminate(&mut actions),
                }
            }
            _ => {}
        }
        actions
    }

    /// Sends a response from the TU with `status`, already printed.
    pub fn send_response(&mut self, status: u16, response: Vec<u8>, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state != ServerInviteState::Proceeding {
            return actions;
        }
        let response: Arc<[u8]> = response.into();
        actions.push(Action::Transmit(response.clone()));
        self.last_response = Some(response);
        match status {
            100..=199 => {}
            200..=299 => self.terminate(&mut actions),
            _ => {
                self.state = ServerInviteState::Completed;
                if self.reliability == Reliability::Unreliable {
                    self.timers
                        .start(Timer::G, now + self.config.t1, &mut actions);
                }
                self.timers
                    .start(Timer::H, now + self.config.timeout(), &mut actions);
            }
        }
        actions
    }

    /// Handles the timers due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some(timer) = self.timers.pop_due(now) {
            match (timer, self.state) {
                (Timer::G, ServerInviteState::Completed) => {
                    if let Some(response) = &self.last_response {
                        actions.push(Action::Transmit(response.clone()));
                    }
                    self.interval_g = (self.interval_g * 2).min(self.config.t2);
                    self.timers
                        .start(Timer::G, now + self.interval_g, &mut actions);
                }
                (Timer::H, ServerInviteState::Completed) => {
                    // The ACK never came.
                    actions.push(Action::Timeout);
                    self.terminate(&mut actions);
                }
                (Timer::I, ServerInviteState::Confirmed) => self.terminate(&mut actions),
                _ => {}
            }
        }
        actions
    }

    /// Handles a transport failure while sending a response.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state != ServerInviteState::Terminated {
            actions.push(Action::TransportError);
            self.terminate(&mut actions);
        }
        actions
    }

    fn terminate(&mut self, actions: &mut Vec<Action>) {
        self.state = ServerInviteState::Terminated;
        self.timers.clear();
        actions.push(Action::Terminated);
    }
}

#[cfg(test)]
#[path = "server_invite_tests.rs"]
mod tests;
