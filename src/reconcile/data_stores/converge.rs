//! Managed and in-cluster stores brought to what the spec asks for, one
//! AWS call at a time, with their connection Secrets.

use std::collections::BTreeMap;

use k8s_openapi::api::{apps::v1::StatefulSet, core::v1::Secret};
use kube::{Api, ResourceExt};

use super::{
    facts::{DataOutcome, FINALIZER, StoreFacts, set_facts, unmanaged_facts},
    finalizer::{add_finalizer, remove_finalizer},
    in_aws::StoreRun,
    managed::{connection_secret, managed_stores, owner_of, store_mode},
    secret::{create_secret, foreign_secret, restored_database, secret_view, write_url},
};
use crate::reconcile::{
    caches::get,
    context::Context,
    error::{ReconcileError, kube_error},
    observe::{Ownership, ownership},
    outcome::Note,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, StoreMode, StoreStatus},
    backup::restore::instance,
    data::{
        Endpoint, Owner,
        connection::{Route, StoreKind, keys},
    },
    names::{self, ChildNames},
    render::stores as render_stores,
    secrets,
};

/// Brings the managed stores of `spec` (the resolved spec of `cbd`) to
/// what it asks for, one AWS call at a time, and their connection Secrets
/// up to date.
pub async fn converge_stores(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
) -> Result<DataOutcome, ReconcileError> {
    let mut outcome = DataOutcome {
        database: unmanaged_facts(spec, StoreKind::Database),
        cache: unmanaged_facts(spec, StoreKind::Cache),
        ..Default::default()
    };
    let Some(owner) = owner_of(cbd) else {
        return Ok(outcome);
    };
    let names = ChildNames::for_deployment(&owner.name);
    let labels = names::common_labels(&owner.name, &spec.environment, &spec.image);
    for kind in [StoreKind::Database, StoreKind::Cache] {
        if store_mode(spec, kind) == StoreMode::InCluster {
            let facts = converge_in_cluster(ctx, cbd, &owner, &names, &labels, spec, kind).await?;
            set_facts(&mut outcome, kind, facts);
        }
    }
    let stores = managed_stores(cbd, &owner, spec);
    outcome.notes.extend(left_in_aws(cbd, &owner, spec));
    if stores.is_empty() {
        if cbd.finalizers().iter().any(|f| f == FINALIZER) {
            // Nothing in AWS is deleted with this resource any more.
            remove_finalizer(ctx, cbd).await?;
        }
        return Ok(outcome);
    }
    let Some(aws) = ctx.aws.as_ref() else {
        for store in &stores {
            let facts = StoreFacts {
                ready: false,
                reason: "AwsNotConfigured".into(),
                message: format!(
                    "spec.{}.mode is managed but the operator runs without AWS access",
                    store.kind().field()
                ),
                failed: true,
                status: StoreStatus::default(),
            };
            set_facts(&mut outcome, store.kind(), facts);
        }
        return Ok(outcome);
    };
    add_finalizer(ctx, cbd).await?;
    for store in &stores {
        let pooler = match store.kind() {
            StoreKind::Database => pooler_endpoint(spec, &names, &owner.namespace),
            StoreKind::Cache => None,
        };
        let run = StoreRun {
            ctx,
            aws,
            cbd,
            owner: &owner,
            names: &names,
            labels: &labels,
        };
        let facts = run.converge(store, pooler, &mut outcome).await?;
        let facts = with_pooler(ctx, spec, &names, &owner.namespace, store.kind(), facts);
        set_facts(&mut outcome, store.kind(), facts);
    }
    Ok(outcome)
}

/// A warning for each store that was managed (its AWS identifier is in
/// the status) and no longer is: it stays in AWS, tagged, and is not
/// deleted with the resource. Said once: the status moves on.
fn left_in_aws(cbd: &ChatbotDeployment, owner: &Owner, spec: &ChatbotDeploymentSpec) -> Vec<Note> {
    let status = cbd.status.clone().unwrap_or_default();
    [
        (
            StoreKind::Database,
            status.database,
            instance::live_instance(status.restore.as_ref(), &owner.database_identifier()),
            "RDS instance",
        ),
        (
            StoreKind::Cache,
            status.cache,
            owner.cache_identifier(),
            "ElastiCache replication group",
        ),
    ]
    .into_iter()
    .filter(|(kind, recorded, identifier, _)| {
        store_mode(spec, *kind) != StoreMode::Managed
            && recorded.as_ref().and_then(|r| r.identifier.as_deref()) == Some(identifier.as_str())
    })
    .map(|(kind, _, identifier, label)| Note {
        warning: true,
        reason: "StoreLeftInAws".into(),
        message: format!(
            "spec.{}.mode is no longer managed: {label} {identifier} stays in AWS with its ownership tags and is not deleted with this resource; delete it or keep it by hand",
            kind.field()
        ),
    })
    .collect()
}

/// The PgBouncer the app's `DATABASE_URL` leads to, when enabled.
fn pooler_endpoint(
    spec: &ChatbotDeploymentSpec,
    names: &ChildNames,
    namespace: &str,
) -> Option<Endpoint> {
    let enabled = spec
        .database
        .as_ref()
        .and_then(|d| d.pooler.as_ref())
        .and_then(|p| p.enabled)
        .unwrap_or(false);
    enabled.then(|| Endpoint {
        host: format!("{}.{namespace}.svc", names.pooler),
        port: i32::from(render_stores::POSTGRES_PORT),
    })
}

/// A database that is ready is usable by the app only once its pooler has
/// an available pod.
fn with_pooler(
    ctx: &Context,
    spec: &ChatbotDeploymentSpec,
    names: &ChildNames,
    namespace: &str,
    kind: StoreKind,
    facts: StoreFacts,
) -> StoreFacts {
    if kind != StoreKind::Database
        || !facts.ready
        || pooler_endpoint(spec, names, namespace).is_none()
    {
        return facts;
    }
    let available = get(&ctx.stores.deployments, namespace, &names.pooler)
        .and_then(|d| d.status.as_ref()?.available_replicas)
        .unwrap_or(0);
    if available > 0 {
        return StoreFacts {
            message: format!("{}; PgBouncer {} pools it", facts.message, names.pooler),
            ..facts
        };
    }
    StoreFacts {
        ready: false,
        reason: "PoolerStarting".into(),
        message: format!(
            "{}; waiting for PgBouncer Deployment {} to have an available pod",
            facts.message, names.pooler
        ),
        ..facts
    }
}

/// The connection Secret and readiness of a Postgres or Redis the operator
/// runs as a StatefulSet. The host is known in advance, so the password
/// and the URLs are written together when the Secret is created.
async fn converge_in_cluster(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    owner: &Owner,
    names: &ChildNames,
    labels: &BTreeMap<String, String>,
    spec: &ChatbotDeploymentSpec,
    kind: StoreKind,
) -> Result<StoreFacts, ReconcileError> {
    let namespace = owner.namespace.as_str();
    let secret_name = connection_secret(names, kind);
    let (store_name, port) = match kind {
        StoreKind::Database => (&names.database_store, render_stores::POSTGRES_PORT),
        StoreKind::Cache => (&names.cache_store, render_stores::REDIS_PORT),
    };
    let cached = ctx
        .stores
        .secret(&ctx.client, namespace, secret_name)
        .await
        .map_err(kube_error("read", "Secret", secret_name))?;
    let view = cached.as_deref().map(secret_view).unwrap_or_default();
    let route = Route {
        store: Endpoint {
            host: format!("{store_name}.{namespace}.svc"),
            port: i32::from(port),
        },
        tls: false,
        pooler: match kind {
            StoreKind::Database => pooler_endpoint(spec, names, namespace),
            StoreKind::Cache => None,
        },
        database: restored_database(cbd, kind, &view),
    };
    let mut status = StoreStatus {
        identifier: Some(store_name.clone()),
        connection_secret: Some(secret_name.to_string()),
        endpoint: Some(route.store.to_string()),
        ..Default::default()
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    if let Some(existing) = &cached
        && ownership(cbd, &existing.metadata) == Ownership::Foreign
    {
        status.endpoint = None;
        return Ok(foreign_secret(secret_name, kind, status));
    }
    if !view.has_password() {
        let password = secrets::generate_value().map_err(ReconcileError::RandomSource)?;
        let mut data = kind.initial_data(password.clone());
        data.extend(kind.urls(&route, &password));
        let mut annotations = BTreeMap::from([
            (keys::ENDPOINT.to_string(), route.to_string()),
            (keys::CREDENTIALS_FOR.to_string(), store_name.clone()),
        ]);
        annotations.extend(
            route
                .database
                .clone()
                .map(|d| (keys::DATABASE.to_string(), d)),
        );
        create_secret(&api, cbd, secret_name, labels, annotations, data).await?;
    } else if !view.is_current(kind, store_name, &route) {
        write_url(&api, secret_name, kind, store_name, &route).await?;
    }

    let stateful_set = get(&ctx.stores.stateful_sets, namespace, store_name);
    let facts = in_cluster_facts(kind, store_name, &route, stateful_set.as_deref(), status);
    Ok(with_pooler(ctx, spec, names, namespace, kind, facts))
}

/// An in-cluster store's readiness, from its StatefulSet's ready pods.
fn in_cluster_facts(
    kind: StoreKind,
    store_name: &str,
    route: &Route,
    stateful_set: Option<&StatefulSet>,
    status: StoreStatus,
) -> StoreFacts {
    let ready = stateful_set
        .and_then(|s| s.status.as_ref()?.ready_replicas)
        .unwrap_or(0);
    let software = match kind {
        StoreKind::Database => "Postgres",
        StoreKind::Cache => "Redis",
    };
    if ready > 0 {
        StoreFacts {
            ready: true,
            reason: "Available".into(),
            message: format!(
                "in-cluster {software} (StatefulSet {store_name}) is ready at {}",
                route.store
            ),
            failed: false,
            status,
        }
    } else {
        StoreFacts {
            ready: false,
            reason: if stateful_set.is_some() {
                "Starting"
            } else {
                "Creating"
            }
            .into(),
            message: format!(
                "in-cluster {software}: waiting for StatefulSet {store_name} to have a ready pod"
            ),
            failed: false,
            status,
        }
    }
}
