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
    api::{
        ChatbotDeployment, ChatbotDeploymentSpec, ChatbotDeploymentStatus, StoreStatus,
        condition_types,
    },
    data::{ManagedStore, Teardown, connection::StoreKind, elasticache::ElastiCache, rds::Rds},
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
        let (done, facts, note) = torn_down(&store, &teardown, &previous);
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

/// What one store's teardown came to: whether it is done, the store's
/// facts for status, and an Event when its reason changed.
fn torn_down(
    store: &Managed,
    teardown: &Teardown,
    previous: &ChatbotDeploymentStatus,
) -> (bool, StoreFacts, Option<Note>) {
    let what = format!("{} {}", store.label(), store.identifier());
    let kind = store.kind();
    let mut status = match kind {
        StoreKind::Database => previous.database.clone(),
        StoreKind::Cache => previous.cache.clone(),
    }
    .unwrap_or_default();
    status.identifier = Some(store.identifier().to_string());
    let (done, reason, message, failed) = match teardown {
        Teardown::Gone => (true, "Deleted", format!("{what} is deleted"), false),
        Teardown::Retained => (
            true,
            "Retained",
            format!("{what} is retained: ownership tags removed, data left in place"),
            false,
        ),
        Teardown::Deleting { final_snapshot } => {
            status.final_snapshot = final_snapshot.clone();
            let message = match final_snapshot {
                Some(snapshot) => {
                    format!("{what} is being deleted after final snapshot {snapshot}")
                }
                None => format!(
                    "{what} is being deleted without a final snapshot (deletionPolicy Delete)"
                ),
            };
            (false, "Deleting", message, false)
        }
        Teardown::Refused { message } => (
            false,
            "DeletionRefused",
            format!("{what}: {message}; the finalizer stays until it can be deleted"),
            true,
        ),
    };
    let condition = match kind {
        StoreKind::Database => condition_types::DATABASE_READY,
        StoreKind::Cache => condition_types::CACHE_READY,
    };
    let previous_reason = previous
        .conditions
        .iter()
        .find(|c| c.type_ == condition)
        .map(|c| c.reason.as_str());
    let note = (previous_reason != Some(reason)).then(|| Note {
        warning: failed,
        reason: format!("Store{reason}"),
        message: message.clone(),
    });
    let facts = StoreFacts {
        ready: false,
        reason: reason.into(),
        message,
        failed,
        status,
    };
    (done, facts, note)
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{
        apimachinery::pkg::apis::meta::v1::{Condition, Time},
        jiff::Timestamp,
    };

    use super::*;
    use crate::api::DeletionPolicy;
    use crate::data::rds::DatabaseRequest;

    fn database() -> Managed {
        Managed::Database(DatabaseRequest {
            identifier: "support-db".into(),
            engine_version: None,
            instance_class: "db.t3.micro".into(),
            storage_gib: 20,
            multi_az: false,
            backup_retention_days: 7,
            subnet_group: None,
            security_groups: Vec::new(),
            apply_immediately: true,
            deletion_policy: DeletionPolicy::Snapshot,
            tags: Vec::new(),
        })
    }

    fn previously(reason: &str) -> ChatbotDeploymentStatus {
        ChatbotDeploymentStatus {
            conditions: vec![Condition {
                type_: condition_types::DATABASE_READY.into(),
                status: "False".into(),
                reason: reason.into(),
                message: String::new(),
                last_transition_time: Time(Timestamp::UNIX_EPOCH),
                observed_generation: None,
            }],
            ..ChatbotDeploymentStatus::default()
        }
    }

    #[test]
    fn each_teardown_says_whether_it_is_done_and_tells_once() {
        let snapshot = Teardown::Deleting {
            final_snapshot: Some("support-db-final".into()),
        };
        let refused = Teardown::Refused {
            message: "InvalidDBInstanceState".into(),
        };
        for (teardown, before, done, reason, failed, event) in [
            (Teardown::Gone, "Deleting", true, "Deleted", false, true),
            (
                Teardown::Retained,
                "Available",
                true,
                "Retained",
                false,
                true,
            ),
            (
                snapshot.clone(),
                "Available",
                false,
                "Deleting",
                false,
                true,
            ),
            (snapshot, "Deleting", false, "Deleting", false, false),
            (
                refused.clone(),
                "Deleting",
                false,
                "DeletionRefused",
                true,
                true,
            ),
            (
                refused,
                "DeletionRefused",
                false,
                "DeletionRefused",
                true,
                false,
            ),
        ] {
            let (is_done, facts, note) = torn_down(&database(), &teardown, &previously(before));
            assert_eq!(is_done, done, "{teardown:?}");
            assert_eq!(facts.reason, reason);
            assert_eq!(facts.failed, failed);
            assert!(!facts.ready);
            assert!(facts.message.contains("support-db"), "{}", facts.message);
            assert_eq!(note.is_some(), event, "{teardown:?} after {before}");
            assert_eq!(facts.status.identifier.as_deref(), Some("support-db"));
        }
    }
}
