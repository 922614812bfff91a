//! A restore from a dump: the restore Job makes a **new** database on the
//! same server and restores the backup into it, checked against its
//! manifest (the database it replaced is dropped by `undo`). Pure.

use super::{
    record::current_step,
    state::{Facts, Plan},
    step::{self, Move},
};
use crate::{
    api::RestoreStatus,
    backup::{
        jobs::{JobStart, JobState, Reason, job_name},
        report::Report,
    },
};
use jiff::SignedDuration;

/// A restore Job recorded as started and nowhere to be seen after this
/// long was lost (deleted by hand).
const LOST_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// The restore Job's step: start it, wait for it, read its verdict.
pub(super) fn restoring(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) -> Move {
    let job = facts.job;
    let under_way = format!(
        "restoring backup {} into the new database {}",
        restore.backup, restore.database
    );
    match job.map(|j| j.state) {
        None if restore.job.is_none() => {
            let start = JobStart {
                id: restore.id.clone(),
                backup: restore.backup.clone(),
                database: restore.database.clone(),
            };
            restore.job = Some(job_name(facts.deployment, Reason::Restore, &start.id));
            plan.start_job = Some(start);
            Move::Stay(Some(under_way))
        }
        None => {
            let started = current_step(restore).and_then(|s| s.started_at.as_ref());
            let lost = started.is_some_and(|t| facts.now.duration_since(t.0) > LOST_AFTER);
            match lost {
                true => Move::Fail("the restore Job disappeared before it finished".into()),
                false => Move::Stay(None),
            }
        }
        Some(JobState::Running) => {
            restore.job = job.map(|job| job.name.clone());
            Move::Stay(Some(under_way))
        }
        Some(state) => {
            let report = facts.report;
            let good = state == JobState::Succeeded && report.is_none_or(Report::succeeded);
            if !good {
                let why = report
                    .map(Report::failure)
                    .or_else(|| job.and_then(|j| j.failure.clone()))
                    .unwrap_or_else(|| "the restore pod ended without a report".into());
                return Move::Fail(format!("the restore failed: {why}"));
            }
            restore.restore_seconds = report.and_then(|r| r.restore_seconds);
            let took = restore.restore_seconds.map(|s| format!(" ({s:.1}s)"));
            let checked = format!(
                "backup {} restored into {} and matched its manifest{}",
                restore.backup,
                restore.database,
                took.unwrap_or_default()
            );
            Move::Next(step::SWITCH, Some(checked))
        }
    }
}
