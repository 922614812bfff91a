//! A PVC destination's claim, made the first time a backup is about to
//! start and it does not exist (see [`crate::backup::claim`]). Looked up
//! only then: a settled resource makes no call for it.

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::{Api, api::PostParams};
use tracing::info;

use crate::{
    api::ChatbotDeploymentSpec,
    names::MANAGER,
    reconcile::{
        context::Context,
        error::ReconcileError,
        error::{is_status, kube_error},
    },
};

/// Creates the claim `spec.backup.destination.pvc` names for ChatbotDeployment
/// `name` in `namespace`, unless it exists.
pub(super) async fn ensure(
    ctx: &Context,
    namespace: &str,
    name: &str,
    spec: &ChatbotDeploymentSpec,
) -> Result<(), ReconcileError> {
    let destination = spec.backup.as_ref().and_then(|b| b.destination.as_ref());
    let Some(pvc) = destination.and_then(|d| d.pvc.as_ref()) else {
        return Ok(());
    };
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), namespace);
    let claim_name = &pvc.claim_name;
    let found = api.get_opt(claim_name).await.map_err(kube_error(
        "get",
        "PersistentVolumeClaim",
        claim_name,
    ))?;
    if found.is_some() {
        return Ok(());
    }
    let claim = crate::backup::claim::claim(name, pvc);
    let params = PostParams {
        dry_run: false,
        field_manager: Some(MANAGER.into()),
    };
    match api.create(&params, &claim).await {
        Ok(_) => {
            info!(claim = %claim_name, "created the backups' volume claim");
            Ok(())
        }
        // Made by a reconcile whose answer was lost.
        Err(error) if is_status(&error, 409) => Ok(()),
        Err(error) => Err(kube_error("create", "PersistentVolumeClaim", claim_name)(
            error,
        )),
    }
}
