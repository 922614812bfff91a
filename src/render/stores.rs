//! Values of the in-cluster data services: the Postgres and Redis
//! StatefulSets and the PgBouncer pooler. Computed from the resolved spec
//! by plain functions, like the rest of the render context.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::RenderError;
use crate::api::{ChatbotDeploymentSpec, DeletionPolicy, StoreMode};
use crate::{defaults::stores as fallback, names};

/// The official `postgres` image runs as this user and group.
pub const POSTGRES_UID: i64 = 999;
/// The official `redis` image runs as this user and group.
pub const REDIS_UID: i64 = 999;
/// The `edoburu/pgbouncer` image runs as this user and group.
pub const PGBOUNCER_UID: i64 = 70;

/// User and database the in-cluster Postgres is initialised with.
pub const DATABASE_USER: &str = "chatbot";
pub use crate::names::DATABASE_NAME;
pub const POSTGRES_PORT: u16 = 5432;
pub const REDIS_PORT: u16 = 6379;

/// The in-cluster Postgres.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PostgresContext {
    pub image: String,
    pub storage: String,
    pub storage_class_name: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// The volume outlives the StatefulSet unless the deletion policy is `Delete`.
    pub retain_volume: bool,
    pub user: &'static str,
    pub database: &'static str,
    pub port: u16,
}

/// The in-cluster Redis.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RedisContext {
    pub image: String,
    /// Container memory limit, e.g. `128Mi`.
    pub memory: String,
    /// `maxmemory` in MiB: 80% of the limit, leaving room for fork and buffers.
    pub max_memory_mib: i32,
    pub storage: String,
    pub storage_class_name: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub retain_volume: bool,
    pub port: u16,
}

/// The PgBouncer pooler.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolerContext {
    pub image: String,
    pub replicas: i32,
    pub default_pool_size: i32,
    pub max_client_connections: i32,
    pub labels: BTreeMap<String, String>,
    /// PgBouncer talks TLS to RDS; the in-cluster Postgres has none.
    pub server_tls: bool,
    pub port: u16,
}

/// Every data service the operator runs in the cluster for one resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct StoresContext {
    pub database: Option<PostgresContext>,
    pub cache: Option<RedisContext>,
    pub pooler: Option<PoolerContext>,
    /// Pod labels of the app, the only client the stores admit.
    pub client_labels: BTreeMap<String, String>,
    /// Labels of a rollout's candidate pods, which connect too.
    pub candidate_labels: BTreeMap<String, String>,
}

impl StoresContext {
    /// Whether any data service runs in the cluster.
    pub fn any(&self) -> bool {
        self.database.is_some() || self.cache.is_some() || self.pooler.is_some()
    }
}

fn image_tag(version: Option<&str>, fallback: &str) -> String {
    version.unwrap_or(fallback).to_string()
}

/// The in-cluster data services `spec` asks for.
pub fn build(name: &str, spec: &ChatbotDeploymentSpec) -> Result<StoresContext, RenderError> {
    let database = spec.database.clone().unwrap_or_default();
    let database_mode = database.mode.unwrap_or_default();
    let postgres = (database_mode == StoreMode::InCluster).then(|| PostgresContext {
        image: format!(
            "postgres:{}",
            image_tag(
                database.engine_version.as_deref(),
                fallback::POSTGRES_VERSION
            )
        ),
        storage: format!(
            "{}Gi",
            database
                .storage_gib
                .unwrap_or(fallback::DATABASE_STORAGE_GIB)
        ),
        storage_class_name: database.storage_class_name.clone(),
        labels: names::store_selector_labels(name, "database"),
        retain_volume: database.deletion_policy.unwrap_or_default() != DeletionPolicy::Delete,
        user: DATABASE_USER,
        database: DATABASE_NAME,
        port: POSTGRES_PORT,
    });

    let cache = spec.cache.clone().unwrap_or_default();
    let redis = (cache.mode.unwrap_or_default() == StoreMode::InCluster).then(|| {
        let memory_mib = cache.memory_mib.unwrap_or(fallback::CACHE_MEMORY_MIB);
        RedisContext {
            image: format!(
                "redis:{}",
                image_tag(cache.engine_version.as_deref(), fallback::REDIS_VERSION)
            ),
            memory: format!("{memory_mib}Mi"),
            max_memory_mib: memory_mib * 4 / 5,
            // Room for the append-only file and its rewrite.
            storage: format!("{}Mi", (memory_mib * 3).max(1024)),
            storage_class_name: database.storage_class_name.clone(),
            labels: names::store_selector_labels(name, "cache"),
            retain_volume: cache.deletion_policy.unwrap_or_default() != DeletionPolicy::Delete,
            port: REDIS_PORT,
        }
    });

    let pooler_spec = database.pooler.clone().unwrap_or_default();
    let pooler = if pooler_spec.enabled.unwrap_or(false) {
        match database_mode {
            StoreMode::Managed | StoreMode::InCluster => Some(PoolerContext {
                image: fallback::PGBOUNCER_IMAGE.into(),
                replicas: pooler_spec.replicas.unwrap_or(fallback::POOLER_REPLICAS),
                default_pool_size: pooler_spec
                    .default_pool_size
                    .unwrap_or(fallback::POOLER_POOL_SIZE),
                max_client_connections: fallback::POOLER_MAX_CLIENT_CONNECTIONS,
                labels: names::store_selector_labels(name, "pooler"),
                server_tls: database_mode == StoreMode::Managed,
                port: POSTGRES_PORT,
            }),
            StoreMode::External | StoreMode::None => {
                return Err(RenderError::Spec {
                    path: "spec.database.pooler.enabled".into(),
                    message: format!(
                        "a pooler needs a managed or inCluster database, whose URL the operator writes; spec.database.mode is {}",
                        match database_mode {
                            StoreMode::External =>
                                "external: put the pooler in front of it where it runs",
                            _ => "none",
                        }
                    ),
                });
            }
        }
    } else {
        None
    };

    Ok(StoresContext {
        database: postgres,
        cache: redis,
        pooler,
        client_labels: names::selector_labels(name),
        candidate_labels: BTreeMap::from([
            (names::keys::INSTANCE.to_string(), name.to_string()),
            (names::keys::TRACK.to_string(), "canary".to_string()),
        ]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{Cache, Database, Pooler};

    fn spec(database: Database, cache: Cache) -> ChatbotDeploymentSpec {
        ChatbotDeploymentSpec {
            database: Some(database),
            cache: Some(cache),
            ..Default::default()
        }
    }

    #[test]
    fn in_cluster_stores_keep_their_volume_unless_the_policy_is_delete() {
        let stores = build(
            "bot",
            &spec(
                Database {
                    mode: Some(StoreMode::InCluster),
                    storage_gib: Some(8),
                    engine_version: Some("16.4".into()),
                    ..Default::default()
                },
                Cache {
                    mode: Some(StoreMode::InCluster),
                    memory_mib: Some(256),
                    deletion_policy: Some(DeletionPolicy::Delete),
                    ..Default::default()
                },
            ),
        )
        .unwrap();
        let postgres = stores.database.unwrap();
        assert_eq!(postgres.image, "postgres:16.4");
        assert_eq!(postgres.storage, "8Gi");
        assert!(postgres.retain_volume, "Snapshot is the default policy");
        let redis = stores.cache.unwrap();
        assert_eq!(redis.image, "redis:7.2");
        assert_eq!(
            (redis.memory.as_str(), redis.max_memory_mib),
            ("256Mi", 204)
        );
        assert!(!redis.retain_volume);
        assert!(stores.pooler.is_none());
    }

    #[test]
    fn managed_and_external_stores_run_nothing_in_the_cluster() {
        let stores = build(
            "bot",
            &spec(
                Database {
                    mode: Some(StoreMode::Managed),
                    ..Default::default()
                },
                Cache {
                    mode: Some(StoreMode::External),
                    ..Default::default()
                },
            ),
        )
        .unwrap();
        assert!(!stores.any());
    }

    #[test]
    fn a_pooler_talks_tls_to_rds_and_refuses_an_external_database() {
        let pooled = |mode| Database {
            mode: Some(mode),
            pooler: Some(Pooler {
                enabled: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let managed = build("bot", &spec(pooled(StoreMode::Managed), Cache::default())).unwrap();
        assert!(managed.pooler.unwrap().server_tls);
        let in_cluster =
            build("bot", &spec(pooled(StoreMode::InCluster), Cache::default())).unwrap();
        assert!(!in_cluster.pooler.unwrap().server_tls);
        let error = build("bot", &spec(pooled(StoreMode::External), Cache::default()))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(
                "spec.database.pooler.enabled: a pooler needs a managed or inCluster database"
            ),
            "{error}"
        );
    }
}
