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
    env::secret_env,
    error::RenderError,
    network::{ingress_peers, route},
};
use crate::{
    api::{ChatbotDeploymentSpec, RateLimitBackend, SecretKeyRef, StoreMode},
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

    let health = spec.health.clone().unwrap_or_default();
    let health_path = health.path.unwrap_or_else(|| fallback::HEALTH_PATH.into());
    let startup_seconds = health.startup_seconds.unwrap_or(fallback::STARTUP_SECONDS);
    let probes = Probes {
        startup_path: health_path.clone(),
        readiness_path: health.readiness_path.unwrap_or_else(|| health_path.clone()),
        liveness_path: health.liveness_path.unwrap_or(health_path),
        period_seconds: health.period_seconds.unwrap_or(fallback::PERIOD_SECONDS),
        startup_failure_threshold: (startup_seconds + 4) / 5,
    };

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

    let config = app_config(spec, port)?;
    let config_hash = hash_hex(&serde_json::to_vec(&config).unwrap_or_default());
    let env = app_env(spec, &names, revision)?;
    let mut env_from = vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: names.config_map.clone(),
            optional: Some(false),
        }),
        ..Default::default()
    }];
    env_from.extend(spec.env_from.clone().unwrap_or_default());

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
            idle_timeout_seconds,
            route: route(spec),
        },
        maintenance: super::maintenance::context(spec, name),
        websockets,
    })
}

/// Requests and limits, with fallbacks for whichever the spec leaves out.
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

/// Keys of the app contract the operator sets; a spec may not set them by
/// hand, because two sources of truth for `PORT` is how outages start.
const CONTRACT_KEYS: [(&str, &str); 11] = [
    ("PORT", "spec.port"),
    ("ENVIRONMENT", "spec.environment"),
    ("LOG_LEVEL", "spec.observability.logLevel"),
    ("WEB_CONCURRENCY", "spec.workers"),
    ("DB_POOL_SIZE", "spec.database.pool.size"),
    ("DB_MAX_OVERFLOW", "spec.database.pool.maxOverflow"),
    ("CORS_ALLOWED_ORIGINS", "spec.traffic.corsAllowedOrigins"),
    ("DATABASE_URL", "spec.database"),
    ("REDIS_URL", "spec.cache"),
    ("SENTRY_DSN", "spec.observability.sentryDsnSecretRef"),
    ("CHATBOT_REVISION", "the revision history"),
];

/// The spec field that sets a contract variable; every `RATE_LIMIT_*` is
/// the rate limiter's.
fn contract_owner(key: &str) -> Option<&'static str> {
    if key.starts_with("RATE_LIMIT_") {
        return Some("spec.rateLimits");
    }
    CONTRACT_KEYS
        .iter()
        .find(|(contract, _)| *contract == key)
        .map(|(_, field)| *field)
}

fn reject_contract_key(path: String, key: &str) -> Result<(), RenderError> {
    match contract_owner(key) {
        Some(field) => Err(RenderError::Spec {
            path,
            message: format!(
                "{key} is part of the app contract and is set from {field}; set that field instead"
            ),
        }),
        None => Ok(()),
    }
}

/// The non-secret app environment: the ConfigMap's data.
fn app_config(
    spec: &ChatbotDeploymentSpec,
    port: i32,
) -> Result<BTreeMap<String, String>, RenderError> {
    let mut config = BTreeMap::new();
    let mut set = |key: &str, value: String| {
        config.insert(key.to_string(), value);
    };
    set("PORT", port.to_string());
    set("ENVIRONMENT", spec.environment.clone());
    let observability = spec.observability.clone().unwrap_or_default();
    set(
        "LOG_LEVEL",
        observability
            .log_level
            .unwrap_or_else(|| fallback::LOG_LEVEL.into()),
    );
    if let Some(workers) = spec.workers {
        set("WEB_CONCURRENCY", workers.to_string());
    }
    let database = spec.database.clone().unwrap_or_default();
    if database.mode.unwrap_or_default().is_enabled() {
        let pool = database.pool.unwrap_or_default();
        set(
            "DB_POOL_SIZE",
            pool.size.unwrap_or(fallback::DB_POOL_SIZE).to_string(),
        );
        set(
            "DB_MAX_OVERFLOW",
            pool.max_overflow
                .unwrap_or(fallback::DB_MAX_OVERFLOW)
                .to_string(),
        );
    }
    let origins = spec
        .traffic
        .as_ref()
        .and_then(|t| t.cors_allowed_origins.clone())
        .unwrap_or_default();
    set("CORS_ALLOWED_ORIGINS", origins.join(","));

    let limits = spec.rate_limits.clone().unwrap_or_default();
    let tiers = limits.tiers.clone().unwrap_or_default();
    let enabled =
        !tiers.is_empty() || limits.auth.is_some() || limits.edge_per_ip_per_minute.is_some();
    set("RATE_LIMIT_ENABLED", enabled.to_string());
    if enabled {
        let cache_enabled = spec
            .cache
            .as_ref()
            .and_then(|c| c.mode)
            .unwrap_or_default()
            .is_enabled();
        let backend = match limits.backend {
            Some(RateLimitBackend::Memory) => "memory",
            Some(RateLimitBackend::Redis) => "redis",
            None if cache_enabled => "redis",
            None => "memory",
        };
        set("RATE_LIMIT_BACKEND", backend.into());
        set(
            "RATE_LIMIT_FALLBACK_TO_MEMORY",
            limits.fallback_to_memory.unwrap_or(true).to_string(),
        );
        for tier in &tiers {
            let tier_key = tier.name.to_ascii_uppercase().replace('-', "_");
            if let Some(per_minute) = tier.requests_per_minute {
                set(
                    &format!("RATE_LIMIT_{tier_key}_PER_MINUTE"),
                    per_minute.to_string(),
                );
            }
            if let Some(per_hour) = tier.requests_per_hour {
                set(
                    &format!("RATE_LIMIT_{tier_key}_PER_HOUR"),
                    per_hour.to_string(),
                );
            }
        }
        if let Some(auth) = &limits.auth {
            set("RATE_LIMIT_AUTH_ATTEMPTS", auth.attempts.to_string());
            set(
                "RATE_LIMIT_AUTH_WINDOW_SECONDS",
                (auth.window_minutes * 60).to_string(),
            );
        }
        if let Some(edge) = limits.edge_per_ip_per_minute {
            set("RATE_LIMIT_EDGE_PER_IP_PER_MINUTE", edge.to_string());
        }
    }
    for (key, value) in spec.config.clone().unwrap_or_default() {
        if !is_env_name(&key) {
            return Err(RenderError::Spec {
                path: format!("spec.config.{key}"),
                message: "keys must be environment variable names (letters, digits and _, not starting with a digit)".into(),
            });
        }
        reject_contract_key(format!("spec.config.{key}"), &key)?;
        config.insert(key, value);
    }
    Ok(config)
}

fn is_env_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn store_url(
    env: &str,
    mode: StoreMode,
    operator_secret: &str,
    external: Option<&SecretKeyRef>,
) -> Option<EnvVar> {
    match (mode, external) {
        (StoreMode::None, _) => None,
        (StoreMode::External, Some(reference)) => {
            Some(secret_env(env, &reference.name, &reference.key))
        }
        _ => Some(secret_env(env, operator_secret, env)),
    }
}

/// The per-container environment: revision, connection URLs and every
/// secret by reference, then the spec's own `env`.
fn app_env(
    spec: &ChatbotDeploymentSpec,
    names: &ChildNames,
    revision: i64,
) -> Result<Vec<EnvVar>, RenderError> {
    let mut env = vec![EnvVar {
        name: "CHATBOT_REVISION".into(),
        value: Some(revision.to_string()),
        ..Default::default()
    }];
    let database = spec.database.clone().unwrap_or_default();
    env.extend(store_url(
        "DATABASE_URL",
        database.mode.unwrap_or_default(),
        &names.database_secret,
        database.url_secret_ref.as_ref(),
    ));
    let cache = spec.cache.clone().unwrap_or_default();
    env.extend(store_url(
        "REDIS_URL",
        cache.mode.unwrap_or_default(),
        &names.cache_secret,
        cache.url_secret_ref.as_ref(),
    ));
    if let Some(dsn) = spec
        .observability
        .as_ref()
        .and_then(|o| o.sentry_dsn_secret_ref.as_ref())
    {
        env.push(secret_env("SENTRY_DSN", &dsn.name, &dsn.key));
    }
    let secrets = spec.secrets.clone().unwrap_or_default();
    for (index, required) in secrets.required.unwrap_or_default().iter().enumerate() {
        reject_contract_key(format!("spec.secrets.required[{index}].env"), &required.env)?;
        env.push(secret_env(
            &required.env,
            &required.secret_name,
            &required.key,
        ));
    }
    for (index, generated) in secrets.generated.unwrap_or_default().iter().enumerate() {
        reject_contract_key(format!("spec.secrets.generated[{index}]"), generated)?;
        env.push(secret_env(generated, &names.generated_secret, generated));
    }
    for (index, extra) in spec.env.clone().unwrap_or_default().into_iter().enumerate() {
        reject_contract_key(format!("spec.env[{index}].name"), &extra.name)?;
        env.push(extra);
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(repeated) = env.iter().find(|var| !seen.insert(var.name.as_str())) {
        return Err(RenderError::Spec {
            path: "spec".into(),
            message: format!(
                "environment variable {} is set twice across secrets.required, secrets.generated and env",
                repeated.name
            ),
        });
    }
    Ok(env)
}
