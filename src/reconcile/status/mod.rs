//! The next status of a ChatbotDeployment, computed from what the reconcile
//! found and decided. Pure: the previous status, the facts and `now` in, the
//! next status out; equal input gives an equal status, so nothing is written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

mod checks;
mod deleting;
pub mod phase;

pub use checks::BackupFacts;
pub use deleting::deleting;

use super::{
    conditions::{ConditionSet, kstatus},
    data::facts::{StoreFacts, store_status},
    observe::Workload,
    outcome::Blocker,
};
use crate::{
    api::{ChatbotDeploymentStatus, CostEstimate, RevisionRecord, condition_types as types},
    capacity::CapacityCheck,
    cost::CostReport,
    rollout::{machine::Phase, progressive, revisions},
    secrets::MissingSecret,
};

/// One line on a rollout in flight: revisions, weight, step and why.
fn rollout_summary(rollout: &crate::api::RolloutStatus) -> String {
    let step = progressive::step_text(rollout);
    let traffic = rollout
        .traffic
        .as_ref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    format!(
        "revision {} has {}% of traffic ({step}), revision {} the rest{traffic}: {}",
        rollout.revision, rollout.weight, rollout.stable_revision, rollout.message
    )
}

/// The migration Job of the revision being rolled out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationFacts {
    pub revision: i64,
    pub job: String,
    pub state: super::observe::MigrationState,
    /// The revision whose pods keep serving meanwhile.
    pub running_revision: Option<i64>,
    /// The last lines of a failed Job's log, secrets redacted.
    pub log_tail: Option<String>,
}

impl MigrationFacts {
    fn message(&self) -> String {
        use super::observe::MigrationState;
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
    pub backups: Option<checks::BackupFacts>,
    /// The newest restore, when the restore step looked at it.
    pub restore: Option<crate::api::RestoreStatus>,
    /// The maintenance page after this reconcile's switch.
    pub maintenance: Option<crate::api::MaintenanceStatus>,
}

/// Computes the next status.
pub fn next(
    previous: Option<&ChatbotDeploymentStatus>,
    facts: &Assessment,
    now: &Time,
) -> ChatbotDeploymentStatus {
    let previous = previous.cloned().unwrap_or_default();
    let mut conditions = ConditionSet::new(&previous.conditions, facts.generation, now);

    checks::secrets(&mut conditions, &facts.missing_secrets);
    checks::capacity(&mut conditions, facts.capacity.as_deref());
    checks::budget(&mut conditions, facts.cost.as_ref());
    checks::edge(&mut conditions, facts.edge_gaps.as_deref());
    checks::monitoring(&mut conditions, facts.monitoring.as_ref());
    if let Some(backups) = &facts.backups {
        checks::backups(&mut conditions, backups);
    }

    // Data stores.
    let stores = [
        (types::DATABASE_READY, &facts.database),
        (types::CACHE_READY, &facts.cache),
    ];
    for (kind, store) in stores {
        match store {
            Some(store) => conditions.set(kind, store.ready, &store.reason, store.message.clone()),
            None => conditions.set_unknown(
                kind,
                "NotChecked",
                match (&facts.blocker, facts.paused) {
                    (Some(blocker), _) => format!(
                        "the spec is not applied ({}), so the store was not looked at",
                        blocker.reason
                    ),
                    (None, true) => {
                        "spec.paused is true, so the store was not looked at".to_string()
                    }
                    (None, false) => {
                        "the spec did not resolve, so the store was not looked at".to_string()
                    }
                },
            ),
        }
    }
    let failed_store = stores
        .iter()
        .filter_map(|(_, store)| store.as_ref())
        .find(|store| store.failed);
    let pending_store = stores
        .iter()
        .filter_map(|(_, store)| store.as_ref())
        .find(|store| !store.ready && !store.failed);

    // A Canary or BlueGreen rollout of the spec's revision.
    let rollout = facts
        .rollout
        .as_ref()
        .filter(|r| Some(r.revision) == facts.current_revision);
    let rollout_phase = rollout.map(progressive::phase_of);
    let candidate_in_flight = rollout.is_some_and(progressive::candidate_runs);
    let rolled_back = rollout.filter(|_| rollout_phase == Some(Phase::RolledBack));

    // The workload, and why it is or is not where the spec wants it.
    let workload = facts.workload.as_ref();
    let rolled_out = !candidate_in_flight
        && workload.is_some_and(|w| {
            w.rolled_out()
                && facts
                    .current_revision
                    .is_none_or(|r| w.template_revision == Some(r))
        });
    let deadline = workload.is_some_and(|w| w.deadline_exceeded) && !rolled_out;
    let pods = |w: &Workload| {
        format!(
            "{} of {} pods ready, {} updated",
            w.ready, w.desired, w.updated
        )
    };
    let revision_text = facts
        .current_revision
        .map(|r| format!("revision {r}: "))
        .unwrap_or_default();

    let degraded: Option<(&str, String)> = if let Some(blocker) = &facts.blocker {
        Some((blocker.reason, blocker.to_string()))
    } else if !facts.missing_secrets.is_empty() {
        let list: Vec<String> = facts
            .missing_secrets
            .iter()
            .map(ToString::to_string)
            .collect();
        Some(("SecretsMissing", format!("missing: {}", list.join("; "))))
    } else if let Some(store) = failed_store {
        Some((store.reason.as_str(), store.message.clone()))
    } else if let Some(migration) = facts
        .migration
        .as_ref()
        .filter(|m| m.state == super::observe::MigrationState::Failed)
    {
        Some(("MigrationFailed", migration.message()))
    } else if let Some(gate @ crate::backup::gate::Gate::Failed { .. }) = &facts.pre_rollout {
        Some(("PreRolloutBackupFailed", gate.message().unwrap_or_default()))
    } else if let Some(rollout) = rolled_back {
        Some((
            "RolledBack",
            format!(
                "revision {} was rolled back: {}; revision {} serves all traffic until the spec changes",
                rollout.revision, rollout.message, rollout.stable_revision
            ),
        ))
    } else if deadline {
        Some((
            "ProgressDeadlineExceeded",
            format!(
                "{revision_text}pods did not become ready within spec.rollout.progressDeadlineSeconds ({})",
                workload.map(pods).unwrap_or_default()
            ),
        ))
    } else {
        None
    };

    match &degraded {
        Some((reason, message)) => conditions.set(types::DEGRADED, true, reason, message.clone()),
        None => conditions.set(types::DEGRADED, false, "AsExpected", "no problems found"),
    }

    let progressing: Option<(&str, String)> = if facts.paused || degraded.is_some() {
        None
    } else {
        match workload {
            _ if pending_store.is_some() => {
                pending_store.map(|store| (store.reason.as_str(), store.message.clone()))
            }
            _ if facts.pre_rollout.as_ref().is_some_and(|g| g.holds()) => facts
                .pre_rollout
                .as_ref()
                .and_then(|g| g.message())
                .map(|m| ("BackingUp", m)),
            _ if facts
                .migration
                .as_ref()
                .is_some_and(|m| m.state == super::observe::MigrationState::Running) =>
            {
                facts.migration.as_ref().map(|m| ("Migrating", m.message()))
            }
            _ if candidate_in_flight => rollout
                .filter(|r| {
                    !matches!(
                        progressive::phase_of(r),
                        Phase::Paused | Phase::Inconclusive
                    )
                })
                .map(|r| {
                    let reason = match progressive::phase_of(r) {
                        Phase::Promoted => "Promoting",
                        _ if r.strategy == "BlueGreen" => "BlueGreenInProgress",
                        _ => "CanaryInProgress",
                    };
                    (reason, rollout_summary(r))
                }),
            None => Some(("Creating", format!("{revision_text}creating the app"))),
            Some(w) if !rolled_out => Some(("RollingOut", format!("{revision_text}{}", pods(w)))),
            Some(_) => None,
        }
    };
    let rollout_paused = rollout.filter(|r| {
        candidate_in_flight
            && degraded.is_none()
            && matches!(
                progressive::phase_of(r),
                Phase::Paused | Phase::Inconclusive
            )
    });
    let paused_reason = rollout_paused.map(|r| {
        let reason = if progressive::phase_of(r) == Phase::Inconclusive {
            "AnalysisInconclusive"
        } else {
            "RolloutPaused"
        };
        (reason, rollout_summary(r))
    });
    match (&progressing, facts.paused) {
        (Some((reason, message)), _) => {
            conditions.set(types::PROGRESSING, true, reason, message.clone())
        }
        (None, false) if paused_reason.is_some() => {
            let (reason, message) = paused_reason.clone().unwrap_or_default();
            conditions.set(types::PROGRESSING, false, reason, message)
        }
        (None, true) => conditions.set(
            types::PROGRESSING,
            false,
            "Paused",
            "spec.paused is true: spec changes are not rolled out",
        ),
        (None, false) if rolled_out => conditions.set(
            types::PROGRESSING,
            false,
            "RolloutComplete",
            format!("{revision_text}every pod runs the current spec"),
        ),
        (None, false) => conditions.set(
            types::PROGRESSING,
            false,
            degraded.as_ref().map_or("Stopped", |(reason, _)| reason),
            "the rollout cannot continue until the problem in the Degraded condition is fixed",
        ),
    }

    let ready = rolled_out && degraded.is_none() && !facts.paused && pending_store.is_none();
    let ready_reason: (&str, String) = if ready {
        (
            "Available",
            format!("{revision_text}{}", workload.map(pods).unwrap_or_default()),
        )
    } else if let Some((reason, message)) = &degraded {
        (reason, message.clone())
    } else if facts.paused {
        ("Paused", "spec.paused is true".into())
    } else if let Some((reason, message)) = &paused_reason {
        (reason, message.clone())
    } else if let Some((reason, message)) = &progressing {
        (reason, message.clone())
    } else {
        ("NotReady", "waiting for the app".into())
    };
    conditions.set(types::READY, ready, ready_reason.0, ready_reason.1);

    // kstatus mirrors.
    match &progressing {
        Some((reason, message)) => {
            conditions.set(kstatus::RECONCILING, true, reason, message.clone())
        }
        None => conditions.set(kstatus::RECONCILING, false, "Idle", "nothing in flight"),
    }
    match &degraded {
        Some((reason, message)) => conditions.set(kstatus::STALLED, true, reason, message.clone()),
        None => conditions.set(kstatus::STALLED, false, "AsExpected", "no problems found"),
    }

    let mut history = facts.revisions.clone();
    let mut stable = previous.stable_revision;
    if rolled_out && let Some(current) = facts.current_revision {
        history = revisions::promote(&history, current, now);
        stable = Some(current);
    }
    if let Some(rollout) = rolled_back {
        history = revisions::rolled_back(&history, rollout.revision, now);
    }
    let (canary_revision, canary_weight) = match rollout {
        Some(r) if candidate_in_flight || rolled_back.is_some() => {
            stable = Some(r.stable_revision);
            (
                candidate_in_flight.then_some(r.revision),
                candidate_in_flight.then_some(r.weight),
            )
        }
        _ => (None, None),
    };

    let phase = if facts.deleting {
        phase::DELETING
    } else if facts.paused || rollout_paused.is_some() {
        phase::PAUSED
    } else if degraded.is_some() {
        phase::DEGRADED
    } else if ready {
        phase::READY
    } else if workload.is_some() {
        phase::PROGRESSING
    } else {
        phase::PENDING
    };

    ChatbotDeploymentStatus {
        observed_generation: facts.generation,
        phase: Some(phase.into()),
        conditions: conditions.finish(),
        current_revision: facts.current_revision.or(previous.current_revision),
        stable_revision: stable,
        canary_revision,
        canary_weight,
        ready_replicas: workload.map(|w| w.ready),
        revisions: history,
        database: store_status(&facts.database, previous.database),
        cache: store_status(&facts.cache, previous.cache),
        backups: match &facts.backups {
            Some(backups) => Some(backups.status.clone())
                .filter(|status| *status != crate::api::BackupsStatus::default()),
            None => previous.backups,
        },
        cost_estimate: facts
            .cost
            .as_ref()
            .map(|cost| CostEstimate {
                llm_monthly_usd: cost.llm.as_ref().map_or(0.0, |l| l.total_usd),
                infra_monthly_usd: cost.infra_usd,
                total_monthly_usd: cost.total_usd,
            })
            .or(previous.cost_estimate),
        // Owned by the rollback's own field manager; never sent from here.
        rollback: facts.rollback.clone(),
        rollout: facts.rollout.clone(),
        // Owned by the actions' field manager; never sent from here.
        rollout_command: previous.rollout_command,
        backup_request: previous.backup_request,
        restore_request: previous.restore_request,
        // The newest restore stays on record until the next one.
        restore: facts.restore.clone().or(previous.restore),
        // A spec that was not applied leaves the route, and so the page, as it was.
        maintenance: if facts.blocker.is_some() {
            previous.maintenance
        } else {
            facts.maintenance.clone()
        },
        // Owned by the actions' field manager; never sent from here.
        maintenance_hold: previous.maintenance_hold,
    }
}
