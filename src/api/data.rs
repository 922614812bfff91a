//! Data stores: the Postgres database and the Redis cache.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SecretKeyRef;

/// Where a data store runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum StoreMode {
    /// AWS-managed: RDS Postgres or an ElastiCache replication group.
    Managed,
    /// A StatefulSet with a PersistentVolumeClaim in the same namespace.
    InCluster,
    /// A store the team runs elsewhere; its URL comes from a Secret.
    External,
    /// No store.
    #[default]
    None,
}

impl StoreMode {
    /// Whether the app gets a connection URL for this store.
    pub fn is_enabled(self) -> bool {
        self != StoreMode::None
    }
}

/// What happens to a store's data when the ChatbotDeployment is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Take a final snapshot, then delete the store.
    #[default]
    Snapshot,
    /// Leave the store running and drop the ownership tags.
    Retain,
    /// Delete the store and its data.
    Delete,
}

/// Connection pool settings the app reads from `DB_POOL_SIZE` / `DB_MAX_OVERFLOW`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    /// Connections each app pod keeps open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 500").message("spec.database.pool.size must be between 1 and 500"))]
    pub size: Option<i32>,
    /// Extra connections a pod may open under load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 500").message("spec.database.pool.maxOverflow must be between 0 and 500"))]
    pub max_overflow: Option<i32>,
}

/// A PgBouncer in front of Postgres in transaction mode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pooler {
    /// Run PgBouncer and point `DATABASE_URL` at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Server connections PgBouncer opens to Postgres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1000").message("spec.database.pooler.defaultPoolSize must be between 1 and 1000"))]
    pub default_pool_size: Option<i32>,
    /// PgBouncer pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 10").message("spec.database.pooler.replicas must be between 1 and 10"))]
    pub replicas: Option<i32>,
}

/// Schema migrations run as a Job before a new revision takes traffic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Migrations {
    /// Command run with the new image and the app's environment, e.g. `["alembic", "upgrade", "head"]`.
    #[schemars(length(min = 1, max = 32), inner(length(max = 4096)))]
    pub command: Vec<String>,
    /// Longest time the migration may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 10 && self <= 86400").message("spec.database.migrations.timeoutSeconds must be between 10 and 86400"))]
    pub timeout_seconds: Option<i32>,
}

/// The Postgres database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.mode) || self.mode != 'managed' || has(self.instanceClass)").message("spec.database.instanceClass is required when spec.database.mode is managed"))]
#[x_kube(validation = Rule::new("!has(self.mode) || self.mode != 'external' || has(self.urlSecretRef)").message("spec.database.urlSecretRef is required when spec.database.mode is external"))]
pub struct Database {
    /// `managed` (AWS RDS), `inCluster` (StatefulSet), `external` (URL Secret) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<StoreMode>,
    /// Postgres major or minor version, e.g. `16.4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+([.][0-9A-Za-z]+)*$')").message("spec.database.engineVersion must be a version such as 16 or 16.4"))]
    pub engine_version: Option<String>,
    /// RDS instance class (managed), e.g. `db.t3.micro`; sets the connection limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^db([.][a-z0-9-]+){2,}$')").message("spec.database.instanceClass must be an RDS instance class such as db.t3.micro"))]
    pub instance_class: Option<String>,
    /// Allocated storage in GiB (managed) or the volume size (inCluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "storageGiB")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 65536").message("spec.database.storageGiB must be between 1 and 65536"))]
    pub storage_gib: Option<i32>,
    /// StorageClass of the volume (inCluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.database.storageClassName must name a StorageClass: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub storage_class_name: Option<String>,
    /// Standby in a second availability zone (managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "multiAZ")]
    pub multi_az: Option<bool>,
    /// Days RDS keeps automated backups (managed). Unset: the days of
    /// `spec.backup.retentionDays` (at most RDS's 35) when backups are
    /// enabled, else 7.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 35").message("spec.database.backupRetentionDays must be between 0 and 35"))]
    pub backup_retention_days: Option<i32>,
    /// What happens to the data when the resource is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// Apply instance changes at once instead of in the maintenance window (managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_immediately: Option<bool>,
    /// DB subnet group the instance is placed in (managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._ -]*$')").message("spec.database.subnetGroupName must be a DB subnet group name: letters, digits, spaces, ., _ and -"))]
    pub subnet_group_name: Option<String>,
    /// VPC security groups of the instance (managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5), inner(length(max = 20)))]
    #[x_kube(validation = Rule::new("self.all(g, g.matches('^sg-[0-9a-f]{8,17}$'))").message("spec.database.securityGroupIds[] must each be a security group id such as sg-0123456789abcdef0"))]
    pub security_group_ids: Option<Vec<String>>,
    /// Secret key holding the full connection URL (external).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_secret_ref: Option<SecretKeyRef>,
    /// Client-side connection pool of each app pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pool>,
    /// Optional PgBouncer between the app and Postgres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooler: Option<Pooler>,
    /// Migrations run before each new revision takes traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrations: Option<Migrations>,
}

/// The Redis cache (rate-limit counters, response cache, sessions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.mode) || self.mode != 'managed' || has(self.nodeType)").message("spec.cache.nodeType is required when spec.cache.mode is managed"))]
#[x_kube(validation = Rule::new("!has(self.mode) || self.mode != 'external' || has(self.urlSecretRef)").message("spec.cache.urlSecretRef is required when spec.cache.mode is external"))]
pub struct Cache {
    /// `managed` (AWS ElastiCache), `inCluster` (StatefulSet), `external` (URL Secret) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<StoreMode>,
    /// Redis version, e.g. `7.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+([.][0-9A-Za-z]+)*$')").message("spec.cache.engineVersion must be a version such as 7.1"))]
    pub engine_version: Option<String>,
    /// ElastiCache node type (managed), e.g. `cache.t3.micro`; sets the memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^cache([.][a-z0-9-]+){2,}$')").message("spec.cache.nodeType must be an ElastiCache node type such as cache.t3.micro"))]
    pub node_type: Option<String>,
    /// Read replicas per shard (managed); production fails over automatically when at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 5").message("spec.cache.replicas must be between 0 and 5"))]
    pub replicas: Option<i32>,
    /// Memory limit of the Redis pod in MiB (inCluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "memoryMiB")]
    #[x_kube(validation = Rule::new("self >= 16").message("spec.cache.memoryMiB must be at least 16"))]
    pub memory_mib: Option<i32>,
    /// Expected working set in MiB, checked against the cache's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "workingSetMiB")]
    #[x_kube(validation = Rule::new("self >= 0").message("spec.cache.workingSetMiB must not be negative"))]
    pub working_set_mib: Option<i32>,
    /// What happens to the cache when the resource is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    /// The cache holds state worth keeping (sessions, conversation
    /// memory), not only what the app can rebuild: with
    /// `spec.backup.beforeRollout`, a managed cache gets a native
    /// ElastiCache snapshot before each new revision takes traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holds_state: Option<bool>,
    /// Secret key holding the full connection URL (external).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_secret_ref: Option<SecretKeyRef>,
}
