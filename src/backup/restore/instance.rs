//! A restore from an RDS snapshot: the snapshot becomes a **new** RDS
//! instance beside the one the app runs on (`RestoreDBInstanceFromDBSnapshot`
//! under a new identifier), the connection Secret moves to its endpoint,
//! and the instance it replaced stays as the undo until its time is over,
//! when it is deleted after a final snapshot. The safety backup is a
//! native snapshot of the live instance. Pure: the reconciler describes
//! the instances and makes the calls this asks for.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    Facts, Plan,
    record::{self, enter, fail, say},
    step,
};
use crate::{api::RestoreStatus, backup::runs::Note};

/// The method of a backup that is an RDS snapshot.
pub const RDS_SNAPSHOT: &str = crate::backup::runs::RDS_SNAPSHOT;

/// What one describe shows of an RDS instance a restore makes or replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstanceState {
    /// There is no such instance.
    Missing,
    /// Being made, or busy for now: its RDS status.
    Busy(String),
    /// Serves connections; `restored_from` is the snapshot its restore
    /// tag names.
    Available { restored_from: Option<String> },
    /// In a state RDS does not leave on its own: its status.
    Failed(String),
    /// Not this resource's: its owner, or `untagged`.
    Foreign(String),
}

/// The RDS facts of a managed database.
#[derive(Clone, Debug)]
pub struct RdsFacts<'a> {
    /// The identifier the operator derives for the resource; a restored
    /// instance's is made from it.
    pub base: &'a str,
    /// The instance the app runs on now.
    pub live: &'a str,
    /// The instance the connection Secret's credentials are for.
    pub secret_instance: Option<&'a str>,
    /// The instance the restore in progress makes, at its Restore step.
    pub restored: Option<InstanceState>,
    /// The instance a restore replaced, once its time as the undo is over.
    pub replaced: Option<InstanceState>,
}

/// The instance to make from a snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceRestore {
    pub snapshot: String,
    pub identifier: String,
    /// The restore's id (tags the instance).
    pub id: String,
}

/// Whether `restore` restores an RDS snapshot.
pub fn is_snapshot(restore: &RestoreStatus) -> bool {
    restore.method.as_deref() == Some(RDS_SNAPSHOT)
}

/// The instance restore `id` makes: `<base>-r<id>`, the base shortened so
/// it fits RDS's 63 characters (letters, digits, single hyphens).
pub fn restored_identifier(base: &str, id: &str) -> String {
    let suffix: String = format!("-r{id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let room = 63usize.saturating_sub(suffix.len());
    let head: String = base.chars().take(room).collect();
    let mut name = format!("{}{suffix}", head.trim_end_matches('-'));
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    name.trim_end_matches('-').to_string()
}

/// The native snapshot of `instance` taken first by restore `id`.
pub fn safety_snapshot_id(instance: &str, id: &str) -> String {
    format!("{instance}-{id}-safety")
}

/// The instance the app runs on: a restore's new one from its switch on,
/// the one it started from before that, else the one the operator made.
pub fn live_instance(restore: Option<&RestoreStatus>, base: &str) -> String {
    match restore {
        Some(r) if super::switched(r) => r.instance.clone(),
        Some(r) => r.previous_instance.clone(),
        None => None,
    }
    .unwrap_or_else(|| base.to_string())
}

/// The instance a good snapshot restore replaced, while it is kept.
fn replaced(restore: &RestoreStatus) -> Option<&str> {
    let previous = restore.previous_instance.as_deref()?;
    (restore.step == step::SUCCEEDED
        && restore.previous_dropped.is_none()
        && restore.instance.as_deref() != Some(previous))
    .then_some(previous)
}

/// The replaced instance to look at: its time as the undo is over.
pub fn replaced_due(restore: Option<&RestoreStatus>, now: Timestamp) -> Option<&str> {
    let restore = restore?;
    let due = restore
        .drop_previous_after
        .as_ref()
        .is_some_and(|after| now >= after.0);
    replaced(restore).filter(|_| due)
}

/// The instances a restore made or kept that are not dropped: torn down
/// with the resource beside the live one.
pub fn kept(restore: Option<&RestoreStatus>) -> Vec<String> {
    let Some(restore) = restore else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    if let Some(previous) = replaced(restore) {
        kept.push(previous.to_string());
    }
    // A restore stopped before its switch made an instance nothing uses.
    if !super::switched(restore)
        && is_snapshot(restore)
        && let Some(made) = &restore.instance
    {
        kept.push(made.clone());
    }
    kept
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restored_identifier_fits_rds_rules() {
        let id = "20270115-072000-7e57ab";
        assert_eq!(
            restored_identifier("chatbot-claude-saas-support", id),
            "chatbot-claude-saas-support-r20270115-072000-7e57ab"
        );
        let long = format!("chatbot-{}", "a".repeat(40));
        let name = restored_identifier(&long, id);
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("-r20270115-072000-7e57ab"), "{name}");
        // A base cut at a hyphen leaves no double hyphen.
        let hyphen = format!("{}-b", "a".repeat(38));
        let name = restored_identifier(&hyphen, id);
        assert!(!name.contains("--") && name.len() <= 63, "{name}");
        assert!(name.starts_with('a'));
    }

    #[test]
    fn the_live_instance_moves_at_the_switch_and_stays() {
        let mut restore = RestoreStatus {
            method: Some(RDS_SNAPSHOT.into()),
            instance: Some("db-rX".into()),
            previous_instance: Some("db".into()),
            step: step::RESTORE.into(),
            ..Default::default()
        };
        assert_eq!(live_instance(None, "db"), "db");
        assert_eq!(live_instance(Some(&restore), "db"), "db");
        assert_eq!(kept(Some(&restore)), ["db-rX"], "made, not yet used");
        restore.step = step::SWITCH.into();
        assert_eq!(live_instance(Some(&restore), "db"), "db-rX");
        restore.step = step::SUCCEEDED.into();
        assert_eq!(live_instance(Some(&restore), "db"), "db-rX");
        assert_eq!(kept(Some(&restore)), ["db"], "the undo");
        restore.previous_dropped = Some(true);
        assert!(kept(Some(&restore)).is_empty());
        // A failed restore leaves the app where it was.
        restore.step = step::FAILED.into();
        assert_eq!(live_instance(Some(&restore), "db"), "db");
    }
}
