//! The on-call side of a restore, judged from the deployment's status
//! alone: which backup a revision's data is in, the request handed to the
//! reconciler (`status.restoreRequest`, under the actions' field
//! manager), and the action's progress mirrored from `status.restore`.
//! One restore at a time. Pure.

use super::{instance, step};
use crate::api::{ChatbotDeploymentStatus, RestoreRequest, RestoreStepRecord, RevisionRecord};

/// Where a restore action stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Write this request for the reconciler.
    Send(RestoreRequest),
    /// Handed over, waiting or in progress: how it stands and its steps.
    Wait(String, Vec<RestoreStepRecord>),
    /// The data is switched: put the pods of this revision back.
    RollBackPods(i64),
    /// Over: succeeded (`true`) or failed, with the message and steps.
    Done(bool, String, Vec<RestoreStepRecord>),
}

/// A backup to restore, and how it was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub backup: String,
    /// `None` for a dump; `rds-snapshot` for a native RDS snapshot.
    pub method: Option<String>,
}

impl Source {
    fn dump(backup: &str) -> Self {
        Self {
            backup: backup.into(),
            method: None,
        }
    }

    /// Backup `id` as status records it: an RDS snapshot when its record,
    /// or a revision's, says so.
    pub fn named(status: &ChatbotDeploymentStatus, id: &str) -> Self {
        let recorded = status
            .backups
            .iter()
            .flat_map(|b| &b.recent)
            .find(|r| r.id == id)
            .and_then(|r| r.method.as_deref());
        let a_revisions = status
            .revisions
            .iter()
            .any(|r| r.pre_rollout_db_snapshot.as_deref() == Some(id));
        let snapshot = recorded == Some(instance::RDS_SNAPSHOT) || a_revisions;
        Self {
            backup: id.into(),
            method: snapshot.then(|| instance::RDS_SNAPSHOT.into()),
        }
    }
}

/// The backup that holds revision `revision`'s data: the pre-rollout
/// backup taken just before the next revision replaced it (its record
/// carries it), so it has the schema and rows `revision` ran with. A dump
/// when there is one, else the native RDS snapshot.
pub fn backup_for_revision(history: &[RevisionRecord], revision: i64) -> Result<Source, String> {
    if !history.iter().any(|r| r.revision == revision) {
        let known: Vec<String> = history.iter().map(|r| r.revision.to_string()).collect();
        return Err(format!(
            "revision {revision} is not in the history (known: {})",
            known.join(", ")
        ));
    }
    let Some(next) = history
        .iter()
        .filter(|r| r.revision > revision)
        .min_by_key(|r| r.revision)
    else {
        return Err(format!(
            "revision {revision} is the newest: no revision replaced it, so no backup was taken of its data on the way out; name a backup with --backup"
        ));
    };
    match (&next.pre_rollout_snapshot, &next.pre_rollout_db_snapshot) {
        (Some(id), _) => Ok(Source::dump(id)),
        (None, Some(snapshot)) => Ok(Source {
            backup: snapshot.clone(),
            method: Some(instance::RDS_SNAPSHOT.into()),
        }),
        (None, None) => Err(format!(
            "no backup was taken before revision {} replaced revision {revision} (spec.backup.beforeRollout was off); name a backup with --backup",
            next.revision
        )),
    }
}

/// Judges restore action `action` (restore `id`); `sent` says whether the
/// action already handed its request over. `resolve` says which backup it
/// restores and the revision whose pods come back with it; it is asked
/// only before the request is sent (the history moves on afterwards).
pub fn judge(
    action: &str,
    id: &str,
    sent: bool,
    status: &ChatbotDeploymentStatus,
    resolve: impl FnOnce() -> Result<(Source, Option<i64>), String>,
) -> Progress {
    if let Some(restore) = status.restore.as_ref().filter(|r| r.id == id) {
        let message = restore
            .message
            .clone()
            .unwrap_or_else(|| restore.step.clone());
        let steps = restore.steps.clone();
        return match restore.step.as_str() {
            step::SUCCEEDED => Progress::Done(true, message, steps),
            step::FAILED => Progress::Done(false, message, steps),
            step::ROLL_BACK_PODS
                if status.rollback.as_ref().map(|h| h.revision) != restore.rollback_to =>
            {
                Progress::RollBackPods(restore.rollback_to.unwrap_or_default())
            }
            _ => Progress::Wait(message, steps),
        };
    }
    let in_progress = status.restore.as_ref().filter(|r| !step::is_final(&r.step));
    match (&status.restore_request, in_progress) {
        (Some(request), _) if request.id == id => Progress::Wait(
            format!("restore {id} was handed to the reconciler"),
            Vec::new(),
        ),
        _ if sent => Progress::Done(
            false,
            format!(
                "restore {id} was handed to the reconciler, but its record is no longer in status.restore (another restore took its place)"
            ),
            Vec::new(),
        ),
        (_, Some(other)) => Progress::Wait(
            format!(
                "waiting for the restore ChatbotAction {} asked for to end",
                other.action
            ),
            Vec::new(),
        ),
        (Some(other), None) if status.restore.as_ref().is_none_or(|r| r.id != other.id) => {
            Progress::Wait(
                format!(
                    "waiting for the restore ChatbotAction {} asked for to start",
                    other.action
                ),
                Vec::new(),
            )
        }
        _ => match resolve() {
            Ok((source, rollback_to)) => Progress::Send(RestoreRequest {
                id: id.into(),
                action: action.into(),
                backup: source.backup,
                method: source.method,
                rollback_to,
            }),
            Err(why) => Progress::Done(false, format!("{why}; nothing was changed"), Vec::new()),
        },
    }
}

#[cfg(test)]
mod tests;
