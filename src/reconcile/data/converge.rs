//! Managed and in-cluster stores brought to what the spec asks for, one
//! AWS call at a time, with their connection Secrets.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

use super::{
    facts::{DataOutcome, FINALIZER, StoreFacts, record, set_facts, unmanaged_facts},
    finalizer::{add_finalizer, remove_finalizer},
    managed::{Managed, connection_secret, managed_stores, owner_of, store_mode},
    secret::{
        annotate, create_secret, foreign_secret, read_password, restored_database, secret_view,
        write_url,
    },
};
use crate::reconcile::{
    context::Context,
    error::ReconcileError,
    observe::{Ownership, ownership},
    outcome::Note,
    stores::get,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, StoreMode, StoreStatus},
    backup::restore::instance,
    data::{
        AwsClients, Endpoint, ManagedStore, Owner, StoreState,
        connection::{Route, StoreKind, keys},
        elasticache::ElastiCache,
        rds::Rds,
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
        let facts = converge_store(
            ctx,
            aws,
            cbd,
            &owner,
            &names,
            &labels,
            store,
            pooler,
            &mut outcome,
        )
        .await?;
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
    let cached = get(&ctx.stores.secrets, namespace, secret_name);
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
    let ready = stateful_set
        .as_ref()
        .and_then(|s| s.status.as_ref()?.ready_replicas)
        .unwrap_or(0);
    let software = match kind {
        StoreKind::Database => "Postgres",
        StoreKind::Cache => "Redis",
    };
    let facts = if ready > 0 {
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
    };
    Ok(with_pooler(ctx, spec, names, namespace, kind, facts))
}

#[allow(clippy::too_many_arguments)]
async fn converge_store(
    ctx: &Context,
    aws: &AwsClients,
    cbd: &ChatbotDeployment,
    owner: &Owner,
    names: &ChildNames,
    labels: &BTreeMap<String, String>,
    store: &Managed,
    pooler: Option<Endpoint>,
    outcome: &mut DataOutcome,
) -> Result<StoreFacts, ReconcileError> {
    let kind = store.kind();
    let secret_name = connection_secret(names, kind);
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &owner.namespace);
    let mut status = StoreStatus {
        identifier: Some(store.identifier().to_string()),
        connection_secret: Some(secret_name.to_string()),
        ..Default::default()
    };

    // The credential first: it must exist before the store does.
    let cached = get(&ctx.stores.secrets, &owner.namespace, secret_name);
    if let Some(existing) = &cached
        && ownership(cbd, &existing.metadata) == Ownership::Foreign
    {
        return Ok(foreign_secret(secret_name, kind, status));
    }
    let mut view = cached.as_deref().map(secret_view).unwrap_or_default();
    if !view.has_password() {
        let password = secrets::generate_value().map_err(ReconcileError::RandomSource)?;
        create_secret(
            &api,
            cbd,
            secret_name,
            labels,
            BTreeMap::new(),
            kind.initial_data(password),
        )
        .await?;
        view.keys.push(crate::data::connection::PASSWORD_KEY.into());
    }
    let password = || read_password(&api, secret_name);

    let result = match store {
        Managed::Database(request) => {
            Rds { client: &aws.rds }
                .ensure(request, owner, async || password().await)
                .await
        }
        Managed::Cache(request) => {
            ElastiCache {
                client: &aws.elasticache,
            }
            .ensure(request, owner, async || password().await)
            .await
        }
    };
    let report = result?;
    record(outcome, &report);
    if report.mutations.contains(&"CreateDBInstance")
        || report.mutations.contains(&"CreateReplicationGroup")
    {
        // The store now has the Secret's password.
        annotate(
            &api,
            secret_name,
            BTreeMap::from([(keys::CREDENTIALS_FOR, store.identifier())]),
        )
        .await?;
        view.annotations
            .insert(keys::CREDENTIALS_FOR.into(), store.identifier().into());
    }

    let facts = |ready: bool, reason: &str, message: String, failed: bool, status: StoreStatus| {
        StoreFacts {
            ready,
            reason: reason.into(),
            message,
            failed,
            status,
        }
    };
    let what = format!("{} {}", store.label(), store.identifier());
    Ok(match &report.state {
        StoreState::Available { endpoint, pending } => {
            status.endpoint = Some(endpoint.to_string());
            let route = Route {
                store: endpoint.clone(),
                tls: true,
                pooler,
                database: restored_database(cbd, kind, &view),
            };
            if !view.is_current(kind, store.identifier(), &route) {
                if !view.has_credentials_for(store.identifier()) {
                    // Adopted, or the Secret was lost and made anew: give
                    // the store the Secret's password.
                    match store {
                        Managed::Database(request) => {
                            let password = read_password(&api, secret_name).await?;
                            Rds { client: &aws.rds }
                                .reset_password(&request.identifier, &password)
                                .await
                                .map_err(ReconcileError::Aws)?;
                            outcome.mutations.push("ModifyDBInstance");
                            outcome.notes.push(Note {
                                warning: true,
                                reason: "CredentialsReset".into(),
                                message: format!(
                                    "{what}: master password set from Secret {secret_name} (the Secret was new, or the instance was restored from a snapshot)"
                                ),
                            });
                        }
                        Managed::Cache(request) => {
                            let token = read_password(&api, secret_name).await?;
                            let reset = ElastiCache {
                                client: &aws.elasticache,
                            }
                            .reset_auth_token(&request.identifier, &token)
                            .await;
                            match reset {
                                Ok(()) => {}
                                Err(crate::data::AwsError::Rejected { code, message, .. }) => {
                                    return Ok(facts(
                                        false,
                                        "CredentialsUnknown",
                                        format!(
                                            "{what} exists but Secret {secret_name} does not hold its auth token, and setting it was refused ({code}: {message}); restore the Secret or delete the replication group"
                                        ),
                                        true,
                                        status,
                                    ));
                                }
                                Err(transient) => return Err(transient.into()),
                            }
                            outcome.mutations.push("ModifyReplicationGroup");
                            outcome.notes.push(Note {
                                warning: true,
                                reason: "CredentialsReset".into(),
                                message: format!(
                                    "{what}: auth token set from Secret {secret_name} (the Secret was new)"
                                ),
                            });
                        }
                    }
                }
                write_url(&api, secret_name, kind, store.identifier(), &route).await?;
                outcome.notes.push(Note {
                    warning: false,
                    reason: "ConnectionSecretUpdated".into(),
                    message: format!("Secret {secret_name} holds {} for {route}", kind.url_key()),
                });
            }
            let message = if pending.is_empty() {
                format!("{what} is available at {endpoint}")
            } else {
                format!(
                    "{what} is available at {endpoint}; waiting for the maintenance window: {}",
                    pending.join(", ")
                )
            };
            facts(true, report.reason(), message, false, status)
        }
        StoreState::Creating => facts(
            false,
            "Creating",
            format!("{what} is being created"),
            false,
            status,
        ),
        StoreState::Busy { status: state } => facts(
            false,
            report.reason(),
            format!("{what} is {state}"),
            false,
            status,
        ),
        StoreState::Failed { status: state } => facts(
            false,
            report.reason(),
            format!("{what} is {state}; it needs attention in AWS"),
            true,
            status,
        ),
        StoreState::Rejected { message } => facts(
            false,
            report.reason(),
            format!("{what}: {message}"),
            true,
            status,
        ),
        StoreState::OwnedElsewhere { owner } => facts(
            false,
            report.reason(),
            format!("{what} exists and belongs to {owner}; it is left untouched"),
            true,
            status,
        ),
    })
}
