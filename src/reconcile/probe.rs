//! Everything the decision is made from: the Secrets the resource reads,
//! the caches read into plain facts (`observe`), and what a rollout needs
//! measured outside them, when it is due (`measure`).

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::{
    context::Context,
    error::{ReconcileError, kube_error},
    measure, observe,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec},
    names,
    secrets::SecretReference,
};

/// Everything the decision is made from: the caches, and what a rollout
/// needs measured when it is due.
pub(super) async fn observe(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: Option<&ChatbotDeploymentSpec>,
    now: &Time,
) -> Result<observe::Observed, ReconcileError> {
    let references = spec.map(crate::secrets::references).unwrap_or_default();
    let secrets = read_secrets(ctx, cbd, &references).await?;
    let mut observed = observe::gather(&ctx.stores, &secrets, cbd, &references);
    if let (Some(spec), Some(status)) = (spec, &cbd.status) {
        measure::rollout(ctx, cbd, spec, status, now, &mut observed).await;
    }
    Ok(observed)
}

/// The key names of the Secrets `cbd`'s reconcile reads, each read by name
/// when the watch saw it change since the last read.
async fn read_secrets(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    references: &[SecretReference],
) -> Result<observe::ReadSecrets, ReconcileError> {
    let namespace = cbd.namespace().unwrap_or_default();
    let mut read = observe::ReadSecrets::new();
    for name in secret_names(&cbd.name_any(), references) {
        let secret = ctx
            .stores
            .secret(&ctx.client, &namespace, &name)
            .await
            .map_err(kube_error("read", "Secret", &name))?;
        if let Some(secret) = secret {
            read.insert(name, secret);
        }
    }
    Ok(read)
}

/// The names of the Secrets [`observe::gather`] reads for `name`: those
/// its spec refers to, its generated values and its stores' connection
/// Secrets.
pub fn secret_names(name: &str, references: &[SecretReference]) -> BTreeSet<String> {
    let child_names = names::ChildNames::for_deployment(name);
    references
        .iter()
        .map(|reference| reference.secret.clone())
        .chain([
            child_names.generated_secret,
            child_names.database_secret,
            child_names.cache_secret,
        ])
        .collect()
}
