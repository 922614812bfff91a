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

use jiff::{SignedDuration, Timestamp};
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

pub use crate::backup::jobs::{DropStart, JobStart};
use instance::is_snapshot;
use record::{enter, fail, note, previous_target, restored, say, target};
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
        _ => {
            drop_replaced(facts, &mut plan);
            return plan;
        }
    };
    advance(facts, &mut restore, &mut plan);
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

/// Moves `restore` through as many steps as the facts allow.
fn advance(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    let now = time(facts.now);
    loop {
        let before = restore.step.clone();
        match before.as_str() {
            step::SAFETY_BACKUP => safety_backup(facts, restore, plan, &now),
            step::STOP_WRITES => stop_writes(facts, restore, &now),
            step::RESTORE => restoring(facts, restore, plan, &now),
            step::SWITCH => switch(facts, restore, plan, &now),
            step::ROLL_BACK_PODS => roll_back_pods(facts, restore, &now),
            step::RESUME => resume(facts, restore, plan, &now),
            _ => {}
        }
        // The app's readiness seen now is from before its pods return.
        let resumed = restore.step == step::RESUME;
        if restore.step == before || step::is_final(&restore.step) || resumed {
            break;
        }
    }
}

/// The SafetyBackup step: a dump (or an RDS snapshot) of the live
/// database is taken, and must succeed, before anything is stopped.
fn safety_backup(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    let safety = match (is_snapshot(restore), &restore.previous_instance) {
        (true, Some(live)) => Safety::RdsSnapshot {
            id: instance::safety_snapshot_id(live, &restore.id),
            instance: live.clone(),
        },
        _ => Safety::Dump(safety_backup_id(&restore.id)),
    };
    let id = match &safety {
        Safety::Dump(id) | Safety::RdsSnapshot { id, .. } => id.clone(),
    };
    restore.safety_backup = Some(id.clone());
    let record = facts
        .backups
        .into_iter()
        .flat_map(|b| &b.recent)
        .find(|r| r.id == id);
    match record.map(|r| (r.phase.as_str(), r)) {
        Some((backup_phase::SUCCEEDED, _)) => {
            enter(restore, step::STOP_WRITES, now, None);
        }
        Some((backup_phase::FAILED, record)) => {
            let why = format!(
                "the safety backup {id} failed: {}",
                record.message.as_deref().unwrap_or("no reason recorded")
            );
            fail(restore, now, why, plan);
        }
        _ => {
            plan.safety_backup = Some(safety);
            say(restore, format!("taking the safety backup {id}"));
        }
    }
}

/// The StopWrites step: the app and its pooler at zero.
fn stop_writes(facts: &Facts, restore: &mut RestoreStatus, now: &Time) {
    if facts.writes_stopped {
        enter(restore, step::RESTORE, now, None);
    } else {
        say(
            restore,
            "scaling the app and its pooler to zero: no writes during the restore".into(),
        );
    }
}

/// The Switch step: the connection Secret leads to the restored database.
fn switch(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    if facts.live_database == restore.database && snapshot::switched_to(facts, restore) {
        let next = if restore.rollback_to.is_some() {
            step::ROLL_BACK_PODS
        } else {
            step::RESUME
        };
        enter(restore, next, now, None);
        plan.notes.push(Note {
            warning: false,
            reason: "DatabaseSwitched",
            message: format!(
                "the app's connection Secret now leads to {} (restored from backup {}); {} is kept as the undo",
                restored(restore),
                restore.backup,
                previous_target(restore)
            ),
        });
    } else {
        say(
            restore,
            format!(
                "switching the connection Secret from {} to {}",
                previous_target(restore),
                restored(restore)
            ),
        );
    }
}

/// The RollBackPods step: the pod template of the backup's revision is
/// back.
fn roll_back_pods(facts: &Facts, restore: &mut RestoreStatus, now: &Time) {
    let revision = restore.rollback_to.unwrap_or_default();
    if facts.held_revision == Some(revision) {
        enter(restore, step::RESUME, now, None);
    } else {
        say(
            restore,
            format!("putting back the pod template of revision {revision}"),
        );
    }
}

/// The Resume step: the app's pods are ready on the restored database.
fn resume(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    if facts.app_available {
        enter(restore, step::SUCCEEDED, now, None);
        restore.finished_at = Some(now.clone());
        restore.drop_previous_after = facts
            .keep_replaced_days
            .filter(|days| *days > 0)
            .map(|days| time(facts.now + SignedDuration::from_hours(24 * i64::from(days))));
        restore.message = Some(format!(
            "backup {} restored into {} and the app runs on it{}; {} is kept as the undo",
            restore.backup,
            restored(restore),
            restore
                .rollback_to
                .map(|r| format!(" at revision {r}"))
                .unwrap_or_default(),
            previous_target(restore)
        ));
        plan.notes.push(note(restore));
    } else {
        say(
            restore,
            format!(
                "waiting for the app's pods to be ready on {}",
                restored(restore)
            ),
        );
    }
}

/// After a good restore, once the replaced database's time as the undo is
/// over: drop it with a Job, once, and record how that went. Never the
/// database the app's URL leads to.
fn drop_replaced(facts: &Facts, plan: &mut Plan) {
    let Some(mut restore) = plan.status.take() else {
        return;
    };
    if is_snapshot(&restore) {
        snapshot::drop_replaced(facts, &mut restore, plan);
    } else {
        dump::drop_replaced(facts, &mut restore, plan);
    }
    plan.status = Some(restore);
}

/// The Restore step, by how the backup was taken.
fn restoring(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    if is_snapshot(restore) {
        snapshot::restoring(facts, restore, plan, now);
    } else {
        dump::restoring(facts, restore, plan, now);
    }
}

#[cfg(test)]
mod tests;
