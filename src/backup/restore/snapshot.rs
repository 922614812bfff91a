//! A restore from an RDS snapshot: the snapshot becomes a **new** RDS
//! instance beside the one the app runs on (`RestoreDBInstanceFromDBSnapshot`
//! under a new identifier), the connection Secret moves to its endpoint,
//! and the instance it replaced stays as the undo until its time is over,
//! when it is deleted after a final snapshot. The safety backup is a
//! native snapshot of the live instance. Pure: the reconciler describes
//! the instances and makes the calls this asks for.

use super::{
    instance::{InstanceRestore, InstanceState, is_snapshot},
    record::current_step,
    state::{Facts, Plan},
    step::{self, Move},
};
use crate::api::RestoreStatus;

/// The Restore step of a snapshot restore: ask for the instance until RDS
/// has it, wait for it to serve, and check it is the one made from the
/// snapshot.
pub(super) fn restoring(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) -> Move {
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
            Move::Stay(Some(format!(
                "restoring RDS snapshot {snapshot} into the new instance {identifier}"
            )))
        }
        InstanceState::Busy(status) => Move::Stay(Some(format!(
            "RDS instance {identifier} is {status}: restoring snapshot {snapshot} (large databases take a while)"
        ))),
        InstanceState::Available { restored_from } if restored_from == Some(snapshot.clone()) => {
            let started = current_step(restore).and_then(|s| s.started_at.clone());
            restore.restore_seconds = started.map(|t| facts.now.duration_since(t.0).as_secs_f64());
            let made = format!("RDS instance {identifier} restored from snapshot {snapshot}");
            Move::Next(step::SWITCH, Some(made))
        }
        InstanceState::Available { restored_from } => Move::Fail(format!(
            "RDS instance {identifier} exists but was restored from {}, not snapshot {snapshot}; it is left untouched",
            restored_from
                .as_deref()
                .unwrap_or("no snapshot this operator named")
        )),
        InstanceState::Failed(status) => Move::Fail(format!(
            "RDS instance {identifier}, restored from snapshot {snapshot}, is {status}; it is left in AWS for inspection (it is deleted with the resource)"
        )),
        InstanceState::Foreign(owner) => Move::Fail(format!(
            "RDS instance {identifier} exists and belongs to {owner}; it is left untouched"
        )),
    }
}

/// Whether the Secret leads to the restored instance.
pub(super) fn switched_to(facts: &Facts, restore: &RestoreStatus) -> bool {
    !is_snapshot(restore)
        || facts.rds.as_ref().and_then(|r| r.secret_instance) == restore.instance.as_deref()
}
