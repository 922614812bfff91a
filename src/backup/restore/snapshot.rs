//! A restore from an RDS snapshot: the snapshot becomes a **new** RDS
//! instance beside the one the app runs on (`RestoreDBInstanceFromDBSnapshot`
//! under a new identifier), the connection Secret moves to its endpoint,
//! and the instance it replaced stays as the undo until its time is over,
//! when it is deleted after a final snapshot. The safety backup is a
//! native snapshot of the live instance. Pure: the reconciler describes
//! the instances and makes the calls this asks for.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    instance::{InstanceRestore, InstanceState, is_snapshot, replaced_due},
    record::{self, enter, fail, say},
    state::{Facts, Plan},
    step,
};
use crate::{api::RestoreStatus, backup::runs::Note};

/// The Restore step of a snapshot restore: ask for the instance until RDS
/// has it, wait for it to serve, and check it is the one made from the
/// snapshot.
pub(super) fn restoring(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    let identifier = restore.instance.clone().unwrap_or_default();
    let snapshot = restore.backup.clone();
    let state = facts.rds.as_ref().and_then(|r| r.restored.clone());
    match state.unwrap_or(InstanceState::Missing) {
        InstanceState::Missing => {
            plan.restore_instance = Some(InstanceRestore {
                snapshot: snapshot.clone(),
                identifier: identifier.clone(),
                id: restore.id.clone(),
            });
            say(
                restore,
                format!("restoring RDS snapshot {snapshot} into the new instance {identifier}"),
            );
        }
        InstanceState::Busy(status) => say(
            restore,
            format!(
                "RDS instance {identifier} is {status}: restoring snapshot {snapshot} (large databases take a while)"
            ),
        ),
        InstanceState::Available { restored_from } if restored_from == Some(snapshot.clone()) => {
            let started = record::current_step(restore).and_then(|s| s.started_at.clone());
            restore.restore_seconds = started.map(|t| facts.now.duration_since(t.0).as_secs_f64());
            let made = format!("RDS instance {identifier} restored from snapshot {snapshot}");
            enter(restore, step::SWITCH, now, Some(made));
        }
        InstanceState::Available { restored_from } => fail(
            restore,
            now,
            format!(
                "RDS instance {identifier} exists but was restored from {}, not snapshot {snapshot}; it is left untouched",
                restored_from
                    .as_deref()
                    .unwrap_or("no snapshot this operator named")
            ),
            plan,
        ),
        InstanceState::Failed(status) => fail(
            restore,
            now,
            format!(
                "RDS instance {identifier}, restored from snapshot {snapshot}, is {status}; it is left in AWS for inspection (it is deleted with the resource)"
            ),
            plan,
        ),
        InstanceState::Foreign(owner) => fail(
            restore,
            now,
            format!(
                "RDS instance {identifier} exists and belongs to {owner}; it is left untouched"
            ),
            plan,
        ),
    }
}

/// Whether the Secret leads to the restored instance.
pub(super) fn switched_to(facts: &Facts, restore: &RestoreStatus) -> bool {
    !is_snapshot(restore)
        || facts.rds.as_ref().and_then(|r| r.secret_instance) == restore.instance.as_deref()
}

/// After a good snapshot restore whose undo time is over: delete the
/// instance it replaced (after a final snapshot), once, and record it.
pub(super) fn drop_replaced(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
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
