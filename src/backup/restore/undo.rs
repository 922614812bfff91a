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
/// over: drop it, by how the restore was made, and record how that went
/// once it ended.
pub(super) fn drop_replaced(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    let due = restore
        .drop_previous_after
        .as_ref()
        .is_some_and(|after| facts.now >= after.0);
    if !due || restore.step != step::SUCCEEDED || restore.previous_dropped.is_some() {
        return;
    }
    let ended = if !is_snapshot(restore) {
        drop_database(facts, restore, plan)
    } else {
        drop_instance(facts, restore, plan)
    };
    let Some(Dropped { dropped, message }) = ended else {
        return;
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

/// How a drop that ended went.
struct Dropped {
    dropped: bool,
    message: String,
}

/// A dump restore's undo: drop the replaced database with a Job (never
/// the one the app's URL leads to). `Some` once the Job ended.
fn drop_database(facts: &Facts, restore: &RestoreStatus, plan: &mut Plan) -> Option<Dropped> {
    let database = &restore.previous_database;
    if *database == facts.live_database {
        return None;
    }
    let state = match facts.drop_job.map(|j| j.state) {
        None => {
            plan.drop_job = Some(DropStart {
                id: drop_id(&restore.id),
                database: database.clone(),
            });
            return None;
        }
        Some(JobState::Running) => return None,
        Some(state) => state,
    };
    let report = facts.drop_report;
    let id = &restore.id;
    if state == JobState::Succeeded && report.is_none_or(Report::succeeded) {
        let message = format!("{database}, replaced by restore {id}, was dropped");
        return Some(Dropped {
            dropped: true,
            message,
        });
    }
    let why = report
        .map(Report::failure)
        .or_else(|| facts.drop_job.and_then(|j| j.failure.clone()))
        .unwrap_or_else(|| "the drop pod ended without a report".into());
    Some(Dropped {
        dropped: false,
        message: format!(
            "{database}, replaced by restore {id}, was not dropped: {why}; drop it by hand"
        ),
    })
}

/// A snapshot restore's undo: delete the instance it replaced (after a
/// final snapshot; never the one the app runs on). `Some` once it is gone
/// or is no longer this resource's.
fn drop_instance(facts: &Facts, restore: &RestoreStatus, plan: &mut Plan) -> Option<Dropped> {
    let previous = replaced_due(Some(restore), facts.now)?.to_string();
    if facts.rds.as_ref().map(|r| r.live) == Some(previous.as_str()) {
        return None;
    }
    let id = &restore.id;
    match facts.rds.as_ref().and_then(|r| r.replaced.clone()) {
        None | Some(InstanceState::Busy(_)) => {
            if facts.rds.is_some() {
                plan.drop_instance = Some(previous);
            }
            None
        }
        Some(InstanceState::Available { .. } | InstanceState::Failed(_)) => {
            plan.drop_instance = Some(previous);
            None
        }
        Some(InstanceState::Missing) => Some(Dropped {
            dropped: true,
            message: format!(
                "RDS instance {previous}, replaced by restore {id}, was deleted after its final snapshot {previous}-final"
            ),
        }),
        Some(InstanceState::Foreign(owner)) => Some(Dropped {
            dropped: false,
            message: format!(
                "RDS instance {previous}, replaced by restore {id}, now belongs to {owner}; it was not deleted"
            ),
        }),
    }
}
