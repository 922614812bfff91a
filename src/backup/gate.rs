//! The pre-rollout gate (`spec.backup.beforeRollout`): a new revision's
//! migrations and pods wait until a backup of the data the running
//! revision wrote has succeeded, since migrations are what a restore
//! undoes. The first revision has no data to protect and passes. Pure.

use super::runs::{self, phase};
use crate::api::BackupsStatus;

/// Where the gate of a new revision stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Gate {
    /// No backup is asked for before this rollout.
    Open,
    /// The revision's backups succeeded; its record keeps their ids.
    Passed { revision: i64, taken: Taken },
    /// The backup is asked for or running; the running revision serves.
    Waiting { revision: i64, id: Option<String> },
    /// The backup failed; it is tried again after a pause, the running
    /// revision serves meanwhile.
    Failed {
        revision: i64,
        id: String,
        message: String,
    },
}

impl Gate {
    /// Whether the revision's migrations and pods must wait.
    pub fn holds(&self) -> bool {
        matches!(self, Gate::Waiting { .. } | Gate::Failed { .. })
    }

    /// The revision wanting a backup now, for the backup plan.
    pub fn wants(&self) -> Option<i64> {
        match self {
            Gate::Waiting { revision, .. } | Gate::Failed { revision, .. } => Some(*revision),
            _ => None,
        }
    }

    /// Why the rollout waits, for Progressing / Degraded.
    pub fn message(&self) -> Option<String> {
        match self {
            Gate::Waiting { revision, id, .. } => Some(format!(
                "revision {revision}: waiting for its pre-rollout backup{}; the running revision keeps serving",
                id.as_ref().map(|id| format!(" {id}")).unwrap_or_default()
            )),
            Gate::Failed {
                revision,
                id,
                message,
            } => Some(format!(
                "revision {revision}: pre-rollout backup {id} failed: {message}; the running revision keeps serving and the backup is tried again in {} minutes",
                runs::PRE_ROLLOUT_RETRY.as_mins()
            )),
            _ => None,
        }
    }
}

/// What a rollout waits for before its migrations and pods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// A dump (`beforeRollout` with a destination).
    pub dump: bool,
    /// A native RDS snapshot (`beforeRollout` on a managed database).
    pub snapshot: bool,
    /// A native ElastiCache snapshot (`beforeRollout` on a managed cache
    /// that `holdsState`).
    pub cache_snapshot: bool,
}

/// The pre-rollout backups a revision rolled out after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Taken {
    /// The dump: the revision's `preRolloutSnapshot`.
    pub dump: Option<String>,
    /// The RDS snapshot: its `preRolloutDbSnapshot`.
    pub snapshot: Option<String>,
    /// The ElastiCache snapshot: its `preRolloutCacheSnapshot`.
    pub cache_snapshot: Option<String>,
}

/// The gate of `revision`, rolling out over `running` (`None`: nothing
/// runs yet): every backup it `needs` must have succeeded.
pub fn pre_rollout(
    needs: Needs,
    running: Option<i64>,
    revision: i64,
    status: Option<&BackupsStatus>,
) -> Gate {
    let any = needs.dump || needs.snapshot || needs.cache_snapshot;
    if !any || running.is_none() || running == Some(revision) {
        return Gate::Open;
    }
    let wanted = [
        (needs.dump, runs::pre_rollout(status, revision, None)),
        (
            needs.snapshot,
            runs::pre_rollout(status, revision, Some(runs::RDS_SNAPSHOT)),
        ),
        (
            needs.cache_snapshot,
            runs::pre_rollout_cache(status, revision),
        ),
    ];
    let mut pending = None;
    for (_, record) in wanted.iter().filter(|(needed, _)| *needed) {
        match record {
            Some(record) if record.phase == phase::FAILED => {
                return Gate::Failed {
                    revision,
                    id: record.id.clone(),
                    message: record.message.clone().unwrap_or_default(),
                };
            }
            Some(record) if record.phase == phase::SUCCEEDED => {}
            record => {
                pending.get_or_insert(record.map(|r| r.id.clone()));
            }
        }
    }
    if let Some(id) = pending {
        return Gate::Waiting { revision, id };
    }
    let id_of = |(needed, record): &(bool, Option<&crate::api::BackupRecord>)| {
        needed.then(|| record.map(|r| r.id.clone())).flatten()
    };
    Gate::Passed {
        revision,
        taken: Taken {
            dump: id_of(&wanted[0]),
            snapshot: id_of(&wanted[1]),
            cache_snapshot: id_of(&wanted[2]),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::BackupRecord;

    fn status(phase: &str) -> BackupsStatus {
        BackupsStatus {
            recent: vec![BackupRecord {
                id: "20261201-101500-r8-pre".into(),
                phase: phase.into(),
                reason: "pre-rollout".into(),
                revision: Some(8),
                message: Some("AccessDenied on s3://brigade-backups".into()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_new_revision_waits_for_its_backup_and_passes_with_its_id() {
        let dump = Needs {
            dump: true,
            ..Needs::default()
        };
        assert_eq!(
            pre_rollout(dump, None, 1, None),
            Gate::Open,
            "nothing to protect yet"
        );
        assert_eq!(pre_rollout(Needs::default(), Some(7), 8, None), Gate::Open);
        assert_eq!(
            pre_rollout(dump, Some(8), 8, None),
            Gate::Open,
            "already running"
        );
        let waiting = pre_rollout(dump, Some(7), 8, None);
        assert!(waiting.holds());
        assert_eq!(waiting.wants(), Some(8));
        assert!(pre_rollout(dump, Some(7), 8, Some(&status("Running"))).holds());
        assert_eq!(
            pre_rollout(dump, Some(7), 8, Some(&status("Succeeded"))),
            Gate::Passed {
                revision: 8,
                taken: Taken {
                    dump: Some("20261201-101500-r8-pre".into()),
                    ..Taken::default()
                }
            }
        );
        let both = Needs {
            dump: true,
            snapshot: true,
            cache_snapshot: false,
        };
        assert!(
            pre_rollout(both, Some(7), 8, Some(&status("Succeeded"))).holds(),
            "the RDS snapshot is still wanted"
        );
        let cache = Needs {
            dump: true,
            cache_snapshot: true,
            ..Needs::default()
        };
        let mut taken = status("Succeeded");
        assert!(
            pre_rollout(cache, Some(7), 8, Some(&taken)).holds(),
            "the cache snapshot is still wanted"
        );
        taken.cache_snapshots.push(BackupRecord {
            id: "chatbot-brigade-sales-pre-r8".into(),
            phase: "Succeeded".into(),
            reason: "pre-rollout".into(),
            revision: Some(8),
            method: Some(runs::ELASTICACHE_SNAPSHOT.into()),
            ..Default::default()
        });
        assert_eq!(
            pre_rollout(cache, Some(7), 8, Some(&taken)),
            Gate::Passed {
                revision: 8,
                taken: Taken {
                    dump: Some("20261201-101500-r8-pre".into()),
                    snapshot: None,
                    cache_snapshot: Some("chatbot-brigade-sales-pre-r8".into()),
                }
            }
        );
        let failed = pre_rollout(dump, Some(7), 8, Some(&status("Failed")));
        assert!(failed.holds());
        assert!(failed.message().unwrap().contains("AccessDenied"));
    }
}
