//! Applying a decision: server-side apply of the children under one field
//! manager, pruning what the spec no longer asks for, and creating the
//! generated values once. The only module of the reconciler that writes.

use std::{collections::BTreeMap, fmt::Debug};

use gateway_api::apis::standard::httproutes::HttpRoute;

use crate::monitoring::{PodMonitor, PrometheusRule};
use k8s_openapi::{
    ByteString, NamespaceResourceScope,
    api::{
        apps::v1::{Deployment, StatefulSet},
        autoscaling::v2::HorizontalPodAutoscaler,
        batch::v1::Job,
        core::v1::{ConfigMap, Secret, Service, ServiceAccount},
        networking::v1::{Ingress, NetworkPolicy},
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use super::{
    ReconcileError,
    decide::{Decision, Generate, Note},
    observe::{Observed, Ownership, ownership},
    status::Blocker,
};
use crate::{
    api::ChatbotDeployment,
    render::{Child, ChildKind, Object, ObjectType, names::MANAGER},
    secrets,
};

/// Field manager that co-owns the app Deployment's replica count while it
/// is handed over to the autoscaler.
pub const HANDOVER_MANAGER: &str = "chatbot-operator-handover";

/// What converging did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Converged {
    /// `Kind/name` of every child applied.
    pub applied: Vec<String>,
    /// `Kind/name` of every child deleted.
    pub pruned: Vec<String>,
    /// Names of generated values added (never the values).
    pub generated: Vec<String>,
    /// Children that exist under the expected name but are not ours.
    pub conflicts: Vec<Blocker>,
}

impl Converged {
    /// Events worth publishing about what was done.
    pub fn notes(&self) -> Vec<Note> {
        let mut notes = Vec::new();
        if !self.pruned.is_empty() {
            notes.push(Note {
                warning: false,
                reason: "ChildrenPruned".into(),
                message: format!(
                    "removed what the spec no longer asks for: {}",
                    self.pruned.join(", ")
                ),
            });
        }
        if !self.generated.is_empty() {
            notes.push(Note {
                warning: false,
                reason: "SecretsGenerated".into(),
                message: format!(
                    "generated {} once; they are never rotated",
                    self.generated.join(", ")
                ),
            });
        }
        notes
    }
}

pub(super) fn kube_error(
    action: &'static str,
    kind: &'static str,
    name: &str,
) -> impl FnOnce(kube::Error) -> ReconcileError {
    let name = name.to_string();
    move |source| ReconcileError::Kube {
        action,
        kind,
        name,
        source,
    }
}

pub(super) fn is_status(error: &kube::Error, code: u16) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == code)
}

/// Applies `decision` for `cbd`.
pub async fn converge(
    client: &Client,
    cbd: &ChatbotDeployment,
    observed: &Observed,
    decision: &Decision,
) -> Result<Converged, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let mut done = Converged::default();

    if let Some(generate) = &decision.generate {
        match generate_values(client, cbd, &namespace, generate).await? {
            Ok(added) => done.generated = added,
            Err(conflict) => {
                // Pods must not start against a Secret that lacks their keys.
                done.conflicts.push(conflict);
                return Ok(done);
            }
        }
    }

    if let Some(replicas) = decision.replicas_handover {
        hand_over_replicas(client, &namespace, cbd, replicas).await?;
    }

    for child in &decision.apply {
        let kind = child.kind();
        let name = child.name();
        let label = format!("{}/{}", kind.type_meta().1, name);
        if !observed.children.contains_key(&kind) {
            // Not in the cache: make sure nobody else's object has this name
            // before applying over it (and skip a write the cache has not
            // caught up with).
            if let Some(metadata) = metadata_of(client, &namespace, kind, name).await? {
                match ownership(cbd, &metadata) {
                    Ownership::Foreign => {
                        done.conflicts.push(Blocker {
                            reason: "ChildConflict",
                            path: label.clone(),
                            message: format!(
                                "{label} exists and is not managed by this ChatbotDeployment; rename or remove it"
                            ),
                        });
                        continue;
                    }
                    Ownership::Ours
                        if metadata
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get(crate::render::names::keys::SPEC_HASH))
                            .map(String::as_str)
                            == child.spec_hash() =>
                    {
                        continue;
                    }
                    _ => {}
                }
            }
        }
        apply_child(client, &namespace, child).await?;
        done.applied.push(label);
    }

    for (kind, name, uid) in &decision.prune {
        delete_child(client, &namespace, *kind, name, uid.clone()).await?;
        done.pruned.push(format!("{}/{}", kind.type_meta().1, name));
    }
    Ok(done)
}

/// The kind name of a child type, for errors. k8s-openapi types carry it as
/// `k8s_openapi::Resource::KIND`; the Gateway API types come from their
/// CRDs and do not implement that trait.
pub(super) trait Typed {
    const KIND: &'static str;
}

macro_rules! typed {
    ($($type:ty),* $(,)?) => {
        $(impl Typed for $type {
            const KIND: &'static str = <$type as k8s_openapi::Resource>::KIND;
        })*
    };
}

typed!(
    ServiceAccount,
    ConfigMap,
    Service,
    Deployment,
    StatefulSet,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    Job,
    Ingress,
);

impl Typed for HttpRoute {
    const KIND: &'static str = "HTTPRoute";
}

impl Typed for PodMonitor {
    const KIND: &'static str = "PodMonitor";
}

impl Typed for PrometheusRule {
    const KIND: &'static str = "PrometheusRule";
}

async fn apply<K>(client: &Client, namespace: &str, object: &K) -> Result<(), ReconcileError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Typed
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let name = object.meta().name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map(|_| ())
    .map_err(kube_error("apply", K::KIND, &name))
}

async fn apply_child(
    client: &Client,
    namespace: &str,
    child: &Child,
) -> Result<(), ReconcileError> {
    match child.object() {
        Object::ServiceAccount(o) => apply(client, namespace, o).await,
        Object::ConfigMap(o) => apply(client, namespace, o).await,
        Object::Service(o) => apply(client, namespace, o).await,
        Object::Deployment(o) => apply(client, namespace, o.as_ref()).await,
        Object::StatefulSet(o) => apply(client, namespace, o.as_ref()).await,
        Object::HorizontalPodAutoscaler(o) => apply(client, namespace, o).await,
        Object::PodDisruptionBudget(o) => apply(client, namespace, o).await,
        Object::NetworkPolicy(o) => apply(client, namespace, o).await,
        Object::Job(o) => apply(client, namespace, o.as_ref()).await,
        Object::Ingress(o) => apply(client, namespace, o.as_ref()).await,
        Object::HttpRoute(o) => apply(client, namespace, o.as_ref()).await,
        Object::PodMonitor(o) => apply(client, namespace, o.as_ref()).await,
        Object::PrometheusRule(o) => apply(client, namespace, o.as_ref()).await,
    }
}

async fn metadata<K>(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<Option<ObjectMeta>, ReconcileError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Typed
        + Clone
        + Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.get_metadata_opt(name)
        .await
        .map(|found| found.map(|object| object.metadata))
        .map_err(kube_error("get", K::KIND, name))
}

async fn metadata_of(
    client: &Client,
    namespace: &str,
    kind: ChildKind,
    name: &str,
) -> Result<Option<ObjectMeta>, ReconcileError> {
    match kind.object_type() {
        ObjectType::ServiceAccount => metadata::<ServiceAccount>(client, namespace, name).await,
        ObjectType::ConfigMap => metadata::<ConfigMap>(client, namespace, name).await,
        ObjectType::Service => metadata::<Service>(client, namespace, name).await,
        ObjectType::Deployment => metadata::<Deployment>(client, namespace, name).await,
        ObjectType::StatefulSet => metadata::<StatefulSet>(client, namespace, name).await,
        ObjectType::HorizontalPodAutoscaler => {
            metadata::<HorizontalPodAutoscaler>(client, namespace, name).await
        }
        ObjectType::PodDisruptionBudget => {
            metadata::<PodDisruptionBudget>(client, namespace, name).await
        }
        ObjectType::NetworkPolicy => metadata::<NetworkPolicy>(client, namespace, name).await,
        ObjectType::Job => metadata::<Job>(client, namespace, name).await,
        ObjectType::Ingress => metadata::<Ingress>(client, namespace, name).await,
        ObjectType::HttpRoute => metadata::<HttpRoute>(client, namespace, name).await,
        ObjectType::PodMonitor => metadata::<PodMonitor>(client, namespace, name).await,
        ObjectType::PrometheusRule => metadata::<PrometheusRule>(client, namespace, name).await,
    }
}

async fn delete<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    uid: Option<String>,
) -> Result<(), ReconcileError>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Typed
        + Clone
        + Debug
        + DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        // Already gone: pruning is done.
        Err(error) if is_status(&error, 404) => Ok(()),
        Err(error) => Err(kube_error("delete", K::KIND, name)(error)),
    }
}

async fn delete_child(
    client: &Client,
    namespace: &str,
    kind: ChildKind,
    name: &str,
    uid: Option<String>,
) -> Result<(), ReconcileError> {
    match kind.object_type() {
        ObjectType::ServiceAccount => delete::<ServiceAccount>(client, namespace, name, uid).await,
        ObjectType::ConfigMap => delete::<ConfigMap>(client, namespace, name, uid).await,
        ObjectType::Service => delete::<Service>(client, namespace, name, uid).await,
        ObjectType::Deployment => delete::<Deployment>(client, namespace, name, uid).await,
        ObjectType::StatefulSet => delete::<StatefulSet>(client, namespace, name, uid).await,
        ObjectType::HorizontalPodAutoscaler => {
            delete::<HorizontalPodAutoscaler>(client, namespace, name, uid).await
        }
        ObjectType::PodDisruptionBudget => {
            delete::<PodDisruptionBudget>(client, namespace, name, uid).await
        }
        ObjectType::NetworkPolicy => delete::<NetworkPolicy>(client, namespace, name, uid).await,
        ObjectType::Job => delete::<Job>(client, namespace, name, uid).await,
        ObjectType::Ingress => delete::<Ingress>(client, namespace, name, uid).await,
        ObjectType::HttpRoute => delete::<HttpRoute>(client, namespace, name, uid).await,
        ObjectType::PodMonitor => delete::<PodMonitor>(client, namespace, name, uid).await,
        ObjectType::PrometheusRule => delete::<PrometheusRule>(client, namespace, name, uid).await,
    }
}

/// Server-side applies Deployment `name`'s replica count alone, under the
/// field manager of `params`.
pub(super) async fn apply_replicas(
    api: &Api<Deployment>,
    name: &str,
    replicas: i32,
    params: &PatchParams,
) -> Result<(), kube::Error> {
    let patch = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": name },
        "spec": { "replicas": replicas },
    });
    api.patch(name, params, &Patch::Apply(&patch))
        .await
        .map(|_| ())
}

/// A second field manager applies the current replica count, so when the
/// operator's own apply drops `spec.replicas` the value stays where it is
/// until the autoscaler changes it.
async fn hand_over_replicas(
    client: &Client,
    namespace: &str,
    cbd: &ChatbotDeployment,
    replicas: i32,
) -> Result<(), ReconcileError> {
    let name = cbd.name_any();
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let params = PatchParams::apply(HANDOVER_MANAGER);
    match apply_replicas(&api, &name, replicas, &params).await {
        Ok(()) => Ok(()),
        // Someone else already set another count: nothing to hand over.
        Err(error) if is_status(&error, 409) => Ok(()),
        Err(error) => Err(kube_error("apply", "Deployment", &name)(error)),
    }
}

pub(super) fn encode(values: BTreeMap<String, String>) -> BTreeMap<String, ByteString> {
    values
        .into_iter()
        .map(|(key, value)| (key, ByteString(value.into_bytes())))
        .collect()
}

/// Creates the Secret of generated values, or adds the keys it lacks.
/// Never changes a key that exists. `Err(blocker)` inside `Ok` when the
/// Secret belongs to someone else.
async fn generate_values(
    client: &Client,
    cbd: &ChatbotDeployment,
    namespace: &str,
    generate: &Generate,
) -> Result<Result<Vec<String>, Blocker>, ReconcileError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let name = generate.secret.as_str();
    if generate.create {
        let values = secrets::generate(&generate.keys).map_err(ReconcileError::RandomSource)?;
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(namespace.to_string()),
                labels: Some(generate.labels.clone()),
                owner_references: cbd.controller_owner_ref(&()).map(|o| vec![o]),
                ..Default::default()
            },
            type_: Some("Opaque".into()),
            data: Some(encode(values)),
            ..Default::default()
        };
        match api
            .create(
                &PostParams {
                    dry_run: false,
                    field_manager: Some(MANAGER.into()),
                },
                &secret,
            )
            .await
        {
            Ok(_) => return Ok(Ok(generate.keys.clone())),
            // Created by an earlier reconcile the cache has not seen yet:
            // fall through and add only what it lacks.
            Err(error) if is_status(&error, 409) => {}
            Err(error) => return Err(kube_error("create", "Secret", name)(error)),
        }
    }
    let existing = api
        .get_opt(name)
        .await
        .map_err(kube_error("get", "Secret", name))?;
    let Some(existing) = existing else {
        // Deleted in between; the next reconcile creates it.
        return Ok(Ok(Vec::new()));
    };
    if ownership(cbd, &existing.metadata) == Ownership::Foreign {
        return Ok(Err(Blocker {
            reason: "ChildConflict",
            path: format!("Secret/{name}"),
            message: format!(
                "Secret {name} exists and is not managed by this ChatbotDeployment; generated values are never written over someone else's Secret"
            ),
        }));
    }
    let present = existing
        .data
        .iter()
        .flat_map(|d| d.keys().cloned())
        .collect();
    let missing = secrets::keys_to_generate(&generate.keys, &present);
    if missing.is_empty() {
        return Ok(Ok(Vec::new()));
    }
    let values = secrets::generate(&missing).map_err(ReconcileError::RandomSource)?;
    // Merge patch: the listed keys are added, every other key is kept; the
    // resource version guards against a concurrent writer.
    let patch = json!({
        "metadata": { "resourceVersion": existing.metadata.resource_version },
        "data": encode(values),
    });
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(kube_error("patch", "Secret", name))?;
    Ok(Ok(missing))
}
