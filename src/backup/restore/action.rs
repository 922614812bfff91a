//! The on-call side of a restore, judged from the deployment's status
//! alone: which backup a revision's data is in, the request handed to the
//! reconciler (`status.restoreRequest`, under the actions' field
//! manager), and the action's progress mirrored from `status.restore`.
//! One restore at a time. Pure.

use super::step;
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

/// The backup that holds revision `revision`'s data: the pre-rollout
/// backup taken just before the next revision replaced it (its record
/// carries it), so it has the schema and rows `revision` ran with.
pub fn backup_for_revision(history: &[RevisionRecord], revision: i64) -> Result<String, String> {
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
        (Some(id), _) => Ok(id.clone()),
        (None, Some(snapshot)) => Err(format!(
            "revision {revision}'s data is in the RDS snapshot {snapshot} only (taken before revision {}); this version restores dumps, not RDS snapshots",
            next.revision
        )),
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
    resolve: impl FnOnce() -> Result<(String, Option<i64>), String>,
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
            Ok((backup, rollback_to)) => Progress::Send(RestoreRequest {
                id: id.into(),
                action: action.into(),
                backup,
                rollback_to,
            }),
            Err(why) => Progress::Done(false, format!("{why}; nothing was changed"), Vec::new()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{HeldRevision, RestoreStatus};

    fn revision(number: i64, dump: Option<&str>, snapshot: Option<&str>) -> RevisionRecord {
        RevisionRecord {
            revision: number,
            pre_rollout_snapshot: dump.map(Into::into),
            pre_rollout_db_snapshot: snapshot.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn a_revisions_data_is_in_the_backup_taken_as_it_was_replaced() {
        let history = [
            revision(5, None, None),
            revision(6, Some("20261130-120000-r6-pre"), None),
            revision(7, Some("20261201-020000-r7-pre"), None),
            revision(8, None, Some("bot-db-pre-r8")),
        ];
        assert_eq!(
            backup_for_revision(&history, 6),
            Ok("20261201-020000-r7-pre".into())
        );
        assert_eq!(
            backup_for_revision(&history, 5),
            Ok("20261130-120000-r6-pre".into())
        );
        let rds = backup_for_revision(&history, 7).unwrap_err();
        assert!(rds.contains("RDS snapshot bot-db-pre-r8"), "{rds}");
        let newest = backup_for_revision(&history, 8).unwrap_err();
        assert!(newest.contains("revision 8 is the newest"), "{newest}");
        let unknown = backup_for_revision(&history, 2).unwrap_err();
        assert_eq!(
            unknown,
            "revision 2 is not in the history (known: 5, 6, 7, 8)"
        );
        let off = backup_for_revision(&[revision(1, None, None), revision(2, None, None)], 1);
        assert!(off.unwrap_err().contains("beforeRollout was off"));
    }

    fn restore(id: &str, at: &str) -> RestoreStatus {
        RestoreStatus {
            id: id.into(),
            action: format!("action-{id}"),
            step: at.into(),
            rollback_to: Some(6),
            message: Some(format!("at {at}")),
            ..Default::default()
        }
    }

    #[test]
    fn one_restore_at_a_time_each_sent_once_and_mirrored_until_it_ends() {
        let mut status = ChatbotDeploymentStatus::default();
        let judge_mine = |status: &ChatbotDeploymentStatus, sent| {
            judge("restore-1", "r1", sent, status, || {
                Ok(("b1".into(), Some(6)))
            })
        };
        let other = |id: &'static str, sent, status: &ChatbotDeploymentStatus| {
            judge("restore-2", id, sent, status, || Ok(("b2".into(), None)))
        };
        assert!(
            matches!(judge_mine(&status, false), Progress::Send(r) if r.rollback_to == Some(6))
        );
        status.restore_request = Some(RestoreRequest {
            id: "r1".into(),
            ..Default::default()
        });
        assert!(matches!(judge_mine(&status, true), Progress::Wait(m, _) if m.contains("handed")));
        status.restore = Some(restore("r1", step::RESTORE));
        assert_eq!(
            judge_mine(&status, true),
            Progress::Wait("at Restore".into(), Vec::new())
        );
        status.restore = Some(restore("r1", step::ROLL_BACK_PODS));
        assert_eq!(judge_mine(&status, true), Progress::RollBackPods(6));
        status.rollback = Some(HeldRevision {
            revision: 6,
            ..Default::default()
        });
        assert!(matches!(judge_mine(&status, true), Progress::Wait(..)));
        status.restore = Some(restore("r1", step::SUCCEEDED));
        assert!(matches!(
            judge_mine(&status, true),
            Progress::Done(true, ..)
        ));

        // Another action waits while r1 runs, then sends its own.
        status.restore = Some(restore("r1", step::RESTORE));
        let waiting = other("r2", false, &status);
        assert!(matches!(waiting, Progress::Wait(m, _) if m.contains("action-r1")));
        status.restore = Some(restore("r1", step::FAILED));
        assert!(matches!(other("r2", false, &status), Progress::Send(_)));
        // An action whose request was sent and then replaced ends, never runs twice.
        status.restore_request = Some(RestoreRequest {
            id: "r2".into(),
            ..Default::default()
        });
        status.restore = Some(restore("r2", step::SUCCEEDED));
        let lost = other("r3", true, &status);
        assert!(
            matches!(lost, Progress::Done(false, m, _) if m.contains("another restore took its place"))
        );
        // What cannot be resolved ends the action before anything is sent.
        status.restore = None;
        status.restore_request = None;
        let unknown = judge("restore-4", "r4", false, &status, || {
            Err("revision 2 is not in the history (known: 5, 6)".into())
        });
        assert_eq!(
            unknown,
            Progress::Done(
                false,
                "revision 2 is not in the history (known: 5, 6); nothing was changed".into(),
                Vec::new()
            )
        );
    }
}
