//! The non-INVITE server transaction (RFC 3261 section 17.2.2), with timer J.

use std::sync::Arc;
use std::time::Instant;

use super::timers::TimerSet;
use super::{Action, Reliability, Timer, TimerConfig};

/// States of figure 8 in RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    /// Request passed to the TU, nothing sent yet.
    Trying,
    /// A provisional response went out.
    Proceeding,
    /// A final response went out; request copies get it again.
    Completed,
    /// Over.
    Terminated,
}

/// A non-INVITE server transaction.
#[derive(Debug, Clone)]
pub struct ServerNonInvite {
    state: ServerNonInviteState,
    reliability: Reliability,
    config: TimerConfig,
    last_response: Option<Arc<[u8]>>,
    timers: TimerSet,
}

impl ServerNonInvite {
    /// Starts the transaction for a received request and passes it to the TU.
    pub fn start(reliability: Reliability, config: TimerConfig) -> (Self, Vec<Action>) {
        let transaction = Self {
            state: ServerNonInviteState::Trying,
            reliability,
            config,
            last_response: None,
            timers: TimerSet::default(),
        };
        (transaction, vec![Action::PassToTu])
    }

    /// Returns the current state.
    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    /// Returns when `on_timer` must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Handles a retransmission of the request. Trying absorbs it; later
    /// states send the last response again.
    pub fn on_request(&mut self) -> Vec<Action> {
        match (&self.last_response, self.state) {
            (
                Some(response),
                ServerNonInviteState::Proceeding | ServerNonInviteState::Completed,
            ) => {
                vec![Action::Transmit(response.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// Sends a response from the TU with `status`, already printed.
    pub fn send_response(&mut self, status: u16, response: Vec<u8>, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if !matches!(
            self.state,
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding
        ) {
            return actions;
        }
        let response: Arc<[u8]> = response.into();
        actions.push(Action::Transmit(response.clone()));
        self.last_response = Some(response);
        if status < 200 {
            self.state = ServerNonInviteState::Proceeding;
            return actions;
        }
        self.state = ServerNonInviteState::Completed;
        match self.reliability {
            Reliability::Unreliable => {
                self.timers
                    .start(Timer::J, now + self.config.timeout(), &mut actions);
            }
            Reliability::Reliable => self.terminate(&mut actions),
        }
        actions
    }

    /// Handles the timers due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some(timer) = self.timers.pop_due(now) {
            if timer == Timer::J && self.state == ServerNonInviteState::Completed {
                self.terminate(&mut actions);
            }
        }
        actions
    }

    /// Handles a transport failure while sending a response.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.state != ServerNonInviteState::Terminated {
            actions.push(Action::TransportError);
            self.terminate(&mut actions);
        }
        actions
    }

    fn terminate(&mut self, actions: &mut Vec<Action>) {
        self.state = ServerNonInviteState::Terminated;
        self.timers.clear();
        actions.push(Action::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::*;

    fn start(reliability: Reliability) -> (ServerNonInvite, Instant) {
        let (tx, actions) = ServerNonInvite::start(reliability, TimerConfig::default());
        assert_eq!(actions, [Action::PassToTu]);
        (tx, Instant::now())
    }

    #[test]
    fn server_non_invite_absorbs_retransmission_while_trying() {
        let (mut tx, _) = start(Reliability::Unreliable);
        assert!(tx.on_request().is_empty());
    }

    #[test]
    fn server_non_invite_repeats_last_response() {
        let (mut tx, t0) = start(Reliability::Unreliable);
        tx.send_response(100, response(100, "REGISTER", "z9hG4bKr"), t0);
        assert!(first_transmitted(&tx.on_request()).starts_with("SIP/2.0 100 "));
        tx.send_response(200, response(200, "REGISTER", "z9hG4bKr"), t0);
        assert!(first_transmitted(&tx.on_request()).starts_with("SIP/2.0 200 "));
    }

    #[test]
    fn server_non_invite_timer_j_terminates() {
        let (mut tx, t0) = start(Reliability::Unreliable);
        let actions = tx.send_response(200, response(200, "REGISTER", "z9hG4bKr"), at(t0, 10));
        assert_eq!(scheduled(&actions, Timer::J, t0), [32_010]);
        assert!(tx.on_timer(at(t0, 32_009)).is_empty());
        assert_eq!(tx.on_timer(at(t0, 32_010)), [Action::Terminated]);
        assert_eq!(tx.state(), ServerNonInviteState::Terminated);
    }

    #[test]
    fn server_non_invite_reliable_terminates_at_once() {
        let (mut tx, t0) = start(Reliability::Reliable);
        let actions = tx.send_response(401, response(401, "REGISTER", "z9hG4bKr"), t0);
        assert_eq!(actions.last(), Some(&Action::Terminated));
    }

    #[test]
    fn server_non_invite_ignores_second_final() {
        let (mut tx, t0) = start(Reliability::Unreliable);
        tx.send_response(200, response(200, "REGISTER", "z9hG4bKr"), t0);
        assert!(tx
            .send_response(500, response(500, "REGISTER", "z9hG4bKr"), t0)
            .is_empty());
    }

    #[test]
    fn server_non_invite_custom_t1_scales_timer_j() {
        let config = TimerConfig {
            t1: std::time::Duration::from_millis(100),
            ..TimerConfig::default()
        };
        let (mut tx, _) = ServerNonInvite::start(Reliability::Unreliable, config);
        let t0 = Instant::now();
        let actions = tx.send_response(200, response(200, "REGISTER", "z9hG4bKr"), t0);
        assert_eq!(scheduled(&actions, Timer::J, t0), [6_400]);
    }
}
