//! Everything the next status is computed from, as plain data the
//! reconcile's steps fill in.

use crate::{
    api::BackupsStatus,
    api::RevisionRecord,
    backup::Verdict,
    capacity::CapacityCheck,
    cost::CostReport,
    reconcile::{
        data_stores::facts::StoreFacts,
        observe::{MigrationState, Workload},
        outcome::Blocker,
    },
    secrets::MissingSecret,
};

/// The migration Job of the revision being rolled out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationFacts {
    pub revision: i64,
    pub job: String,
    pub state: MigrationState,
    /// The revision whose pods keep serving meanwhile.
    pub running_revision: Option<i64>,
    /// The last lines of a failed Job's log, secrets redacted.
    pub log_tail: Option<String>,
}

impl MigrationFacts {
    pub(super) fn message(&self) -> String {
        let serving = match self.running_revision {
            Some(r) => format!("revision {r} keeps serving"),
            None => "no pods start until it succeeds".into(),
        };
        match self.state {
            MigrationState::Running => format!(
                "revision {}: migration Job {} is running; {serving}",
                self.revision, self.job
            ),
            MigrationState::Succeeded => format!(
                "revision {}: migration Job {} succeeded",
                self.revision, self.job
            ),
            MigrationState::Failed => format!(
                "revision {}: migration Job {} failed; {serving}; the rollout stops until the spec changes{}",
                self.revision,
                self.job,
                self.log_tail
                    .as_deref()
                    .filter(|t| !t.is_empty())
                    .map(|t| format!(". Last log lines: {t}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// Everything the next status is computed from.
#[derive(Clone, Debug, Default)]
pub struct Assessment {
    pub generation: Option<i64>,
    pub deleting: bool,
    pub paused: bool,
    /// Why the spec was not applied, if it was not.
    pub blocker: Option<Blocker>,
    /// Referenced Secret keys that do not exist. New pods are held back.
    pub missing_secrets: Vec<MissingSecret>,
    /// Capacity checks of the resolved spec (`None` when it did not resolve).
    pub capacity: Option<Vec<CapacityCheck>>,
    /// Cost model of the resolved spec (`None` when it did not resolve).
    pub cost: Option<CostReport>,
    /// What the edge leaves unenforced of the spec's edge policy (`None`:
    /// the spec asks nothing of the edge, or did not resolve).
    pub edge_gaps: Option<Vec<String>>,
    /// Monitoring as applied (`None`: the spec asks for none, or did not
    /// resolve).
    pub monitoring: Option<crate::monitoring::Facts>,
    pub workload: Option<Workload>,
    /// Revision of the spec as applied (or held).
    pub current_revision: Option<i64>,
    /// Revision history after this reconcile's decision.
    pub revisions: Vec<RevisionRecord>,
    /// The database as the data step found it (`None`: not looked at).
    pub database: Option<StoreFacts>,
    /// The cache as the data step found it.
    pub cache: Option<StoreFacts>,
    /// The migration of the revision being rolled out, while it matters.
    pub migration: Option<MigrationFacts>,
    /// The on-call rollback in force (kept as the status has it; `None`
    /// once the spec changed and the hold is lifted).
    pub rollback: Option<crate::api::HeldRevision>,
    /// The Canary or BlueGreen rollout after this reconcile's move.
    pub rollout: Option<crate::api::RolloutStatus>,
    /// A new revision waiting for (or failed by) its pre-rollout backup.
    pub pre_rollout: Option<crate::backup::gate::Gate>,
    /// Backups after this reconcile's plan (`None`: not looked at).
    pub backups: Option<BackupFacts>,
    /// The newest restore, when the restore step looked at it.
    pub restore: Option<crate::api::RestoreStatus>,
    /// The maintenance page after this reconcile's switch.
    pub maintenance: Option<crate::api::MaintenanceStatus>,
}

/// Backups as this reconcile's plan left them.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupFacts {
    pub status: BackupsStatus,
    pub healthy: Verdict,
    /// Only when backups are scheduled.
    pub stale: Option<Verdict>,
}
