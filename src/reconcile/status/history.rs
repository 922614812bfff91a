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
        // Every candidate of an A/B test goes back with the one that led.
        let candidates = rollout.candidates.iter().map(|c| c.revision);
        for revision in std::iter::once(rollout.revision).chain(candidates) {
            history = revisions::rolled_back(&history, revision, now);
        }
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

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::{
        api::{RolloutCandidate, RolloutStatus},
        rollout::revisions::{outcome, record, record_beside},
    };

    #[test]
    fn a_test_of_several_candidates_rolled_back_takes_every_candidate_back() {
        let now = Time(Timestamp::from_second(1_000).unwrap());
        let mut before = revisions::promote(&record(&[], 1, "bot:1", "s", &now, 10), 1, &now);
        before = record(&before, 2, "bot:1", "a", &now, 10);
        before = record_beside(&before, 3, "bot:1", "b", &now, 10);
        let facts = Assessment {
            current_revision: Some(2),
            revisions: before,
            rollout: Some(RolloutStatus {
                revision: 2,
                stable_revision: 1,
                phase: "RolledBack".into(),
                candidates: [("a", 2), ("b", 3)]
                    .into_iter()
                    .map(|(variant, revision)| RolloutCandidate {
                        variant: variant.into(),
                        revision,
                    })
                    .collect(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (after, stable, _, _) = history(&facts, &Progress::of(&facts), Some(1), &now);
        let outcomes: Vec<(i64, Option<&str>)> = after
            .iter()
            .map(|r| (r.revision, r.outcome.as_deref()))
            .collect();
        assert_eq!(
            outcomes,
            [
                (1, Some(outcome::PROMOTED)),
                (2, Some(outcome::ROLLED_BACK)),
                (3, Some(outcome::ROLLED_BACK))
            ]
        );
        assert_eq!(stable, Some(1));
    }
}
