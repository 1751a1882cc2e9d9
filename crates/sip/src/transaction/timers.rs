//! The set of running timers of one transaction.

use std::time::Instant;

use super::{Action, Timer};

/// Running timers with their deadlines.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerSet {
    running: Vec<(Timer, Instant)>,
}

impl TimerSet {
    /// Starts (or restarts) `timer` to fire at `at`, and records the action.
    pub(crate) fn start(&mut self, timer: Timer, at: Instant, actions: &mut Vec<Action>) {
        self.stop(timer);
        self.running.push((timer, at));
        actions.push(Action::Schedule(timer, at));
    }

    /// Stops `timer` if it is running.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.running.retain(|(t, _)| *t != timer);
    }

    /// Stops every timer.
    pub(crate) fn clear(&mut self) {
        self.running.clear();
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let index = self
            .running
            .iter()
            .enumerate()
            .filter(|(_, (_, at))| *at <= now)
            .min_by_key(|(_, (_, at))| *at)
            .map(|(index, _)| index)?;
        Some(self.running.remove(index).0)
    }

    /// Returns the earliest deadline.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.running.iter().map(|(_, at)| *at).min()
    }
}
