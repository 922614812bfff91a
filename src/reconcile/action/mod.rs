//! The ChatbotAction controller. An action is carried out once: its status
//! is written when it ends and never again. `Rollback` takes the app's pods
//! back to an earlier revision and holds it there until the spec changes
//! (see [`super::rollback`]); `Promote`, `Abort`, `Pause` and `Resume` (and
//! a `Rollback` while a candidate runs) are handed to the rollout in
//! flight (see [`super::command`]) and end when the reconciler carried
//! them out; `Backup` hands the reconciler a backup request and ends with
//! the backup's outcome (see [`crate::backup::action`]); `Restore` (and a
//! `Rollback` with `restoreData`) hands the reconciler a restore request,
//! mirrors its steps and, for a rollback, puts the revision's pods back
//! once the data is switched (see [`crate::backup::restore::action`]);
//! `Maintenance` holds the maintenance page on or lets go of it (see
//! [`crate::maintenance::action`]); an
//! action whose target does not exist, or that cannot be done, fails with
//! the reason.

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
    caches::get,
    command,
    error::{ReconcileError, kube_error},
    rollback,
};
use crate::{
    api::action_phase as phase,
    api::{ActionKind, ChatbotAction, ChatbotActionStatus, ChatbotDeployment},
    names::MANAGER,
    telemetry::Metrics,
};

/// Controller name in metrics and logs.
pub const CONTROLLER: &str = "chatbotaction";

/// Shared by every action reconcile.
pub struct ActionContext {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    pub reporter: Reporter,
    pub chatbots: Store<ChatbotDeployment>,
    /// Opens once the caches have been filled.
    pub synced: super::SyncGate,
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
    reconcile_in_span(&action, &ctx).instrument(span).await
}

async fn reconcile_in_span(
    action: &ChatbotAction,
    ctx: &ActionContext,
) -> Result<Action, ReconcileError> {
    let _timer = ctx.metrics.reconcile_started(CONTROLLER);
    let namespace = action.namespace().ok_or(ReconcileError::MissingNamespace)?;
    // A deployment is only "not found" once its cache has been filled.
    if !ctx.synced.wait().await {
        return Ok(Action::await_change());
    }
    let target = target(ctx, action, &namespace).await?;
    let now = Time(Timestamp::now());
    let Some(judgement) = judge(action, target.as_deref(), &now) else {
        return Ok(Action::await_change());
    };
    let next = match (judgement, target.as_deref()) {
        (Judgement::Done(status), _) => status,
        (judgement, Some(target)) => match act(ctx, action, target, judgement, &now).await? {
            Acted::Ended(status) => status,
            Acted::Going(requeue) => return Ok(requeue),
        },
        (judgement, None) => match wait(ctx, action, None, judgement, &now).await? {
            Some(requeue) => return Ok(requeue),
            // `judge` acts only on an existing target.
            None => return Ok(Action::await_change()),
        },
    };
    write_status(&ctx.client, action, &next).await?;
    announce(ctx, action, target.as_deref(), &next).await;
    Ok(Action::await_change())
}

/// The action's deployment: from the cache until the action hands its
/// request over, then as the API server has it. The action's own status
/// write wakes it, often before the cache has seen the request written to
/// the deployment a moment earlier; judged from that copy a request
/// handed over would look lost, and the action would fail while the
/// reconciler carries it out.
async fn target(
    ctx: &ActionContext,
    action: &ChatbotAction,
    namespace: &str,
) -> Result<Option<Arc<ChatbotDeployment>>, ReconcileError> {
    let name = &action.spec.deployment;
    if !judge::handed_over(action) {
        return Ok(get(&ctx.chatbots, namespace, name));
    }
    let api: Api<ChatbotDeployment> = Api::namespaced(ctx.client.clone(), namespace);
    let fresh = api
        .get_opt(name)
        .await
        .map_err(kube_error("read", "ChatbotDeployment", name))?;
    Ok(fresh.map(Arc::new))
}

/// Where an action stands after this reconcile's step.
enum Acted {
    /// It ended: its final status.
    Ended(ChatbotActionStatus),
    /// It goes on; its status says so.
    Going(Action),
}

/// The step a judgement asks for on an existing target.
async fn act(
    ctx: &ActionContext,
    action: &ChatbotAction,
    target: &ChatbotDeployment,
    judgement: Judgement,
    now: &Time,
) -> Result<Acted, ReconcileError> {
    match judgement {
        Judgement::Rollback {
            revision,
            instead_of,
        } => Ok(Acted::Ended(
            roll_back(ctx, action, target, revision, instead_of, now).await?,
        )),
        Judgement::Send(command) => {
            command::send(&ctx.client, target, &command).await?;
            let message = format!("{} was handed to the rollout in flight", command.command);
            Ok(Acted::Going(running(ctx, action, message, now).await?))
        }
        Judgement::RequestBackup(request) => {
            hand_over(ctx, target, "backupRequest", &request).await?;
            let message = format!("backup {} was handed to the reconciler", request.id);
            Ok(Acted::Going(running(ctx, action, message, now).await?))
        }
        Judgement::HoldMaintenance(hold) => {
            hand_over(ctx, target, "maintenanceHold", &hold).await?;
            let message = match hold {
                Some(_) => "the page's hold was handed to the reconciler",
                None => "the page's hold was let go",
            };
            Ok(Acted::Going(
                running(ctx, action, message.into(), now).await?,
            ))
        }
        Judgement::RequestRestore(request) => {
            let namespace = action.namespace().unwrap_or_default();
            if let Some(revision) = request.rollback_to
                && rollback::template_of(&ctx.client, &namespace, &target.name_any(), revision)
                    .await?
                    .is_none()
            {
                let why = format!(
                    "the pods of revision {revision} are no longer kept by Kubernetes (beyond the Deployment's revisionHistoryLimit); nothing was changed"
                );
                return Ok(Acted::Ended(ended(action, phase::FAILED, why, now)));
            }
            hand_over(ctx, target, "restoreRequest", &request).await?;
            let message = format!(
                "restore {} of backup {} was handed to the reconciler",
                request.id, request.backup
            );
            Ok(Acted::Going(
                progress(ctx, action, message, Vec::new(), now).await?,
            ))
        }
        Judgement::RestorePods {
            revision,
            instead_of,
        } => {
            let message = match hold_revision(ctx, action, target, revision, instead_of, now)
                .await?
            {
                Ok(true) => format!("putting back the pods of revision {revision}"),
                Ok(false) => format!(
                    "putting back the pods of revision {revision}; its config was not kept (it ran before configs were kept), so they read the current config"
                ),
                Err(why) => why,
            };
            let steps = target
                .status
                .as_ref()
                .and_then(|s| s.restore.as_ref())
                .map(|r| r.steps.clone())
                .unwrap_or_default();
            Ok(Acted::Going(
                progress(ctx, action, message, steps, now).await?,
            ))
        }
        waiting => match wait(ctx, action, Some(target), waiting, now).await? {
            Some(requeue) => Ok(Acted::Going(requeue)),
            None => Ok(Acted::Going(Action::await_change())),
        },
    }
}

/// The judgements that only wait for another step to finish, said in the
/// action's status; `None` for one that needs a target.
async fn wait(
    ctx: &ActionContext,
    action: &ChatbotAction,
    target: Option<&ChatbotDeployment>,
    judgement: Judgement,
    now: &Time,
) -> Result<Option<Action>, ReconcileError> {
    Ok(Some(match judgement {
        Judgement::WaitForBackup(message) | Judgement::WaitForMaintenance(message) => {
            running(ctx, action, message, now).await?
        }
        Judgement::WaitForRestore(message, steps) => {
            progress(ctx, action, message, steps, now).await?
        }
        Judgement::Wait => {
            let command = command::command_of(
                action.spec.action,
                action.spec.revision,
                &target.and_then(|t| t.status.clone()).unwrap_or_default(),
            )
            .unwrap_or("the command");
            let message = format!("{command} was handed to the rollout in flight");
            running(ctx, action, message, now).await?
        }
        _ => return Ok(None),
    }))
}

/// Hands a request to the deployment's reconciler: the status field
/// `field` of `target`, written under the command's field manager.
async fn hand_over(
    ctx: &ActionContext,
    target: &ChatbotDeployment,
    field: &str,
    request: &impl serde::Serialize,
) -> Result<(), ReconcileError> {
    let value = serde_json::to_value(request).map_err(|e| ReconcileError::Encode(e.to_string()))?;
    rollback::patch_status_field(&ctx.client, target, command::COMMAND_MANAGER, field, value).await
}

/// Logs an ended action and publishes its Event on the deployment (on
/// the action itself when there is none).
async fn announce(
    ctx: &ActionContext,
    action: &ChatbotAction,
    target: Option<&ChatbotDeployment>,
    next: &ChatbotActionStatus,
) {
    let message = next.message.clone().unwrap_or_default();
    info!(
        phase = next.phase.as_deref().unwrap_or_default(),
        "{message}"
    );
    let reference = match target {
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
        reason: event_reason(action, next.phase.as_deref()).into(),
        note: Some(format!("ChatbotAction {}: {message}", action.name_any())),
        action: format!("{:?}", action.spec.action),
        secondary: Some(action.object_ref(&())),
    };
    if let Err(error) = Recorder::new(ctx.client.clone(), ctx.reporter.clone())
        .publish(&event, &reference)
        .await
    {
        tracing::warn!(%error, "could not publish an Event");
    }
}

/// The Event reason of an action that ended in `phase`.
fn event_reason(action: &ChatbotAction, phase: Option<&str>) -> &'static str {
    match phase {
        Some(phase::SUCCEEDED) => match action.spec.action {
            ActionKind::Promote => "Promoted",
            ActionKind::Abort => "Aborted",
            ActionKind::Pause => "RolloutPaused",
            ActionKind::Resume => "RolloutResumed",
            ActionKind::Backup => "BackupSucceeded",
            ActionKind::Restore => "Restored",
            ActionKind::Maintenance => "MaintenanceSwitched",
            ActionKind::Rollback if action.spec.restore_data == Some(true) => "Restored",
            _ => "RolledBack",
        },
        Some(phase::UNSUPPORTED) => "ActionUnsupported",
        _ => "ActionFailed",
    }
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
    if !judge::handed_over(action) {
        return progress(ctx, action, message, Vec::new(), now).await;
    }
    Ok(Action::requeue(COMMAND_POLL))
}

/// Marks the action Running with how it stands and its steps, written
/// when they changed, and looks again shortly.
async fn progress(
    ctx: &ActionContext,
    action: &ChatbotAction,
    message: String,
    steps: Vec<crate::api::RestoreStepRecord>,
    now: &Time,
) -> Result<Action, ReconcileError> {
    let current = action.status.clone().unwrap_or_default();
    let status = ChatbotActionStatus {
        phase: Some(phase::RUNNING.into()),
        message: Some(message),
        started_at: current.started_at.clone().or_else(|| Some(now.clone())),
        finished_at: None,
        steps,
    };
    if status != current {
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
    let config_kept = match hold_revision(ctx, action, target, revision, instead_of, now).await? {
        Ok(kept) => kept,
        Err(why) => {
            return Ok(ended(
                action,
                phase::FAILED,
                format!("{why}; roll forward with a spec change instead"),
                now,
            ));
        }
    };
    let config = match config_kept {
        true => String::new(),
        false => format!("; {}", rollback::config_not_kept(revision)),
    };
    Ok(ended(
        action,
        phase::SUCCEEDED,
        format!(
            "rolled back to revision {revision} (the spec's revision {instead_of} is held back until the spec changes){config}: {}",
            action.spec.reason
        ),
        now,
    ))
}

/// Holds `target`'s pods at `revision` and puts its config and pod
/// template back; `Ok` inside says whether the config was kept, `Err`
/// why it cannot (the template is no longer kept).
async fn hold_revision(
    ctx: &ActionContext,
    action: &ChatbotAction,
    target: &ChatbotDeployment,
    revision: i64,
    instead_of: i64,
    now: &Time,
) -> Result<Result<bool, String>, ReconcileError> {
    let namespace = target.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let deployment = target.name_any();
    let Some(template) =
        rollback::template_of(&ctx.client, &namespace, &deployment, revision).await?
    else {
        return Ok(Err(format!(
            "the pods of revision {revision} are no longer kept by Kubernetes (beyond the Deployment's revisionHistoryLimit)"
        )));
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
    let config_kept = rollback::restore_config(&ctx.client, target, revision).await?;
    rollback::restore(&ctx.client, &namespace, &deployment, &template).await?;
    Ok(Ok(config_kept))
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

mod judge;

use judge::ended;
pub use judge::{Judgement, judge};

#[cfg(test)]
mod tests;
