//! The backups of one deployment, decided: which backup to start (one at
//! a time: a pre-rollout backup first, then an on-call one, then the
//! schedule's window), which finished Jobs to remove, and the next
//! `status.backups`. Pure: the previous status, the Jobs seen, the reports
//! read from finished Jobs and `now` in, a plan out — in three turns:
//! what the Jobs say (`record`), what starts (`start`), the status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

mod facts;
mod record;
mod snapshot;
mod start;

pub use facts::{
    ELASTICACHE_SNAPSHOT, Facts, JOBS_KEPT, Note, PRE_ROLLOUT_RETRY, Plan, RDS_SNAPSHOT, RECENT,
    phase,
};
pub use record::{human_bytes, recorded, upsert, upsert_cache};
pub use snapshot::{Attempt, pre_rollout, pre_rollout_cache, snapshot_attempt};

use super::jobs::JobState;
use crate::api::{BackupRecord, BackupsStatus};
use facts::started_key;

/// Plans one reconcile's backups.
pub fn plan(facts: &Facts) -> Plan {
    let now = facts.now;
    let mut plan = Plan::default();
    let mut records = record::outcomes(facts, &mut plan);
    plan.prune = record::prune(facts);
    let running = records.values().any(|r| !record::is_final(r))
        || facts.jobs.iter().any(|j| j.state == JobState::Running);
    let mut last_window = facts.previous.last_window.clone();
    let mut started_request = facts.previous.started_request.clone();
    if !running {
        let chosen = start::next(facts, &mut records, &mut plan.notes);
        plan.start = chosen.start;
        last_window = chosen.window.or(last_window);
        started_request = chosen.request.or(started_request);
    }

    let mut newest_first: Vec<BackupRecord> = records.into_values().collect();
    newest_first.sort_by_key(|r| std::cmp::Reverse(started_key(r)));
    let last_successful = newest_first
        .iter()
        .find(|r| r.phase == phase::SUCCEEDED)
        .cloned()
        .or_else(|| facts.previous.last_successful.clone());
    newest_first.truncate(RECENT);

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
        next_window: next_window.map(Time),
        started_request,
        cache_snapshots: facts.previous.cache_snapshots.clone(),
    };
    plan
}

#[cfg(test)]
mod tests;
