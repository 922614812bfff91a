//! Status types of a restore: the request an on-call action hands the
//! reconciler, and the steps the reconciler records as it carries it out.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A restore handed to the reconciler by a ChatbotAction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRequest {
    /// Id of this restore (it names the new database).
    pub id: String,
    /// The ChatbotAction that asked for it.
    pub action: String,
    /// The backup to restore.
    pub backup: String,
    /// How the backup was taken: `dump` (unset) or `rds-snapshot`, which
    /// is restored into a new RDS instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Bring the pods back at this revision's template (a rollback with
    /// its data); unset: the pods come back as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<i64>,
}

/// One step of a restore, as it went.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStepRecord {
    /// `SafetyBackup`, `StopWrites`, `Restore`, `Switch`, `RollBackPods`,
    /// `Resume` or `Undo`.
    pub name: String,
    /// `Running`, `Succeeded` or `Failed`.
    pub phase: String,
    /// When the step began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// What happened, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The newest restore of the app database.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStatus {
    /// Id of the restore (its request's).
    pub id: String,
    /// The ChatbotAction that asked for it.
    pub action: String,
    /// The backup restored.
    pub backup: String,
    /// How it was taken: `dump` (unset) or `rds-snapshot`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The revision whose pods come back with the data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<i64>,
    /// The step in progress, or `Succeeded` / `Failed` once over.
    pub step: String,
    /// The backup of the data as it was, taken first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_backup: Option<String>,
    /// The new database the backup is restored into.
    pub database: String,
    /// The database the app used before; kept as the undo.
    pub previous_database: String,
    /// The RDS instance the app runs on once restored: a new one for an
    /// RDS snapshot, the same one for a dump.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The RDS instance the app ran on before; kept as the undo when the
    /// restore made a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_instance: Option<String>,
    /// The restore Job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// How long `pg_restore` and the check against the manifest took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<f64>,
    /// When the restore began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// How it stands, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the database (or RDS instance) the restore replaced is
    /// dropped (`spec.backup.keepReplacedDatabaseDays` after the restore).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_previous_after: Option<Time>,
    /// The replaced database was dropped (`true`), or its drop failed
    /// (`false`, the message says why; it is then left for a person).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_dropped: Option<bool>,
    /// Every step so far, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<RestoreStepRecord>,
}
