//! A restore of the app database, as a state machine: a safety backup of
//! the data as it is → the app stops taking writes (its pods and the
//! pooler scaled to zero) → the backup restored into a **new** database on
//! the same server and checked against its manifest → the connection
//! Secret switched to it → (for a rollback with its data) the pods of the
//! revision → the app back. The database the app used before is never
//! written to and stays as the undo for `keepReplacedDatabaseDays`, then a
//! Job drops it (never the one the app uses). A failure before the switch
//! ends the restore with the app back on its old database, nothing lost.
//!
//! Every step is decided from what survives a restart — the previous
//! `status.restore`, the backup records, the restore Job, the database the
//! connection Secret leads to, the app's replica counts — so an operator
//! restarted at any step carries on from there. Pure.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::runs::{Note, phase as backup_phase};
use crate::api::{RestoreRequest, RestoreStatus};

pub mod action;
mod dump;
pub mod instance;
mod record;
pub mod refusal;
mod snapshot;
mod state;
pub mod step;
mod steps;
mod undo;

pub use crate::backup::jobs::{DropStart, JobStart};
use instance::is_snapshot;
use record::{enter, fail, note, previous_target, target};
pub use state::{
    DEFAULT_DATABASE, Facts, Needs, Plan, Safety, database_for, drop_id, live_database,
    safety_backup_id,
};
pub use step::stops_writes;

/// Plans one reconcile's restore step.
pub fn plan(facts: &Facts) -> Plan {
    let mut plan = Plan {
        status: facts.previous.cloned(),
        ..Plan::default()
    };
    let in_progress = facts.previous.filter(|r| !step::is_final(&r.step));
    if let (Some(restore), Some(why)) = (in_progress, facts.blocked)
        && undoable(facts, restore)
    {
        // Whatever blocks the reconcile, the app is not left stopped: the
        // restore ends and the app goes back to its old database.
        let mut restore = restore.clone();
        let why = format!("the restore could not go on ({why})");
        fail(&mut restore, &time(facts.now), why, &mut plan);
        plan.status = Some(restore);
        return plan;
    }
    let new_request = facts
        .request
        .filter(|request| facts.previous.is_none_or(|r| r.id != request.id));
    let mut restore = match (in_progress, new_request) {
        (Some(restore), _) => restore.clone(),
        // A new restore goes next, once the running data operation ended.
        (None, Some(_)) if facts.busy && facts.blocked.is_none() => return plan,
        (None, Some(request)) => match begin(facts, request, &mut plan) {
            Some(restore) => restore,
            None => return plan,
        },
        // A new data operation waits while the reconcile is blocked.
        _ if facts.blocked.is_some() => return plan,
        // After a good restore, once the replaced database's time as the
        // undo is over: drop it, once, and record how that went.
        _ => {
            if let Some(mut restore) = plan.status.take() {
                undo::drop_replaced(facts, &mut restore, &mut plan);
                plan.status = Some(restore);
            }
            return plan;
        }
    };
    steps::advance(facts, &mut restore, &mut plan);
    plan.stop_writes = stops_writes(Some(&restore));
    plan.status = Some(restore);
    plan
}

/// Whether `restore` can still end with the app on its old database:
/// before its switch, or at the switch while the connection Secret still
/// leads to the old one.
fn undoable(facts: &Facts, restore: &RestoreStatus) -> bool {
    !step::switched(restore)
        || restore.step == step::SWITCH && facts.live_database != restore.database
}

fn time(at: Timestamp) -> Time {
    Time(at)
}

/// A new restore for `request`, or `None` when it ends before its first
/// step (the plan's status then says why).
fn begin(facts: &Facts, request: &RestoreRequest, plan: &mut Plan) -> Option<RestoreStatus> {
    let now = time(facts.now);
    let mut restore = RestoreStatus {
        id: request.id.clone(),
        action: request.action.clone(),
        backup: request.backup.clone(),
        method: request.method.clone(),
        rollback_to: request.rollback_to,
        step: step::SAFETY_BACKUP.into(),
        database: database_for(&request.id),
        previous_database: facts.live_database.to_string(),
        started_at: Some(now.clone()),
        ..Default::default()
    };
    let snapshot = is_snapshot(&restore);
    if let Some(rds) = &facts.rds {
        restore.previous_instance = Some(rds.live.to_string());
        restore.instance = Some(if snapshot {
            instance::restored_identifier(rds.base, &request.id)
        } else {
            rds.live.to_string()
        });
    }
    if snapshot {
        // The instance comes back whole, its databases as they were named.
        restore.database = facts.live_database.to_string();
    }
    let failed_backup = facts
        .backups
        .into_iter()
        .flat_map(|b| &b.recent)
        .find(|r| r.id == request.backup && r.phase == backup_phase::FAILED);
    let no_rds = (snapshot && facts.rds.is_none()).then(|| {
        format!(
            "backup {} is an RDS snapshot, and spec.database.mode is not Managed (or the operator has no AWS access)",
            request.backup
        )
    });
    let blocked = facts
        .blocked
        .map(|why| format!("the reconcile is blocked: {why}"));
    let refusal = facts.cannot.clone().or(blocked).or(no_rds).or_else(|| {
        failed_backup.map(|r| {
            format!(
                "backup {} failed ({}); it cannot be restored",
                r.id,
                r.message.as_deref().unwrap_or("no reason recorded")
            )
        })
    });
    if let Some(why) = refusal {
        // Refused: nothing was made, and nothing the app uses is replaced.
        restore.database = String::new();
        restore.previous_database = String::new();
        restore.instance = None;
        restore.previous_instance = None;
        restore.step = step::FAILED.into();
        restore.finished_at = Some(now);
        restore.message = Some(format!("{why}; nothing was changed"));
        plan.notes.push(note(&restore));
        plan.status = Some(restore);
        return None;
    }
    plan.notes.push(Note {
        warning: false,
        reason: "RestoreStarted",
        message: format!(
            "ChatbotAction {}: restoring backup {} into {}; a safety backup of {} comes first",
            restore.action,
            restore.backup,
            target(&restore),
            previous_target(&restore)
        ),
    });
    enter(&mut restore, step::SAFETY_BACKUP, &now, None);
    Some(restore)
}

#[cfg(test)]
mod tests;
