//! The data step of a reconcile: managed stores in AWS, their connection
//! Secrets, and the finalizer that honours the deletion policy. The only
//! part of the reconciler that talks to AWS.
//!
//! Order matters for safety: the finalizer is added before a store is
//! created (so a deletion can never orphan it), and the connection Secret
//! with the generated credential is created before the store (so a
//! restart between the two never loses the password).

use std::collections::BTreeMap;

use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

use super::{
    Context, ReconcileError,
    converge::{encode, is_status, kube_error},
    decide::Note,
    observe::{Ownership, ownership},
    stores::get,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, StoreMode, StoreStatus},
    data::{
        AwsClients, AwsError, Owner, StoreReport, StoreState, Teardown,
        connection::{SecretView, StoreKind, keys},
        elasticache::{CacheRequest, ElastiCache},
        rds::{DatabaseRequest, Rds},
    },
    render::names::{self, ChildNames, MANAGER},
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

fn managed_stores(owner: &Owner, spec: &ChatbotDeploymentSpec) -> Vec<Managed> {
    let mut stores = Vec::new();
    if let Some(request) = DatabaseRequest::for_spec(owner, spec) {
        stores.push(Managed::Database(request));
    }
    if let Some(request) = CacheRequest::for_spec(owner, spec) {
        stores.push(Managed::Cache(request));
    }
    stores
}

/// Whether `spec` asks for any store in AWS.
pub fn has_managed_stores(spec: &ChatbotDeploymentSpec) -> bool {
    let placeholder = Owner {
        namespace: String::new(),
        name: String::new(),
        uid: String::new(),
    };
    !managed_stores(&placeholder, spec).is_empty()
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
    let stores = managed_stores(&owner, spec);
    if stores.is_empty() {
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
    let names = ChildNames::for_deployment(&owner.name);
    let labels = names::common_labels(&owner.name, &spec.environment, &spec.image);
    for store in &stores {
        let facts =
            converge_store(ctx, aws, cbd, &owner, &names, &labels, store, &mut outcome).await?;
        set_facts(&mut outcome, store.kind(), facts);
    }
    Ok(outcome)
}

/// Facts of a store the operator does not run in AWS: `None` for a
/// managed one, which only a look at AWS can tell about.
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
        StoreMode::InCluster => ("InCluster", format!("spec.{field}.mode is inCluster")),
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
        return Ok(StoreFacts {
            ready: false,
            reason: "ChildConflict".into(),
            message: format!(
                "Secret {secret_name} exists and is not managed by this ChatbotDeployment; the {} connection is never written over someone else's Secret",
                kind.field()
            ),
            failed: true,
            status,
        });
    }
    let mut view = cached
        .as_deref()
        .map(|s| SecretView {
            keys: s.data.iter().flat_map(|d| d.keys().cloned()).collect(),
            annotations: s.metadata.annotations.clone().unwrap_or_default(),
        })
        .unwrap_or_default();
    if !view.has_password() {
        create_credential(&api, cbd, secret_name, labels, kind).await?;
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
    let report = match result {
        Ok(report) => report,
        Err(error) => return Err(ReconcileError::Aws(error)),
    };
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
            if !view.is_current(kind, store.identifier(), endpoint) {
                if !view.has_credentials_for(store.identifier()) {
                    // Adopted, or the Secret was lost and made anew: give
                    // the store the Secret's password.
                    match store {
                        Managed::Database(request) => {
                            let password = read_password(&api, secret_name)
                                .await
                                .map_err(ReconcileError::Aws)?;
                            Rds { client: &aws.rds }
                                .reset_password(&request.identifier, &password)
                                .await
                                .map_err(ReconcileError::Aws)?;
                            outcome.mutations.push("ModifyDBInstance");
                            outcome.notes.push(Note {
                                warning: true,
                                reason: "CredentialsReset".into(),
                                message: format!(
                                    "{what}: master password set from Secret {secret_name} (the Secret was new)"
                                ),
                            });
                        }
                        Managed::Cache(_) => {
                            return Ok(facts(
                                false,
                                "CredentialsUnknown",
                                format!(
                                    "{what} exists but Secret {secret_name} does not hold its auth token; restore the Secret or delete the replication group"
                                ),
                                true,
                                status,
                            ));
                        }
                    }
                }
                write_url(&api, secret_name, kind, store.identifier(), endpoint).await?;
                outcome.notes.push(Note {
                    warning: false,
                    reason: "ConnectionSecretUpdated".into(),
                    message: format!(
                        "Secret {secret_name} holds {} for {endpoint}",
                        kind.url_key()
                    ),
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

async fn create_credential(
    api: &Api<Secret>,
    cbd: &ChatbotDeployment,
    name: &str,
    labels: &BTreeMap<String, String>,
    kind: StoreKind,
) -> Result<(), ReconcileError> {
    let password = secrets::generate_value().map_err(ReconcileError::RandomSource)?;
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            labels: Some(labels.clone()),
            owner_references: cbd.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        type_: Some("Opaque".into()),
        data: Some(encode(kind.initial_data(password))),
        ..Default::default()
    };
    let params = PostParams {
        dry_run: false,
        field_manager: Some(MANAGER.into()),
    };
    match api.create(&params, &secret).await {
        Ok(_) => Ok(()),
        // Created by an earlier reconcile the cache has not seen yet.
        Err(error) if is_status(&error, 409) => Ok(()),
        Err(error) => Err(kube_error("create", "Secret", name)(error)),
    }
}

/// Reads the password from the Secret itself: the cache holds no values.
async fn read_password(api: &Api<Secret>, name: &str) -> Result<String, AwsError> {
    let secret = api.get(name).await.map_err(|error| AwsError::Transient {
        operation: "GetSecret",
        message: format!("Secret {name}: {error}"),
    })?;
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(crate::data::connection::PASSWORD_KEY))
        .and_then(|v| String::from_utf8(v.0.clone()).ok())
        .ok_or_else(|| AwsError::Transient {
            operation: "GetSecret",
            message: format!("Secret {name} has no password key yet"),
        })
}

async fn annotate(
    api: &Api<Secret>,
    name: &str,
    annotations: BTreeMap<&str, &str>,
) -> Result<(), ReconcileError> {
    let patch = json!({ "metadata": { "annotations": annotations } });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(kube_error("patch", "Secret", name))
}

async fn write_url(
    api: &Api<Secret>,
    name: &str,
    kind: StoreKind,
    identifier: &str,
    endpoint: &crate::data::Endpoint,
) -> Result<(), ReconcileError> {
    let password = read_password(api, name)
        .await
        .map_err(ReconcileError::Aws)?;
    let url = kind.url(endpoint, &password);
    let patch = json!({
        "metadata": { "annotations": {
            keys::ENDPOINT: endpoint.to_string(),
            keys::CREDENTIALS_FOR: identifier,
        }},
        "data": encode(BTreeMap::from([(kind.url_key().to_string(), url)])),
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(kube_error("patch", "Secret", name))
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
    for store in managed_stores(&owner, spec) {
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
        let what = format!("{} {}", store.label(), store.identifier());
        let kind = store.kind();
        let mut status = match kind {
            StoreKind::Database => previous.database.clone(),
            StoreKind::Cache => previous.cache.clone(),
        }
        .unwrap_or_default();
        status.identifier = Some(store.identifier().to_string());
        let (done, reason, message, failed) = match &teardown {
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
        let previous_reason = previous
            .conditions
            .iter()
            .find(|c| {
                c.type_
                    == match kind {
                        StoreKind::Database => crate::api::condition_types::DATABASE_READY,
                        StoreKind::Cache => crate::api::condition_types::CACHE_READY,
                    }
            })
            .map(|c| c.reason.clone());
        if previous_reason.as_deref() != Some(reason) {
            finalized.notes.push(Note {
                warning: failed,
                reason: format!("Store{reason}"),
                message: message.clone(),
            });
        }
        all_done &= done;
        let facts = StoreFacts {
            ready: false,
            reason: reason.into(),
            message,
            failed,
            status,
        };
        match kind {
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
