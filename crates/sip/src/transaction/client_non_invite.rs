//! The non-INVITE client transaction (RFC 3261 section 17.1.2), with timers
//! E, F and K.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::timers::TimerSet;
use super::{Action, Reliability, Timer, TimerConfig};

/// States of figure 6 in RFC 3261.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    /// Request sent, nothing received.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived; stray copies are absorbed.
    Completed,
    /// Over.
    Terminated,
}

/// A non-INVITE client transaction.
#[derive(Debug, Clone)]
pub struct ClientNonInvite {
    state: ClientNonInviteState,
    reliability: Reliability,
    config: TimerConfig,
    request: Arc<[u8]>,
    interval_e: Duration,
    timers: TimerSet,
}

impl ClientNonInvite {
    /// Starts the transaction by sending `request`.
    pub fn start(
        request: Vec<u8>,
        reliability: Reliability,
        config: TimerConfig,
        now: Instant,
    ) -> (Self, Vec<Action>) {
        let request: Arc<[u8]> = request.into();
        let mut transaction = Self {
            state: ClientNonInviteState::Trying,
            reliability,
            config,
            request: request.clone(),
            interval_e: config.t1,
            timers: TimerSet::default(),
        };
        let mut actions = vec![Action::Transmit(request)];
        if reliability == Reliability::Unreliable {
            transaction
                .timers
                .start(Timer::E, now + config.t1, &mut actions);
        }
        transaction
            .timers
            .start(Timer::F, now + config.timeout(), &mut actions);
        (transaction, actions)
    }

    /// Returns the current state.
    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    /// Returns when `on_timer` must next be called.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Handles a response with `status` matched to this transaction.
    pub fn on_response(&mut self, status: u16, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let active = matches!(
            self.state,
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
        );
        if !active {
            // Completed absorbs retransmitted finals (RFC 3261 section 17.1.2.2).
            return actions;
        }
        actions.push(Action::PassToTu);
        if status < 200 {
            self.state = ClientNonInviteState::Proceeding;
            return actions;
        }
        self.state = ClientNonInviteState::Completed;
        self.timers.clear();
        match self.reliability {
            Reliability::Unreliable => {
                self.timers
                    .start(Timer::K, now + self.config.t4, &mut actions);
            }
            Reliability::Reliable => self.terminate(&mut actions),
        }
        actions
    }

    /// Handles the timers due at `now`.
    pub fn on_timer(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        while let Some(timer) = self.timers.pop_due(now) {
            match (timer, self.state) {
                (Timer::E, ClientNonInviteState::Trying) => {
                    actions.push(Action::Transmit(self.request.clone()));
                    self.interval_e = (self.interval_e * 2).min(self.config.t2);
                    self.timers
                        .start(Timer::E, now + self.interval_e, &mut actions);
                }
                (Timer::E, ClientNonInviteState::Proceeding) => {
                    // After a provisional response, retransmit every T2.
                    actions.push(Action::Transmit(self.request.clone()));
                    self.timers
                        .start(Timer::E, now + self.config.t2, &mut actions);
                }
                (Timer::F, ClientNonInviteState::Trying | ClientNonInviteState::Proceeding) => {
                    actions.push(Action::Timeout);
                    self.terminate(&mut actions);
                }
                (Timer::K, ClientNonInviteState::Completed) => self.terminate(&mut actions),
                _ => {}
            }
        }
        actions
    }

    /// Handles a transport failure while sending.
    pub fn on_transport_error(&mut self) -> Vec<Action> {
        let mut actions = Vec::new();
        if matches!(
            self.state,
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
        ) {
            actions.push(Action::TransportError);
            self.terminate(&mut actions);
        }
        actions
    }

    fn terminate(&mut self, actions: &mut Vec<Action>) {
        self.state = ClientNonInviteState::Terminated;
        self.timers.clear();
        actions.push(Action::Terminated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::*;

    fn start(reliability: Reliability) -> (ClientNonInvite, Vec<Action>, Instant) {
        let now = Instant::now();
        let (tx, actions) = ClientNonInvite::start(
            request("OPTIONS", "z9hG4bKopt"),
            reliability,
            TimerConfig::default(),
            now,
        );
        (tx, actions, now)
    }

    #[test]
    fn client_non_invite_timer_e_then_f() {
        let (mut tx, actions, t0) = start(Reliability::Unreliable);
        assert_eq!(scheduled(&actions, Timer::E, t0), [500]);
        assert_eq!(scheduled(&actions, Timer::F, t0), [32_000]);
        let mut fired = Vec::new();
        let mut now_ms = 500;
        while now_ms < 32_000 {
            let actions = tx.on_timer(at(t0, now_ms));
            assert_eq!(transmissions(&actions), 1);
            fired.push(now_ms);
            now_ms = scheduled(&actions, Timer::E, t0)[0];
        }
        assert_eq!(
            fired,
            [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500]
        );
        let actions = tx.on_timer(at(t0, 32_000));
        assert_eq!(actions, [Action::Timeout, Action::Terminated]);
    }

    #[test]
    fn client_non_invite_proceeding_retransmits_every_t2() {
        let (mut tx, _, t0) = start(Reliability::Unreliable);
        assert_eq!(tx.on_response(100, at(t0, 100)), [Action::PassToTu]);
        assert_eq!(tx.state(), ClientNonInviteState::Proceeding);
        let actions = tx.on_timer(at(t0, 500));
        assert_eq!(transmissions(&actions), 1);
        assert_eq!(scheduled(&actions, Timer::E, t0), [4_500]);
    }

    #[test]
    fn client_non_invite_final_waits_timer_k() {
        let (mut tx, _, t0) = start(Reliability::Unreliable);
        let actions = tx.on_response(200, at(t0, 300));
        assert_eq!(actions[0], Action::PassToTu);
        assert_eq!(scheduled(&actions, Timer::K, t0), [5_300]);
        assert!(
            tx.on_response(200, at(t0, 400)).is_empty(),
            "retransmitted final absorbed"
        );
        assert!(
            tx.on_timer(at(t0, 5_299)).is_empty(),
            "no retransmission after final"
        );
        assert_eq!(tx.on_timer(at(t0, 5_300)), [Action::Terminated]);
    }

    #[test]
    fn client_non_invite_reliable_skips_e_and_k() {
        let (mut tx, actions, t0) = start(Reliability::Reliable);
        assert!(scheduled(&actions, Timer::E, t0).is_empty());
        assert_eq!(
            tx.on_response(404, at(t0, 10)),
            [Action::PassToTu, Action::Terminated]
        );
    }

    #[test]
    fn client_non_invite_transport_error() {
        let (mut tx, _, _) = start(Reliability::Unreliable);
        assert_eq!(
            tx.on_transport_error(),
            [Action::TransportError, Action::Terminated]
        );
        assert!(tx.on_transport_error().is_empty());
    }
}
