use super::*;
use crate::api::{
    ActionKind, ChatbotActionSpec, ChatbotDeploymentSpec, ChatbotDeploymentStatus, HeldRevision,
    RevisionRecord,
};

fn action(kind: ActionKind, revision: Option<i64>, phase: Option<&str>) -> ChatbotAction {
    let mut action = ChatbotAction::new(
        "rollback-1",
        ChatbotActionSpec {
            deployment: "mindmitra".into(),
            action: kind,
            revision,
            reason: "bad deploy".into(),
            ..Default::default()
        },
    );
    action.metadata.namespace = Some("team".into());
    action.status = phase.map(|p| ChatbotActionStatus {
        phase: Some(p.into()),
        ..Default::default()
    });
    action
}

fn rollback(revision: Option<i64>) -> ChatbotAction {
    action(ActionKind::Rollback, revision, None)
}

fn now() -> Time {
    Time(Timestamp::from_second(1_800_000_000).unwrap())
}

/// Revisions 1 and 2 promoted, 3 current (promoted too unless `in_flight`).
fn target(in_flight: bool) -> ChatbotDeployment {
    let mut cbd = ChatbotDeployment::new("mindmitra", ChatbotDeploymentSpec::default());
    cbd.metadata.namespace = Some("team".into());
    cbd.metadata.generation = Some(7);
    let record = |revision: i64, promoted: bool| RevisionRecord {
        revision,
        image: format!("bot:{revision}"),
        promoted_at: promoted.then(now),
        ..Default::default()
    };
    cbd.status = Some(ChatbotDeploymentStatus {
        current_revision: Some(3),
        revisions: vec![record(1, true), record(2, true), record(3, !in_flight)],
        ..Default::default()
    });
    cbd
}

fn done(judgement: Option<Judgement>) -> ChatbotActionStatus {
    match judgement {
        Some(Judgement::Done(status)) => status,
        other => panic!("expected an ended action, got {other:?}"),
    }
}

#[test]
fn an_action_is_judged_once() {
    for phase in ["Unsupported", "Failed", "Succeeded"] {
        let action = action(ActionKind::Rollback, None, Some(phase));
        assert!(judge(&action, Some(&target(false)), &now()).is_none());
    }
}

#[test]
fn an_action_for_a_missing_deployment_fails_with_its_name() {
    let status = done(judge(&rollback(None), None, &now()));
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    assert_eq!(
        status.message.as_deref(),
        Some("ChatbotDeployment mindmitra not found in namespace team")
    );
    assert_eq!(status.finished_at, Some(now()));
}

#[test]
fn a_rollback_goes_to_the_previous_promoted_revision_or_the_one_asked_for() {
    assert_eq!(
        judge(&rollback(None), Some(&target(true)), &now()),
        Some(Judgement::Rollback {
            revision: 2,
            instead_of: 3
        })
    );
    assert_eq!(
        judge(&rollback(Some(1)), Some(&target(false)), &now()),
        Some(Judgement::Rollback {
            revision: 1,
            instead_of: 3
        })
    );
}

#[test]
fn a_second_rollback_under_a_hold_starts_from_the_held_revision() {
    let mut cbd = target(false);
    cbd.status.as_mut().unwrap().rollback = Some(HeldRevision {
        revision: 2,
        instead_of: 3,
        generation: 7,
        ..Default::default()
    });
    assert_eq!(
        judge(&rollback(None), Some(&cbd), &now()),
        Some(Judgement::Rollback {
            revision: 1,
            instead_of: 3
        }),
        "the spec still asks for 3; the pods go from 2 to 1"
    );
}

#[test]
fn an_impossible_rollback_fails_and_says_why() {
    let status = done(judge(&rollback(Some(9)), Some(&target(false)), &now()));
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    assert_eq!(
        status.message.as_deref(),
        Some("revision 9 is not in the history (known: 1, 2, 3)")
    );
    let status = done(judge(&rollback(Some(3)), Some(&target(false)), &now()));
    assert_eq!(
        status.message.as_deref(),
        Some("revision 3 is already the current revision")
    );
    let mut fresh = target(false);
    fresh.status = None;
    let status = done(judge(&rollback(None), Some(&fresh), &now()));
    assert!(status.message.unwrap().contains("has no revision yet"));
}

#[test]
fn rollout_commands_without_a_rollout_in_flight_fail_and_change_nothing() {
    for kind in [
        ActionKind::Promote,
        ActionKind::Abort,
        ActionKind::Pause,
        ActionKind::Resume,
    ] {
        let status = done(judge(
            &action(kind, None, None),
            Some(&target(false)),
            &now(),
        ));
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        let message = status.message.unwrap();
        assert!(
            message.contains("no Canary or BlueGreen rollout is in flight")
                && message.contains("nothing was changed"),
            "{message}"
        );
    }
}

#[test]
fn a_restore_hands_over_a_request_for_its_backup_or_its_revisions_data() {
    let mut restore = action(ActionKind::Restore, None, None);
    restore.metadata.uid = Some("9c0ffee1-2".into());
    restore.metadata.creation_timestamp = Some(now());
    restore.spec.backup = Some("20261201-020000-r3".into());
    let Some(Judgement::RequestRestore(request)) = judge(&restore, Some(&target(false)), &now())
    else {
        panic!("a request");
    };
    assert_eq!(request.id, "20270115-080000-9c0ffe");
    assert_eq!(request.backup, "20261201-020000-r3");
    assert_eq!(request.rollback_to, None);

    // A rollback with its data: revision 2's data is in the backup taken
    // before revision 3 replaced it, and its pods come back with it.
    let mut with_data = rollback(None);
    with_data.spec.restore_data = Some(true);
    let mut deployed = target(false);
    let status = deployed.status.as_mut().unwrap();
    status.revisions[2].pre_rollout_snapshot = Some("20261201-020000-r3-pre".into());
    let Some(Judgement::RequestRestore(request)) = judge(&with_data, Some(&deployed), &now())
    else {
        panic!("a request");
    };
    assert_eq!(request.backup, "20261201-020000-r3-pre");
    assert_eq!(request.rollback_to, Some(2));

    // Without a backup taken on the way out, it ends before anything changes.
    let status = done(judge(&with_data, Some(&target(false)), &now()));
    assert_eq!(status.phase.as_deref(), Some("Failed"));
    let message = status.message.unwrap();
    assert!(
        message.contains("no backup was taken before revision 3 replaced revision 2"),
        "{message}"
    );
}

#[test]
fn a_backup_action_hands_over_a_request_named_by_the_action() {
    let mut backup = action(ActionKind::Backup, None, None);
    backup.metadata.uid = Some("3f9a1c2d-77".into());
    backup.metadata.creation_timestamp = Some(now());
    let Some(Judgement::RequestBackup(request)) = judge(&backup, Some(&target(false)), &now())
    else {
        panic!("a request");
    };
    assert_eq!(request.id, "20270115-080000-3f9a1c");
    assert_eq!(request.action, "rollback-1");
}

#[test]
fn a_promote_of_a_paused_canary_is_handed_to_the_rollout() {
    let mut target = target(true);
    let status = target.status.get_or_insert_with(Default::default);
    status.rollout = Some(crate::api::RolloutStatus {
        revision: status.current_revision.unwrap_or_default(),
        stable_revision: 2,
        phase: "Paused".into(),
        ..Default::default()
    });
    let judged = judge(
        &action(ActionKind::Promote, None, None),
        Some(&target),
        &now(),
    );
    assert!(
        matches!(&judged, Some(Judgement::Send(c)) if c.command == "Promote" && c.action == "rollback-1"),
        "{judged:?}"
    );
}
