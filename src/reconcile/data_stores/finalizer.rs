//! The finalizer that keeps a deletion from orphaning a store in AWS:
//! added before a store is created, removed once none is left to tear
//! down. Both patches carry the resource version, so neither drops a
//! finalizer someone else added in between.

use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};
use serde_json::json;

use super::facts::FINALIZER;
use crate::{
    api::ChatbotDeployment,
    reconcile::{
        context::Context,
        error::{ReconcileError, is_status, kube_error},
    },
};

pub(super) async fn add_finalizer(
    ctx: &Context,
    cbd: &ChatbotDeployment,
) -> Result<(), ReconcileError> {
    if cbd.finalizers().iter().any(|f| f == FINALIZER) {
        return Ok(());
    }
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let api: Api<ChatbotDeployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut finalizers = cbd.finalizers().to_vec();
    finalizers.push(FINALIZER.into());
    // The resource version makes this fail rather than drop a finalizer
    // someone else added in between.
    let patch = json!({ "metadata": {
        "finalizers": finalizers,
        "resourceVersion": cbd.resource_version(),
    }});
    api.patch(
        &cbd.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map(|_| ())
    .map_err(kube_error("patch", "ChatbotDeployment", &cbd.name_any()))
}

pub(super) async fn remove_finalizer(
    ctx: &Context,
    cbd: &ChatbotDeployment,
) -> Result<(), ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let api: Api<ChatbotDeployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let finalizers: Vec<&String> = cbd
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .collect();
    let patch = json!({ "metadata": {
        "finalizers": finalizers,
        "resourceVersion": cbd.resource_version(),
    }});
    match api
        .patch(
            &cbd.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Already gone.
        Err(error) if is_status(&error, 404) => Ok(()),
        Err(error) => Err(kube_error("patch", "ChatbotDeployment", &cbd.name_any())(
            error,
        )),
    }
}
