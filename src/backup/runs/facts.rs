//! What the backup plan is decided from and what it decides, and the
//! names and limits it keeps to.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::{
    api::{BackupRecord, BackupRequest, BackupsStatus},
    backup::{
        Schedule,
        jobs::{JobFacts, Start},
        report::Report,
    },
};

/// Runs kept in `status.backups.recent`.
pub const RECENT: usize = 10;

/// Finished backup Jobs kept in the cluster for `kubectl logs`.
pub const JOBS_KEPT: usize = 3;

/// A run recorded as started whose Job is nowhere to be seen after this
/// long was lost (deleted by hand, or never created).
pub(super) const LOST_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// `method` of a native RDS snapshot's record.
pub const RDS_SNAPSHOT: &str = "rds-snapshot";

/// The method of a native ElastiCache snapshot.
pub const ELASTICACHE_SNAPSHOT: &str = "elasticache-snapshot";

/// A failed pre-rollout backup is tried again after this long.
pub const PRE_ROLLOUT_RETRY: SignedDuration = SignedDuration::from_mins(10);

/// Phases of a backup record.
pub mod phase {
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
}

/// What the plan is made from.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// `None`: no scheduled backups.
    pub schedule: Option<&'a Schedule>,
    /// When the resource (or its schedule) began: earlier windows are not owed.
    pub since: Timestamp,
    pub previous: &'a BackupsStatus,
    pub jobs: &'a [JobFacts],
    /// Termination reports of finished Jobs, by Job name.
    pub reports: &'a BTreeMap<String, Report>,
    pub request: Option<&'a BackupRequest>,
    /// A revision waiting for its pre-rollout backup.
    pub pre_rollout: Option<i64>,
    /// The id of the safety backup a restore waits for.
    pub safety: Option<&'a str>,
    /// The backup that restore restores: the safety backup fails, before
    /// anything is stopped, when it is not in the store.
    pub restore_source: Option<&'a str>,
    /// A restore is under way: nothing but its safety backup starts (a
    /// window that falls meanwhile runs once, after it).
    pub restoring: bool,
    /// The revision the pods run.
    pub revision: Option<i64>,
    /// Restore-test every Nth good backup (`None`: no verification).
    pub verify_every: Option<u32>,
    /// A backup Job can be made: its template was rendered.
    pub backup_template: bool,
    /// A verify Job can be made.
    pub verify_template: bool,
    /// Why a run cannot start without its template (no destination, no
    /// database, paused): an on-call request fails with it.
    pub unavailable: Option<&'a str>,
    pub now: Timestamp,
}

/// An Event the plan asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

/// What one reconcile does about backups.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    pub start: Option<Start>,
    /// Finished Jobs to delete: name and uid.
    pub prune: Vec<(String, Option<String>)>,
    pub status: BackupsStatus,
    pub notes: Vec<Note>,
    /// Look again this soon: the next window.
    pub wake: Option<std::time::Duration>,
    /// Runs that finished in this reconcile, for the metrics.
    pub finished: Vec<BackupRecord>,
    /// Backups whose verification finished in this reconcile.
    pub verified: Vec<BackupRecord>,
}

/// The order of records, oldest first: by start, then by id.
pub(super) fn started_key(record: &BackupRecord) -> (Option<Timestamp>, String) {
    (record.started_at.as_ref().map(|t| t.0), record.id.clone())
}
