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
mod tests;
