//! The stores in AWS the spec asks for, whose they are, and what tearing
//! one down came to.

use super::facts::StoreFacts;
use crate::{
    api::{
        ChatbotDeployment, ChatbotDeploymentSpec, ChatbotDeploymentStatus, RestoreStatus,
        StoreMode, condition_types,
    },
    backup::restore::instance,
    data::{
        Owner, Teardown, connection::StoreKind, elasticache::CacheRequest, rds::DatabaseRequest,
    },
    names::ChildNames,
    reconcile::outcome::Note,
};

/// A managed store the spec asks for.
pub(super) enum Managed {
    Database(DatabaseRequest),
    Cache(CacheRequest),
}

impl Managed {
    pub(super) fn kind(&self) -> StoreKind {
        match self {
            Managed::Database(_) => StoreKind::Database,
            Managed::Cache(_) => StoreKind::Cache,
        }
    }

    pub(super) fn identifier(&self) -> &str {
        match self {
            Managed::Database(r) => &r.identifier,
            Managed::Cache(r) => &r.identifier,
        }
    }

    pub(super) fn label(&self) -> &'static str {
        match self {
            Managed::Database(_) => "RDS instance",
            Managed::Cache(_) => "ElastiCache replication group",
        }
    }

    /// What one store's teardown came to: whether it is done, the store's
    /// facts for status, and an Event when its reason changed.
    pub(super) fn torn_down(
        &self,
        teardown: &Teardown,
        previous: &ChatbotDeploymentStatus,
    ) -> (bool, StoreFacts, Option<Note>) {
        let what = format!("{} {}", self.label(), self.identifier());
        let kind = self.kind();
        let mut status = match kind {
            StoreKind::Database => previous.database.clone(),
            StoreKind::Cache => previous.cache.clone(),
        }
        .unwrap_or_default();
        status.identifier = Some(self.identifier().to_string());
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
}

/// The owner of the stores of `cbd`, `None` before it has a uid.
pub fn owner_of(cbd: &ChatbotDeployment) -> Option<Owner> {
    Some(Owner {
        namespace: cbd.metadata.namespace.clone()?,
        name: cbd.metadata.name.clone()?,
        uid: cbd.metadata.uid.clone()?,
    })
}

/// The managed stores of `cbd`'s resolved spec `spec`. The database is
/// the RDS instance the app runs on: the one a snapshot restore made,
/// once it switched to it.
pub(super) fn managed_stores(
    cbd: &ChatbotDeployment,
    owner: &Owner,
    spec: &ChatbotDeploymentSpec,
) -> Vec<Managed> {
    let mut stores = Vec::new();
    if let Some(mut request) = DatabaseRequest::for_spec(owner, spec) {
        let restore = cbd.status.as_ref().and_then(|s| s.restore.as_ref());
        request.identifier = instance::live_instance(restore, &request.identifier);
        stores.push(Managed::Database(request));
    }
    if let Some(request) = CacheRequest::for_spec(owner, spec) {
        stores.push(Managed::Cache(request));
    }
    stores
}

pub(super) fn connection_secret(names: &ChildNames, kind: StoreKind) -> &str {
    match kind {
        StoreKind::Database => &names.database_secret,
        StoreKind::Cache => &names.cache_secret,
    }
}

pub(super) fn store_mode(spec: &ChatbotDeploymentSpec, kind: StoreKind) -> StoreMode {
    match kind {
        StoreKind::Database => spec.database.as_ref().and_then(|d| d.mode),
        StoreKind::Cache => spec.cache.as_ref().and_then(|c| c.mode),
    }
    .unwrap_or_default()
}

/// The RDS instances a restore made or kept as the undo: they go with the
/// resource, as its database does.
pub(super) fn kept_instances(stores: &[Managed], restore: Option<&RestoreStatus>) -> Vec<Managed> {
    let kept = stores.iter().filter_map(|store| match store {
        Managed::Database(live) => Some(instance::kept(restore).into_iter().map(|identifier| {
            Managed::Database(DatabaseRequest {
                identifier,
                ..live.clone()
            })
        })),
        Managed::Cache(_) => None,
    });
    kept.flatten().collect()
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
            let (is_done, facts, note) = database().torn_down(&teardown, &previously(before));
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
