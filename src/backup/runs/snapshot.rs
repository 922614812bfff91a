//! The pre-rollout backups a revision waits for, and the native
//! snapshots of managed stores recorded beside the dumps.

use jiff::Timestamp;

use super::facts::{ELASTICACHE_SNAPSHOT, PRE_ROLLOUT_RETRY, phase, started_key};
use crate::{
    api::{BackupRecord, BackupsStatus},
    backup::jobs::Reason,
};

pub(super) fn newest_pre_rollout<'r>(
    records: impl IntoIterator<Item = &'r BackupRecord>,
    revision: i64,
    method: Option<&str>,
) -> Option<&'r BackupRecord> {
    records
        .into_iter()
        .filter(|r| r.reason == Reason::PreRollout.as_str() && r.revision == Some(revision))
        .filter(|r| r.method.as_deref() == method)
        .max_by_key(|r| started_key(r))
}

/// The newest pre-rollout backup of `revision` in `status` made by
/// `method` (`None`: a dump).
pub fn pre_rollout<'s>(
    status: Option<&'s BackupsStatus>,
    revision: i64,
    method: Option<&str>,
) -> Option<&'s BackupRecord> {
    newest_pre_rollout(&status?.recent, revision, method)
}

/// What to do about a native snapshot wanted before a rollout.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt<'r> {
    /// Ask for a snapshot under this name: the first (`base`), or a new
    /// one once a failed attempt's pause is over (`<base>-2`, …).
    Start(String),
    /// Look at the attempt under way.
    Look(&'r BackupRecord),
    /// The newest attempt succeeded, or failed and waits out its pause.
    Settled,
}

/// The attempt at revision `revision`'s pre-rollout snapshot by `method`,
/// from its `records`; `base` names the first.
pub fn snapshot_attempt<'r>(
    records: &'r [BackupRecord],
    revision: i64,
    method: &str,
    base: &str,
    now: Timestamp,
) -> Attempt<'r> {
    let Some(newest) = newest_pre_rollout(records, revision, Some(method)) else {
        return Attempt::Start(base.into());
    };
    let paused = |r: &BackupRecord| {
        r.time
            .as_ref()
            .is_none_or(|t| now.duration_since(t.0) <= PRE_ROLLOUT_RETRY)
    };
    match newest.phase.as_str() {
        phase::RUNNING => Attempt::Look(newest),
        phase::FAILED if !paused(newest) => {
            let tries = records
                .iter()
                .filter(|r| r.reason == Reason::PreRollout.as_str() && r.revision == Some(revision))
                .filter(|r| r.method.as_deref() == Some(method))
                .count();
            Attempt::Start(format!("{base}-{}", tries + 1))
        }
        _ => Attempt::Settled,
    }
}

/// The newest pre-rollout ElastiCache snapshot of `revision` in `status`.
pub fn pre_rollout_cache(status: Option<&BackupsStatus>, revision: i64) -> Option<&BackupRecord> {
    newest_pre_rollout(
        &status?.cache_snapshots,
        revision,
        Some(ELASTICACHE_SNAPSHOT),
    )
}
