//! The end of every reconcile: the next status kept in the metrics and
//! written with server-side apply on the status subresource when it
//! changed, the Events published, and when to look again.

use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::controller::Action,
};
use serde_json::json;

use super::{
    caches,
    context::Context,
    error::ReconcileError,
    events,
    outcome::{Note, Outcome},
    publish::publish,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    names::MANAGER,
};

/// What a reconcile leaves to write and publish.
pub(super) struct Turn {
    /// The next status; `None` when nothing is left to write (the
    /// finalizer is off: only a change wakes the resource again).
    pub next: Option<ChatbotDeploymentStatus>,
    /// Every step's outcome, folded.
    pub outcome: Outcome,
    /// The resource lives: its metrics are kept, and its condition
    /// transitions become Events.
    pub live: bool,
}

/// Writes the next status when it changed, publishes the Events, and says
/// when to look again.
pub(super) async fn finish(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    turn: Turn,
) -> Result<Action, ReconcileError> {
    let Turn {
        next,
        mut outcome,
        live,
    } = turn;
    if let Some(next) = &next {
        let transitions = next_status(ctx, cbd, next, live).await?;
        outcome.notes.extend(transitions);
    }
    publish(ctx, cbd, &outcome.notes).await;
    Ok(match next {
        Some(_) => Action::requeue(ctx.timing.after(&outcome)),
        None => Action::await_change(),
    })
}

/// Writes the `next` status when it changed. Of a live resource, keeps
/// its per-resource metrics and returns its condition transitions as
/// Events.
async fn next_status(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    next: &ChatbotDeploymentStatus,
    live: bool,
) -> Result<Vec<Note>, ReconcileError> {
    if live {
        // Deployments gone from the cache (deleted without a finalizer,
        // so never reconciled again) leave no series behind.
        ctx.metrics
            .deployments
            .retain(|namespace, name| caches::get(&ctx.stores.chatbots, namespace, name).is_some());
        ctx.metrics.deployments.observe(
            &cbd.namespace().unwrap_or_default(),
            &cbd.name_any(),
            next,
        );
    }
    let previous = cbd.status.clone().unwrap_or_default();
    if *next != previous {
        let after = write_status(&ctx.client, cbd, next).await?;
        ctx.remember_status(cbd, after, next);
    }
    Ok(if live {
        events::transitions(&previous.conditions, &next.conditions)
    } else {
        Vec::new()
    })
}

/// Writes the status with server-side apply on the status subresource: a
/// field the operator stops setting is removed, not left behind.
/// Returns the resource version after the write.
async fn write_status(
    client: &Client,
    cbd: &ChatbotDeployment,
    status: &ChatbotDeploymentStatus,
) -> Result<Option<String>, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let name = cbd.name_any();
    let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace);
    // `status.rollback` belongs to the rollback's field manager: leaving it
    // out here never removes or takes it over.
    // Fields other managers own (an on-call rollback, a rollout command)
    // are never sent, so they are never taken over or removed.
    let status = ChatbotDeploymentStatus {
        rollback: None,
        rollout_command: None,
        backup_request: None,
        restore_request: None,
        maintenance_hold: None,
        ..status.clone()
    };
    let patch = json!({
        "apiVersion": ChatbotDeployment::api_version(&()),
        "kind": ChatbotDeployment::kind(&()),
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|written| written.metadata.resource_version)
    .map_err(|source| ReconcileError::Kube {
        action: "apply",
        kind: "ChatbotDeployment/status",
        name,
        source,
    })
}
