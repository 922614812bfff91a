//! The lifecycle conditions — Degraded, Progressing, Ready and their
//! kstatus mirrors — and the phase, composed from what the other
//! conditions and the workload say. Pure.

use super::{assessment::Assessment, phase};
use crate::{
    api::{RolloutStatus, condition_types as types},
    backup::gate::Gate,
    reconcile::{
        conditions::{Judgements, kstatus},
        data_stores::facts::StoreFacts,
        observe::{MigrationState, Workload},
    },
    rollout::{machine::Phase, progressive},
};

/// One line on a rollout in flight: revisions, weight, step and why.
fn rollout_summary(rollout: &RolloutStatus) -> String {
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

/// Where the spec's revision stands: its rollout, its pods, its stores.
pub(super) struct Progress<'a> {
    /// A Canary or BlueGreen rollout of the spec's revision.
    pub(super) rollout: Option<&'a RolloutStatus>,
    pub(super) candidate_in_flight: bool,
    pub(super) rolled_back: Option<&'a RolloutStatus>,
    /// Every pod runs the spec's revision and is available.
    pub(super) rolled_out: bool,
    /// The Deployment controller gave up waiting for the new pods.
    deadline: bool,
    /// `revision N: `, or nothing before the first.
    revision_text: String,
    failed_store: Option<&'a StoreFacts>,
    pending_store: Option<&'a StoreFacts>,
}

impl<'a> Progress<'a> {
    pub(super) fn of(facts: &'a Assessment) -> Self {
        let rollout = facts
            .rollout
            .as_ref()
            .filter(|r| Some(r.revision) == facts.current_revision);
        let candidate_in_flight = rollout.is_some_and(progressive::candidate_runs);
        let rolled_back = rollout.filter(|r| progressive::phase_of(r) == Phase::RolledBack);
        let workload = facts.workload.as_ref();
        let rolled_out = !candidate_in_flight
            && workload.is_some_and(|w| {
                w.rolled_out()
                    && facts
                        .current_revision
                        .is_none_or(|r| w.template_revision == Some(r))
            });
        let stores = || [&facts.database, &facts.cache].into_iter().flatten();
        Progress {
            rollout,
            candidate_in_flight,
            rolled_back,
            rolled_out,
            deadline: workload.is_some_and(|w| w.deadline_exceeded) && !rolled_out,
            revision_text: facts
                .current_revision
                .map(|r| format!("revision {r}: "))
                .unwrap_or_default(),
            failed_store: stores().find(|store| store.failed),
            pending_store: stores().find(|store| !store.ready && !store.failed),
        }
    }
}

fn pods(w: &Workload) -> String {
    format!(
        "{} of {} pods ready, {} updated",
        w.ready, w.desired, w.updated
    )
}

/// What the lifecycle conditions decided, for the rest of the status.
pub(super) struct Lifecycle {
    pub phase: &'static str,
}

type Reason<'a> = Option<(&'a str, String)>;

/// Why the resource is Degraded, the first problem found in this order.
fn degraded<'a>(facts: &'a Assessment, progress: &Progress<'a>) -> Reason<'a> {
    if let Some(blocker) = &facts.blocker {
        return Some((blocker.reason, blocker.to_string()));
    }
    if !facts.missing_secrets.is_empty() {
        let list: Vec<String> = facts
            .missing_secrets
            .iter()
            .map(ToString::to_string)
            .collect();
        return Some(("SecretsMissing", format!("missing: {}", list.join("; "))));
    }
    if let Some(store) = progress.failed_store {
        return Some((store.reason.as_str(), store.message.clone()));
    }
    if let Some(migration) = facts
        .migration
        .as_ref()
        .filter(|m| m.state == MigrationState::Failed)
    {
        return Some(("MigrationFailed", migration.message()));
    }
    if let Some(gate @ Gate::Failed { .. }) = &facts.pre_rollout {
        return Some(("PreRolloutBackupFailed", gate.message().unwrap_or_default()));
    }
    if let Some(rollout) = progress.rolled_back {
        return Some((
            "RolledBack",
            format!(
                "revision {} was rolled back: {}; revision {} serves all traffic until the spec changes",
                rollout.revision, rollout.message, rollout.stable_revision
            ),
        ));
    }
    if progress.deadline {
        return Some((
            "ProgressDeadlineExceeded",
            format!(
                "{}pods did not become ready within spec.rollout.progressDeadlineSeconds ({})",
                progress.revision_text,
                facts.workload.as_ref().map(pods).unwrap_or_default()
            ),
        ));
    }
    None
}

/// What is in flight, when nothing is paused or degraded.
fn progressing<'a>(facts: &'a Assessment, progress: &Progress<'a>) -> Reason<'a> {
    let revision_text = &progress.revision_text;
    let restoring = facts
        .restore
        .as_ref()
        .filter(|r| !crate::backup::restore::step::is_final(&r.step));
    match facts.workload.as_ref() {
        _ if restoring.is_some() => restoring.map(|r| {
            let doing = r.message.as_deref().unwrap_or_default();
            let message = format!(
                "restore {} of backup {}, at {}: {doing}",
                r.id, r.backup, r.step
            );
            ("Restoring", message)
        }),
        _ if progress.pending_store.is_some() => progress
            .pending_store
            .map(|store| (store.reason.as_str(), store.message.clone())),
        _ if facts.pre_rollout.as_ref().is_some_and(|g| g.holds()) => facts
            .pre_rollout
            .as_ref()
            .and_then(|g| g.message())
            .map(|m| ("BackingUp", m)),
        _ if facts
            .migration
            .as_ref()
            .is_some_and(|m| m.state == MigrationState::Running) =>
        {
            facts.migration.as_ref().map(|m| ("Migrating", m.message()))
        }
        _ if progress.candidate_in_flight => progress
            .rollout
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
        Some(w) if !progress.rolled_out => {
            Some(("RollingOut", format!("{revision_text}{}", pods(w))))
        }
        Some(_) => None,
    }
}

/// Sets Degraded, Progressing, Ready and the kstatus mirrors, and says
/// the phase they make.
pub(super) fn conditions(
    conditions: &mut Judgements,
    facts: &Assessment,
    progress: &Progress,
) -> Lifecycle {
    let degraded = degraded(facts, progress);
    match &degraded {
        Some((reason, message)) => conditions.set(types::DEGRADED, true, reason, message.clone()),
        None => conditions.set(types::DEGRADED, false, "AsExpected", "no problems found"),
    }
    let progressing = if facts.paused || degraded.is_some() {
        None
    } else {
        progressing(facts, progress)
    };
    let rollout_paused = progress.rollout.filter(|r| {
        progress.candidate_in_flight
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
    set_progressing(
        conditions,
        facts,
        progress,
        &progressing,
        &paused_reason,
        &degraded,
    );

    let ready = progress.rolled_out
        && degraded.is_none()
        && !facts.paused
        && progress.pending_store.is_none();
    let (reason, message) = if ready {
        (
            "Available",
            format!(
                "{}{}",
                progress.revision_text,
                facts.workload.as_ref().map(pods).unwrap_or_default()
            ),
        )
    } else if let Some((reason, message)) = &degraded {
        (*reason, message.clone())
    } else if facts.paused {
        ("Paused", "spec.paused is true".into())
    } else if let Some((reason, message)) = &paused_reason {
        (*reason, message.clone())
    } else if let Some((reason, message)) = &progressing {
        (*reason, message.clone())
    } else {
        ("NotReady", "waiting for the app".into())
    };
    conditions.set(types::READY, ready, reason, message);

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

    let phase = if facts.deleting {
        phase::DELETING
    } else if facts.paused || rollout_paused.is_some() {
        phase::PAUSED
    } else if degraded.is_some() {
        phase::DEGRADED
    } else if ready {
        phase::READY
    } else if facts.workload.is_some() {
        phase::PROGRESSING
    } else {
        phase::PENDING
    };
    Lifecycle { phase }
}

fn set_progressing(
    conditions: &mut Judgements,
    facts: &Assessment,
    progress: &Progress,
    progressing: &Reason,
    paused_reason: &Reason,
    degraded: &Reason,
) {
    match (progressing, facts.paused) {
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
        (None, false) if progress.rolled_out => conditions.set(
            types::PROGRESSING,
            false,
            "RolloutComplete",
            format!("{}every pod runs the current spec", progress.revision_text),
        ),
        (None, false) => conditions.set(
            types::PROGRESSING,
            false,
            degraded.as_ref().map_or("Stopped", |(reason, _)| reason),
            "the rollout cannot continue until the problem in the Degraded condition is fixed",
        ),
    }
}
