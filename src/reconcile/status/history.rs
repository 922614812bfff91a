//! The revision history a reconcile moves: a revision promoted once it
//! rolled out, one rolled back, the candidate's revision and weight while
//! it is in flight. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{assessment::Assessment, lifecycle::Progress};
use crate::{api::RevisionRecord, rollout::revisions};

/// The revision history, the stable revision and the candidate's
/// revision and weight after this reconcile.
pub(super) fn history(
    facts: &Assessment,
    progress: &Progress,
    previous_stable: Option<i64>,
    now: &Time,
) -> (Vec<RevisionRecord>, Option<i64>, Option<i64>, Option<i32>) {
    let mut history = facts.revisions.clone();
    let mut stable = previous_stable;
    if progress.rolled_out
        && let Some(current) = facts.current_revision
    {
        history = revisions::promote(&history, current, now);
        stable = Some(current);
    }
    if let Some(rollout) = progress.rolled_back {
        history = revisions::rolled_back(&history, rollout.revision, now);
    }
    let (canary_revision, canary_weight) = match progress.rollout {
        Some(r) if progress.candidate_in_flight || progress.rolled_back.is_some() => {
            stable = Some(r.stable_revision);
            (
                progress.candidate_in_flight.then_some(r.revision),
                progress.candidate_in_flight.then_some(r.weight),
            )
        }
        _ => (None, None),
    };
    (history, stable, canary_revision, canary_weight)
}
