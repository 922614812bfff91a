//! The record of a restore's steps: each step begun, said, ended or
//! failed in `status.restore`, and the words its Events use. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    instance::is_snapshot,
    state::Plan,
    step::{self, Move},
};
use crate::{
    api::{RestoreStatus, RestoreStepRecord},
    backup::runs::Note,
};

/// Phases of one step.
mod phase {
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
}

/// What a restore makes: the new database, or the new RDS instance.
pub(super) fn target(restore: &RestoreStatus) -> String {
    match (&restore.instance, is_snapshot(restore)) {
        (Some(instance), true) => format!("the new RDS instance {instance}"),
        _ => format!("the new database {}", restore.database),
    }
}

/// Where the app runs once restored, in words.
pub(super) fn restored(restore: &RestoreStatus) -> String {
    match (&restore.instance, is_snapshot(restore)) {
        (Some(instance), true) => format!("RDS instance {instance}"),
        _ => restore.database.clone(),
    }
}

/// Where the app ran before the restore, in words.
pub(super) fn previous_target(restore: &RestoreStatus) -> String {
    match (&restore.previous_instance, is_snapshot(restore)) {
        (Some(instance), true) => format!("RDS instance {instance}"),
        _ => restore.previous_database.clone(),
    }
}

pub(super) fn current_step(restore: &RestoreStatus) -> Option<&RestoreStepRecord> {
    restore.steps.last().filter(|s| s.phase == phase::RUNNING)
}

/// Carries out what a step decided, at `now`.
pub(super) fn make(restore: &mut RestoreStatus, decided: Move, now: &Time, plan: &mut Plan) {
    match decided {
        Move::Stay(None) => {}
        Move::Stay(Some(news)) => say(restore, news),
        Move::Next(next, words) => enter(restore, next, now, words),
        Move::Succeed(what) => {
            enter(restore, step::SUCCEEDED, now, None);
            restore.finished_at = Some(now.clone());
            restore.message = Some(what);
            plan.notes.push(note(restore));
        }
        Move::Fail(why) => fail(restore, now, why, plan),
    }
}

/// Ends the running step as succeeded (with `message`) and begins `next`.
pub(super) fn enter(restore: &mut RestoreStatus, next: &str, now: &Time, message: Option<String>) {
    if let Some(current) = restore
        .steps
        .last_mut()
        .filter(|s| s.phase == phase::RUNNING)
    {
        current.phase = phase::SUCCEEDED.into();
        current.finished_at = Some(now.clone());
        if message.is_some() {
            current.message = message;
        }
    }
    restore.step = next.into();
    restore.message = None;
    if !step::is_final(next) {
        restore.steps.push(RestoreStepRecord {
            name: next.into(),
            phase: phase::RUNNING.into(),
            started_at: Some(now.clone()),
            ..Default::default()
        });
    }
}

/// Says how the running step stands.
fn say(restore: &mut RestoreStatus, message: String) {
    if let Some(current) = restore
        .steps
        .last_mut()
        .filter(|s| s.phase == phase::RUNNING)
    {
        current.message = Some(message.clone());
    }
    restore.message = Some(message);
}

/// Ends the restore failed before its switch: the app comes back on the
/// database it had, which was never written to.
pub(super) fn fail(restore: &mut RestoreStatus, now: &Time, why: String, plan: &mut Plan) {
    if let Some(current) = restore
        .steps
        .last_mut()
        .filter(|s| s.phase == phase::RUNNING)
    {
        current.phase = phase::FAILED.into();
        current.finished_at = Some(now.clone());
        current.message = Some(why.clone());
    }
    restore.step = step::FAILED.into();
    restore.finished_at = Some(now.clone());
    restore.message = Some(format!(
        "{why}; nothing was switched: the app is back on {}",
        previous_target(restore)
    ));
    plan.notes.push(note(restore));
}

pub(super) fn note(restore: &RestoreStatus) -> Note {
    let succeeded = restore.step == step::SUCCEEDED;
    Note {
        warning: !succeeded,
        reason: if succeeded {
            "RestoreSucceeded"
        } else {
            "RestoreFailed"
        },
        message: format!(
            "ChatbotAction {}: {}",
            restore.action,
            restore.message.as_deref().unwrap_or_default()
        ),
    }
}
