//! The status written with server-side apply on the status subresource.

use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde_json::json;

use super::error::ReconcileError;
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    names::MANAGER,
};

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
