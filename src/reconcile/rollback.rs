//! The on-call rollback of the app's pods to an earlier revision, without
//! touching the ChatbotDeployment's spec (GitOps owns it):
//!
//! 1. the hold is written to `status.rollback` under a field manager of its
//!    own, so the reconciler's status writes never remove it;
//! 2. the app ConfigMap gets that revision's config back, as the config
//!    history kept it, so the pods that start next read what the revision
//!    ran with;
//! 3. the app Deployment's pod template is replaced by the one its
//!    ReplicaSet of that revision kept (what `kubectl rollout undo` does);
//! 4. the reconciler leaves the Deployment as it is, and keeps the held
//!    revision's config on the ConfigMap, while the spec's generation is
//!    the one of the hold, and lifts the hold when a new generation
//!    arrives.
//!
//! Every step is idempotent: an action that is retried after a crash
//! repeats them with the same result.

use k8s_openapi::{
    api::{
        apps::v1::{Deployment, ReplicaSet},
        core::v1::{ConfigMap, PodTemplateSpec},
    },
    apimachinery::pkg::apis::meta::v1::Time,
};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use super::{
    error::{ReconcileError, kube_error},
    observe::{Ownership, ownership},
};
use crate::{
    api::{ChatbotDeployment, HeldRevision},
    names::{ChildNames, keys},
    render::config_history,
};

/// Field manager of `status.rollback` and of restored pod templates.
pub const ROLLBACK_MANAGER: &str = "chatbot-operator-rollback";

/// The hold in force for the spec's current generation, if any.
pub fn held(cbd: &ChatbotDeployment) -> Option<&HeldRevision> {
    cbd.status
        .as_ref()?
        .rollback
        .as_ref()
        .filter(|held| Some(held.generation) == cbd.metadata.generation)
}

/// A hold left from an older generation: the spec changed since, so the
/// new spec rolls out and the hold goes.
pub fn stale(cbd: &ChatbotDeployment) -> bool {
    cbd.status
        .as_ref()
        .and_then(|s| s.rollback.as_ref())
        .is_some_and(|held| Some(held.generation) != cbd.metadata.generation)
}

/// Sets one top-level status field (`null` removes it) with a JSON merge
/// patch under `manager`: fields written so are another manager's, which
/// the reconciler's server-side apply of status leaves alone.
pub(super) async fn patch_status_field(
    client: &Client,
    cbd: &ChatbotDeployment,
    manager: &str,
    field: &str,
    value: serde_json::Value,
) -> Result<(), ReconcileError> {
    let name = cbd.name_any();
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    Api::<ChatbotDeployment>::namespaced(client.clone(), &namespace)
        .patch_status(
            &name,
            &PatchParams {
                field_manager: Some(manager.into()),
                ..Default::default()
            },
            &Patch::Merge(json!({ "status": { field: value } })),
        )
        .await
        .map(|_| ())
        .map_err(kube_error("patch", "ChatbotDeployment/status", &name))
}

async fn patch_rollback(
    client: &Client,
    cbd: &ChatbotDeployment,
    value: serde_json::Value,
) -> Result<(), ReconcileError> {
    patch_status_field(client, cbd, ROLLBACK_MANAGER, "rollback", value).await
}

/// Records the hold in the resource's status.
pub async fn hold(
    client: &Client,
    cbd: &ChatbotDeployment,
    held: &HeldRevision,
) -> Result<(), ReconcileError> {
    patch_rollback(client, cbd, serde_json::to_value(held).unwrap_or_default()).await
}

/// Removes the hold from the resource's status.
pub async fn release(client: &Client, cbd: &ChatbotDeployment) -> Result<(), ReconcileError> {
    patch_rollback(client, cbd, serde_json::Value::Null).await
}

/// The pod template of `revision` as the app Deployment's ReplicaSet of it
/// kept, without the ReplicaSet's own `pod-template-hash` label; `None`
/// when Kubernetes no longer keeps it (beyond the Deployment's
/// `revisionHistoryLimit`).
pub async fn template_of(
    client: &Client,
    namespace: &str,
    deployment: &str,
    revision: i64,
) -> Result<Option<PodTemplateSpec>, ReconcileError> {
    let api: Api<ReplicaSet> = Api::namespaced(client.clone(), namespace);
    let selector = format!(
        "{}={deployment},{}={revision}",
        keys::INSTANCE,
        keys::REVISION
    );
    let sets = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube_error("list", "ReplicaSet", deployment))?;
    let newest = sets
        .items
        .into_iter()
        .filter(|set| {
            set.owner_references().iter().any(|o| {
                o.kind == "Deployment" && o.name == deployment && o.controller == Some(true)
            })
        })
        .max_by_key(|set| set.creation_timestamp().map(|t| t.0));
    Ok(newest.and_then(|set| {
        let mut template = set.spec?.template?;
        if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove("pod-template-hash");
        }
        Some(template)
    }))
}

/// Puts `revision`'s config back on `cbd`'s app ConfigMap, as its config
/// history keeps it, before the revision's pods come back: they must not
/// start reading the config they are rolled back from. `false` when the
/// history does not keep it (the revision ran before configs were kept).
pub async fn restore_config(
    client: &Client,
    cbd: &ChatbotDeployment,
    revision: i64,
) -> Result<bool, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let names = ChildNames::for_deployment(&cbd.name_any());
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let history = api
        .get_opt(&names.config_history)
        .await
        .map_err(kube_error("get", "ConfigMap", &names.config_history))?;
    let Some(config) = history
        .filter(|h| ownership(cbd, &h.metadata) == Ownership::Ours)
        .and_then(|h| h.data)
        .and_then(|data| config_history::parse(&data).remove(&revision))
    else {
        return Ok(false);
    };
    let current = api.get_opt(&names.config_map).await.map_err(kube_error(
        "get",
        "ConfigMap",
        &names.config_map,
    ))?;
    // Gone: the reconcile makes it again, with the held revision's config.
    let Some(current) = current else {
        return Ok(true);
    };
    if current.data.as_ref() == Some(&config) {
        return Ok(true);
    }
    let patch: json_patch::Patch =
        serde_json::from_value(json!([{ "op": "add", "path": "/data", "value": config }]))
            .map_err(|error| ReconcileError::Encode(format!("rollback patch: {error}")))?;
    api.patch(
        &names.config_map,
        &PatchParams {
            field_manager: Some(ROLLBACK_MANAGER.into()),
            ..Default::default()
        },
        &Patch::<()>::Json(patch),
    )
    .await
    .map(|_| true)
    .map_err(kube_error("patch", "ConfigMap", &names.config_map))
}

/// What a rollback to `revision` says when its config was not kept.
pub fn config_not_kept(revision: i64) -> String {
    format!(
        "revision {revision}'s config was not kept (it ran before configs were kept), so its pods read the current config"
    )
}

/// Puts `template` on the app Deployment, replacing the one there whole
/// (a merge would keep what the newer revision added).
pub async fn restore(
    client: &Client,
    namespace: &str,
    deployment: &str,
    template: &PodTemplateSpec,
) -> Result<(), ReconcileError> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let patch: json_patch::Patch = serde_json::from_value(json!([
        { "op": "replace", "path": "/spec/template", "value": template }
    ]))
    .map_err(|error| ReconcileError::Encode(format!("rollback patch: {error}")))?;
    api.patch(
        deployment,
        &PatchParams {
            field_manager: Some(ROLLBACK_MANAGER.into()),
            ..Default::default()
        },
        &Patch::<()>::Json(patch),
    )
    .await
    .map(|_| ())
    .map_err(kube_error("patch", "Deployment", deployment))
}

/// The hold a rollback of `cbd` to `revision` records.
pub fn hold_for(
    cbd: &ChatbotDeployment,
    revision: i64,
    instead_of: i64,
    action: &str,
    reason: &str,
    now: &Time,
) -> HeldRevision {
    HeldRevision {
        revision,
        instead_of,
        generation: cbd.metadata.generation.unwrap_or(0),
        action: action.to_string(),
        reason: reason.to_string(),
        at: Some(now.clone()),
    }
}
