//! How soon the decision asks to look again.

use super::Holds;
use crate::reconcile::{
    decision::Decision, observe::MigrationState, outcome::Pace, status::Assessment,
};

/// How soon to look again: slowly while only a change helps, soon while
/// something is in flight.
pub(super) fn pace(
    decision: &Decision,
    assessment: &Assessment,
    holds: Holds,
    urls_missing: bool,
    revision: i64,
) -> Pace {
    let in_flight = urls_missing
        || decision.release_hold
        || !decision.apply.is_empty()
        || decision.generate.is_some()
        || assessment.workload.as_ref().is_none_or(|w| !w.rolled_out());
    let migration_failed = assessment
        .migration
        .as_ref()
        .is_some_and(|m| m.state == MigrationState::Failed);
    // A rollout that time alone moves (a timed pause, the next analysis
    // round, the scale-down delay) wakes when it is due; one that waits
    // for pods or checks looks again soon.
    let rollout_moving = decision.wake.is_none()
        && assessment.rollout.as_ref().is_some_and(|r| {
            use crate::rollout::progressive;
            r.revision == revision
                && (progressive::phase_of(r) == crate::rollout::machine::Phase::Progressing
                    || progressive::promoting(r))
        });
    if !assessment.missing_secrets.is_empty() || migration_failed {
        Pace::Blocked
    } else if in_flight || holds.migration || rollout_moving {
        Pace::Waiting
    } else {
        Pace::Steady
    }
}
