//! A restore from a dump: the restore Job makes a **new** database on the
//! same server and restores the backup into it, checked against its
//! manifest; the database it replaced is dropped by a Job once its time
//! as the undo is over. Pure.

use jiff::SignedDuration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    record::{current_step, enter, fail, say},
    state::{Facts, Plan, drop_id},
    step,
};
use crate::{
    api::RestoreStatus,
    backup::{
        jobs::{DropStart, JobStart, JobState},
        report::Report,
        runs::Note,
    },
};

/// A restore Job recorded as started and nowhere to be seen after this
/// long was lost (deleted by hand).
const LOST_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// The restore Job's step: start it, wait for it, read its verdict.
pub(super) fn restoring(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    let job = facts.job;
    match job.map(|j| j.state) {
        None if restore.job.is_none() => {
            let start = JobStart {
                id: restore.id.clone(),
                backup: restore.backup.clone(),
                database: restore.database.clone(),
            };
            restore.job = Some(crate::backup::jobs::job_name(
                facts.deployment,
                crate::backup::jobs::Reason::Restore,
                &start.id,
            ));
            plan.start_job = Some(start);
            say(
                restore,
                format!(
                    "restoring backup {} into the new database {}",
                    restore.backup, restore.database
                ),
            );
        }
        None => {
            let started = current_step(restore).and_then(|s| s.started_at.as_ref());
            let lost = started.is_some_and(|t| facts.now.duration_since(t.0) > LOST_AFTER);
            if lost {
                fail(
                    restore,
                    now,
                    "the restore Job disappeared before it finished".into(),
                    plan,
                );
            }
        }
        Some(JobState::Running) => {
            if let Some(job) = job {
                restore.job = Some(job.name.clone());
            }
            say(
                restore,
                format!(
                    "restoring backup {} into the new database {}",
                    restore.backup, restore.database
                ),
            );
        }
        Some(state) => {
            let report = facts.report;
            let good = state == JobState::Succeeded && report.is_none_or(Report::succeeded);
            if good {
                restore.restore_seconds = report.and_then(|r| r.restore_seconds);
                let checked = format!(
                    "backup {} restored into {} and matched its manifest{}",
                    restore.backup,
                    restore.database,
                    restore
                        .restore_seconds
                        .map(|s| format!(" ({s:.1}s)"))
                        .unwrap_or_default()
                );
                enter(restore, step::SWITCH, now, Some(checked));
            } else {
                let why = report
                    .map(Report::failure)
                    .or_else(|| job.and_then(|j| j.failure.clone()))
                    .unwrap_or_else(|| "the restore pod ended without a report".into());
                fail(restore, now, format!("the restore failed: {why}"), plan);
            }
        }
    }
}

/// The dump restore's undo: drop the replaced database with a Job.
pub(super) fn drop_replaced(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    let due = restore
        .drop_previous_after
        .as_ref()
        .is_some_and(|after| facts.now >= after.0);
    let settled = restore.step != step::SUCCEEDED || restore.previous_dropped.is_some();
    if !due || settled || restore.previous_database == facts.live_database {
        return;
    }
    let database = restore.previous_database.clone();
    match facts.drop_job.map(|j| j.state) {
        None => {
            plan.drop_job = Some(DropStart {
                id: drop_id(&restore.id),
                database,
            })
        }
        Some(JobState::Running) => {}
        Some(state) => {
            let report = facts.drop_report;
            let dropped = state == JobState::Succeeded && report.is_none_or(Report::succeeded);
            restore.previous_dropped = Some(dropped);
            let (warning, reason, message) = if dropped {
                (
                    false,
                    "ReplacedDatabaseDropped",
                    format!(
                        "{database}, replaced by restore {}, was dropped",
                        restore.id
                    ),
                )
            } else {
                let why = report
                    .map(Report::failure)
                    .or_else(|| facts.drop_job.and_then(|j| j.failure.clone()))
                    .unwrap_or_else(|| "the drop pod ended without a report".into());
                (
                    true,
                    "ReplacedDatabaseDropFailed",
                    format!(
                        "{database}, replaced by restore {}, was not dropped: {why}; drop it by hand",
                        restore.id
                    ),
                )
            };
            restore.message = Some(message.clone());
            plan.notes.push(Note {
                warning,
                reason,
                message,
            });
        }
    }
}
