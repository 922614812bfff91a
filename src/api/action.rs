//! The ChatbotAction resource: a one-off on-call request against a
//! ChatbotDeployment that never edits its spec.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the on-call engineer asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ActionKind {
    /// Send all traffic to the previous stable revision (or `revision`) and hold it there.
    #[default]
    Rollback,
    /// Skip the remaining rollout steps and make the new revision stable.
    Promote,
    /// Stop the rollout and return all traffic to the stable revision.
    Abort,
    /// Hold the rollout at its current step.
    Pause,
    /// Continue a paused rollout.
    Resume,
    /// Take a database backup now.
    Backup,
    /// Restore the database from `backup`, or from the backup that holds
    /// revision `revision`'s data, into a new database the app is then
    /// switched to.
    Restore,
    /// Turn the maintenance page on or off (`spec.maintenance`), held
    /// through the status until turned off.
    Maintenance,
}

/// `On` or `Off`, for a `Maintenance` action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MaintenanceMode {
    /// Users get the maintenance page until it is turned off.
    On,
    /// Let go of the on-call hold: users reach the app again.
    Off,
}

/// An on-call request, carried out once.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "chatbot.dev",
    version = "v1alpha1",
    kind = "ChatbotAction",
    namespaced,
    status = "ChatbotActionStatus",
    shortname = "cba",
    category = "chatbot",
    doc = "A one-off on-call action against a ChatbotDeployment.",
    printcolumn(
        name = "Deployment",
        type_ = "string",
        json_path = ".spec.deployment",
        description = "Target ChatbotDeployment"
    ),
    printcolumn(
        name = "Action",
        type_ = "string",
        json_path = ".spec.action",
        description = "Requested action"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Pending, Running, Succeeded or Failed"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self.action != 'Restore' || has(self.backup) != has(self.revision)").message("a Restore names exactly one of spec.backup and spec.revision"))]
#[x_kube(validation = Rule::new("!has(self.backup) || self.action == 'Restore'").message("spec.backup is only allowed when spec.action is Restore"))]
#[x_kube(validation = Rule::new("!has(self.revision) || self.action == 'Rollback' || self.action == 'Restore'").message("spec.revision is only allowed when spec.action is Rollback or Restore"))]
#[x_kube(validation = Rule::new("!has(self.restoreData) || self.action == 'Rollback'").message("spec.restoreData is only allowed when spec.action is Rollback"))]
#[x_kube(validation = Rule::new("!has(self.expectShrink) || self.action == 'Backup'").message("spec.expectShrink is only allowed when spec.action is Backup"))]
#[x_kube(validation = Rule::new("self.action != 'Maintenance' || has(self.maintenance)").message("a Maintenance action sets spec.maintenance to On or Off"))]
#[x_kube(validation = Rule::new("!has(self.variant) || self.action == 'Promote'").message("spec.variant is only allowed when spec.action is Promote"))]
#[x_kube(validation = Rule::new("!has(self.maintenance) || self.action == 'Maintenance'").message("spec.maintenance is only allowed when spec.action is Maintenance"))]
#[x_kube(validation = Rule::new("self == oldSelf").message("spec is immutable: create a new ChatbotAction instead"))]
#[serde(rename_all = "camelCase")]
pub struct ChatbotActionSpec {
    /// Name of the ChatbotDeployment in the same namespace.
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("spec.deployment must name a ChatbotDeployment"))]
    pub deployment: String,
    /// `Rollback`, `Promote`, `Abort`, `Pause`, `Resume`, `Backup`, `Restore` or `Maintenance`.
    pub action: ActionKind,
    /// Revision to roll back to (defaults to the previous stable
    /// revision); for a `Restore`, the revision whose data to restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("spec.revision must be at least 1"))]
    pub revision: Option<i64>,
    /// `Restore`: the backup id to restore from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_-][A-Za-z0-9._-]*$')").message("spec.backup must be a backup id: letters, digits, ., _ and -, not starting with ."))]
    pub backup: Option<String>,
    /// `Backup`: the database shrank on purpose (a dump far smaller than
    /// the previous one is then not refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_shrink: Option<bool>,
    /// `Rollback`: restore the database as that revision left it (the
    /// backup taken before the next revision rolled out) together with
    /// its pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_data: Option<bool>,
    /// `Promote`: the A/B test's candidate to promote, by its variant's
    /// name (needed when several run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 31))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z][a-z0-9-]{0,30}$')").message("spec.variant must name a variant: lower-case letters, digits and dashes (at most 31)"))]
    pub variant: Option<String>,
    /// `Maintenance`: `On` or `Off`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceMode>,
    /// Why, for the audit trail (shown in the Event and the history).
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("size(self) > 0").message("spec.reason must say why"))]
    pub reason: String,
}

/// Outcome of a ChatbotAction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatbotActionStatus {
    /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unsupported`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// What happened, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the operator started the action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
    /// A restore's steps, as the reconciler carries them out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<super::RestoreStepRecord>,
}

/// The phases of an action, as its status names them.
pub mod action_phase {
    pub const PENDING: &str = "Pending";
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
    pub const UNSUPPORTED: &str = "Unsupported";

    /// Whether an action in this phase is over.
    pub fn is_final(phase: Option<&str>) -> bool {
        matches!(phase, Some(SUCCEEDED | FAILED | UNSUPPORTED))
    }
}
