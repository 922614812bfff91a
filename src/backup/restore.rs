//! A restore of the app database, as a state machine: a safety backup of
//! the data as it is → the app stops taking writes (its pods and the
//! pooler scaled to zero) → the backup restored into a **new** database on
//! the same server and checked against its manifest → the connection
//! Secret switched to it → (for a rollback with its data) the pods of the
//! revision → the app back. The database the app used before is never
//! written to and stays as the undo for `keepReplacedDatabaseDays`, then a
//! Job drops it (never the one the app uses). A failure before the switch
//! ends the restore with the app back on its old database, nothing lost.
//!
//! Every step is decided from what survives a restart — the previous
//! `status.restore`, the backup records, the restore Job, the database the
//! connection Secret leads to, the app's replica counts — so an operator
//! restarted at any step carries on from there. Pure.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    jobs::{JobFacts, JobState},
    report::Report,
    runs::{Note, phase as backup_phase},
};
use crate::api::{BackupsStatus, RestoreRequest, RestoreStatus, RestoreStepRecord};

pub mod action;

/// Names of the steps, and of the two ends.
pub mod step {
    pub const SAFETY_BACKUP: &str = "SafetyBackup";
    pub const STOP_WRITES: &str = "StopWrites";
    pub const RESTORE: &str = "Restore";
    pub const SWITCH: &str = "Switch";
    pub const ROLL_BACK_PODS: &str = "RollBackPods";
    pub const RESUME: &str = "Resume";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";

    /// Whether a restore at `step` is over.
    pub fn is_final(step: &str) -> bool {
        matches!(step, SUCCEEDED | FAILED)
    }
}

/// Phases of one step.
mod phase {
    pub const RUNNING: &str = "Running";
    pub const SUCCEEDED: &str = "Succeeded";
    pub const FAILED: &str = "Failed";
}

/// The database the operator creates the app's database as.
pub const DEFAULT_DATABASE: &str = crate::data::rds::DATABASE_NAME;

/// A restore Job recorded as started and nowhere to be seen after this
/// long was lost (deleted by hand).
const LOST_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// What one reconcile's restore step is decided from.
#[derive(Clone, Debug)]
pub struct Facts<'a> {
    /// Name of the ChatbotDeployment (it names the restore Job).
    pub deployment: &'a str,
    /// The on-call request (`status.restoreRequest`).
    pub request: Option<&'a RestoreRequest>,
    /// `status.restore` as last written.
    pub previous: Option<&'a RestoreStatus>,
    pub backups: Option<&'a BackupsStatus>,
    /// The restore Job of the restore in progress, when there is one.
    pub job: Option<&'a JobFacts>,
    /// What that Job reported, once it ended.
    pub report: Option<&'a Report>,
    /// The database the connection Secret leads to now.
    pub live_database: &'a str,
    /// No app or pooler pod runs.
    pub writes_stopped: bool,
    /// The app has ready pods again.
    pub app_available: bool,
    /// The revision an on-call rollback holds the pods at.
    pub held_revision: Option<i64>,
    /// Why no restore can start here, if it cannot.
    pub cannot: Option<String>,
    /// Days the replaced database is kept (`None`: until dropped by hand).
    pub keep_replaced_days: Option<u32>,
    /// The Job dropping the replaced database of the newest restore, and
    /// what it reported once it ended.
    pub drop_job: Option<&'a JobFacts>,
    pub drop_report: Option<&'a Report>,
    pub now: Timestamp,
}

/// The Job that drops a database a restore replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DropStart {
    /// `<restore id>-drop` (labels the Job).
    pub id: String,
    pub database: String,
}

/// The restore Job to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStart {
    /// The restore's id (labels the Job).
    pub id: String,
    pub backup: String,
    /// The new database to create and restore into.
    pub database: String,
}

/// What one reconcile does about the restore.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The next `status.restore` (`None`: there never was one).
    pub status: Option<RestoreStatus>,
    /// The safety backup to take (by id), while it is wanted.
    pub safety_backup: Option<String>,
    /// The app's pods and the pooler stay at zero.
    pub stop_writes: bool,
    pub start_job: Option<JobStart>,
    /// The replaced database's time as the undo is over: drop it.
    pub drop_job: Option<DropStart>,
    pub notes: Vec<Note>,
}

/// The database a restore with id `id` creates: `chatbot_<id>`, in the
/// letters Postgres keeps unquoted, at most 63 bytes.
pub fn database_for(id: &str) -> String {
    let tail: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let mut name = format!("{DEFAULT_DATABASE}_{tail}");
    name.truncate(63);
    name
}

/// The database the connection Secret must lead to: a restore's new one
/// from its switch on, else the one the Secret records (`recorded`), else
/// the one the operator created.
pub fn live_database(restore: Option<&RestoreStatus>, recorded: Option<&str>) -> String {
    match restore {
        Some(r) if switched(r) => r.database.clone(),
        _ => recorded.unwrap_or(DEFAULT_DATABASE).to_string(),
    }
}

fn switched(restore: &RestoreStatus) -> bool {
    matches!(
        restore.step.as_str(),
        step::SWITCH | step::ROLL_BACK_PODS | step::RESUME | step::SUCCEEDED
    )
}

/// Whether a restore at `step` keeps the app's pods at zero.
pub fn stops_writes(restore: Option<&RestoreStatus>) -> bool {
    restore.is_some_and(|r| {
        matches!(
            r.step.as_str(),
            step::STOP_WRITES | step::RESTORE | step::SWITCH | step::ROLL_BACK_PODS
        )
    })
}

/// The id of the Job dropping the database restore `id` replaced.
pub fn drop_id(id: &str) -> String {
    format!("{id}-drop")
}

/// The id of a restore's safety backup.
pub fn safety_backup_id(id: &str) -> String {
    format!("{id}-safety")
}

/// Plans one reconcile's restore step.
pub fn plan(facts: &Facts) -> Plan {
    let mut plan = Plan {
        status: facts.previous.cloned(),
        ..Plan::default()
    };
    let in_progress = facts.previous.filter(|r| !step::is_final(&r.step));
    let mut restore = match (in_progress, facts.request) {
        (Some(restore), _) => restore.clone(),
        (None, Some(request)) if facts.previous.is_none_or(|r| r.id != request.id) => {
            match begin(facts, request, &mut plan) {
                Some(restore) => restore,
                None => return plan,
            }
        }
        _ => {
            drop_replaced(facts, &mut plan);
            return plan;
        }
    };
    advance(facts, &mut restore, &mut plan);
    plan.stop_writes = stops_writes(Some(&restore));
    plan.status = Some(restore);
    plan
}

fn time(at: Timestamp) -> Time {
    Time(at)
}

/// A new restore for `request`, or `None` when it ends before its first
/// step (the plan's status then says why).
fn begin(facts: &Facts, request: &RestoreRequest, plan: &mut Plan) -> Option<RestoreStatus> {
    let now = time(facts.now);
    let mut restore = RestoreStatus {
        id: request.id.clone(),
        action: request.action.clone(),
        backup: request.backup.clone(),
        rollback_to: request.rollback_to,
        step: step::SAFETY_BACKUP.into(),
        database: database_for(&request.id),
        previous_database: facts.live_database.to_string(),
        started_at: Some(now.clone()),
        ..Default::default()
    };
    let failed_backup = facts
        .backups
        .into_iter()
        .flat_map(|b| &b.recent)
        .find(|r| r.id == request.backup && r.phase == backup_phase::FAILED);
    let refusal = facts.cannot.clone().or_else(|| {
        failed_backup.map(|r| {
            format!(
                "backup {} failed ({}); it cannot be restored",
                r.id,
                r.message.as_deref().unwrap_or("no reason recorded")
            )
        })
    });
    if let Some(why) = refusal {
        restore.step = step::FAILED.into();
        restore.finished_at = Some(now);
        restore.message = Some(format!("{why}; nothing was changed"));
        plan.notes.push(note(&restore));
        plan.status = Some(restore);
        return None;
    }
    plan.notes.push(Note {
        warning: false,
        reason: "RestoreStarted",
        message: format!(
            "ChatbotAction {}: restoring backup {} into the new database {}; a safety backup of {} comes first",
            restore.action, restore.backup, restore.database, restore.previous_database
        ),
    });
    enter(&mut restore, step::SAFETY_BACKUP, &now, None);
    Some(restore)
}

/// Moves `restore` through as many steps as the facts allow.
fn advance(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan) {
    let now = time(facts.now);
    loop {
        let before = restore.step.clone();
        match before.as_str() {
            step::SAFETY_BACKUP => {
                let id = safety_backup_id(&restore.id);
                restore.safety_backup = Some(id.clone());
                let record = facts
                    .backups
                    .into_iter()
                    .flat_map(|b| &b.recent)
                    .find(|r| r.id == id);
                match record.map(|r| (r.phase.as_str(), r)) {
                    Some((backup_phase::SUCCEEDED, _)) => {
                        enter(restore, step::STOP_WRITES, &now, None);
                    }
                    Some((backup_phase::FAILED, record)) => {
                        let why = format!(
                            "the safety backup {id} failed: {}",
                            record.message.as_deref().unwrap_or("no reason recorded")
                        );
                        fail(restore, &now, why, plan);
                    }
                    _ => {
                        plan.safety_backup = Some(id.clone());
                        say(restore, format!("taking the safety backup {id}"));
                    }
                }
            }
            step::STOP_WRITES => {
                if facts.writes_stopped {
                    enter(restore, step::RESTORE, &now, None);
                } else {
                    say(
                        restore,
                        "scaling the app and its pooler to zero: no writes during the restore"
                            .into(),
                    );
                }
            }
            step::RESTORE => restoring(facts, restore, plan, &now),
            step::SWITCH => {
                if facts.live_database == restore.database {
                    let next = if restore.rollback_to.is_some() {
                        step::ROLL_BACK_PODS
                    } else {
                        step::RESUME
                    };
                    enter(restore, next, &now, None);
                    plan.notes.push(Note {
                        warning: false,
                        reason: "DatabaseSwitched",
                        message: format!(
                            "the app's connection Secret now leads to {} (restored from backup {}); {} is kept as the undo",
                            restore.database, restore.backup, restore.previous_database
                        ),
                    });
                } else {
                    say(
                        restore,
                        format!(
                            "switching the connection Secret from {} to {}",
                            facts.live_database, restore.database
                        ),
                    );
                }
            }
            step::ROLL_BACK_PODS => {
                let revision = restore.rollback_to.unwrap_or_default();
                if facts.held_revision == Some(revision) {
                    enter(restore, step::RESUME, &now, None);
                } else {
                    say(
                        restore,
                        format!("putting back the pod template of revision {revision}"),
                    );
                }
            }
            step::RESUME => {
                if facts.app_available {
                    enter(restore, step::SUCCEEDED, &now, None);
                    restore.finished_at = Some(now.clone());
                    restore.drop_previous_after = facts
                        .keep_replaced_days
                        .filter(|days| *days > 0)
                        .map(|days| {
                            time(facts.now + SignedDuration::from_hours(24 * i64::from(days)))
                        });
                    restore.message = Some(format!(
                        "backup {} restored into {} and the app runs on it{}; {} is kept as the undo",
                        restore.backup,
                        restore.database,
                        restore
                            .rollback_to
                            .map(|r| format!(" at revision {r}"))
                            .unwrap_or_default(),
                        restore.previous_database
                    ));
                    plan.notes.push(note(restore));
                } else {
                    say(
                        restore,
                        format!(
                            "waiting for the app's pods to be ready on {}",
                            restore.database
                        ),
                    );
                }
            }
            _ => {}
        }
        // The app's readiness seen now is from before its pods return.
        let resumed = restore.step == step::RESUME;
        if restore.step == before || step::is_final(&restore.step) || resumed {
            break;
        }
    }
}

/// After a good restore, once the replaced database's time as the undo is
/// over: drop it with a Job, once, and record how that went. Never the
/// database the app's URL leads to.
fn drop_replaced(facts: &Facts, plan: &mut Plan) {
    let Some(restore) = plan.status.as_mut() else {
        return;
    };
    let due = restore
        .drop_previous_after
        .as_ref()
        .is_some_and(|after| facts.now >= after.0);
    let settled = restore.step != step::SUCCEEDED || restore.previous_dropped.is_some();
    if !due || settled || restore.previous_database == facts.live_database {
        return;
    }
    let database = restore.previous_database.clone();
    match facts.drop_job.map(|j| j.state) {
        None => {
            plan.drop_job = Some(DropStart {
                id: drop_id(&restore.id),
                database,
            })
        }
        Some(JobState::Running) => {}
        Some(state) => {
            let report = facts.drop_report;
            let dropped = state == JobState::Succeeded && report.is_none_or(Report::succeeded);
            restore.previous_dropped = Some(dropped);
            let (warning, reason, message) = if dropped {
                (
                    false,
                    "ReplacedDatabaseDropped",
                    format!(
                        "{database}, replaced by restore {}, was dropped",
                        restore.id
                    ),
                )
            } else {
                let why = report
                    .map(Report::failure)
                    .or_else(|| facts.drop_job.and_then(|j| j.failure.clone()))
                    .unwrap_or_else(|| "the drop pod ended without a report".into());
                (
                    true,
                    "ReplacedDatabaseDropFailed",
                    format!(
                        "{database}, replaced by restore {}, was not dropped: {why}; drop it by hand",
                        restore.id
                    ),
                )
            };
            restore.message = Some(message.clone());
            plan.notes.push(Note {
                warning,
                reason,
                message,
            });
        }
    }
}

/// The restore Job's step: start it, wait for it, read its verdict.
fn restoring(facts: &Facts, restore: &mut RestoreStatus, plan: &mut Plan, now: &Time) {
    let job = facts.job;
    match job.map(|j| j.state) {
        None if restore.job.is_none() => {
            let start = JobStart {
                id: restore.id.clone(),
                backup: restore.backup.clone(),
                database: restore.database.clone(),
            };
            restore.job = Some(super::jobs::job_name(
                facts.deployment,
                super::jobs::Reason::Restore,
                &start.id,
            ));
            plan.start_job = Some(start);
            say(
                restore,
                format!(
                    "restoring backup {} into the new database {}",
                    restore.backup, restore.database
                ),
            );
        }
        None => {
            let started = current_step(restore).and_then(|s| s.started_at.as_ref());
            let lost = started.is_some_and(|t| facts.now.duration_since(t.0) > LOST_AFTER);
            if lost {
                fail(
                    restore,
                    now,
                    "the restore Job disappeared before it finished".into(),
                    plan,
                );
            }
        }
        Some(JobState::Running) => {
            if let Some(job) = job {
                restore.job = Some(job.name.clone());
            }
            say(
                restore,
                format!(
                    "restoring backup {} into the new database {}",
                    restore.backup, restore.database
                ),
            );
        }
        Some(state) => {
            let report = facts.report;
            let good = state == JobState::Succeeded && report.is_none_or(Report::succeeded);
            if good {
                restore.restore_seconds = report.and_then(|r| r.restore_seconds);
                let checked = format!(
                    "backup {} restored into {} and matched its manifest{}",
                    restore.backup,
                    restore.database,
                    restore
                        .restore_seconds
                        .map(|s| format!(" ({s:.1}s)"))
                        .unwrap_or_default()
                );
                enter(restore, step::SWITCH, now, Some(checked));
            } else {
                let why = report
                    .map(Report::failure)
                    .or_else(|| job.and_then(|j| j.failure.clone()))
                    .unwrap_or_else(|| "the restore pod ended without a report".into());
                fail(restore, now, format!("the restore failed: {why}"), plan);
            }
        }
    }
}

fn current_step(restore: &RestoreStatus) -> Option<&RestoreStepRecord> {
    restore.steps.last().filter(|s| s.phase == phase::RUNNING)
}

/// Ends the running step as succeeded (with `message`) and begins `next`.
fn enter(restore: &mut RestoreStatus, next: &str, now: &Time, message: Option<String>) {
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
fn fail(restore: &mut RestoreStatus, now: &Time, why: String, plan: &mut Plan) {
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
        restore.previous_database
    ));
    plan.notes.push(note(restore));
}

fn note(restore: &RestoreStatus) -> Note {
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

#[cfg(test)]
mod tests;
