//! How soon a resource is looked at again: the intervals by pace, and the
//! one a reconcile's folded outcome asks for.

use std::time::Duration;

use super::outcome::{Outcome, Pace};

/// How often resources are looked at again.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    /// Resync of a settled resource.
    pub resync: Duration,
    /// While a rollout or creation is in flight.
    pub waiting: Duration,
    /// While the spec cannot be applied.
    pub blocked: Duration,
    /// First retry after a failure; doubles up to `blocked`.
    pub backoff: Duration,
}

impl Timing {
    /// How long until the next look: the pace's interval, sooner when a
    /// step wakes earlier.
    pub fn after(&self, outcome: &Outcome) -> Duration {
        let after = match outcome.pace.unwrap_or(Pace::Steady) {
            Pace::Steady => self.resync,
            Pace::Waiting => self.waiting,
            Pace::Blocked => self.blocked,
        };
        outcome.wake.map_or(after, |wake| wake.min(after))
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(300),
            waiting: Duration::from_secs(30),
            blocked: Duration::from_secs(300),
            backoff: Duration::from_secs(5),
        }
    }
}
