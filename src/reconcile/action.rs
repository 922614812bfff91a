//! The ChatbotAction controller. An action is judged once: its status is
//! written when it ends and never again. This version records every action
//! as `Unsupported` (nothing is changed) or `Failed` when its target does
//! not exist; the rollout controller carries them out.

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

use super::{ReconcileError, stores::get};
use crate::{
    api::{ChatbotAction, ChatbotActionStatus, ChatbotDeployment},
    render::names::MANAGER,
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

/// The final status of a new action, pure. `None` when the action already ended.
pub fn judge(
    action: &ChatbotAction,
    target_exists: bool,
    now: &Time,
) -> Option<ChatbotActionStatus> {
    let status = action.status.clone().unwrap_or_default();
    if phase::is_final(status.phase.as_deref()) {
        return None;
    }
    let namespace = action.namespace().unwrap_or_default();
    let (phase, message) = if !target_exists {
        (
            phase::FAILED,
            format!(
                "ChatbotDeployment {} not found in namespace {namespace}",
                action.spec.deployment
            ),
        )
    } else {
        (
            phase::UNSUPPORTED,
            format!(
                "{:?} is not carried out by this operator version; nothing was changed",
                action.spec.action
            ),
        )
    };
    Some(ChatbotActionStatus {
        phase: Some(phase.into()),
        message: Some(message),
        started_at: status.started_at.or_else(|| Some(now.clone())),
        finished_at: Some(now.clone()),
    })
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
        let Some(next) = judge(&action, target.is_some(), &now) else {
            return Ok(Action::await_change());
        };
        let name = action.name_any();
        let api: Api<ChatbotAction> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({
            "apiVersion": ChatbotAction::api_version(&()),
            "kind": ChatbotAction::kind(&()),
            "status": next,
        });
        api.patch_status(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| ReconcileError::Kube {
            action: "apply",
            kind: "ChatbotAction/status",
            name: name.clone(),
            source,
        })?;
        let message = next.message.clone().unwrap_or_default();
        info!(
            phase = next.phase.as_deref().unwrap_or_default(),
            "{message}"
        );
        let reference = match &target {
            Some(deployment) => deployment.object_ref(&()),
            None => action.object_ref(&()),
        };
        let event = Event {
            type_: EventType::Warning,
            reason: if target.is_some() {
                "ActionUnsupported"
            } else {
                "ActionFailed"
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
    use crate::api::{ActionKind, ChatbotActionSpec};

    fn action(phase: Option<&str>) -> ChatbotAction {
        let mut action = ChatbotAction::new(
            "rollback-1",
            ChatbotActionSpec {
                deployment: "mindmitra".into(),
                action: ActionKind::Rollback,
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

    fn now() -> Time {
        Time(Timestamp::from_second(1_800_000_000).unwrap())
    }

    #[test]
    fn an_action_is_judged_once() {
        assert!(judge(&action(Some("Unsupported")), true, &now()).is_none());
        assert!(judge(&action(Some("Failed")), true, &now()).is_none());
    }

    #[test]
    fn an_action_for_a_missing_deployment_fails_with_its_name() {
        let status = judge(&action(None), false, &now()).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Failed"));
        assert_eq!(
            status.message.as_deref(),
            Some("ChatbotDeployment mindmitra not found in namespace team")
        );
        assert_eq!(status.finished_at, Some(now()));
    }

    #[test]
    fn an_action_on_an_existing_deployment_is_unsupported_and_changes_nothing() {
        let status = judge(&action(None), true, &now()).unwrap();
        assert_eq!(status.phase.as_deref(), Some("Unsupported"));
        assert!(status.message.unwrap().contains("nothing was changed"));
    }
}
