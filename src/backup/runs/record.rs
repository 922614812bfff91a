//! One backup's record in `status.backups`: made from its Job and what
//! the Job reported, and what its Event says.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::facts::{Facts, JOBS_KEPT, LOST_AFTER, Note, Plan, RECENT, phase, started_key};
use crate::{
    api::{BackupRecord, BackupsStatus},
    backup::{
        jobs::{JobFacts, JobState, Reason},
        report::Report,
    },
};

/// The records of the previous status with what the Jobs say since: each
/// backup and verify Job's outcome, and the runs whose Job is lost; an
/// Event for each that ended.
pub(super) fn outcomes(facts: &Facts, plan: &mut Plan) -> BTreeMap<String, BackupRecord> {
    let mut records: BTreeMap<String, BackupRecord> = facts
        .previous
        .recent
        .iter()
        .map(|r| (r.id.clone(), r.clone()))
        .collect();
    record_jobs(facts, &mut records, plan);
    mark_lost(facts, &mut records, plan);
    records
}

pub(super) fn is_final(record: &BackupRecord) -> bool {
    record.phase != phase::RUNNING
}

/// The record of a Job, with what its report says once it ended.
pub(super) fn record_of(
    job: &JobFacts,
    report: Option<&Report>,
    previous: Option<&BackupRecord>,
) -> BackupRecord {
    let mut record = previous.cloned().unwrap_or_default();
    record.id = job.id.clone();
    record.reason = job.reason.as_str().into();
    record.job = Some(job.name.clone());
    record.revision = job.revision;
    record.started_at = job.started_at.map(Time).or(record.started_at);
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
            .map(Time)
            .or(record.time);
    }
    record
}

/// The outcome of each backup and verify Job into its record, with an
/// Event for each that finished since the status was written.
fn record_jobs(facts: &Facts, records: &mut BTreeMap<String, BackupRecord>, plan: &mut Plan) {
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
        // What retention removed after it is no backup to offer any more.
        for gone in facts.reports.get(&job.name).iter().flat_map(|r| &r.pruned) {
            records.remove(gone);
        }
    }
}

/// A run recorded as started whose Job is gone fails (an RDS snapshot has
/// no Job: RDS says how it stands).
fn mark_lost(facts: &Facts, records: &mut BTreeMap<String, BackupRecord>, plan: &mut Plan) {
    let now = facts.now;
    for record in records.values_mut().filter(|r| r.method.is_none()) {
        let seen = facts.jobs.iter().any(|j| j.id == record.id);
        let age = record
            .started_at
            .as_ref()
            .map_or(SignedDuration::MAX, |t| now.duration_since(t.0));
        if !is_final(record) && !seen && age > LOST_AFTER {
            record.phase = phase::FAILED.into();
            record.time = Some(Time(now));
            record.message = Some("its Job disappeared before it finished".into());
            plan.notes.push(note_of(record));
            plan.finished.push(record.clone());
        }
    }
}

/// Finished Jobs beyond the newest few go, once their outcome is in the
/// status already written; their records stay.
pub(super) fn prune(facts: &Facts) -> Vec<(String, Option<String>)> {
    let mut finished_jobs: Vec<&JobFacts> = facts
        .jobs
        .iter()
        .filter(|j| j.state != JobState::Running && recorded(facts.previous, j))
        .collect();
    finished_jobs.sort_by_key(|j| std::cmp::Reverse((j.started_at, j.id.clone())));
    finished_jobs
        .into_iter()
        .skip(JOBS_KEPT)
        .map(|j| (j.name.clone(), j.uid.clone()))
        .collect()
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

/// Records a finished verification of `record`.
pub(super) fn verified(record: &mut BackupRecord, job: &JobFacts, report: Option<&Report>) {
    // A verification whose report cannot be read is never a pass.
    let passed = job.state == JobState::Succeeded && report.is_some_and(Report::succeeded);
    record.verified = Some(passed);
    record.restore_seconds = report.and_then(|r| r.restore_seconds);
    if !passed {
        let why = report
            .map(Report::failure)
            .or_else(|| job.failure.clone())
            .unwrap_or_else(|| {
                "the verify pod ended without a report (its termination message is gone or unreadable), so nothing says the restore matched".into()
            });
        record.message = Some(format!("verification failed: {why}"));
    }
}

pub(super) fn verify_note(record: &BackupRecord) -> Note {
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

pub(super) fn note_of(record: &BackupRecord) -> Note {
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
