//! Status of a ChatbotDeployment: what the operator observed and decided.
//! Never holds a secret value.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::AbReport;

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
    /// The newest good backup is older than 1.5 periods of the schedule, or there is none.
    pub const BACKUP_STALE: &str = "BackupStale";
    /// Every referenced Secret and key exists.
    pub const SECRETS_READY: &str = "SecretsReady";
    /// Connection pools and memory fit the data stores.
    pub const CAPACITY_OK: &str = "CapacityOK";
    /// The cost estimate fits the budget.
    pub const WITHIN_BUDGET: &str = "WithinBudget";
    /// The traffic provider enforces the security headers, CORS and the
    /// per-client-IP limit the spec asks for (only set when it asks).
    pub const EDGE_ENFORCED: &str = "EdgeEnforced";
    /// The PodMonitor and PrometheusRule the spec asks for are applied
    /// (only set when it asks).
    pub const MONITORED: &str = "Monitored";
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
    /// The RDS snapshot taken before this revision took traffic (managed databases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_rollout_db_snapshot: Option<String>,
    /// The ElastiCache snapshot taken before this revision took traffic
    /// (managed caches that hold state).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_rollout_cache_snapshot: Option<String>,
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

/// One measurement of a rollout's analysis: the query as sent, the value,
/// the threshold and the verdict, so `status` says exactly why a rollout
/// stopped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeasurementStatus {
    /// Name of the check, e.g. `success-rate`.
    pub name: String,
    /// The PromQL as sent, selector and window filled in (kept for the newest round only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The value; absent when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The bounds, e.g. `>= 99` or `<= 800`.
    pub threshold: String,
    /// `Passed`, `Failed`, `Inconclusive` or `Error`.
    pub verdict: String,
    /// Why the verdict is not a plain comparison (empty, NaN, the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One round of an analysis run: every check measured once.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisRound {
    /// When the round was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// The measurements of the round.
    #[serde(default)]
    pub measurements: Vec<MeasurementStatus>,
}

/// The progress of a candidate revision under a Canary or BlueGreen
/// strategy. Kept in status so an operator that restarts resumes the same
/// step with the same weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// Revision being rolled out (the candidate).
    pub revision: i64,
    /// Revision that serves traffic until the candidate is promoted.
    pub stable_revision: i64,
    /// `Canary` or `BlueGreen`.
    pub strategy: String,
    /// Index of the current step, counting from 0; equal to `steps` once every step passed.
    pub step: i32,
    /// Number of steps in the plan.
    pub steps: i32,
    /// Percent of traffic on the candidate.
    pub weight: i32,
    /// `Progressing`, `Paused`, `Inconclusive`, `Promoted` or `RolledBack`.
    pub phase: String,
    /// Why the phase is what it is.
    pub message: String,
    /// When the candidate started; its progress deadline counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When the current step started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_at: Option<Time>,
    /// Since when the candidate's pods have not all been ready; the progress deadline counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ready_since: Option<Time>,
    /// Pods of the stable revision when the candidate started: the candidate runs as many (with no traffic provider, the share of them its weight asks).
    pub replicas: i32,
    /// When the stable Deployment ran the promoted template with every pod available; the candidate is removed a scale-down delay later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_updated_at: Option<Time>,
    /// The last on-call action carried out on this rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_action: Option<String>,
    /// How the weight reaches users when no traffic provider splits it: the candidate's share of the pods behind the one Service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<String>,
    /// An A/B test's candidates, each at its own revision (the rollout's
    /// `revision` is the one that leads, or the winner once promoted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<RolloutCandidate>,
    /// The A/B test's report, once its duration ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<AbReport>,
    /// Rounds of the current analysis step, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub analysis: Vec<AnalysisRound>,
}

/// One candidate of an A/B test and the revision its pods run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutCandidate {
    /// The variant's name (`spec.rollout.abTest.variants[].name`).
    pub variant: String,
    /// The revision its pods run.
    pub revision: i64,
}

/// An on-call command for the rollout in flight, written by a ChatbotAction
/// under its own field manager and carried out once by the reconciler.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutCommand {
    /// `Promote`, `Abort`, `Pause` or `Resume`.
    pub command: String,
    /// Revision the command is meant for.
    pub revision: i64,
    /// The ChatbotAction that asked for it.
    pub action: String,
    /// Why, from the action.
    #[serde(default)]
    pub reason: String,
    /// `Promote`: the A/B test's candidate to promote, by its variant's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
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

/// One backup run, as the operator saw its Job end.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    /// Backup id, also the folder of its dump and manifest.
    pub id: String,
    /// `Running`, `Succeeded` or `Failed`.
    pub phase: String,
    /// `scheduled`, `pre-rollout` or `on-demand`.
    pub reason: String,
    /// The Job that takes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Revision the app ran when it was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// Size of the dump in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// sha256 of the dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Entries of the dump's table of contents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toc_entries: Option<i64>,
    /// Whether a restore test of it passed; unset until one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// How long the restore test took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<f64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `rds-snapshot` for a native RDS snapshot (its id is the snapshot's
    /// identifier); unset for a dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Backups of the app database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupsStatus {
    /// The newest run, whatever its outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<BackupRecord>,
    /// The newest run that succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful: Option<BackupRecord>,
    /// Recent runs, newest first, at most ten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent: Vec<BackupRecord>,
    /// The newest scheduled window a backup was started for: a missed
    /// window runs once, never once per window missed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_window: Option<Time>,
    /// When the next scheduled backup starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_window: Option<Time>,
    /// The on-call request last started: never started again, even once
    /// its record has left `recent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_request: Option<String>,
    /// Native ElastiCache snapshots taken before rollouts, newest first,
    /// at most ten. Apart from `recent`: they keep the cache, not the
    /// database, and count for neither `lastSuccessful` nor `BackupStale`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_snapshots: Vec<BackupRecord>,
}

/// An on-call backup asked for by a ChatbotAction, written under the
/// actions' field manager and started once by the reconciler.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupRequest {
    /// Id the backup is taken under.
    pub id: String,
    /// The ChatbotAction that asked for it.
    pub action: String,
    /// The database is expected to have shrunk (a dump far smaller than
    /// the previous one is then not a failure).
    #[serde(default)]
    pub expect_shrink: bool,
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
    /// Backups of the app database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backups: Option<BackupsStatus>,
    /// Estimated monthly cost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_estimate: Option<CostEstimate>,
    /// An on-call rollback in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<HeldRevision>,
    /// The Canary or BlueGreen rollout of the newest revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutStatus>,
    /// An on-call command waiting to be carried out on the rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_command: Option<RolloutCommand>,
    /// An on-call backup waiting to be started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_request: Option<BackupRequest>,
    /// An on-call restore waiting to be started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_request: Option<super::RestoreRequest>,
    /// The newest restore of the database, step by step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore: Option<super::RestoreStatus>,
    /// Whether users get the maintenance page, since when and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<super::MaintenanceStatus>,
    /// The maintenance page held on by an on-call action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_hold: Option<super::MaintenanceHold>,
}
