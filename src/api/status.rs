//! Status of a ChatbotDeployment: what the operator observed and decided.
//! Never holds a secret value.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types a ChatbotDeployment reports.
pub mod condition_types {
    /// All parts are in place and the app serves traffic.
    pub const READY: &str = "Ready";
    /// A change is being rolled out.
    pub const PROGRESSING: &str = "Progressing";
    /// Something failed and needs attention.
    pub const DEGRADED: &str = "Degraded";
    /// The database is reachable and its connection Secret exists.
    pub const DATABASE_READY: &str = "DatabaseReady";
    /// The cache is reachable and its connection Secret exists.
    pub const CACHE_READY: &str = "CacheReady";
    /// The last backup succeeded (and verified, when asked).
    pub const BACKUP_HEALTHY: &str = "BackupHealthy";
    /// Every referenced Secret and key exists.
    pub const SECRETS_READY: &str = "SecretsReady";
    /// Connection pools and memory fit the data stores.
    pub const CAPACITY_OK: &str = "CapacityOK";
    /// The cost estimate fits the budget.
    pub const WITHIN_BUDGET: &str = "WithinBudget";
}

/// One revision of the pod template.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRecord {
    /// Revision number, counting from 1.
    pub revision: i64,
    /// Image of the revision.
    pub image: String,
    /// Hash of the revision's pod template.
    pub spec_hash: String,
    /// When the revision was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When the revision became stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_at: Option<Time>,
    /// When the revision was aborted or rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aborted_at: Option<Time>,
    /// `Promoted`, `Aborted`, `RolledBack` or `InProgress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Id of the database backup taken before this revision took traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_rollout_snapshot: Option<String>,
}

/// A revision an on-call rollback holds in place of the spec's, until the
/// spec's generation changes: a GitOps tool re-applying the same spec does
/// not undo it. Written only by the rollback (its own field manager).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldRevision {
    /// The revision the pods run.
    pub revision: i64,
    /// The revision the spec asks for, held back.
    pub instead_of: i64,
    /// Generation of the spec when the rollback was made; a newer one ends the hold.
    pub generation: i64,
    /// The ChatbotAction that asked for it.
    pub action: String,
    /// Why, from the action.
    pub reason: String,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

/// Where a data store is reached. Never holds a password.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreStatus {
    /// Host and port of the store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Secret holding the connection URL the app reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_secret: Option<String>,
    /// Provider identifier, e.g. the RDS instance identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Final snapshot taken while the resource is being deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_snapshot: Option<String>,
}

/// The most recent backup.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    /// Backup id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// Whether a restore test of it passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// Estimated monthly cost in US dollars.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostEstimate {
    /// LLM tokens.
    #[serde(rename = "llmMonthlyUSD")]
    pub llm_monthly_usd: f64,
    /// Managed data stores and compute the operator knows prices for.
    #[serde(rename = "infraMonthlyUSD")]
    pub infra_monthly_usd: f64,
    /// LLM plus infrastructure.
    #[serde(rename = "totalMonthlyUSD")]
    pub total_monthly_usd: f64,
}

/// Observed state of a ChatbotDeployment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotDeploymentStatus {
    /// Generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Pending`, `Progressing`, `Ready`, `Degraded`, `Paused` or `Deleting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Standard conditions: Ready, Progressing, Degraded, DatabaseReady, CacheReady, BackupHealthy, SecretsReady, CapacityOK, WithinBudget.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Revision of the current spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_revision: Option<i64>,
    /// Revision that serves traffic when no rollout is in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<i64>,
    /// Revision being rolled out, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<i64>,
    /// Percent of traffic on the revision being rolled out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_weight: Option<i32>,
    /// Ready app pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_replicas: Option<i32>,
    /// Known revisions, newest last, bounded by `revisionHistoryLimit`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<RevisionRecord>,
    /// Where the database is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<StoreStatus>,
    /// Where the cache is reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<StoreStatus>,
    /// The most recent backup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<BackupStatus>,
    /// Estimated monthly cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_estimate: Option<CostEstimate>,
    /// An on-call rollback in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<HeldRevision>,
}
