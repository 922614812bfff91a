//! Capacity checks, pure: database connections the app can open against
//! the connection limit of the store, and the cache's expected working set
//! against its memory. A check at 80% or more warns; over 100% fails.

use serde::Serialize;

use crate::{
    api::{ChatbotDeploymentSpec, StoreMode, Strategy},
    defaults as fallback, prices,
};

/// Share of a limit at which a check warns.
pub const HEADROOM_WARNING: f64 = 0.8;
/// Bytes of instance memory per Postgres connection in RDS's default
/// `max_connections` formula: LEAST(DBInstanceClassMemory / 9531392, 5000).
pub const RDS_BYTES_PER_CONNECTION: f64 = 9_531_392.0;
/// Upper bound of RDS's default `max_connections`.
pub const RDS_MAX_CONNECTIONS: f64 = 5000.0;
/// Connections RDS keeps for its own superuser.
pub const RDS_RESERVED_CONNECTIONS: f64 = 3.0;
/// Postgres's own default `max_connections`, used by in-cluster stores.
pub const POSTGRES_DEFAULT_MAX_CONNECTIONS: f64 = 100.0;

/// Verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum CheckStatus {
    /// Under 80% of the limit.
    Ok,
    /// At 80% or more.
    Warning,
    /// Over the limit.
    Exceeded,
}

/// One capacity check with its arithmetic.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityCheck {
    /// What is checked, e.g. `database connections`.
    pub resource: String,
    /// The spec field that sizes the demand, e.g. `spec.database.pool`.
    pub field: String,
    pub needed: f64,
    pub limit: f64,
    /// `needed / limit` in percent.
    pub percent: f64,
    pub status: CheckStatus,
    pub arithmetic: Vec<String>,
}

fn verdict(
    resource: &str,
    field: &str,
    needed: f64,
    limit: f64,
    arithmetic: Vec<String>,
) -> CapacityCheck {
    let ratio = if limit > 0.0 {
        needed / limit
    } else {
        f64::INFINITY
    };
    let status = if ratio > 1.0 {
        CheckStatus::Exceeded
    } else if ratio >= HEADROOM_WARNING {
        CheckStatus::Warning
    } else {
        CheckStatus::Ok
    };
    CapacityCheck {
        resource: resource.into(),
        field: field.into(),
        needed,
        limit,
        percent: (ratio * 1000.0).round() / 10.0,
        status,
        arithmetic,
    }
}

/// Most app pods that can run at once: the autoscaler's maximum plus the
/// rollout's extra pods (25% surge for rolling and canary, a second full
/// set for blue-green and an A/B test's candidate, one per candidate of
/// several).
pub fn peak_pods(spec: &ChatbotDeploymentSpec) -> (i64, String) {
    let (min, max) = spec.replicas.clone().unwrap_or_default().bounds();
    let max = i64::from(max.max(min));
    let strategy = spec
        .rollout
        .as_ref()
        .and_then(|r| r.strategy)
        .unwrap_or_default();
    let candidates = spec
        .rollout
        .as_ref()
        .and_then(|r| r.ab_test.as_ref())
        .map_or(0, |test| {
            test.variants
                .iter()
                .filter(|v| v.baseline != Some(true))
                .count()
        });
    match strategy {
        Strategy::AbTest if candidates > 1 => {
            let sets = 1 + candidates as i64;
            (
                sets * max,
                format!(
                    "peak pods = {sets} × {max} max replicas (AbTest runs the baseline and {candidates} candidates) = {}",
                    sets * max
                ),
            )
        }
        Strategy::BlueGreen | Strategy::AbTest => (
            2 * max,
            format!(
                "peak pods = 2 × {max} max replicas ({strategy:?} runs two sets) = {}",
                2 * max
            ),
        ),
        Strategy::Rolling | Strategy::Canary => {
            let surge = (max + 3) / 4;
            (
                max + surge,
                format!(
                    "peak pods = {max} max replicas + {surge} surge (25%) = {}",
                    max + surge
                ),
            )
        }
    }
}

/// Connection limit of the database, with its derivation; `None` when the
/// store is external or unknown.
/// The database's connection limit and how it was reached; `None` for an
/// external database or none.
pub fn connection_limit(spec: &ChatbotDeploymentSpec) -> Option<(f64, String)> {
    let database = spec.database.as_ref()?;
    match database.mode.unwrap_or_default() {
        StoreMode::Managed => {
            let name = database.instance_class.as_deref()?;
            let class = prices::find(prices::RDS_POSTGRES, name)?;
            let memory_bytes = class.memory_gib * 1024.0 * 1024.0 * 1024.0;
            let max_connections = (memory_bytes / RDS_BYTES_PER_CONNECTION)
                .floor()
                .min(RDS_MAX_CONNECTIONS);
            let usable = max_connections - RDS_RESERVED_CONNECTIONS;
            Some((
                usable,
                format!(
                    "limit = min({} GiB / 9531392 B, 5000) = {max_connections} − {RDS_RESERVED_CONNECTIONS} reserved = {usable} ({name})",
                    class.memory_gib
                ),
            ))
        }
        StoreMode::InCluster => Some((
            POSTGRES_DEFAULT_MAX_CONNECTIONS,
            format!(
                "limit = {POSTGRES_DEFAULT_MAX_CONNECTIONS} (in-cluster Postgres max_connections)"
            ),
        )),
        StoreMode::External | StoreMode::None => None,
    }
}

/// Database connections needed at peak against the store's limit.
pub fn database_connections(spec: &ChatbotDeploymentSpec) -> Option<CapacityCheck> {
    let database = spec.database.as_ref()?;
    if !database.mode.unwrap_or_default().is_enabled() {
        return None;
    }
    let (limit, limit_arithmetic) = connection_limit(spec)?;
    let pooler = database.pooler.clone().unwrap_or_default();
    if pooler.enabled.unwrap_or(false) {
        let pool = i64::from(pooler.default_pool_size.unwrap_or(20));
        let replicas = i64::from(pooler.replicas.unwrap_or(1));
        let needed = (pool * replicas) as f64;
        return Some(verdict(
            "database connections",
            "spec.database.pooler.defaultPoolSize",
            needed,
            limit,
            vec![
                format!(
                    "needed = {pool} PgBouncer server connections × {replicas} PgBouncer pods = {needed}"
                ),
                limit_arithmetic,
            ],
        ));
    }
    let pool = database.pool.clone().unwrap_or_default();
    let size = i64::from(pool.size.unwrap_or(fallback::DB_POOL_SIZE));
    let overflow = i64::from(pool.max_overflow.unwrap_or(fallback::DB_MAX_OVERFLOW));
    let (pods, pods_arithmetic) = peak_pods(spec);
    let needed = (pods * (size + overflow)) as f64;
    Some(verdict(
        "database connections",
        "spec.database.pool",
        needed,
        limit,
        vec![
            pods_arithmetic,
            format!("needed = {pods} pods × ({size} pool + {overflow} overflow) = {needed}"),
            limit_arithmetic,
        ],
    ))
}

/// The cache's memory in MiB and how it was reached; `None` for an
/// external cache, none, or a node type without a known size.
pub fn cache_memory_limit(spec: &ChatbotDeploymentSpec) -> Option<(f64, String)> {
    let cache = spec.cache.as_ref()?;
    match cache.mode.unwrap_or_default() {
        StoreMode::Managed => {
            let name = cache.node_type.as_deref()?;
            let class = prices::find(prices::ELASTICACHE_REDIS, name)?;
            let mib = class.memory_gib * 1024.0;
            Some((
                mib,
                format!("memory = {} GiB ({name}) = {mib} MiB", class.memory_gib),
            ))
        }
        StoreMode::InCluster => {
            let mib = f64::from(cache.memory_mib.unwrap_or(128));
            Some((mib, format!("memory = {mib} MiB (in-cluster limit)")))
        }
        StoreMode::External | StoreMode::None => None,
    }
}

/// The cache's expected working set against its memory.
pub fn cache_memory(spec: &ChatbotDeploymentSpec) -> Option<CapacityCheck> {
    let working_set = f64::from(spec.cache.as_ref()?.working_set_mib?);
    let (memory_mib, memory_arithmetic) = cache_memory_limit(spec)?;
    Some(verdict(
        "cache memory",
        "spec.cache.workingSetMiB",
        working_set,
        memory_mib,
        vec![
            format!("needed = {working_set} MiB working set"),
            memory_arithmetic,
        ],
    ))
}

/// Every capacity check that applies to the spec.
pub fn checks(spec: &ChatbotDeploymentSpec) -> Vec<CapacityCheck> {
    database_connections(spec)
        .into_iter()
        .chain(cache_memory(spec))
        .collect()
}
