//! What a restore is decided from and what one reconcile does about it,
//! and the names a restore gives what it makes. Pure.

use jiff::Timestamp;

use super::{
    instance::{InstanceRestore, RdsFacts},
    step,
};
use crate::{
    api::{BackupsStatus, RestoreRequest, RestoreStatus},
    backup::{
        jobs::{DropStart, JobFacts, JobStart},
        report::Report,
        runs::Note,
    },
    names,
};

/// The database the operator creates the app's database as.
pub const DEFAULT_DATABASE: &str = names::DATABASE_NAME;

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
    /// What blocks this reconcile, if anything (an invalid spec, a missing
    /// Secret): no restore starts, and one under way that can still be
    /// undone ends with the app back on its old database.
    pub blocked: Option<&'a str>,
    /// A backup, verify or restore Job that runs now: a new restore waits
    /// for it to end before it begins (a backup's retention was set when
    /// it started, without the restore's pins).
    pub busy: bool,
    /// Days the replaced database is kept (`None`: until dropped by hand).
    pub keep_replaced_days: Option<u32>,
    /// The Job dropping the replaced database of the newest restore, and
    /// what it reported once it ended.
    pub drop_job: Option<&'a JobFacts>,
    pub drop_report: Option<&'a Report>,
    /// The RDS instances of a managed database (`None` otherwise).
    pub rds: Option<RdsFacts<'a>>,
    pub now: Timestamp,
}

/// The safety backup a restore waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Safety {
    /// A dump, taken by a backup Job.
    Dump(String),
    /// A native snapshot of the RDS instance the app runs on.
    RdsSnapshot { instance: String, id: String },
}

/// What one reconcile does about the restore.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// The next `status.restore` (`None`: there never was one).
    pub status: Option<RestoreStatus>,
    /// The safety backup to take, while it is wanted.
    pub safety_backup: Option<Safety>,
    /// The app's pods and the pooler stay at zero.
    pub stop_writes: bool,
    pub start_job: Option<JobStart>,
    /// The replaced database's time as the undo is over: drop it.
    pub drop_job: Option<DropStart>,
    /// Make this RDS instance from a snapshot (a snapshot restore).
    pub restore_instance: Option<InstanceRestore>,
    /// Delete this replaced RDS instance after a final snapshot.
    pub drop_instance: Option<String>,
    pub notes: Vec<Note>,
}

/// What a restore asks of the backups while it stands: while it is under
/// way only its safety backup may start, and retention keeps the backup
/// it restores and its safety backup; once it ended, its safety backup is
/// kept for as long as the database it replaced (the undo) is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needs {
    /// The safety backup to take now.
    pub safety: Option<Safety>,
    /// A restore is under way: no other backup or verification starts.
    pub under_way: bool,
    /// The backup it restores, while it is under way.
    pub source: Option<String>,
    /// Backup ids retention must not remove.
    pub pinned: Vec<String>,
}

impl Plan {
    /// What this plan's restore asks of the backups.
    pub fn needs(&self) -> Needs {
        let Some(restore) = &self.status else {
            return Needs::default();
        };
        let under_way = !step::is_final(&restore.step);
        let source = under_way.then(|| restore.backup.clone());
        let safety = restore
            .safety_backup
            .clone()
            .filter(|_| under_way || restore.previous_dropped != Some(true));
        Needs {
            safety: self.safety_backup.clone(),
            under_way,
            pinned: source.iter().cloned().chain(safety).collect(),
            source,
        }
    }
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
        Some(r) if step::switched(r) => r.database.clone(),
        _ => recorded.unwrap_or(DEFAULT_DATABASE).to_string(),
    }
}

/// The id of the Job dropping the database restore `id` replaced.
pub fn drop_id(id: &str) -> String {
    format!("{id}-drop")
}

/// The id of a restore's safety backup.
pub fn safety_backup_id(id: &str) -> String {
    format!("{id}-safety")
}
