//! Which run starts now: one at a time, a restore's safety backup first
//! while one is under way; otherwise a pre-rollout backup, an on-call
//! request, a due window, a verification. A run whose Job cannot be made
//! (no template: nothing can be backed up) does not start.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    facts::{Facts, Note, PRE_ROLLOUT_RETRY, phase, started_key},
    record::note_of,
    snapshot::newest_pre_rollout,
};
use crate::{
    api::BackupRecord,
    backup::{
        Due,
        jobs::{Reason, Start},
        manifest::backup_id,
    },
};

/// What starts, and what that changes in the status beside its record.
#[derive(Debug, Default)]
pub(super) struct Chosen {
    pub start: Option<Start>,
    /// The window the start takes (`None`: the last one stays).
    pub window: Option<Time>,
    /// The on-call request it answers.
    pub request: Option<String>,
}

/// The run to start now, with its record in `records` (a verification
/// has none: its backup's record takes the outcome when it ends). One
/// that cannot start fails an on-call request with why, and leaves a
/// window owed: it runs once a backup can be taken.
pub(super) fn next(
    facts: &Facts,
    records: &mut BTreeMap<String, BackupRecord>,
    notes: &mut Vec<Note>,
) -> Chosen {
    let mut window = None;
    let Some(start) = next_start(facts, records, &mut window) else {
        return Chosen {
            window,
            ..Chosen::default()
        };
    };
    let request = (start.reason == Reason::OnDemand).then(|| start.id.clone());
    let can_start = if start.reason == Reason::Verify {
        facts.verify_template
    } else {
        facts.backup_template
    };
    let mut record = BackupRecord {
        id: start.id.clone(),
        phase: phase::RUNNING.into(),
        reason: start.reason.as_str().into(),
        revision: start.revision,
        started_at: Some(Time(facts.now)),
        ..Default::default()
    };
    if !can_start {
        if start.reason == Reason::OnDemand {
            record.phase = phase::FAILED.into();
            record.time = Some(Time(facts.now));
            record.message = Some(
                facts
                    .unavailable
                    .unwrap_or("backups are not configured")
                    .to_string(),
            );
            notes.push(note_of(&record));
            records.insert(start.id.clone(), record);
        }
        return Chosen {
            request,
            ..Chosen::default()
        };
    }
    if start.reason != Reason::Verify {
        records.insert(start.id.clone(), record);
    }
    Chosen {
        start: Some(start),
        window,
        request,
    }
}

/// The one backup to start now, if any. While a restore is under way,
/// only its safety backup: it goes first, and nothing else runs until it
/// ends (a window that falls meanwhile runs once, after it). Otherwise a
/// pre-rollout backup first (a rollout waits on it), then an on-call
/// request, then a due window, then a verification.
fn next_start(
    facts: &Facts,
    records: &BTreeMap<String, BackupRecord>,
    window_taken: &mut Option<Time>,
) -> Option<Start> {
    let safety = safety_start(facts, records);
    if facts.restoring {
        return safety;
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
    if safety.is_some() {
        return safety;
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
        && let Due::Now { window, .. } = schedule.due(
            facts.previous.last_window.as_ref().map(|t| t.0),
            facts.since,
            facts.now,
        )
    {
        *window_taken = Some(Time(window));
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
