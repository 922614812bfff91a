//! A restore's way through its steps: each step decides its move from
//! the facts (the Restore step by how the backup was taken: `dump`,
//! `snapshot`), and the record carries it out. Pure.

use jiff::SignedDuration;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    dump, instance,
    instance::is_snapshot,
    record::{self, previous_target, restored},
    snapshot,
    state::{Facts, Plan, Safety, safety_backup_id},
    step::{self, Move},
};
use crate::{
    api::RestoreStatus,
    backup::runs::{Note, phase as backup_phase},
};

/// Moves `restore` through as many steps as the facts allow: each step
/// decides its move from the facts, and the record carries it out.
pub(super) fn advance(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    let now = Time(facts.now);
    loop {
        let before = restore.step.clone();
        let decided = match before.as_str() {
            step::SAFETY_BACKUP => safety_backup(facts, restore, plan),
            step::STOP_WRITES => stop_writes(facts),
            step::SWITCH => switch(facts, restore, plan),
            step::ROLL_BACK_PODS => roll_back_pods(facts, restore),
            step::RESUME => resume(facts, restore),
            step::RESTORE if is_snapshot(restore) => snapshot::restoring(facts, restore, plan),
            step::RESTORE => dump::restoring(facts, restore, plan),
            _ => Move::Stay(None),
        };
        record::make(restore, decided, &now, plan);
        // The app's readiness seen now is from before its pods return.
        let resumed = restore.step == step::RESUME;
        if restore.step == before || step::is_final(&restore.step) || resumed {
            break;
        }
    }
}

/// The SafetyBackup step: a dump (or an RDS snapshot) of the live
/// database is taken, and must succeed, before anything is stopped.
fn safety_backup(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) -> Move {
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
        Some((backup_phase::SUCCEEDED, _)) => Move::Next(step::STOP_WRITES, None),
        Some((backup_phase::FAILED, record)) => Move::Fail(format!(
            "the safety backup {id} failed: {}",
            record.message.as_deref().unwrap_or("no reason recorded")
        )),
        _ => {
            plan.safety_backup = Some(safety);
            Move::Stay(Some(format!("taking the safety backup {id}")))
        }
    }
}

/// The StopWrites step: the app and its pooler at zero.
fn stop_writes(facts: &Facts) -> Move {
    if facts.writes_stopped {
        Move::Next(step::RESTORE, None)
    } else {
        let news = "scaling the app and its pooler to zero: no writes during the restore";
        Move::Stay(Some(news.into()))
    }
}

/// The Switch step: the connection Secret leads to the restored database.
fn switch(facts: &Facts, restore: &RestoreStatus, plan: &mut Plan) -> Move {
    let (to, from) = (restored(restore), previous_target(restore));
    if facts.live_database != restore.database || !snapshot::switched_to(facts, restore) {
        return Move::Stay(Some(format!(
            "switching the connection Secret from {from} to {to}"
        )));
    }
    plan.notes.push(Note {
        warning: false,
        reason: "DatabaseSwitched",
        message: format!(
            "the app's connection Secret now leads to {to} (restored from backup {}); {from} is kept as the undo",
            restore.backup,
        ),
    });
    match restore.rollback_to {
        Some(_) => Move::Next(step::ROLL_BACK_PODS, None),
        None => Move::Next(step::RESUME, None),
    }
}

/// The RollBackPods step: the pod template of the backup's revision is
/// back.
fn roll_back_pods(facts: &Facts, restore: &RestoreStatus) -> Move {
    let revision = restore.rollback_to.unwrap_or_default();
    if facts.held_revision == Some(revision) {
        Move::Next(step::RESUME, None)
    } else {
        let news = format!("putting back the pod template of revision {revision}");
        Move::Stay(Some(news))
    }
}

/// The Resume step: the app's pods are ready on the restored database.
fn resume(facts: &Facts, restore: &mut RestoreStatus) -> Move {
    let to = restored(restore);
    if !facts.app_available {
        return Move::Stay(Some(format!(
            "waiting for the app's pods to be ready on {to}"
        )));
    }
    restore.drop_previous_after = facts
        .keep_replaced_days
        .filter(|days| *days > 0)
        .map(|days| Time(facts.now + SignedDuration::from_hours(24 * i64::from(days))));
    let at = restore.rollback_to.map(|r| format!(" at revision {r}"));
    Move::Succeed(format!(
        "backup {} restored into {to} and the app runs on it{}; {} is kept as the undo",
        restore.backup,
        at.unwrap_or_default(),
        previous_target(restore)
    ))
}
