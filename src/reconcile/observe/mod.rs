//! What the cluster holds for one ChatbotDeployment, read from the caches
//! only: its children, the app Deployment's progress, and the key names of
//! the Secrets it refers to. Plain data, so the decision is a pure function.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::{
    api::{batch::v1::Job, core::v1::Secret},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{Resource, ResourceExt};

mod workload;

pub use workload::{Workload, workload};

use super::caches::{Stores, get};
use crate::{
    api::ChatbotDeployment,
    names,
    render::{ChildKind, ObjectType},
    rollout::revisions::Recovered,
    secrets::SecretReference,
};

/// Who a child with the expected name belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Controlled by this ChatbotDeployment.
    Ours,
    /// Made by this operator for a resource of the same name, now without a
    /// controller (e.g. left behind by `kubectl delete --cascade=orphan`):
    /// adopted on the next apply.
    Orphan,
    /// Something else: never overwritten.
    Foreign,
}

/// A child found under its expected name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedChild {
    pub name: String,
    /// The object's uid: deletes carry it as a precondition.
    pub uid: Option<String>,
    pub ownership: Ownership,
    /// The `chatbot.dev/spec-hash` it was applied with.
    pub spec_hash: Option<String>,
}

/// The Secret of generated values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedGenerated {
    pub ownership: Ownership,
    pub keys: BTreeSet<String>,
}

/// Everything a reconcile needs to know about the cluster.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Children by kind and name, at their expected names (an A/B test's
    /// candidates at each of theirs).
    pub children: BTreeMap<(ChildKind, String), ObservedChild>,
    pub workload: Option<Workload>,
    /// The candidate Deployment of a Canary or BlueGreen rollout, and the
    /// first candidate of an A/B test.
    pub candidate: Option<Workload>,
    /// An A/B test's further candidates' Deployments, by position (from 1).
    pub more_candidates: BTreeMap<usize, Workload>,
    /// An analysis round measured by this reconcile (the only observation
    /// that is not read from a cache).
    pub analysis_round: Option<crate::api::AnalysisRound>,
    /// An A/B test's variants (the baseline, then each candidate) measured
    /// by this reconcile: once the test's duration ended, or every round of
    /// a test judged as it goes.
    pub ab_variants: Option<crate::rollout::ab::MeasuredVariants>,
    /// The candidate's smoke checks run by this reconcile: passed, or why not.
    pub smoke: Option<Result<(), String>>,
    /// The app Deployment's `spec.replicas` while the operator's field
    /// manager owns it (handed to the autoscaler before it is dropped).
    pub replicas_owned: Option<i32>,
    /// Key names of each referenced Secret; `None` when it does not exist.
    pub secret_keys: BTreeMap<String, Option<BTreeSet<String>>>,
    pub generated: Option<ObservedGenerated>,
    /// Key names of the operator's connection Secrets (`<name>-db`,
    /// `<name>-cache`) that exist.
    pub connection_keys: BTreeMap<String, BTreeSet<String>>,
    /// This resource's migration Jobs by revision.
    pub migrations: BTreeMap<i64, ObservedMigration>,
    /// The in-cluster Postgres has a ready pod (migrations wait for it).
    pub in_cluster_database_ready: bool,
    /// The cluster does not serve Gateway API HTTPRoutes.
    pub gateway_api_missing: bool,
    /// The cluster does not serve the Prometheus Operator's kinds.
    pub monitoring_missing: bool,
    /// The config each revision ran with, as `<name>-config-history`
    /// keeps it.
    pub config_history: BTreeMap<i64, crate::render::config_history::Config>,
}

/// Where a migration Job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MigrationState {
    Running,
    Succeeded,
    Failed,
}

/// A migration Job of one revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObservedMigration {
    pub name: String,
    pub uid: Option<String>,
    pub state: MigrationState,
}

/// The state of a Job from its conditions (`Complete`, `Failed`).
pub fn migration_state(job: &Job) -> MigrationState {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .cloned()
        .unwrap_or_default();
    let holds = |type_: &str| {
        conditions
            .iter()
            .any(|c| c.type_ == type_ && c.status == "True")
    };
    if holds("Complete") {
        MigrationState::Succeeded
    } else if holds("Failed") {
        MigrationState::Failed
    } else {
        MigrationState::Running
    }
}

fn migrations(
    stores: &Stores,
    cbd: &ChatbotDeployment,
    namespace: &str,
    name: &str,
) -> BTreeMap<i64, ObservedMigration> {
    stores
        .jobs
        .state()
        .iter()
        .filter(|job| job.metadata.namespace.as_deref() == Some(namespace))
        .filter(|job| ownership(cbd, &job.metadata) == Ownership::Ours)
        .filter_map(|job| {
            let labels = job.metadata.labels.as_ref()?;
            if labels.get(names::keys::INSTANCE).map(String::as_str) != Some(name)
                || labels.get(names::keys::COMPONENT).map(String::as_str) != Some("migration")
            {
                return None;
            }
            let revision = labels.get(names::keys::REVISION)?.parse().ok()?;
            Some((
                revision,
                ObservedMigration {
                    name: job.metadata.name.clone()?,
                    uid: job.metadata.uid.clone(),
                    state: migration_state(job),
                },
            ))
        })
        .collect()
}

impl Observed {
    /// The revision whose migration Job is running, if one is.
    pub fn running_migration(&self) -> Option<i64> {
        self.migrations
            .iter()
            .find(|(_, m)| m.state == MigrationState::Running)
            .map(|(revision, _)| *revision)
    }

    /// The revision the cluster runs, for a history lost from status.
    pub fn recovered_revision(&self) -> Option<Recovered> {
        let workload = self.workload.as_ref()?;
        Some(Recovered {
            revision: workload.template_revision?,
            template_hash: workload.template_hash.clone()?,
        })
    }
}

/// Who owns an object, judged from its metadata.
pub fn ownership(cbd: &ChatbotDeployment, metadata: &ObjectMeta) -> Ownership {
    let controller = metadata
        .owner_references
        .iter()
        .flatten()
        .find(|owner| owner.controller == Some(true));
    match controller {
        Some(owner) if Some(&owner.uid) == cbd.metadata.uid.as_ref() => Ownership::Ours,
        Some(_) => Ownership::Foreign,
        None => {
            let labels = metadata.labels.as_ref();
            let label = |key: &str| labels.and_then(|l| l.get(key)).map(String::as_str);
            if label(names::keys::MANAGED_BY) == Some(names::MANAGER)
                && label(names::keys::INSTANCE) == cbd.metadata.name.as_deref()
            {
                Ownership::Orphan
            } else {
                Ownership::Foreign
            }
        }
    }
}

fn child_metadata(
    stores: &Stores,
    kind: ChildKind,
    namespace: &str,
    name: &str,
) -> Option<ObjectMeta> {
    fn meta<K: Resource>(object: Option<std::sync::Arc<K>>) -> Option<ObjectMeta> {
        object.map(|o| o.meta().clone())
    }
    match kind.object_type() {
        ObjectType::ServiceAccount => meta(get(&stores.service_accounts, namespace, name)),
        ObjectType::ConfigMap => meta(get(&stores.config_maps, namespace, name)),
        ObjectType::Service => meta(get(&stores.services, namespace, name)),
        ObjectType::Deployment => meta(get(&stores.deployments, namespace, name)),
        ObjectType::StatefulSet => meta(get(&stores.stateful_sets, namespace, name)),
        ObjectType::HorizontalPodAutoscaler => meta(get(&stores.autoscalers, namespace, name)),
        ObjectType::PodDisruptionBudget => meta(get(&stores.disruption_budgets, namespace, name)),
        ObjectType::NetworkPolicy => meta(get(&stores.network_policies, namespace, name)),
        ObjectType::Job => meta(get(&stores.jobs, namespace, name)),
        ObjectType::Ingress => meta(get(&stores.ingresses, namespace, name)),
        ObjectType::HttpRoute => meta(get(&stores.http_routes, namespace, name)),
        ObjectType::PodMonitor => meta(get(&stores.pod_monitors, namespace, name)),
        ObjectType::PrometheusRule => meta(get(&stores.prometheus_rules, namespace, name)),
    }
}

fn keys(secret: &Secret) -> BTreeSet<String> {
    secret.data.iter().flat_map(|d| d.keys().cloned()).collect()
}

/// The Secrets a reconcile of `name` reads, by name (metadata and key
/// names, never values): those its spec refers to, its generated values
/// and its stores' connection Secrets.
pub type ReadSecrets = BTreeMap<String, std::sync::Arc<Secret>>;

/// Reads what the caches hold for `cbd` and the Secrets it refers to.
pub fn gather(
    stores: &Stores,
    secrets: &ReadSecrets,
    cbd: &ChatbotDeployment,
    references: &[SecretReference],
) -> Observed {
    let (Some(namespace), Some(name)) = (
        cbd.metadata.namespace.as_deref(),
        cbd.metadata.name.as_deref(),
    ) else {
        return Observed::default();
    };
    let child_names = names::ChildNames::for_deployment(name);
    let mut children = BTreeMap::new();
    // Migration Jobs are named by revision and observed below; backup
    // and restore Jobs by id, in `backups` and `restore`.
    for kind in ChildKind::ALL
        .into_iter()
        .filter(|k| *k != ChildKind::MigrationJob && !k.is_job_template())
    {
        let child_names: Vec<String> = if kind.is_candidate() {
            (0..names::MAX_CANDIDATES)
                .map(|position| child_names.candidate_at(position))
                .collect()
        } else {
            vec![kind.name_in(&child_names).to_string()]
        };
        for child_name in child_names {
            if let Some(metadata) = child_metadata(stores, kind, namespace, &child_name) {
                children.insert(
                    (kind, child_name.clone()),
                    ObservedChild {
                        name: child_name,
                        uid: metadata.uid.clone(),
                        ownership: ownership(cbd, &metadata),
                        spec_hash: metadata
                            .annotations
                            .as_ref()
                            .and_then(|a| a.get(names::keys::SPEC_HASH))
                            .cloned(),
                    },
                );
            }
        }
    }
    let app = get(&stores.deployments, namespace, &child_names.deployment)
        .filter(|d| ownership(cbd, &d.metadata) == Ownership::Ours);
    let candidate_at = |position| {
        get(
            &stores.deployments,
            namespace,
            &child_names.candidate_at(position),
        )
        .filter(|d| ownership(cbd, &d.metadata) == Ownership::Ours)
    };
    let candidate = candidate_at(0);
    let more_candidates = (1..names::MAX_CANDIDATES)
        .filter_map(|position| Some((position, workload(candidate_at(position)?.as_ref()))))
        .collect();
    let secret_keys = references
        .iter()
        .map(|reference| {
            let found = secrets.get(&reference.secret).map(|s| keys(s));
            (reference.secret.clone(), found)
        })
        .collect();
    let generated = secrets
        .get(&child_names.generated_secret)
        .map(|secret| ObservedGenerated {
            ownership: ownership(cbd, &secret.metadata),
            keys: keys(secret),
        });
    let connection_keys = [&child_names.database_secret, &child_names.cache_secret]
        .into_iter()
        .filter_map(|name| {
            let secret = secrets.get(name)?;
            Some((name.clone(), keys(secret)))
        })
        .collect();
    let config_history = get(&stores.config_maps, namespace, &child_names.config_history)
        .filter(|c| ownership(cbd, &c.metadata) == Ownership::Ours)
        .and_then(|c| c.data.as_ref().map(crate::render::config_history::parse))
        .unwrap_or_default();
    let in_cluster_database_ready = get(
        &stores.stateful_sets,
        namespace,
        &child_names.database_store,
    )
    .and_then(|s| s.status.as_ref()?.ready_replicas)
    .unwrap_or(0)
        > 0;
    Observed {
        in_cluster_database_ready,
        gateway_api_missing: !stores.gateway_api(),
        monitoring_missing: !stores.monitoring(),
        migrations: migrations(stores, cbd, namespace, name),
        connection_keys,
        children,
        workload: app.as_deref().map(workload),
        candidate: candidate.as_deref().map(workload),
        more_candidates,
        analysis_round: None,
        ab_variants: None,
        smoke: None,
        replicas_owned: app
            .as_deref()
            .filter(|d| workload::owns_replicas(d))
            .and_then(|d| d.spec.as_ref()?.replicas),
        secret_keys,
        generated,
        config_history,
    }
}

/// The ChatbotDeployments in `namespace` that refer to Secret `secret`
/// (or own it), so a Secret appearing triggers their reconcile.
pub fn referring_to_secret<'a>(
    chatbots: impl IntoIterator<Item = &'a ChatbotDeployment>,
    resolve: impl Fn(&ChatbotDeployment) -> Vec<SecretReference>,
    secret: &impl Resource,
) -> Vec<kube::runtime::reflector::ObjectRef<ChatbotDeployment>> {
    let namespace = secret.namespace();
    let name = secret.name_any();
    chatbots
        .into_iter()
        .filter(|cbd| cbd.namespace() == namespace)
        .filter(|cbd| {
            secret
                .owner_references()
                .iter()
                .any(|owner| Some(&owner.uid) == cbd.metadata.uid.as_ref())
                || resolve(cbd).iter().any(|r| r.secret == name)
        })
        .map(kube::runtime::reflector::ObjectRef::from)
        .collect()
}
