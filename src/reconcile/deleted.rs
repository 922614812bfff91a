//! A reconcile of a resource being deleted: its children go with their
//! owner reference; its managed stores are torn down as their deletion
//! policy says, and the status says how far that got until the finalizer
//! comes off.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use super::{
    context::Context,
    data_stores,
    error::ReconcileError,
    outcome::{Outcome, Pace},
    status,
    write::Turn,
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
) -> Result<Turn, ReconcileError> {
    ctx.metrics
        .deployments
        .forget(&cbd.namespace().unwrap_or_default(), &cbd.name_any());
    if !cbd.finalizers().iter().any(|f| f == data_stores::FINALIZER) {
        return Ok(Turn {
            next: None,
            outcome: Outcome::default(),
            live: false,
        });
    }
    let finalized = data_stores::finalize(ctx, cbd, spec).await?;
    if finalized.done {
        return Ok(Turn {
            next: None,
            outcome: Outcome {
                notes: finalized.notes,
                ..Outcome::default()
            },
            live: false,
        });
    }
    let next = status::deleting(
        cbd.status.as_ref(),
        &finalized.database,
        &finalized.cache,
        now,
    );
    let refused = [&finalized.database, &finalized.cache]
        .into_iter()
        .flatten()
        .any(|f| f.failed);
    let outcome = Outcome {
        notes: finalized.notes,
        pace: Some(if refused {
            Pace::Blocked
        } else {
            Pace::Waiting
        }),
        ..Outcome::default()
    };
    Ok(Turn {
        next: Some(next),
        outcome,
        live: false,
    })
}
