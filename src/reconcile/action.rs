//! The ChatbotAction controller. An action is carried out once: its status
//! is written when it ends and never again. `Rollback` takes the app's pods
//! back to an earlier revision and holds it there until the spec changes
//! (see [`super::rollback`]); `Promote`, `Abort`, `Pause` and `Resume` (and
//! a `Rollback` while a candidate runs) are handed to the rollout in
//! flight (see [`super::command`]) and end when the reconciler carried
//! them out; `Backup` hands the reconciler a backup request and ends with
//! the backup's outcome (see [`crate::backup::action`]); an action whose
//! target does not exist, or that cannot be done, fails with the reason;
//! `Restore` is recorded as `Unsupported` by this version, with nothing
//! changed.

use std::sync::Arc;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        reflector::Store,
    },
};
use serde_json::json;
use tracing::{Instrument, info};

use super::{
    ReconcileError,
    command::{self, Progress},
    rollback,
    stores::get,
};
use crate::{
    api::{ActionKind, ChatbotAction, ChatbotActionStatus, ChatbotDeployment},
    render::names::MANAGER,
    rollout::revisions,
    telemetry::Metrics,
};

/// Controller name in metrics and logs.
pub const CONTROLLER: &str = "chatbotaction";

/// Phases of an action.
pub mod phase {
    pub const PENDING: &str = "Pending";
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const UNSUPPORTED: &str = "Unsupported";

    /// Whether an action in this phase is over.
    pub fn is_final(phase: Option<&str>) -> bool {
        matches!(phase, Some(SUCCEEDED | FAILED | UNSUPPORTED))
    }
}

/// Shared by every action reconcile.
pub struct ActionContext {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    pub reporter: Reporter,
    pub chatbots: Store<ChatbotDeployment>,
    /// Opens once the caches have been filled.
    pub synced: super::SyncGate,
}

/// What to do with a new action, decided from the cache alone.
#[derive(Clone, Debug, PartialEq)]
pub enum Judgement {
    /// The action ends here with this status.
    Done(ChatbotActionStatus),
    /// Roll the pods back to `revision`; the spec asks for `instead_of`.
    Rollback { revision: i64, instead_of: i64 },
    /// Hand this command to the rollout in flight.
    Send(crate::api::RolloutCommand),
    /// The command was handed over; the reconciler has not carried it out.
    Wait,
    /// Hand this backup request to the reconciler.
    RequestBackup(crate::api::BackupRequest),
    /// A backup is asked for or running; the message says which.
    WaitForBackup(String),
}

fn ended(action: &ChatbotAction, phase: &str, message: String, now: &Time) -> ChatbotActionStatus {
    let status = action.status.clone().unwrap_or_default();
    ChatbotActionStatus {
        phase: Some(phase.into()),
        message: Some(message),
        started_at: status.started_at.or_else(|| Some(now.clone())),
        finished_at: Some(now.clone()),
        steps: status.steps,
    }
}

/// The status of an action that ended: succeeded or failed.
fn outcome(
    action: &ChatbotAction,
    succeeded: bool,
    message: String,
    now: &Time,
) -> ChatbotActionStatus {
    let phase = if succeeded {
        phase::SUCCEEDED
    } else {
        phase::FAILED
    };
    ended(action, phase, message, now)
}

/// Judges a new action, pure. `None` when the action already ended.
pub fn judge(
    action: &ChatbotAction,
    target: Option<&ChatbotDeployment>,
    now: &Time,
) -> Option<Judgement> {
    let status = action.status.clone().unwrap_or_default();
    if phase::is_final(status.phase.as_deref()) {
        return None;
    }
    let namespace = action.namespace().unwrap_or_default();
    let Some(target) = target else {
        return Some(Judgement::Done(ended(
            action,
            phase::FAILED,
            format!(
                "ChatbotDeployment {} not found in namespace {namespace}",
                action.spec.deployment
            ),
            now,
        )));
    };
    let deployment_status = target.status.clone().unwrap_or_default();
    if let Some(command) =
        command::command_of(action.spec.action, action.spec.revision, &deployment_status)
    {
        let name = action.name_any();
        return Some(
            match command::judge(command, &name, &action.spec.reason, &deployment_status) {
                Progress::Done(succeeded, message) => {
                    Judgement::Done(outcome(action, succeeded, message, now))
                }
                Progress::Wait => Judgement::Wait,
                Progress::Send(command) => Judgement::Send(command),
            },
        );
    }
    if action.spec.action == ActionKind::Backup {
        return Some(judge_backup(action, &deployment_status, now));
    }
    if action.spec.action != ActionKind::Rollback {
        return Some(Judgement::Done(ended(
            action,
            phase::UNSUPPORTED,
            format!(
                "{:?} is not carried out by this operator version; nothing was changed",
                action.spec.action
            ),
            now,
        )));
    }
    let held = rollback::held(target);
    // The revision the pods run, and the one the spec asks for.
    let running = held
        .map(|h| h.revision)
        .or(deployment_status.current_revision);
    let instead_of = held
        .map(|h| h.instead_of)
        .or(deployment_status.current_revision);
    let (Some(running), Some(instead_of)) = (running, instead_of) else {
        return Some(Judgement::Done(ended(
            action,
            phase::FAILED,
            format!(
                "ChatbotDeployment {} has no revision yet, nothing to roll back",
                action.spec.deployment
            ),
            now,
        )));
    };
    match revisions::rollback_target(
        &deployment_status.revisions,
        Some(running),
        action.spec.revision,
    ) {
        Ok(revision) => Some(Judgement::Rollback {
            revision,
            instead_of,
        }),
        Err(message) => Some(Judgement::Done(ended(action, phase::FAILED, message, now))),
    }
}

fn judge_backup(
    action: &ChatbotAction,
    status: &crate::api::ChatbotDeploymentStatus,
    now: &Time,
) -> Judgement {
    use crate::backup::action::{self as backup, Progress};
    let created = action
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now.0, |t| t.0);
    let id = backup::id_for(created, action.metadata.uid.as_deref().unwrap_or_default());
    let expect_shrink = action.spec.expect_shrink.unwrap_or(false);
    match backup::judge(&action.name_any(), &id, expect_shrink, status) {
        Progress::Send(request) => Judgement::RequestBackup(request),
        Progress::Wait(message) => Judgement::WaitForBackup(message),
        Progress::Done(succeeded, message) => {
            Judgement::Done(outcome(action, succeeded, message, now))
        }
    }
}

/// Reconciles one ChatbotAction.
pub async fn reconcile(
    action: Arc<ChatbotAction>,
    ctx: Arc<ActionContext>,
) -> Result<Action, ReconcileError> {
    // ERROR level: the object reference stays on every line at any filter.
    let span = tracing::error_span!(
        "action",
        namespace = action.namespace().unwrap_or_default(),
        action = action.name_any(),
        chatbot = action.spec.deployment
    );
    async move {
        let _timer = ctx.metrics.reconcile_started(CONTROLLER);
        let namespace = action.namespace().ok_or(ReconcileError::MissingNamespace)?;
        // A deployment is only "not found" once its cache has been filled.
        if !ctx.synced.wait().await {
            return Ok(Action::await_change());
        }
        let target = get(&ctx.chatbots, &namespace, &action.spec.deployment);
        let now = Time(Timestamp::now());
        let Some(judgement) = judge(&action, target.as_deref(), &now) else {
            return Ok(Action::await_change());
        };
        let name = action.name_any();
        let next = match (judgement, &target) {
            (Judgement::Done(status), _) => status,
            (
                Judgement::Rollback {
                    revision,
                    instead_of,
                },
                Some(target),
            ) => roll_back(&ctx, &action, target, revision, instead_of, &now).await?,
            (Judgement::Send(command), Some(target)) => {
                command::send(&ctx.client, target, &command).await?;
                let message = format!("{} was handed to the rollout in flight", command.command);
                return running(&ctx, &action, message, &now).await;
            }
            (Judgement::RequestBackup(request), Some(target)) => {
                let value = serde_json::to_value(&request)
                    .map_err(|e| ReconcileError::Encode(e.to_string()))?;
                rollback::patch_status_field(
                    &ctx.client,
                    target,
                    command::COMMAND_MANAGER,
                    "backupRequest",
                    value,
                )
                .await?;
                let message = format!("backup {} was handed to the reconciler", request.id);
                return running(&ctx, &action, message, &now).await;
            }
            (Judgement::WaitForBackup(message), _) => {
                return running(&ctx, &action, message, &now).await;
            }
            (Judgement::Wait, _) => {
                let command = command::command_of(
                    action.spec.action,
                    action.spec.revision,
                    &target.and_then(|t| t.status.clone()).unwrap_or_default(),
                )
                .unwrap_or("the command");
                let message = format!("{command} was handed to the rollout in flight");
                return running(&ctx, &action, message, &now).await;
            }
            // `judge` acts only on an existing target.
            (
                Judgement::Rollback { .. } | Judgement::Send(_) | Judgement::RequestBackup(_),
                None,
            ) => {
                return Ok(Action::await_change());
            }
        };
        write_status(&ctx.client, &action, &next).await?;
        let message = next.message.clone().unwrap_or_default();
        info!(
            phase = next.phase.as_deref().unwrap_or_default(),
            "{message}"
        );
        let reference = match &target {
            Some(deployment) => deployment.object_ref(&()),
            None => action.object_ref(&()),
        };
        let succeeded = next.phase.as_deref() == Some(phase::SUCCEEDED);
        let event = Event {
            type_: if succeeded {
                EventType::Normal
            } else {
                EventType::Warning
            },
            reason: match next.phase.as_deref() {
                Some(phase::SUCCEEDED) => match action.spec.action {
                    ActionKind::Promote => "Promoted",
                    ActionKind::Abort => "Aborted",
                    ActionKind::Pause => "RolloutPaused",
                    ActionKind::Resume => "RolloutResumed",
                    ActionKind::Backup => "BackupSucceeded",
                    _ => "RolledBack",
                },
                Some(phase::UNSUPPORTED) => "ActionUnsupported",
                _ => "ActionFailed",
            }
            .into(),
            note: Some(format!("ChatbotAction {name}: {message}")),
            action: format!("{:?}", action.spec.action),
            secondary: Some(action.object_ref(&())),
        };
        if let Err(error) = Recorder::new(ctx.client.clone(), ctx.reporter.clone())
            .publish(&event, &reference)
            .await
        {
            tracing::warn!(%error, "could not publish an Event");
        }
        Ok(Action::await_change())
    }
    .instrument(span)
    .await
}

/// How often an action handed to the rollout looks whether it was carried out.
const COMMAND_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Marks the action Running (once) while the reconciler carries out its
/// command or backup, and looks again shortly.
async fn running(
    ctx: &ActionContext,
    action: &ChatbotAction,
    message: String,
    now: &Time,
) -> Result<Action, ReconcileError> {
    if action.status.as_ref().and_then(|s| s.phase.as_deref()) != Some(phase::RUNNING) {
        let status = ChatbotActionStatus {
            phase: Some(phase::RUNNING.into()),
            message: Some(message),
            started_at: Some(now.clone()),
            finished_at: None,
            steps: Vec::new(),
        };
        write_status(&ctx.client, action, &status).await?;
    }
    Ok(Action::requeue(COMMAND_POLL))
}

/// Server-side applies the action's status.
async fn write_status(
    client: &Client,
    action: &ChatbotAction,
    status: &ChatbotActionStatus,
) -> Result<(), ReconcileError> {
    let name = action.name_any();
    let namespace = action.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let patch = json!({
        "apiVersion": ChatbotAction::api_version(&()),
        "kind": ChatbotAction::kind(&()),
        "status": status,
    });
    Api::<ChatbotAction>::namespaced(client.clone(), &namespace)
        .patch_status(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map(|_| ())
        .map_err(|source| ReconcileError::Kube {
            action: "apply",
            kind: "ChatbotAction/status",
            name,
            source,
        })
}

/// Carries out a rollback: the hold first (so the reconciler leaves the
/// Deployment alone from then on), then the pod template of `revision`.
/// Retried whole after a failure; each step repeats harmlessly.
async fn roll_back(
    ctx: &ActionContext,
    action: &ChatbotAction,
    target: &ChatbotDeployment,
    revision: i64,
    instead_of: i64,
    now: &Time,
) -> Result<ChatbotActionStatus, ReconcileError> {
    let namespace = target.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let deployment = target.name_any();
    let Some(template) =
        rollback::template_of(&ctx.client, &namespace, &deployment, revision).await?
    else {
        return Ok(ended(
            action,
            phase::FAILED,
            format!(
                "the pods of revision {revision} are no longer kept by Kubernetes (beyond the Deployment's revisionHistoryLimit); roll forward with a spec change instead"
            ),
            now,
        ));
    };
    let held = rollback::hold_for(
        target,
        revision,
        instead_of,
        &action.name_any(),
        &action.spec.reason,
        now,
    );
    rollback::hold(&ctx.client, target, &held).await?;
    rollback::restore(&ctx.client, &namespace, &deployment, &template).await?;
    Ok(ended(
        action,
        phase::SUCCEEDED,
        format!(
            "rolled back to revision {revision} (the spec's revision {instead_of} is held back until the spec changes): {}",
            action.spec.reason
        ),
        now,
    ))
}

/// Failed action reconciles are retried after a short pause.
pub fn error_policy(
    _action: Arc<ChatbotAction>,
    error: &ReconcileError,
    ctx: Arc<ActionContext>,
) -> Action {
    ctx.metrics.reconcile_failed(CONTROLLER, error.reason());
    tracing::warn!(reason = error.reason(), "action reconcile failed: {error}");
    Action::requeue(std::time::Duration::from_secs(10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{
        ActionKind, ChatbotActionSpec, ChatbotDeploymentSpec, ChatbotDeploymentStatus,
        HeldRevision, RevisionRecord,
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
    fn restores_are_unsupported_and_change_nothing() {
        let mut restore = action(ActionKind::Restore, None, None);
        restore.spec.backup = Some("20261201-020000-r3".into());
        let status = done(judge(&restore, Some(&target(false)), &now()));
        assert_eq!(status.phase.as_deref(), Some("Unsupported"));
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
}
