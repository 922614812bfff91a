//! The app and its pooler, the Deployments that write to the database:
//! what they run with outside a restore, whether their pods are gone or
//! ready, and their replica counts set to zero and back under the
//! restore's own field manager.

use k8s_openapi::api::apps::v1::Deployment;
use kube::{Api, api::PatchParams};
use tracing::info;

use crate::reconcile::{
    caches::get, context::Context, converge, error::ReconcileError, error::kube_error,
};
use crate::{
    api::ChatbotDeploymentSpec,
    defaults::stores as fallback,
    names::{ChildNames, RESTORE_MANAGER as MANAGER},
};

/// The Deployments that write to the database and the replica count each
/// runs with outside a restore: the app (its autoscaler's floor) and the
/// pooler.
pub(super) fn writers(spec: &ChatbotDeploymentSpec, names: &ChildNames) -> Vec<(String, i32)> {
    let (app, _) = spec.replicas.clone().unwrap_or_default().bounds();
    let mut writers = vec![(names.deployment.clone(), app)];
    let pooler = spec.database.as_ref().and_then(|d| d.pooler.as_ref());
    if let Some(pooler) = pooler.filter(|p| p.enabled.unwrap_or(false)) {
        writers.push((
            names.pooler.clone(),
            pooler.replicas.unwrap_or(fallback::POOLER_REPLICAS),
        ));
    }
    writers
}

/// Whether no app or pooler pod is left (`writers`), and whether the app
/// (`app`) has a ready pod.
pub(super) fn pods(
    ctx: &Context,
    namespace: &str,
    writers: &[(String, i32)],
    app: &str,
) -> (bool, bool) {
    let deployment = |name: &str| get(&ctx.stores.deployments, namespace, name);
    let running = |d: &Deployment| {
        let spec = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let pods = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        spec > 0 || pods > 0
    };
    let stopped = writers
        .iter()
        .all(|(name, _)| deployment(name).is_none_or(|d| !running(&d)));
    let ready = deployment(app)
        .and_then(|d| d.status.as_ref()?.ready_replicas)
        .unwrap_or(0);
    (stopped, ready > 0)
}

/// The app and the pooler at zero while writes stop; back at their counts
/// once a restore (`restored_before`: there was one) no longer stops them.
pub(super) async fn scale_writers(
    ctx: &Context,
    namespace: &str,
    writers: &[(String, i32)],
    stop: bool,
    restored_before: bool,
) -> Result<(), ReconcileError> {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), namespace);
    for (writer, replicas) in writers {
        let Some(found) = get(&ctx.stores.deployments, namespace, writer) else {
            continue;
        };
        let at = found.spec.as_ref().and_then(|s| s.replicas);
        let wanted = if stop {
            0
        } else if at == Some(0) && restored_before {
            // Back from a restore's zero (or a failed one's).
            *replicas
        } else {
            continue;
        };
        if at != Some(wanted) {
            scale(&api, writer, wanted).await?;
            info!(deployment = %writer, replicas = wanted, "scaled for the restore");
        }
    }
    Ok(())
}

/// Sets Deployment `name`'s replica count under the restore's own field
/// manager: the operator's apply leaves a count it does not send alone.
async fn scale(api: &Api<Deployment>, name: &str, replicas: i32) -> Result<(), ReconcileError> {
    let params = PatchParams::apply(MANAGER).force();
    converge::apply_replicas(api, name, replicas, &params)
        .await
        .map_err(kube_error("apply", "Deployment", name))
}
