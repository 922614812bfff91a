//! Revision numbering and history. Every change of the pod template (image,
//! environment, resources…) is a new revision; the history lives in status,
//! newest last, bounded by `revisionHistoryLimit`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::RevisionRecord;

/// Outcomes recorded in the history.
pub mod outcome {
    /// Being rolled out.
    pub const IN_PROGRESS: &str = "InProgress";
    /// Became the stable revision.
    pub const PROMOTED: &str = "Promoted";
    /// Replaced by a newer revision before it was promoted.
    pub const SUPERSEDED: &str = "Superseded";
    /// An on-call rollback took its pods back to an earlier revision.
    pub const ROLLED_BACK: &str = "RolledBack";
}

/// A revision as the cluster records it on the Deployment's pod template,
/// used when the status history is empty (e.g. a resource restored from
/// Git without its status).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    pub revision: i64,
    pub template_hash: String,
}

/// Which revision a rendered pod template is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub number: i64,
    /// The history gains a record for this revision.
    pub record: bool,
}

/// The revision of a template with `template_hash`, given the history and
/// what the cluster shows: the newest revision, or one in progress beside
/// it (an A/B test's candidates are all in progress), when it has this
/// template. Numbers only grow: going back to an older template is a new
/// revision too, so the history reads in time order.
pub fn choose(
    history: &[RevisionRecord],
    recovered: Option<&Recovered>,
    template_hash: &str,
) -> Choice {
    if let Some(newest) = history.last() {
        let in_progress = history.iter().rev().find(|r| {
            r.spec_hash == template_hash && r.outcome.as_deref() == Some(outcome::IN_PROGRESS)
        });
        if let Some(same) = Some(newest)
            .filter(|n| n.spec_hash == template_hash)
            .or(in_progress)
        {
            return Choice {
                number: same.revision,
                record: false,
            };
        }
        let highest = history.iter().map(|r| r.revision).max().unwrap_or(0);
        return Choice {
            number: highest + 1,
            record: true,
        };
    }
    match recovered {
        Some(found) if found.template_hash == template_hash => Choice {
            number: found.revision,
            record: true,
        },
        Some(found) => Choice {
            number: found.revision + 1,
            record: true,
        },
        None => Choice {
            number: 1,
            record: true,
        },
    }
}

/// The history with a new revision appended: the revision in flight before
/// it is superseded, and the oldest records beyond `limit` dropped.
pub fn record(
    history: &[RevisionRecord],
    number: i64,
    image: &str,
    template_hash: &str,
    now: &Time,
    limit: usize,
) -> Vec<RevisionRecord> {
    let next = supersede(history, now, |_| true);
    record_beside(&next, number, image, template_hash, now, limit)
}

/// The history with the in-progress records `which` picks superseded.
fn supersede(
    history: &[RevisionRecord],
    now: &Time,
    which: impl Fn(&RevisionRecord) -> bool,
) -> Vec<RevisionRecord> {
    history
        .iter()
        .cloned()
        .map(|mut record| {
            if record.outcome.as_deref() == Some(outcome::IN_PROGRESS) && which(&record) {
                record.outcome = Some(outcome::SUPERSEDED.into());
                record.aborted_at = Some(now.clone());
            }
            record
        })
        .collect()
}

/// The history with a new revision appended beside the ones in progress
/// (another candidate of the same A/B test), and the oldest records
/// beyond `limit` dropped.
pub fn record_beside(
    history: &[RevisionRecord],
    number: i64,
    image: &str,
    template_hash: &str,
    now: &Time,
    limit: usize,
) -> Vec<RevisionRecord> {
    let mut next = history.to_vec();
    next.push(RevisionRecord {
        revision: number,
        image: image.to_string(),
        spec_hash: template_hash.to_string(),
        created_at: Some(now.clone()),
        outcome: Some(outcome::IN_PROGRESS.into()),
        ..Default::default()
    });
    let limit = limit.max(1);
    if next.len() > limit {
        next.drain(..next.len() - limit);
    }
    next
}

/// The revision a rollback goes to: `requested`, or else the newest
/// promoted revision older than `current`. Errs with a message for the
/// on-call engineer when there is none or it is the current one.
pub fn rollback_target(
    history: &[RevisionRecord],
    current: Option<i64>,
    requested: Option<i64>,
) -> Result<i64, String> {
    let known = || {
        history
            .iter()
            .map(|r| r.revision.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let target = match requested {
        Some(number) => {
            if !history.iter().any(|r| r.revision == number) {
                return Err(format!(
                    "revision {number} is not in the history (known: {})",
                    known()
                ));
            }
            number
        }
        None => history
            .iter()
            .rev()
            .filter(|r| current.is_none_or(|c| r.revision < c))
            .find(|r| r.promoted_at.is_some())
            .map(|r| r.revision)
            .ok_or_else(|| {
                format!(
                    "no earlier revision was ever promoted, nothing to roll back to (history: {})",
                    known()
                )
            })?,
    };
    if Some(target) == current {
        return Err(format!("revision {target} is already the current revision"));
    }
    Ok(target)
}

/// The history with revision `number`'s pre-rollout backups recorded: the
/// dump's id and the RDS and ElastiCache snapshots' (once: the first ones
/// that let it roll out).
pub fn with_snapshot(
    history: &[RevisionRecord],
    number: i64,
    taken: &crate::backup::gate::Taken,
) -> Vec<RevisionRecord> {
    history
        .iter()
        .cloned()
        .map(|mut record| {
            if record.revision == number {
                if record.pre_rollout_snapshot.is_none() {
                    record.pre_rollout_snapshot = taken.dump.clone();
                }
                if record.pre_rollout_db_snapshot.is_none() {
                    record.pre_rollout_db_snapshot = taken.snapshot.clone();
                }
                if record.pre_rollout_cache_snapshot.is_none() {
                    record.pre_rollout_cache_snapshot = taken.cache_snapshot.clone();
                }
            }
            record
        })
        .collect()
}

/// The history with revision `number` marked rolled back from (once).
pub fn rolled_back(history: &[RevisionRecord], number: i64, now: &Time) -> Vec<RevisionRecord> {
    history
        .iter()
        .cloned()
        .map(|mut record| {
            if record.revision == number && record.outcome.as_deref() != Some(outcome::ROLLED_BACK)
            {
                record.outcome = Some(outcome::ROLLED_BACK.into());
                record.aborted_at = Some(now.clone());
            }
            record
        })
        .collect()
}

/// The history with revision `number` marked promoted (once). A revision
/// promoted from in progress supersedes the other candidates of its A/B
/// test still in progress and becomes the newest record: the spec's
/// revision now (a candidate numbered after it may have lost). One
/// promoted again (an on-call rollback to it) stays where it is.
pub fn promote(history: &[RevisionRecord], number: i64, now: &Time) -> Vec<RevisionRecord> {
    let in_progress = |r: &RevisionRecord| {
        r.revision == number && r.outcome.as_deref() == Some(outcome::IN_PROGRESS)
    };
    let mut next = match history.iter().position(in_progress) {
        Some(at) => {
            let mut next = supersede(history, now, |r| r.revision != number);
            let candidate = next.remove(at);
            next.push(candidate);
            next
        }
        None => history.to_vec(),
    };
    for record in &mut next {
        if record.revision == number && record.outcome.as_deref() != Some(outcome::PROMOTED) {
            record.outcome = Some(outcome::PROMOTED.into());
            record.promoted_at = Some(now.clone());
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn history(hashes: &[&str]) -> Vec<RevisionRecord> {
        let mut history = Vec::new();
        for (index, hash) in hashes.iter().enumerate() {
            history = record(
                &history,
                index as i64 + 1,
                "bot:1",
                hash,
                &at(index as i64),
                10,
            );
        }
        history
    }

    #[test]
    fn the_first_template_is_revision_one() {
        assert_eq!(
            choose(&[], None, "a"),
            Choice {
                number: 1,
                record: true
            }
        );
    }

    #[test]
    fn an_unchanged_template_keeps_its_revision() {
        assert_eq!(
            choose(&history(&["a", "b"]), None, "b"),
            Choice {
                number: 2,
                record: false
            }
        );
    }

    #[test]
    fn a_changed_template_is_the_next_number_even_when_it_was_seen_before() {
        assert_eq!(
            choose(&history(&["a", "b"]), None, "a"),
            Choice {
                number: 3,
                record: true
            }
        );
    }

    /// Stable revision 1 promoted, then an A/B test of candidates 2, 3, 4
    /// (2 the lead, recorded first).
    fn a_test_of_three() -> Vec<RevisionRecord> {
        let mut history = promote(&history(&["stable"]), 1, &at(1));
        history = record(&history, 2, "bot:1", "lead", &at(2), 10);
        for (number, hash) in [(3, "second"), (4, "third")] {
            history = record_beside(&history, number, "bot:1", hash, &at(2), 10);
        }
        history
    }

    fn outcomes(history: &[RevisionRecord]) -> Vec<(i64, &str)> {
        history
            .iter()
            .map(|r| (r.revision, r.outcome.as_deref().unwrap_or("")))
            .collect()
    }

    #[test]
    fn every_candidate_of_a_test_keeps_its_number_while_the_test_runs() {
        let history = a_test_of_three();
        for (hash, number) in [("lead", 2), ("second", 3), ("third", 4)] {
            assert_eq!(
                choose(&history, None, hash),
                Choice {
                    number,
                    record: false
                },
                "{hash}"
            );
        }
        assert_eq!(
            outcomes(&history),
            [
                (1, outcome::PROMOTED),
                (2, outcome::IN_PROGRESS),
                (3, outcome::IN_PROGRESS),
                (4, outcome::IN_PROGRESS)
            ]
        );
        // The stable template is not a candidate: going back to it is new.
        assert_eq!(choose(&history, None, "stable").number, 5);
    }

    #[test]
    fn a_winning_candidate_becomes_the_newest_revision_and_the_others_are_superseded() {
        let history = promote(&a_test_of_three(), 3, &at(9));
        assert_eq!(
            outcomes(&history),
            [
                (1, outcome::PROMOTED),
                (2, outcome::SUPERSEDED),
                (4, outcome::SUPERSEDED),
                (3, outcome::PROMOTED)
            ]
        );
        assert_eq!(
            choose(&history, None, "second"),
            Choice {
                number: 3,
                record: false
            }
        );
        // A loser's template afterwards is a new revision.
        assert_eq!(choose(&history, None, "third").number, 5);
        // Promoted again (an on-call rollback to 1): nothing moves.
        assert_eq!(promote(&history, 1, &at(10)), history);
    }

    #[test]
    fn a_lost_history_is_recovered_from_the_cluster() {
        let found = Recovered {
            revision: 4,
            template_hash: "x".into(),
        };
        assert_eq!(
            choose(&[], Some(&found), "x"),
            Choice {
                number: 4,
                record: true
            }
        );
        assert_eq!(
            choose(&[], Some(&found), "y"),
            Choice {
                number: 5,
                record: true
            }
        );
    }

    #[test]
    fn a_new_revision_supersedes_the_one_in_flight_and_the_history_is_bounded() {
        let mut history = history(&["a"]);
        history = promote(&history, 1, &at(5));
        history = record(&history, 2, "bot:2", "b", &at(6), 2);
        history = record(&history, 3, "bot:3", "c", &at(7), 2);
        let summary: Vec<_> = history
            .iter()
            .map(|r| (r.revision, r.outcome.clone().unwrap()))
            .collect();
        assert_eq!(
            summary,
            [(2, "Superseded".to_string()), (3, "InProgress".to_string())]
        );
        assert_eq!(history[0].aborted_at, Some(at(7)));
    }

    #[test]
    fn promotion_is_recorded_once() {
        let history = promote(&history(&["a"]), 1, &at(10));
        let again = promote(&history, 1, &at(20));
        assert_eq!(again[0].promoted_at, Some(at(10)));
        assert_eq!(again[0].outcome.as_deref(), Some("Promoted"));
    }

    /// Revisions 1..=3 promoted in turn, then 4 in progress.
    fn promoted_three_then_one_in_flight() -> Vec<RevisionRecord> {
        let mut history = history(&["a", "b", "c"]);
        for n in 1..=3 {
            history = promote(&history, n, &at(100 + n));
        }
        record(&history, 4, "bot:4", "d", &at(200), 10)
    }

    #[test]
    fn a_rollback_goes_to_the_newest_promoted_revision_before_the_current() {
        let history = promoted_three_then_one_in_flight();
        assert_eq!(rollback_target(&history, Some(4), None), Ok(3));
        assert_eq!(rollback_target(&history, Some(3), None), Ok(2));
        assert_eq!(rollback_target(&history, Some(4), Some(1)), Ok(1));
    }

    #[test]
    fn an_impossible_rollback_says_why() {
        let first = history(&["a"]);
        let history = promoted_three_then_one_in_flight();
        assert_eq!(
            rollback_target(&history, Some(4), Some(9)),
            Err("revision 9 is not in the history (known: 1, 2, 3, 4)".into())
        );
        assert_eq!(
            rollback_target(&history, Some(4), Some(4)),
            Err("revision 4 is already the current revision".into())
        );
        assert_eq!(
            rollback_target(&first, Some(1), None),
            Err(
                "no earlier revision was ever promoted, nothing to roll back to (history: 1)"
                    .into()
            )
        );
    }

    #[test]
    fn the_revision_rolled_back_from_is_marked_once() {
        let history = promoted_three_then_one_in_flight();
        let marked = rolled_back(&history, 4, &at(300));
        assert_eq!(marked[3].outcome.as_deref(), Some("RolledBack"));
        assert_eq!(marked[3].aborted_at, Some(at(300)));
        let again = rolled_back(&marked, 4, &at(400));
        assert_eq!(again[3].aborted_at, Some(at(300)));
    }
}
