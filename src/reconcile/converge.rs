//! Applying a decision: server-side apply of the children under one field
//! manager, pruning what the spec no longer asks for, and creating the
//! generated values once. The only module of the reconciler that writes.

use std::{collections::BTreeMap, fmt::Debug};

use k8s_openapi::{
    ByteString,
    api::{apps::v1::Deployment, core::v1::Secret},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions},
};
use serde_json::json;
use tracing::info;

use super::{
    caches::SecretKeys,
    context::Context,
    decide::{Decision, Generate},
    error::{ReconcileError, is_status, kube_error},
    migration,
    observe::{MigrationState, Observed, Ownership, ownership},
    outcome::{Blocker, Note, Outcome, Pace},
    rollback,
    status::Assessment,
};
use crate::{
    api::ChatbotDeployment,
    names::MANAGER,
    render::{Child, ChildKind, ObjectType},
    secrets,
};

/// The children applied and pruned as decided, an on-call hold lifted
/// when the spec moved on, and a failed migration's log read for status.
pub async fn children(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    observed: &Observed,
    decision: &Decision,
    assessment: &mut Assessment,
) -> Result<Outcome, ReconcileError> {
    let converged = converge(
        &ctx.client,
        &ctx.stores.secret_keys,
        cbd,
        observed,
        decision,
    )
    .await?;
    if decision.release_hold {
        rollback::release(&ctx.client, cbd).await?;
        info!("the spec changed since the on-call rollback: its hold is lifted");
    }
    if !converged.applied.is_empty() || !converged.pruned.is_empty() {
        info!(applied = ?converged.applied, pruned = ?converged.pruned, "children converged");
    }
    if let Some(failed) = assessment
        .migration
        .as_mut()
        .filter(|m| m.state == MigrationState::Failed)
    {
        let namespace = cbd.namespace().unwrap_or_default();
        failed.log_tail = migration::log_tail(&ctx.client, &namespace, &failed.job).await;
    }
    Ok(converged.outcome())
}

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
    /// What applying asks of the loop: its Events, and the first child
    /// that is not ours as the blocker.
    pub fn outcome(&self) -> Outcome {
        let blocker = self.conflicts.first().cloned();
        Outcome {
            notes: self.notes(),
            pace: blocker.as_ref().map(|_| Pace::Blocked),
            blocker,
            ..Outcome::default()
        }
    }

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

/// Applies `decision` for `cbd`.
pub async fn converge(
    client: &Client,
    secret_keys: &SecretKeys,
    cbd: &ChatbotDeployment,
    observed: &Observed,
    decision: &Decision,
) -> Result<Converged, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let mut done = Converged::default();

    if let Some(generate) = &decision.generate {
        match generate_values(client, secret_keys, cbd, &namespace, generate).await? {
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
        if !observed.children.contains_key(&(kind, name.to_string())) {
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
                            .and_then(|a| a.get(crate::names::keys::SPEC_HASH))
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

/// The API of `object_type`'s objects in `namespace`. Children are applied,
/// read and pruned untyped: the typed object was checked when it was
/// built, and one path serves every kind, the CRD kinds with the rest.
fn api_of(client: &Client, namespace: &str, object_type: ObjectType) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &object_type.api_resource())
}

async fn apply_child(
    client: &Client,
    namespace: &str,
    child: &Child,
) -> Result<(), ReconcileError> {
    let object_type = child.kind().object_type();
    let name = child.name();
    api_of(client, namespace, object_type)
        .patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(child),
        )
        .await
        .map(|_| ())
        .map_err(kube_error("apply", object_type.type_meta().1, name))
}

async fn metadata_of(
    client: &Client,
    namespace: &str,
    kind: ChildKind,
    name: &str,
) -> Result<Option<ObjectMeta>, ReconcileError> {
    let object_type = kind.object_type();
    api_of(client, namespace, object_type)
        .get_metadata_opt(name)
        .await
        .map(|found| found.map(|object| object.metadata))
        .map_err(kube_error("get", object_type.type_meta().1, name))
}

async fn delete_child(
    client: &Client,
    namespace: &str,
    kind: ChildKind,
    name: &str,
    uid: Option<String>,
) -> Result<(), ReconcileError> {
    let object_type = kind.object_type();
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid,
            resource_version: None,
        }),
        ..DeleteParams::background()
    };
    match api_of(client, namespace, object_type)
        .delete(name, &params)
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: pruning is done.
        Err(error) if is_status(&error, 404) => Ok(()),
        Err(error) => Err(kube_error("delete", object_type.type_meta().1, name)(error)),
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
/// Secret belongs to someone else. The key names of what it writes are
/// remembered, so the next reconcile does not read the Secret again.
async fn generate_values(
    client: &Client,
    secret_keys: &SecretKeys,
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
            Ok(written) => {
                secret_keys.remember(written);
                return Ok(Ok(generate.keys.clone()));
            }
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
        return Ok(Err(Generate::foreign(name)));
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
    let written = api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map_err(kube_error("patch", "Secret", name))?;
    secret_keys.remember(written);
    Ok(Ok(missing))
}
