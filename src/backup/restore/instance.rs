//! The RDS instances of a snapshot restore: what a describe shows of
//! them, the names a restore gives them, and which one the app runs on
//! or a restore keeps. Pure (the steps themselves are in `snapshot`).

use jiff::Timestamp;

use super::step;
use crate::api::RestoreStatus;

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
        Some(r) if step::switched(r) => r.instance.clone(),
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
    if !step::switched(restore)
        && is_snapshot(restore)
        && let Some(made) = &restore.instance
    {
        kept.push(made.clone());
    }
    kept
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
