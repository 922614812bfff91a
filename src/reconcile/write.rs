//! The next status kept in the metrics and written with server-side
//! apply on the status subresource when it changed.

use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde_json::json;

use super::{caches, context::Context, error::ReconcileError, events, outcome::Outcome};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    names::MANAGER,
};

/// Keeps the per-resource metrics of the `next` status, and writes it
/// when it changed. Returns the condition transitions as Events.
pub(super) async fn next_status(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    next: &ChatbotDeploymentStatus,
) -> Result<Outcome, ReconcileError> {
    // Deployments gone from the cache (deleted without a finalizer, so
    // never reconciled again) leave no series behind.
    ctx.metrics
        .deployments
        .retain(|namespace, name| caches::get(&ctx.stores.chatbots, namespace, name).is_some());
    ctx.metrics
        .deployments
        .observe(&cbd.namespace().unwrap_or_default(), &cbd.name_any(), next);
    let previous = cbd.status.clone().unwrap_or_default();
    if *next != previous {
        let after = write_status(&ctx.client, cbd, next).await?;
        ctx.remember_status(cbd, after, next);
    }
    Ok(Outcome {
        notes: events::transitions(&previous.conditions, &next.conditions),
        ..Outcome::default()
    })
}

/// Writes the status with server-side apply on the status subresource: a
/// field the operator stops setting is removed, not left behind.
/// Returns the resource version after the write.
pub(super) async fn write_status(
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
