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
        Ok(Source::dump("20261201-020000-r7-pre"))
    );
    assert_eq!(
        backup_for_revision(&history, 5),
        Ok(Source::dump("20261130-120000-r6-pre"))
    );
    let rds = Source {
        backup: "bot-db-pre-r8".into(),
        method: Some(instance::RDS_SNAPSHOT.into()),
    };
    assert_eq!(backup_for_revision(&history, 7), Ok(rds.clone()));
    let status = ChatbotDeploymentStatus {
        revisions: history.to_vec(),
        ..Default::default()
    };
    assert_eq!(Source::named(&status, "bot-db-pre-r8"), rds);
    assert_eq!(
        Source::named(&status, "20261201-020000-r7-pre"),
        Source::dump("20261201-020000-r7-pre")
    );
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
            Ok((Source::dump("b1"), Some(6)))
        })
    };
    let other = |id: &'static str, sent, status: &ChatbotDeploymentStatus| {
        judge("restore-2", id, sent, status, || {
            Ok((Source::dump("b2"), None))
        })
    };
    assert!(matches!(judge_mine(&status, false), Progress::Send(r) if r.rollback_to == Some(6)));
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
