//! Judging an action, pure: from the action, its target as the cache has
//! it and `now`, what the controller does next.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::reconcile::command::{self, Progress};
use crate::{
    api::{
        ActionKind, ChatbotAction, ChatbotActionStatus, ChatbotDeployment, action_phase as phase,
    },
    reconcile::rollback,
    rollout::revisions,
};

/// What to do with a new action, decided from the cache alone.
#[derive(Clone, Debug, PartialEq)]
pub enum Judgement {
    /// The action ends here with this status.
    Done(ChatbotActionStatus),
    /// Roll the pods back to `revision`; the spec asks for `instead_of`.
    Rollback { revision: i64, instead_of: i64 },
    /// Hand this command to the rollout in flight.
    Send(crate::api::RolloutCommand),
    /// The command was handed over; the reconciler has not carried it out.
    Wait,
    /// Hand this backup request to the reconciler.
    RequestBackup(crate::api::BackupRequest),
    /// A backup is asked for or running; the message says which.
    WaitForBackup(String),
    /// Hand this restore request to the reconciler.
    RequestRestore(crate::api::RestoreRequest),
    /// A restore is asked for or in progress: how it stands, its steps.
    WaitForRestore(String, Vec<crate::api::RestoreStepRecord>),
    /// The restore switched the data: hold the pods at `revision`.
    RestorePods { revision: i64, instead_of: i64 },
    /// Write the maintenance page's on-call hold (`None`: remove it).
    HoldMaintenance(Option<crate::api::MaintenanceHold>),
    /// The hold is written; the route has not followed yet.
    WaitForMaintenance(String),
}

/// Whether `action` has handed its request over and runs (an action is
/// marked Running when it does).
pub(super) fn handed_over(action: &ChatbotAction) -> bool {
    action.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase::RUNNING)
}

pub(super) fn ended(
    action: &ChatbotAction,
    phase: &str,
    message: String,
    now: &Time,
) -> ChatbotActionStatus {
    let status = action.status.clone().unwrap_or_default();
    ChatbotActionStatus {
        phase: Some(phase.into()),
        message: Some(message),
        started_at: status.started_at.or_else(|| Some(now.clone())),
        finished_at: Some(now.clone()),
        steps: status.steps,
    }
}

/// The status of an action that ended: succeeded or failed.
fn outcome(
    action: &ChatbotAction,
    succeeded: bool,
    message: String,
    now: &Time,
) -> ChatbotActionStatus {
    let phase = if succeeded {
        phase::SUCCEEDED
    } else {
        phase::FAILED
    };
    ended(action, phase, message, now)
}

/// Judges a new action, pure. `None` when the action already ended.
pub fn judge(
    action: &ChatbotAction,
    target: Option<&ChatbotDeployment>,
    now: &Time,
) -> Option<Judgement> {
    let status = action.status.clone().unwrap_or_default();
    if phase::is_final(status.phase.as_deref()) {
        return None;
    }
    let namespace = action.namespace().unwrap_or_default();
    let Some(target) = target else {
        return Some(Judgement::Done(ended(
            action,
            phase::FAILED,
            format!(
                "ChatbotDeployment {} not found in namespace {namespace}",
                action.spec.deployment
            ),
            now,
        )));
    };
    let deployment_status = target.status.clone().unwrap_or_default();
    let restores = action.spec.action == ActionKind::Restore
        || (action.spec.action == ActionKind::Rollback && action.spec.restore_data == Some(true));
    if restores {
        return Some(judge_restore(action, target, &deployment_status, now));
    }
    if let Some(command) =
        command::command_of(action.spec.action, action.spec.revision, &deployment_status)
    {
        let name = action.name_any();
        return Some(
            match command::judge(
                command,
                &name,
                &action.spec.reason,
                action.spec.variant.as_deref(),
                &deployment_status,
            ) {
                Progress::Done(succeeded, message) => {
                    Judgement::Done(outcome(action, succeeded, message, now))
                }
                Progress::Wait => Judgement::Wait,
                Progress::Send(command) => Judgement::Send(command),
            },
        );
    }
    if action.spec.action == ActionKind::Backup {
        return Some(judge_backup(action, &deployment_status, now));
    }
    if action.spec.action == ActionKind::Maintenance {
        return Some(judge_maintenance(action, target, &deployment_status, now));
    }
    if action.spec.action != ActionKind::Rollback {
        return Some(Judgement::Done(ended(
            action,
            phase::UNSUPPORTED,
            format!(
                "{:?} is not carried out by this operator version; nothing was changed",
                action.spec.action
            ),
            now,
        )));
    }
    let (Some(running), Some(instead_of)) = running_and_asked(target) else {
        return Some(Judgement::Done(ended(
            action,
            phase::FAILED,
            format!(
                "ChatbotDeployment {} has no revision yet, nothing to roll back",
                action.spec.deployment
            ),
            now,
        )));
    };
    match revisions::rollback_target(
        &deployment_status.revisions,
        Some(running),
        action.spec.revision,
    ) {
        Ok(revision) => Some(Judgement::Rollback {
            revision,
            instead_of,
        }),
        Err(message) => Some(Judgement::Done(ended(action, phase::FAILED, message, now))),
    }
}

fn judge_backup(
    action: &ChatbotAction,
    status: &crate::api::ChatbotDeploymentStatus,
    now: &Time,
) -> Judgement {
    use crate::backup::action::{self as backup, Progress};
    let id = request_id(action, now);
    let expect_shrink = action.spec.expect_shrink.unwrap_or(false);
    match backup::judge(&action.name_any(), &id, expect_shrink, status) {
        Progress::Send(request) => Judgement::RequestBackup(request),
        Progress::Wait(message) => Judgement::WaitForBackup(message),
        Progress::Done(succeeded, message) => {
            Judgement::Done(outcome(action, succeeded, message, now))
        }
    }
}

fn judge_maintenance(
    action: &ChatbotAction,
    target: &ChatbotDeployment,
    status: &crate::api::ChatbotDeploymentStatus,
    now: &Time,
) -> Judgement {
    use crate::maintenance::action::{self as page, Progress};
    let Some(mode) = action.spec.maintenance else {
        let why = "spec.maintenance must be On or Off; nothing was changed".to_string();
        return Judgement::Done(ended(action, phase::FAILED, why, now));
    };
    let name = action.name_any();
    match page::judge(&name, mode, &action.spec.reason, &target.spec, status, now) {
        Progress::Hold(hold) => Judgement::HoldMaintenance(hold),
        Progress::Wait(message) => Judgement::WaitForMaintenance(message),
        Progress::Done(succeeded, message) => {
            Judgement::Done(outcome(action, succeeded, message, now))
        }
    }
}

/// The id of the backup or restore `action` asks for: its creation time
/// and a piece of its uid.
fn request_id(action: &ChatbotAction, now: &Time) -> String {
    let created = action
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now.0, |t| t.0);
    crate::backup::action::id_for(created, action.metadata.uid.as_deref().unwrap_or_default())
}

/// The revision the pods of `target` run and the one its spec asks for.
fn running_and_asked(target: &ChatbotDeployment) -> (Option<i64>, Option<i64>) {
    let held = rollback::held(target);
    let current = target.status.as_ref().and_then(|s| s.current_revision);
    (
        held.map(|h| h.revision).or(current),
        held.map(|h| h.instead_of).or(current),
    )
}

fn judge_restore(
    action: &ChatbotAction,
    target: &ChatbotDeployment,
    status: &crate::api::ChatbotDeploymentStatus,
    now: &Time,
) -> Judgement {
    use crate::backup::restore::action::{self as restore, Progress};
    let id = request_id(action, now);
    let sent = handed_over(action);
    let (running, instead_of) = running_and_asked(target);
    let resolve = || match (action.spec.action, &action.spec.backup) {
        (ActionKind::Restore, Some(backup)) => Ok((restore::Source::named(status, backup), None)),
        (ActionKind::Restore, None) => {
            let revision = action.spec.revision.unwrap_or_default();
            restore::backup_for_revision(&status.revisions, revision).map(|b| (b, None))
        }
        _ => {
            let revision =
                revisions::rollback_target(&status.revisions, running, action.spec.revision)?;
            restore::backup_for_revision(&status.revisions, revision).map(|b| (b, Some(revision)))
        }
    };
    match restore::judge(&action.name_any(), &id, sent, status, resolve) {
        Progress::Send(request) => Judgement::RequestRestore(request),
        Progress::Wait(message, steps) => Judgement::WaitForRestore(message, steps),
        Progress::RollBackPods(revision) => Judgement::RestorePods {
            revision,
            instead_of: instead_of.unwrap_or(revision),
        },
        Progress::Done(succeeded, message, steps) => {
            let mut status = outcome(action, succeeded, message, now);
            status.steps = steps;
            Judgement::Done(status)
        }
    }
}
