//! The backups of one deployment, decided: which backup to start (one at
//! a time: a pre-rollout backup first, then an on-call one, then the
//! schedule's window), which finished Jobs to remove, and the next
//! `status.backups`. Pure: the previous status, the Jobs seen, the reports
//! read from finished Jobs and `now` in, a plan out.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    Due, Schedule,
    jobs::{JobFacts, JobState, Reason, Start},
    manifest::backup_id,
    report::Report,
};
use crate::api::{BackupRecord, BackupRequest, BackupsStatus};

/// Runs kept in `status.backups.recent`.
pub const RECENT: usize = 10;
/// Finished backup Jobs kept in the cluster for `kubectl logs`.
pub const JOBS_KEPT: usize = 3;
/// A run recorded as started whose Job is nowhere to be seen after this
/// long was lost (deleted by hand, or never created).
const LOST_AFTER: SignedDuration = SignedDuration::from_mins(5);

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
    /// The revision the pods run.
    pub revision: Option<i64>,
    /// Restore-test every Nth good backup (`None`: no verification).
    pub verify_every: Option<u32>,
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

fn time(at: Timestamp) -> Time {
    Time(at)
}

fn is_final(record: &BackupRecord) -> bool {
    record.phase != phase::RUNNING
}

/// The record of a Job, with what its report says once it ended.
fn record_of(
    job: &JobFacts,
    report: Option<&Report>,
    previous: Option<&BackupRecord>,
) -> BackupRecord {
    let mut record = previous.cloned().unwrap_or_default();
    record.id = job.id.clone();
    record.reason = job.reason.as_str().into();
    record.job = Some(job.name.clone());
    record.revision = job.revision;
    record.started_at = job.started_at.map(time).or(record.started_at);
    let (phase, message) = match (job.state, report) {
        (JobState::Running, _) => (phase::RUNNING, None),
        (JobState::Succeeded, Some(report)) if report.succeeded() => (phase::SUCCEEDED, None),
        // Exit 0 is the agent's own verdict: a missing report loses the
        // figures, not the backup.
        (JobState::Succeeded, None) => (phase::SUCCEEDED, None),
        (_, Some(report)) if !report.succeeded() => (phase::FAILED, Some(report.failure())),
        (_, _) => (
            phase::FAILED,
            Some(
                job.failure
                    .clone()
                    .unwrap_or_else(|| "the backup pod ended without a report".into()),
            ),
        ),
    };
    record.phase = phase.into();
    record.message = message;
    if let Some(report) = report.filter(|_| phase == phase::SUCCEEDED) {
        record.bytes = report.bytes.and_then(|b| i64::try_from(b).ok());
        record.sha256 = report.sha256.clone();
        record.toc_entries = report.toc_entries.and_then(|t| i64::try_from(t).ok());
    }
    if phase != phase::RUNNING {
        record.time = job
            .finished_at
            .or(report.and_then(|r| r.finished_at))
            .map(time)
            .or(record.time);
    }
    record
}

fn started(start: &Start, now: Timestamp) -> BackupRecord {
    BackupRecord {
        id: start.id.clone(),
        phase: phase::RUNNING.into(),
        reason: start.reason.as_str().into(),
        revision: start.revision,
        started_at: Some(time(now)),
        ..Default::default()
    }
}

fn started_key(record: &BackupRecord) -> (Option<Timestamp>, String) {
    (record.started_at.as_ref().map(|t| t.0), record.id.clone())
}

/// Whether `status` already holds the outcome of `job`: the dump's record
/// ended, or for a verification, its backup's `verified`.
pub fn recorded(status: &BackupsStatus, job: &JobFacts) -> bool {
    status.recent.iter().any(|r| {
        r.id == job.id
            && if job.reason == Reason::Verify {
                r.verified.is_some()
            } else {
                is_final(r)
            }
    })
}

/// Plans one reconcile's backups.
pub fn plan(facts: &Facts) -> Plan {
    let now = facts.now;
    let mut plan = Plan::default();
    let mut records: BTreeMap<String, BackupRecord> = facts
        .previous
        .recent
        .iter()
        .map(|r| (r.id.clone(), r.clone()))
        .collect();
    for job in facts.jobs.iter().filter(|j| j.reason == Reason::Verify) {
        if let Some(record) = records.get_mut(&job.id)
            && record.verified.is_none()
            && job.state != JobState::Running
        {
            verified(record, job, facts.reports.get(&job.name));
            plan.notes.push(verify_note(record));
            plan.verified.push(record.clone());
        }
    }
    for job in facts.jobs.iter().filter(|j| j.reason != Reason::Verify) {
        let previous = records.get(&job.id);
        let was_final = previous.is_some_and(is_final);
        let record = record_of(job, facts.reports.get(&job.name), previous);
        if !was_final && is_final(&record) {
            plan.notes.push(note_of(&record));
            plan.finished.push(record.clone());
        }
        if !was_final {
            records.insert(job.id.clone(), record);
        }
    }
    // A run recorded as started whose Job is gone (an RDS snapshot has no
    // Job: RDS says how it stands).
    for record in records.values_mut().filter(|r| r.method.is_none()) {
        let seen = facts.jobs.iter().any(|j| j.id == record.id);
        let age = record
            .started_at
            .as_ref()
            .map_or(SignedDuration::MAX, |t| now.duration_since(t.0));
        if !is_final(record) && !seen && age > LOST_AFTER {
            record.phase = phase::FAILED.into();
            record.time = Some(time(now));
            record.message = Some("its Job disappeared before it finished".into());
            plan.notes.push(note_of(record));
            plan.finished.push(record.clone());
        }
    }

    let running = records.values().any(|r| !is_final(r))
        || facts.jobs.iter().any(|j| j.state == JobState::Running);
    let mut last_window = facts.previous.last_window.clone();
    let mut started_request = facts.previous.started_request.clone();
    if !running {
        plan.start = next_start(facts, &records, &mut last_window);
        if let Some(start) = plan.start.as_ref().filter(|s| s.reason == Reason::OnDemand) {
            started_request = Some(start.id.clone());
        }
        // A verification belongs to its backup's record, written when it ends.
        if let Some(start) = plan.start.as_ref().filter(|s| s.reason != Reason::Verify) {
            records.insert(start.id.clone(), started(start, now));
        }
    }

    let mut newest_first: Vec<BackupRecord> = records.into_values().collect();
    newest_first.sort_by_key(|r| std::cmp::Reverse(started_key(r)));
    let last_successful = newest_first
        .iter()
        .find(|r| r.phase == phase::SUCCEEDED)
        .cloned()
        .or_else(|| facts.previous.last_successful.clone());
    newest_first.truncate(RECENT);

    // Finished Jobs beyond the newest few go, once their outcome is in the
    // status already written; their records stay.
    let mut finished_jobs: Vec<&JobFacts> = facts
        .jobs
        .iter()
        .filter(|j| j.state != JobState::Running && recorded(facts.previous, j))
        .collect();
    finished_jobs.sort_by_key(|j| std::cmp::Reverse((j.started_at, j.id.clone())));
    plan.prune = finished_jobs
        .into_iter()
        .skip(JOBS_KEPT)
        .map(|j| (j.name.clone(), j.uid.clone()))
        .collect();

    let next_window = facts.schedule.and_then(|s| s.next_after(now));
    plan.wake = next_window.map(|next| {
        next.duration_since(now)
            .unsigned_abs()
            .max(std::time::Duration::from_secs(1))
    });
    plan.status = BackupsStatus {
        last: newest_first.first().cloned(),
        last_successful,
        recent: newest_first,
        last_window,
        next_window: next_window.map(time),
        started_request,
        cache_snapshots: facts.previous.cache_snapshots.clone(),
    };
    plan
}

/// The one backup to start now, if any: a pre-rollout backup first (a
/// rollout waits on it), then a restore's safety backup, then an on-call
/// request, then a due window.
fn next_start(
    facts: &Facts,
    records: &BTreeMap<String, BackupRecord>,
    last_window: &mut Option<Time>,
) -> Option<Start> {
    // A failed pre-rollout backup is tried again after a pause: its cause
    // (a bucket policy, a full volume) may be fixed without a spec change.
    let retry_after = |r: &BackupRecord| {
        r.phase == phase::FAILED
            && r.time
                .as_ref()
                .is_some_and(|t| facts.now.duration_since(t.0) > PRE_ROLLOUT_RETRY)
    };
    if let Some(revision) = facts.pre_rollout
        && newest_pre_rollout(records.values(), revision, None).is_none_or(retry_after)
    {
        return Some(Start {
            id: format!("{}-pre", backup_id(facts.now, Some(revision))),
            reason: Reason::PreRollout,
            revision: Some(revision),
            action: None,
            expect_shrink: false,
        });
    }
    // A restore waits on its safety backup, with the app still up.
    if let Some(id) = facts.safety
        && !records.contains_key(id)
    {
        return Some(Start {
            id: id.to_string(),
            reason: Reason::PreRestore,
            revision: facts.revision,
            action: None,
            expect_shrink: false,
        });
    }
    if let Some(request) = facts.request
        && !records.contains_key(&request.id)
        && facts.previous.started_request.as_ref() != Some(&request.id)
    {
        return Some(Start {
            id: request.id.clone(),
            reason: Reason::OnDemand,
            revision: facts.revision,
            action: Some(request.action.clone()),
            expect_shrink: request.expect_shrink,
        });
    }
    if let Some(schedule) = facts.schedule
        && let Due::Now { window, .. } =
            schedule.due(last_window.as_ref().map(|t| t.0), facts.since, facts.now)
    {
        *last_window = Some(time(window));
        let id = backup_id(window, facts.revision);
        if !records.contains_key(&id) {
            return Some(Start {
                id,
                reason: Reason::Scheduled,
                revision: facts.revision,
                action: None,
                expect_shrink: false,
            });
        }
    }
    let every = facts.verify_every?;
    due_verification(records, every).map(|record| Start {
        id: record.id.clone(),
        reason: Reason::Verify,
        revision: record.revision,
        action: None,
        expect_shrink: false,
    })
}

/// The newest good backup, when `every` good backups have gone
/// unverified since the newest verification (or none was ever verified).
fn due_verification(records: &BTreeMap<String, BackupRecord>, every: u32) -> Option<&BackupRecord> {
    let mut good: Vec<&BackupRecord> = records
        .values()
        .filter(|r| r.phase == phase::SUCCEEDED)
        .collect();
    good.sort_by_key(|r| std::cmp::Reverse(started_key(r)));
    let newest = *good.first()?;
    if newest.verified.is_some() {
        return None;
    }
    let unverified = good.iter().take_while(|r| r.verified.is_none()).count();
    let ever_verified = unverified < good.len();
    (!ever_verified || unverified >= every.max(1) as usize).then_some(newest)
}

/// Records a finished verification of `record`.
fn verified(record: &mut BackupRecord, job: &JobFacts, report: Option<&Report>) {
    let passed = job.state == JobState::Succeeded && report.is_none_or(Report::succeeded);
    record.verified = Some(passed);
    record.restore_seconds = report.and_then(|r| r.restore_seconds);
    if !passed {
        let why = report
            .map(Report::failure)
            .or_else(|| job.failure.clone())
            .unwrap_or_else(|| "the verify pod ended without a report".into());
        record.message = Some(format!("verification failed: {why}"));
    }
}

fn verify_note(record: &BackupRecord) -> Note {
    if record.verified == Some(true) {
        Note {
            warning: false,
            reason: "BackupVerified",
            message: format!(
                "backup {} restored into a throwaway database and matched its manifest{}",
                record.id,
                record
                    .restore_seconds
                    .map(|s| format!(" ({s:.1}s)"))
                    .unwrap_or_default()
            ),
        }
    } else {
        Note {
            warning: true,
            reason: "BackupVerificationFailed",
            message: format!(
                "backup {}: {}",
                record.id,
                record.message.as_deref().unwrap_or("verification failed")
            ),
        }
    }
}

fn note_of(record: &BackupRecord) -> Note {
    if record.phase == phase::SUCCEEDED {
        let size = record
            .bytes
            .map(|b| format!(", {}", human_bytes(b)))
            .unwrap_or_default();
        Note {
            warning: false,
            reason: "BackupSucceeded",
            message: format!("{} backup {} succeeded{size}", record.reason, record.id),
        }
    } else {
        Note {
            warning: true,
            reason: "BackupFailed",
            message: format!(
                "{} backup {} failed: {}",
                record.reason,
                record.id,
                record.message.as_deref().unwrap_or("no reason recorded")
            ),
        }
    }
}

/// `start` could not be started (no destination, no database): an
/// on-call request ends failed with `why`; a scheduled or pre-rollout
/// run leaves no record (the condition says why).
pub fn cannot_start(plan: &mut Plan, start: &Start, why: String, now: Timestamp) {
    if start.reason == Reason::Verify {
        return;
    }
    plan.status.recent.retain(|r| r.id != start.id);
    if start.reason == Reason::OnDemand {
        let mut record = started(start, now);
        record.phase = phase::FAILED.into();
        record.time = Some(time(now));
        record.message = Some(why);
        plan.notes.push(note_of(&record));
        plan.status.recent.insert(0, record);
    }
    plan.status.last = plan.status.recent.first().cloned();
}

/// Bytes as people read them: `512 B`, `48.2 MiB`.
pub fn human_bytes(bytes: i64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KiB", "MiB", "GiB", "TiB"] {
        if value < 1024.0 || unit == "TiB" {
            return if unit == "B" {
                format!("{bytes} B")
            } else {
                format!("{value:.1} {unit}")
            };
        }
        value /= 1024.0;
    }
    format!("{bytes} B")
}

fn newest_pre_rollout<'r>(
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

/// `status` with cache snapshot `record` in place of the one of the same
/// id, newest first, at most ten.
pub fn upsert_cache(status: &mut BackupsStatus, record: BackupRecord) {
    let snapshots = &mut status.cache_snapshots;
    snapshots.retain(|r| r.id != record.id);
    snapshots.push(record);
    snapshots.sort_by_key(|r| std::cmp::Reverse(started_key(r)));
    snapshots.truncate(RECENT);
}

/// `status` with `record` in place of the one of the same id, newest first.
pub fn upsert(status: &mut BackupsStatus, record: BackupRecord) {
    status.recent.retain(|r| r.id != record.id);
    status.recent.push(record);
    status
        .recent
        .sort_by_key(|r| std::cmp::Reverse(started_key(r)));
    status.recent.truncate(RECENT);
    status.last = status.recent.first().cloned();
    if let Some(good) = status.recent.iter().find(|r| r.phase == phase::SUCCEEDED) {
        let newer = status
            .last_successful
            .as_ref()
            .is_none_or(|old| started_key(old) <= started_key(good));
        if newer {
            status.last_successful = Some(good.clone());
        }
    }
}

#[cfg(test)]
mod tests;
