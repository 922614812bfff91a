//! The on-call `Backup` action, judged from the deployment's status alone:
//! hand the reconciler a request (`status.backupRequest`, under the
//! actions' field manager), wait while the backup runs, end with its
//! outcome. One request at a time: a second action waits until the
//! first one's backup has started. Pure.

use jiff::Timestamp;

use super::{manifest::backup_id, runs::phase};
use crate::api::{BackupRequest, ChatbotDeploymentStatus};

/// Where a Backup action stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    /// Write this request for the reconciler.
    Send(BackupRequest),
    /// Sent (or waiting for the slot); not finished.
    Wait(String),
    /// Over: succeeded (`true`) or failed, with the message.
    Done(bool, String),
}

/// The id of the backup action `name` (uid `uid`, created at `created`)
/// asks for: the time it was created and a piece of its uid, so two
/// actions in the same second still get two backups.
pub fn id_for(created: Timestamp, uid: &str) -> String {
    let tag: String = uid
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(6)
        .collect();
    format!(
        "{}-{}",
        backup_id(created, None),
        if tag.is_empty() { "manual" } else { &tag }
    )
}

/// Judges backup action `action` wanting backup `id`.
pub fn judge(
    action: &str,
    id: &str,
    expect_shrink: bool,
    status: &ChatbotDeploymentStatus,
) -> Progress {
    let backups = status.backups.clone().unwrap_or_default();
    if let Some(record) = backups.recent.iter().find(|r| r.id == id) {
        return match record.phase.as_str() {
            phase::SUCCEEDED => Progress::Done(
                true,
                format!(
                    "backup {id} succeeded{}",
                    record
                        .bytes
                        .map(|b| format!(" ({})", super::runs::human_bytes(b)))
                        .unwrap_or_default()
                ),
            ),
            phase::FAILED => Progress::Done(
                false,
                format!(
                    "backup {id} failed: {}",
                    record.message.as_deref().unwrap_or("no reason recorded")
                ),
            ),
            _ => Progress::Wait(format!(
                "backup {id} is running in Job {}",
                record.job.as_deref().unwrap_or("(starting)")
            )),
        };
    }
    if backups.started_request.as_deref() == Some(id) {
        return Progress::Done(
            false,
            format!(
                "backup {id} was started, but its outcome is no longer in status.backups (only the newest {} runs are kept)",
                super::runs::RECENT
            ),
        );
    }
    match &status.backup_request {
        Some(request) if request.id == id => {
            Progress::Wait(format!("backup {id} was handed to the reconciler"))
        }
        Some(other) if !backups.recent.iter().any(|r| r.id == other.id) => Progress::Wait(format!(
            "waiting for the backup ChatbotAction {} asked for to start",
            other.action
        )),
        _ => Progress::Send(BackupRequest {
            id: id.into(),
            action: action.into(),
            expect_shrink,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{BackupRecord, BackupsStatus};

    fn with(records: Vec<BackupRecord>, request: Option<&str>) -> ChatbotDeploymentStatus {
        ChatbotDeploymentStatus {
            backups: Some(BackupsStatus {
                recent: records,
                ..Default::default()
            }),
            backup_request: request.map(|id| BackupRequest {
                id: id.into(),
                action: "earlier".into(),
                expect_shrink: false,
            }),
            ..Default::default()
        }
    }

    fn record(id: &str, phase: &str) -> BackupRecord {
        BackupRecord {
            id: id.into(),
            phase: phase.into(),
            reason: "on-demand".into(),
            bytes: Some(2048),
            message: (phase == "Failed").then(|| "pg_dump exited 1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_backup_is_requested_once_waited_for_and_ends_with_its_outcome() {
        let id = "20261201-101500-3f9a1c";
        assert!(
            matches!(judge("now", id, true, &with(vec![], None)), Progress::Send(r) if r.expect_shrink && r.id == id)
        );
        assert!(matches!(
            judge("now", id, false, &with(vec![], Some(id))),
            Progress::Wait(_)
        ));
        assert!(matches!(
            judge(
                "now",
                id,
                false,
                &with(vec![record(id, "Running")], Some(id))
            ),
            Progress::Wait(_)
        ));
        assert_eq!(
            judge(
                "now",
                id,
                false,
                &with(vec![record(id, "Succeeded")], Some(id))
            ),
            Progress::Done(true, format!("backup {id} succeeded (2.0 KiB)"))
        );
        assert_eq!(
            judge(
                "now",
                id,
                false,
                &with(vec![record(id, "Failed")], Some(id))
            ),
            Progress::Done(false, format!("backup {id} failed: pg_dump exited 1"))
        );
    }

    #[test]
    fn a_second_request_waits_until_the_first_one_started() {
        let waiting = judge("second", "b", false, &with(vec![], Some("a")));
        assert!(matches!(waiting, Progress::Wait(m) if m.contains("earlier")));
        let free = judge(
            "second",
            "b",
            false,
            &with(vec![record("a", "Running")], Some("a")),
        );
        assert!(matches!(free, Progress::Send(_)));
    }

    #[test]
    fn ids_are_lower_case_and_differ_per_action() {
        let at: Timestamp = "2026-12-01T10:15:00Z".parse().unwrap();
        assert_eq!(id_for(at, "3F9A1C2D-0000"), "20261201-101500-3f9a1c");
        assert_ne!(id_for(at, "aaaaaa-1"), id_for(at, "bbbbbb-1"));
    }
}
