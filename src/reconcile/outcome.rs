//! What each step of a reconcile hands back to the loop, in one shape:
//! the Events it asks for, how soon it wants another look, and what keeps
//! the spec from being applied. The loop folds them; no step reads
//! another's.

use std::time::Duration;

use super::conditions::Judgements;

/// How soon the resource wants another look, in order of urgency: the
/// greater of two paces (`Ord::max`) is the more urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pace {
    /// Nothing in flight: the periodic resync is enough.
    Steady,
    /// A rollout or a creation is in flight: look again soon (watch events
    /// usually come first).
    Waiting,
    /// The spec cannot be applied: only a change helps, look again slowly.
    Blocked,
}

/// An Event the decision asks for, beside the condition transitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: String,
    pub message: String,
}

/// Something that keeps the operator from applying the spec at all: the
/// last good children stay as they are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blocker {
    /// Short, stable reason: `InvalidSpec`, `UnknownEnvironment`,
    /// `CapacityExceeded`, `ChildConflict`, …
    pub reason: &'static str,
    /// The spec field (or object) at fault.
    pub path: String,
    /// What is wrong, starting with the field or object it is about.
    pub message: String,
}

impl std::fmt::Display for Blocker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What one step of a reconcile found and asks of the loop.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The conditions the step judged; the status merges them once.
    pub conditions: Judgements,
    /// Events to publish.
    pub notes: Vec<Note>,
    /// Look again this soon, whatever the pace.
    pub wake: Option<Duration>,
    /// How soon the step wants another look (`None`: no opinion).
    pub pace: Option<Pace>,
    /// Why the spec cannot be applied, when this step found a reason.
    pub blocker: Option<Blocker>,
}

impl Outcome {
    /// `self` followed by `later`: notes in order, the earlier wake, the
    /// more urgent pace, the first blocker.
    pub fn then(mut self, later: Outcome) -> Outcome {
        self.conditions.extend(later.conditions);
        self.notes.extend(later.notes);
        self.wake = [self.wake, later.wake].into_iter().flatten().min();
        self.pace = match (self.pace, later.pace) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.blocker = self.blocker.or(later.blocker);
        self
    }

    /// The steps' outcomes folded in order, as [`Outcome::then`] does.
    pub fn fold(steps: impl IntoIterator<Item = Outcome>) -> Outcome {
        steps.into_iter().fold(Outcome::default(), Outcome::then)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(reason: &str) -> Note {
        Note {
            warning: false,
            reason: reason.into(),
            message: String::new(),
        }
    }

    fn blocker(reason: &'static str) -> Blocker {
        Blocker {
            reason,
            path: "spec".into(),
            message: reason.into(),
        }
    }

    #[test]
    fn folding_keeps_every_note_in_order_the_earliest_wake_and_the_first_blocker() {
        let mut judged = Judgements::default();
        judged.set("Ready", true, "Available", "");
        let first = Outcome {
            conditions: judged,
            notes: vec![note("A")],
            wake: Some(Duration::from_secs(30)),
            pace: Some(Pace::Steady),
            blocker: None,
        };
        let mut judged = Judgements::default();
        judged.set_unknown("BackupHealthy", "NotChecked", "");
        let second = Outcome {
            conditions: judged,
            notes: vec![note("B")],
            wake: Some(Duration::from_secs(10)),
            pace: None,
            blocker: Some(blocker("ChildConflict")),
        };
        let third = Outcome {
            conditions: Judgements::default(),
            notes: vec![note("C")],
            wake: None,
            pace: Some(Pace::Waiting),
            blocker: Some(blocker("InvalidSpec")),
        };
        let folded = first.then(second).then(third);
        let reasons: Vec<&str> = folded.notes.iter().map(|n| n.reason.as_str()).collect();
        assert_eq!(reasons, ["A", "B", "C"]);
        let judged: Vec<&str> = folded
            .conditions
            .clone()
            .into_iter()
            .map(|j| j.type_)
            .collect();
        assert_eq!(judged, ["Ready", "BackupHealthy"]);
        assert_eq!(folded.wake, Some(Duration::from_secs(10)));
        assert_eq!(folded.pace, Some(Pace::Waiting));
        assert_eq!(folded.blocker.map(|b| b.reason), Some("ChildConflict"));
    }

    #[test]
    fn the_more_urgent_pace_wins_whichever_step_asked_first() {
        use Pace::*;
        for (a, b, urgent) in [
            (Steady, Waiting, Waiting),
            (Waiting, Steady, Waiting),
            (Waiting, Blocked, Blocked),
            (Blocked, Steady, Blocked),
            (Steady, Steady, Steady),
        ] {
            let folded = Outcome {
                pace: Some(a),
                ..Outcome::default()
            }
            .then(Outcome {
                pace: Some(b),
                ..Outcome::default()
            });
            assert_eq!(folded.pace, Some(urgent), "{a:?} then {b:?}");
        }
        assert_eq!(Outcome::default().then(Outcome::default()).pace, None);
    }
}
