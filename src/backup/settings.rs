//! What the resolved spec asks of backups, read once: the schedule, the
//! pre-rollout gate, and — when no backup can be taken at all — why not,
//! for the `BackupHealthy` condition.

use jiff::{SignedDuration, Timestamp};

use super::{Retention, Schedule, Verdict, health};
use crate::api::{BackupRecord, BackupsStatus, ChatbotDeploymentSpec, StoreMode};

/// Backups as the spec asks for them.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Scheduled backups (`enabled` with a schedule that parses).
    pub schedule: Option<Schedule>,
    /// A dump before each new revision takes traffic.
    pub before_rollout: bool,
    /// A native RDS snapshot before each new revision (managed databases
    /// with `beforeRollout`, with or without a dump destination).
    pub rds_snapshot: bool,
    /// A native ElastiCache snapshot before each new revision (managed
    /// caches that `holdsState`, with `beforeRollout`).
    pub cache_snapshot: bool,
    pub retention: Retention,
    /// Why no backup can be taken: reason and message naming the field.
    pub unavailable: Option<(&'static str, String)>,
    /// Nothing asks for backups: no schedule and no pre-rollout gate.
    pub off: bool,
    /// Restore-test every Nth good backup.
    pub verify_every: Option<u32>,
}

impl Settings {
    /// Reads `spec.backup` of a resolved spec.
    pub fn of(spec: &ChatbotDeploymentSpec) -> Self {
        let backup = spec.backup.clone().unwrap_or_default();
        let enabled = backup.enabled.unwrap_or(false);
        let schedule = backup
            .schedule
            .as_deref()
            .filter(|_| enabled)
            .and_then(|s| Schedule::parse(s, backup.time_zone.as_deref()).ok());
        let database = spec.database.as_ref().and_then(|d| d.mode);
        let unavailable = match database {
            None | Some(StoreMode::None) => Some((
                "NoDatabase",
                "spec.database.mode is none: there is no database to back up".to_string(),
            )),
            _ if backup.destination.is_none() => Some((
                "NoDestination",
                "spec.backup.destination: not set; dumps need an S3 bucket (s3) or a volume (pvc)"
                    .to_string(),
            )),
            _ => None,
        };
        let before_rollout = backup.before_rollout.unwrap_or(false);
        let cache = spec.cache.as_ref();
        let stateful_cache = cache
            .is_some_and(|c| c.mode == Some(StoreMode::Managed) && c.holds_state.unwrap_or(false));
        Self {
            rds_snapshot: before_rollout && database == Some(StoreMode::Managed),
            cache_snapshot: before_rollout && stateful_cache,
            off: schedule.is_none() && !before_rollout,
            schedule,
            before_rollout: before_rollout && unavailable.is_none(),
            retention: Retention {
                keep_last: backup.keep.and_then(|k| usize::try_from(k).ok()),
                max_age: backup
                    .retention_days
                    .map(|d| SignedDuration::from_hours(24 * i64::from(d))),
            },
            unavailable,
            verify_every: backup
                .verify
                .unwrap_or(false)
                .then(|| backup.verify_every.unwrap_or(1).max(1) as u32),
        }
    }
}

fn record(r: &BackupRecord) -> super::Record {
    super::Record {
        id: r.id.clone(),
        // The data is as of the start of the dump's snapshot.
        taken_at: r
            .started_at
            .as_ref()
            .or(r.time.as_ref())
            .map_or(Timestamp::UNIX_EPOCH, |t| t.0),
        succeeded: r.phase == super::runs::phase::SUCCEEDED,
        verified: r.verified == Some(true),
        pinned: false,
        safety: r.reason == super::jobs::Reason::PreRestore.as_str(),
    }
}

/// `BackupHealthy`, and `BackupStale` when backups are scheduled.
pub fn verdicts(
    settings: &Settings,
    status: Option<&BackupsStatus>,
    now: Timestamp,
) -> (Verdict, Option<Verdict>) {
    let finished: Vec<&BackupRecord> = status
        .iter()
        .flat_map(|s| s.recent.iter())
        .filter(|r| r.phase != super::runs::phase::RUNNING)
        .collect();
    let mut records: Vec<super::Record> = finished.iter().map(|r| record(r)).collect();
    if let Some(good) = status.and_then(|s| s.last_successful.as_ref())
        && !records.iter().any(|r| r.id == good.id)
    {
        records.push(record(good));
    }
    let newest_failure = finished
        .iter()
        .max_by_key(|r| record(r).taken_at)
        .and_then(|r| r.message.as_deref());
    let newest = finished.iter().max_by_key(|r| record(r).taken_at);
    let healthy = match (&settings.unavailable, settings.off) {
        _ if newest.is_some_and(|r| r.verified == Some(false)) => Verdict {
            status: "False",
            reason: "VerificationFailed",
            message: format!(
                "backup {}: {}",
                newest.map(|r| r.id.as_str()).unwrap_or_default(),
                newest
                    .and_then(|r| r.message.as_deref())
                    .unwrap_or("verification failed")
            ),
        },
        _ if !finished.is_empty() => health::healthy(&records, newest_failure),
        (_, true) => Verdict {
            status: "True",
            reason: "Disabled",
            message: "spec.backup: neither scheduled nor before rollouts".into(),
        },
        (Some((reason, message)), false) => Verdict {
            status: "False",
            reason,
            message: message.clone(),
        },
        (None, false) => health::healthy(&records, None),
    };
    let stale = settings
        .schedule
        .as_ref()
        .map(|schedule| health::stale(schedule, &records, now));
    (healthy, stale)
}
