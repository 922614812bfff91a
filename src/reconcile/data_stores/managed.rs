//! The stores in AWS the spec asks for, and whose they are.

use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, RestoreStatus, StoreMode},
    backup::restore::instance,
    data::{Owner, connection::StoreKind, elasticache::CacheRequest, rds::DatabaseRequest},
    names::ChildNames,
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
