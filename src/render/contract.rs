//! The app contract: the ConfigMap's data every app reads, and the
//! container's environment (the revision, connection URLs and secrets by
//! reference, then the spec's own). A spec may not set what the contract
//! owns.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;

use super::{env::secret_env, error::RenderError};
use crate::{
    api::{ChatbotDeploymentSpec, RateLimitBackend, SecretKeyRef, StoreMode},
    defaults as fallback,
    names::ChildNames,
};

/// Keys of the app contract the operator sets; a spec may not set them by
/// hand, because two sources of truth for `PORT` is how outages start.
const CONTRACT_KEYS: [(&str, &str); 12] = [
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
    ("CHATBOT_VARIANT", "spec.rollout.abTest.variants"),
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

pub(super) fn reject_contract_key(path: String, key: &str) -> Result<(), RenderError> {
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
pub(super) fn app_config(
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

    rate_limit_config(spec, &mut set);
    for (key, value) in spec.config.clone().unwrap_or_default() {
        check_config_key(&format!("spec.config.{key}"), &key)?;
        config.insert(key, value);
    }
    Ok(config)
}

/// A `config` key (of the spec, or of an A/B overlay at `path`): an
/// environment variable name that the app contract does not set.
pub(super) fn check_config_key(path: &str, key: &str) -> Result<(), RenderError> {
    if !is_env_name(key) {
        return Err(RenderError::Spec {
            path: path.to_string(),
            message: "keys must be environment variable names (letters, digits and _, not starting with a digit)".into(),
        });
    }
    reject_contract_key(path.to_string(), key)
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
pub(super) fn app_env(
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

/// The rate limiter's settings: on when any limit is set, its backend
/// Redis when there is a cache, and each tier's limits.
fn rate_limit_config(spec: &ChatbotDeploymentSpec, set: &mut impl FnMut(&str, String)) {
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
}
