//! The backups of one deployment, decided: which backup to start (one at
//! a time: a pre-rollout backup first, then an on-call one, then the
//! schedule's window), which finished Jobs to remove, and the next
//! `status.backups`. Pure: the previous status, the Jobs seen, the reports
//! read from finished Jobs and `now` in, a plan out.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

mod facts;
mod record;
mod snapshot;

pub use facts::{
    ELASTICACHE_SNAPSHOT, Facts, JOBS_KEPT, Note, PRE_ROLLOUT_RETRY, Plan, RDS_SNAPSHOT, RECENT,
    phase,
};
pub use record::{human_bytes, recorded, upsert, upsert_cache};
pub use snapshot::{Attempt, pre_rollout, pre_rollout_cache, snapshot_attempt};

use super::{
    Due,
    jobs::{JobFacts, JobState, Reason, Start},
    manifest::backup_id,
};
use crate::api::{BackupRecord, BackupsStatus};
use facts::{LOST_AFTER, time};
use record::{is_final, note_of, record_of, started, started_key, verified, verify_note};
use snapshot::newest_pre_rollout;

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
    record_jobs(facts, &mut records, &mut plan);
    mark_lost(facts, &mut records, &mut plan);

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

    plan.prune = prune(facts);

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
            record.time = Some(time(now));
            record.message = Some("its Job disappeared before it finished".into());
            plan.notes.push(note_of(record));
            plan.finished.push(record.clone());
        }
    }
}

/// Finished Jobs beyond the newest few go, once their outcome is in the
/// status already written; their records stay.
fn prune(facts: &Facts) -> Vec<(String, Option<String>)> {
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

/// The one backup to start now, if any. While a restore is under way,
/// only its safety backup: it goes first, and nothing else runs until it
/// ends (a window that falls meanwhile runs once, after it). Otherwise a
/// pre-rollout backup first (a rollout waits on it), then an on-call
/// request, then a due window, then a verification.
fn next_start(
    facts: &Facts,
    records: &BTreeMap<String, BackupRecord>,
    last_window: &mut Option<Time>,
) -> Option<Start> {
    if facts.restoring {
        return safety_start(facts, records);
    }
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
            requires: None,
        });
    }
    if let Some(start) = safety_start(facts, records) {
        return Some(start);
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
            requires: None,
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
                requires: None,
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
        requires: None,
    })
}

/// The safety backup a restore waits on, with the app still up, when it
/// was not started yet.
fn safety_start(facts: &Facts, records: &BTreeMap<String, BackupRecord>) -> Option<Start> {
    let id = facts.safety.filter(|id| !records.contains_key(*id))?;
    Some(Start {
        id: id.to_string(),
        reason: Reason::PreRestore,
        revision: facts.revision,
        action: None,
        expect_shrink: false,
        requires: facts.restore_source.map(str::to_string),
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

#[cfg(test)]
mod tests;
