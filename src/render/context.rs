//! The render context: every value a template needs, computed from the
//! resolved spec by plain functions. Templates decide the shape of a
//! child; this module decides its values, including the app contract.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{ConfigMapEnvSource, EnvFromSource, EnvVar, ResourceRequirements},
    apimachinery::pkg::api::resource::Quantity,
};
use serde::Serialize;

pub use super::network::{Network, Route};
use super::{
    contract::{app_config, app_env},
    env::secret_env,
    error::RenderError,
    network::{ingress_peers, route},
};
use crate::{
    api::ChatbotDeploymentSpec,
    defaults as fallback,
    hash::hash_hex,
    names::{self, ChildNames},
};

/// Autoscaler bounds, present when `replicas.max > replicas.min`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Autoscaling {
    pub min: i32,
    pub max: i32,
    pub target_cpu_utilization: i32,
}

/// Probe settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Probes {
    pub startup_path: String,
    pub readiness_path: String,
    pub liveness_path: String,
    pub period_seconds: i32,
    pub startup_failure_threshold: i32,
}

/// Everything the templates read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RenderContext {
    pub name: String,
    pub namespace: Option<String>,
    pub environment: String,
    pub image: String,
    pub port: i32,
    pub revision: i64,
    pub names: ChildNames,
    pub selector_labels: BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub pod_labels: BTreeMap<String, String>,
    /// Non-secret app environment, the ConfigMap's data.
    pub config: BTreeMap<String, String>,
    pub config_hash: String,
    /// Per-container environment: the revision and every secret reference.
    pub env: Vec<EnvVar>,
    pub env_from: Vec<EnvFromSource>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub resources: ResourceRequirements,
    /// Fixed replica count; `None` when an autoscaler owns it.
    pub replicas: Option<i32>,
    pub autoscaling: Option<Autoscaling>,
    /// Whether a PodDisruptionBudget protects the pods (two or more replicas).
    pub disruption_budget: bool,
    pub probes: Probes,
    pub termination_grace_period_seconds: i64,
    pub revision_history_limit: i32,
    pub progress_deadline_seconds: i32,
    pub network: Network,
    /// The maintenance page, when `spec.maintenance` is set.
    pub maintenance: Option<super::maintenance::MaintenanceContext>,
    pub websockets: bool,
    /// Data services run in the cluster: Postgres, Redis, PgBouncer.
    pub stores: super::stores::StoresContext,
    /// The schema migration run before this revision's pods start.
    pub migration: Option<MigrationContext>,
    /// What every backup Job runs.
    pub backup: Option<super::backup::BackupContext>,
}

/// A migration Job: the revision's image and environment, the spec's
/// command, and Postgres itself rather than the pooler (transaction
/// pooling breaks the session locks migration tools take).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MigrationContext {
    pub command: Vec<String>,
    pub timeout_seconds: i32,
    pub env: Vec<EnvVar>,
    pub labels: BTreeMap<String, String>,
}

/// Longest a migration runs when the spec does not say.
pub const MIGRATION_TIMEOUT_SECONDS: i32 = 600;

fn migration(
    name: &str,
    spec: &ChatbotDeploymentSpec,
    names: &ChildNames,
    env: &[EnvVar],
    revision: i64,
) -> Option<MigrationContext> {
    let database = spec.database.clone().unwrap_or_default();
    let migrations = database.migrations?;
    let pooled = database
        .pooler
        .as_ref()
        .and_then(|p| p.enabled)
        .unwrap_or(false);
    let env = env
        .iter()
        .cloned()
        .map(|mut var| {
            if pooled && var.name == "DATABASE_URL" {
                var = secret_env(
                    "DATABASE_URL",
                    &names.database_secret,
                    crate::data::connection::DIRECT_URL_KEY,
                );
            }
            var
        })
        .collect();
    let mut labels = names::store_selector_labels(name, "migration");
    labels.insert(names::keys::REVISION.into(), revision.to_string());
    Some(MigrationContext {
        command: migrations.command,
        timeout_seconds: migrations
            .timeout_seconds
            .unwrap_or(MIGRATION_TIMEOUT_SECONDS),
        env,
        labels,
    })
}

/// Builds the context for one resolved spec.
pub fn build(
    name: &str,
    namespace: Option<&str>,
    spec: &ChatbotDeploymentSpec,
    revision: i64,
) -> Result<RenderContext, RenderError> {
    let mut names = ChildNames::for_deployment(name);
    names.migration_job = names::migration_job(name, revision);
    let port = spec.port.unwrap_or(fallback::PORT);
    let websockets = spec.websockets.unwrap_or(false);

    let (min, autoscaling) = autoscaling(spec)?;

    let probes = probes(spec);

    let (idle_timeout_seconds, termination_grace_period_seconds) = timeouts(spec, websockets);

    let config = app_config(spec, port)?;
    let config_hash = hash_hex(&serde_json::to_vec(&config).unwrap_or_default());
    let env = app_env(spec, &names, revision)?;
    let env_from = env_from(spec, &names);

    let selector_labels = names::selector_labels(name);
    let common_labels = names::common_labels(name, &spec.environment, &spec.image);
    let mut pod_labels = common_labels.clone();
    pod_labels.insert(names::keys::REVISION.into(), revision.to_string());

    let rollout = spec.rollout.clone().unwrap_or_default();
    let stores = super::stores::build(name, spec)?;
    let migration = migration(name, spec, &names, &env, revision);
    let backup = super::backup::context(name, namespace, spec, &names)?;
    Ok(RenderContext {
        stores,
        migration,
        backup,
        name: name.to_string(),
        namespace: namespace.map(str::to_string),
        environment: spec.environment.clone(),
        image: spec.image.clone(),
        port,
        revision,
        names,
        selector_labels,
        common_labels,
        pod_labels,
        config,
        config_hash,
        env,
        env_from,
        command: spec.command.clone(),
        args: spec.args.clone(),
        resources: resources(spec.resources.clone()),
        replicas: autoscaling.is_none().then_some(min),
        disruption_budget: min >= 2,
        autoscaling,
        probes,
        termination_grace_period_seconds,
        revision_history_limit: rollout
            .revision_history_limit
            .unwrap_or(fallback::REVISION_HISTORY),
        progress_deadline_seconds: rollout
            .progress_deadline_seconds
            .unwrap_or(fallback::PROGRESS_DEADLINE),
        network: Network {
            ingress_from: ingress_peers(spec, namespace),
            guarded_components: std::iter::once("app".to_string())
                .chain(names::candidate_components())
                .chain(std::iter::once("maintenance".to_string()))
                .collect(),
            idle_timeout_seconds,
            route: route(spec),
        },
        maintenance: super::maintenance::context(spec, name),
        websockets,
    })
}

/// Requests and limits, with fallbacks for whichever the spec leaves out.
/// The replicas when there is no autoscaler, and the autoscaler's bounds
/// when `replicas.max > replicas.min`.
fn autoscaling(spec: &ChatbotDeploymentSpec) -> Result<(i32, Option<Autoscaling>), RenderError> {
    let replicas = spec.replicas.clone().unwrap_or_default();
    let (min, max) = replicas.bounds();
    if max < min {
        return Err(RenderError::Spec {
            path: "spec.replicas".into(),
            message: format!(
                "min ({min}) is greater than max ({max}) after applying environment defaults"
            ),
        });
    }
    let autoscaling = (max > min).then(|| Autoscaling {
        min,
        max,
        target_cpu_utilization: replicas
            .target_cpu_utilization
            .unwrap_or(fallback::TARGET_CPU),
    });
    Ok((min, autoscaling))
}

/// The startup, readiness and liveness probes, from `spec.health`.
fn probes(spec: &ChatbotDeploymentSpec) -> Probes {
    let health = spec.health.clone().unwrap_or_default();
    let health_path = health.path.unwrap_or_else(|| fallback::HEALTH_PATH.into());
    let startup_seconds = health.startup_seconds.unwrap_or(fallback::STARTUP_SECONDS);
    Probes {
        startup_path: health_path.clone(),
        readiness_path: health.readiness_path.unwrap_or_else(|| health_path.clone()),
        liveness_path: health.liveness_path.unwrap_or(health_path),
        period_seconds: health.period_seconds.unwrap_or(fallback::PERIOD_SECONDS),
        startup_failure_threshold: (startup_seconds + 4) / 5,
    }
}

/// How long an idle connection stays open, and how long a stopping pod
/// has to finish its streams.
fn timeouts(spec: &ChatbotDeploymentSpec, websockets: bool) -> (i32, i64) {
    let traffic = spec.traffic.clone().unwrap_or_default();
    let idle_timeout_seconds = traffic.idle_timeout_seconds.unwrap_or(if websockets {
        fallback::STREAM_IDLE_SECONDS
    } else {
        fallback::REQUEST_IDLE_SECONDS
    });
    let termination_grace_period_seconds = if websockets {
        i64::from(idle_timeout_seconds).clamp(fallback::GRACE_SECONDS, 3600)
    } else {
        fallback::GRACE_SECONDS
    };
    (idle_timeout_seconds, termination_grace_period_seconds)
}

/// The app's ConfigMap first, then the spec's own `envFrom`.
fn env_from(spec: &ChatbotDeploymentSpec, names: &ChildNames) -> Vec<EnvFromSource> {
    let mut env_from = vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: names.config_map.clone(),
            optional: Some(false),
        }),
        ..Default::default()
    }];
    env_from.extend(spec.env_from.clone().unwrap_or_default());
    env_from
}

fn resources(spec: Option<ResourceRequirements>) -> ResourceRequirements {
    let mut resources = spec.unwrap_or_default();
    let fill = |map: &mut Option<BTreeMap<String, Quantity>>, cpu: &str, memory: &str| {
        let map = map.get_or_insert_with(BTreeMap::new);
        map.entry("cpu".into())
            .or_insert_with(|| Quantity(cpu.into()));
        map.entry("memory".into())
            .or_insert_with(|| Quantity(memory.into()));
    };
    fill(
        &mut resources.requests,
        fallback::CPU_REQUEST,
        fallback::MEMORY_REQUEST,
    );
    fill(
        &mut resources.limits,
        fallback::CPU_LIMIT,
        fallback::MEMORY_LIMIT,
    );
    resources
}
