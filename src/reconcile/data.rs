//! The data step of a reconcile: managed stores in AWS, their connection
//! Secrets, and the finalizer that honours the deletion policy. The only
//! part of the reconciler that talks to AWS.
//!
//! Order matters for safety: the finalizer is added before a store is
//! created (so a deletion can never orphan it), and the connection Secret
//! with the generated credential is created before the store (so a
//! restart between the two never loses the password).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};
use serde_json::json;

mod finalize;
mod secret;

pub use finalize::{Finalized, finalize};
pub(super) use secret::secret_view;
use secret::{
    annotate, create_secret, foreign_secret, read_password, restored_database, write_url,
};

use super::{
    Context, ReconcileError,
    converge::{is_status, kube_error},
    decide::Note,
    observe::{Ownership, ownership},
    stores::get,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, StoreMode, StoreStatus},
    backup::restore::instance,
    data::{
        AwsClients, Endpoint, Owner, StoreReport, StoreState,
        connection::{Route, StoreKind, keys},
        elasticache::{CacheRequest, ElastiCache},
        rds::{DatabaseRequest, Rds},
    },
    names::{self, ChildNames},
    render::stores as render_stores,
    secrets,
};

/// Finalizer on resources with managed stores, removed once every store
/// is deleted, snapshotted or retained as its deletion policy says.
pub const FINALIZER: &str = "chatbot.dev/data-stores";

/// What the status says about one store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreFacts {
    pub ready: bool,
    /// Short, stable reason for the store's condition.
    pub reason: String,
    pub message: String,
    /// The store cannot be used until someone acts (AWS refused, failed state).
    pub failed: bool,
    pub status: StoreStatus,
}

/// What the data step found and did.
#[derive(Clone, Debug, Default)]
pub struct DataOutcome {
    pub database: Option<StoreFacts>,
    pub cache: Option<StoreFacts>,
    pub notes: Vec<Note>,
    /// AWS calls that changed something, for metrics and tests.
    pub mutations: Vec<&'static str>,
}

impl DataOutcome {
    /// A store needs someone to act.
    pub fn failed(&self) -> bool {
        [&self.database, &self.cache]
            .into_iter()
            .flatten()
            .any(|f| f.failed)
    }

    /// A store is on its way: look again soon.
    pub fn waiting(&self) -> bool {
        [&self.database, &self.cache]
            .into_iter()
            .flatten()
            .any(|f| !f.ready && !f.failed)
    }
}

/// A managed store the spec asks for.
enum Managed {
    Database(DatabaseRequest),
    Cache(CacheRequest),
}

impl Managed {
    fn kind(&self) -> StoreKind {
        match self {
            Managed::Database(_) => StoreKind::Database,
            Managed::Cache(_) => StoreKind::Cache,
        }
    }

    fn identifier(&self) -> &str {
        match self {
            Managed::Database(r) => &r.identifier,
            Managed::Cache(r) => &r.identifier,
        }
    }

    fn label(&self) -> &'static str {
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
fn managed_stores(
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

fn connection_secret(names: &ChildNames, kind: StoreKind) -> &str {
    match kind {
        StoreKind::Database => &names.database_secret,
        StoreKind::Cache => &names.cache_secret,
    }
}

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

fn store_mode(spec: &ChatbotDeploymentSpec, kind: StoreKind) -> StoreMode {
    match kind {
        StoreKind::Database => spec.database.as_ref().and_then(|d| d.mode),
        StoreKind::Cache => spec.cache.as_ref().and_then(|c| c.mode),
    }
    .unwrap_or_default()
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

/// Facts of a store the operator does not run: `None` for a managed or
/// in-cluster one, which only a look at AWS or its StatefulSet can tell
/// about.
pub fn unmanaged_facts(spec: &ChatbotDeploymentSpec, kind: StoreKind) -> Option<StoreFacts> {
    let (mode, reference) = match kind {
        StoreKind::Database => {
            let database = spec.database.clone().unwrap_or_default();
            (database.mode.unwrap_or_default(), database.url_secret_ref)
        }
        StoreKind::Cache => {
            let cache = spec.cache.clone().unwrap_or_default();
            (cache.mode.unwrap_or_default(), cache.url_secret_ref)
        }
    };
    let field = kind.field();
    let (reason, message) = match mode {
        StoreMode::Managed => return None,
        StoreMode::None => ("NotUsed", format!("spec.{field}.mode is none")),
        StoreMode::External => (
            "External",
            match reference {
                Some(r) => format!(
                    "{} comes from Secret {} key {} (checked by SecretsReady)",
                    kind.url_key(),
                    r.name,
                    r.key
                ),
                None => format!("spec.{field}.urlSecretRef is not set"),
            },
        ),
        // Judged from its StatefulSet by the data step.
        StoreMode::InCluster => return None,
    };
    Some(StoreFacts {
        ready: true,
        reason: reason.into(),
        message,
        failed: false,
        status: StoreStatus::default(),
    })
}

fn set_facts(outcome: &mut DataOutcome, kind: StoreKind, facts: StoreFacts) {
    match kind {
        StoreKind::Database => outcome.database = Some(facts),
        StoreKind::Cache => outcome.cache = Some(facts),
    }
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

fn record(outcome: &mut DataOutcome, report: &StoreReport) {
    outcome.mutations.extend(report.mutations.iter().copied());
    for note in &report.notes {
        outcome.notes.push(Note {
            warning: false,
            reason: "StoreChanged".into(),
            message: note.clone(),
        });
    }
}

async fn add_finalizer(ctx: &Context, cbd: &ChatbotDeployment) -> Result<(), ReconcileError> {
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

async fn remove_finalizer(ctx: &Context, cbd: &ChatbotDeployment) -> Result<(), ReconcileError> {
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
