//! A restore's undo, once its time is over: the database a good dump
//! restore replaced is dropped by a Job, the RDS instance a good snapshot
//! restore replaced is deleted after a final snapshot — once, never the
//! one the app's URL leads to — and how that went is recorded. Pure.

use super::{
    instance::{InstanceState, is_snapshot, replaced_due},
    state::{Facts, Plan, drop_id},
    step,
};
use crate::{
    api::RestoreStatus,
    backup::{
        jobs::{DropStart, JobState},
        report::Report,
        runs::Note,
    },
};

/// After a good restore, once the replaced database's time as the undo is
/// over: drop it, by how the restore was made.
pub(super) fn drop_replaced(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    if is_snapshot(restore) {
        drop_instance(facts, restore, plan);
    } else {
        drop_database(facts, restore, plan);
    }
}

/// A dump restore's undo: drop the replaced database with a Job.
fn drop_database(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
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

/// After a good snapshot restore whose undo time is over: delete the
/// instance it replaced (after a final snapshot), once, and record it.
fn drop_instance(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    let Some(previous) = replaced_due(Some(restore), facts.now).map(str::to_string) else {
        return;
    };
    if facts.rds.as_ref().map(|r| r.live) == Some(previous.as_str()) {
        return;
    }
    let (dropped, message) = match facts.rds.as_ref().and_then(|r| r.replaced.clone()) {
        None | Some(InstanceState::Busy(_)) => {
            if facts.rds.is_some() {
                plan.drop_instance = Some(previous);
            }
            return;
        }
        Some(InstanceState::Missing) => (
            true,
            format!(
                "RDS instance {previous}, replaced by restore {}, was deleted after its final snapshot {previous}-final",
                restore.id
            ),
        ),
        Some(InstanceState::Foreign(owner)) => (
            false,
            format!(
                "RDS instance {previous}, replaced by restore {}, now belongs to {owner}; it was not deleted",
                restore.id
            ),
        ),
        Some(InstanceState::Available { .. } | InstanceState::Failed(_)) => {
            plan.drop_instance = Some(previous);
            return;
        }
    };
    restore.previous_dropped = Some(dropped);
    restore.message = Some(message.clone());
    plan.notes.push(Note {
        warning: !dropped,
        reason: if dropped {
            "ReplacedDatabaseDropped"
        } else {
            "ReplacedDatabaseDropFailed"
        },
        message,
    });
}
