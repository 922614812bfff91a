//! Deleting a resource with managed stores: each store (and each RDS
//! instance a restore made or kept as the undo) torn down by its deletion
//! policy, the finalizer off once all are done.

use kube::ResourceExt;

use super::{
    facts::{FINALIZER, StoreFacts},
    finalizer::remove_finalizer,
    managed::{Managed, kept_instances, managed_stores, owner_of},
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, StoreStatus},
    data::{ManagedStore, connection::StoreKind, elasticache::ElastiCache, rds::Rds},
    reconcile::{context::Context, error::ReconcileError, outcome::Note},
};

/// What deleting a resource with managed stores came to.
#[derive(Clone, Debug, Default)]
pub struct Finalized {
    /// Every store is gone, snapshotted or retained; the finalizer is off.
    pub done: bool,
    pub database: Option<StoreFacts>,
    pub cache: Option<StoreFacts>,
    pub notes: Vec<Note>,
}

/// One step of deleting `cbd`: each managed store is torn down by its
/// deletion policy, and the finalizer comes off once all are done. A
/// refusal from AWS keeps the finalizer and says why.
pub async fn finalize(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: Option<&ChatbotDeploymentSpec>,
) -> Result<Finalized, ReconcileError> {
    let mut finalized = Finalized::default();
    if !cbd.finalizers().iter().any(|f| f == FINALIZER) {
        finalized.done = true;
        return Ok(finalized);
    }
    let (Some(owner), Some(spec), Some(aws)) = (owner_of(cbd), spec, ctx.aws.as_ref()) else {
        // Without a spec that resolves or AWS access the policy cannot be
        // honoured: keep the finalizer and say so.
        finalized.database = Some(StoreFacts {
            ready: false,
            reason: "DeletionBlocked".into(),
            message: "the deletion policy cannot be carried out: the spec does not resolve or the operator has no AWS access".into(),
            failed: true,
            status: StoreStatus::default(),
        });
        return Ok(finalized);
    };
    let previous = cbd.status.clone().unwrap_or_default();
    let mut all_done = true;
    let stores = managed_stores(cbd, &owner, spec);
    let kept = kept_instances(&stores, previous.restore.as_ref());
    for store in kept.into_iter().chain(stores) {
        let teardown = match &store {
            Managed::Database(request) => Rds { client: &aws.rds }.teardown(request, &owner).await,
            Managed::Cache(request) => {
                ElastiCache {
                    client: &aws.elasticache,
                }
                .teardown(request, &owner)
                .await
            }
        }
        .map_err(ReconcileError::Aws)?;
        let (done, facts, note) = store.torn_down(&teardown, &previous);
        all_done &= done;
        finalized.notes.extend(note);
        match store.kind() {
            StoreKind::Database => finalized.database = Some(facts),
            StoreKind::Cache => finalized.cache = Some(facts),
        }
    }
    if all_done {
        remove_finalizer(ctx, cbd).await?;
        finalized.done = true;
    }
    Ok(finalized)
}
