//! A reconcile of a resource being deleted: its children go with their
//! owner reference; its managed stores are torn down as their deletion
//! policy says, and the status says how far that got until the finalizer
//! comes off.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{ResourceExt, runtime::controller::Action};

use super::{
    context::Context, data_stores, error::ReconcileError, publish, status, write::write_status,
};
use crate::api::ChatbotDeployment;

/// One step of deleting `cbd`: its managed stores are torn down by their
/// deletion policy; the status says how far it got until the finalizer
/// comes off.
pub(super) async fn finalize_deleted(
    cbd: &ChatbotDeployment,
    ctx: &Context,
    spec: Option<&crate::api::ChatbotDeploymentSpec>,
    now: &Time,
) -> Result<Action, ReconcileError> {
    ctx.metrics
        .deployments
        .forget(&cbd.namespace().unwrap_or_default(), &cbd.name_any());
    if !cbd.finalizers().iter().any(|f| f == data_stores::FINALIZER) {
        return Ok(Action::await_change());
    }
    let finalized = data_stores::finalize(ctx, cbd, spec).await?;
    publish::publish(ctx, cbd, &finalized.notes).await;
    if finalized.done {
        return Ok(Action::await_change());
    }
    let next = status::deleting(
        cbd.status.as_ref(),
        &finalized.database,
        &finalized.cache,
        now,
    );
    if Some(&next) != cbd.status.as_ref() {
        let after = write_status(&ctx.client, cbd, &next).await?;
        ctx.remember_status(cbd, after, &next);
    }
    let refused = [&finalized.database, &finalized.cache]
        .into_iter()
        .flatten()
        .any(|f| f.failed);
    Ok(Action::requeue(if refused {
        ctx.timing.blocked
    } else {
        ctx.timing.waiting
    }))
}
