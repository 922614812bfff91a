//! `restore NAME --backup ID|--revision N --confirm`: an on-call Restore
//! action. Without `--confirm` it prints what would happen and exits 1;
//! the plan is a pure function of the resource, tested without a cluster.

use std::fmt::Write as _;

use clap::Args;

use super::{
    CliError,
    action::{self, Request, TargetArgs},
};
use crate::{
    api::{ActionKind, BackupRecord, ChatbotDeployment, StoreMode},
    backup::{
        restore::{
            action::{Source, backup_for_revision},
            refusal::{Standing, refusal},
        },
        runs::human_bytes,
    },
    rollout::progressive,
};

/// Arguments of `restore`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["backup", "revision"])))]
pub struct RestoreArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The backup to restore (see `backups NAME`).
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// Restore the data revision N ran with: the backup taken before the next revision replaced it.
    #[arg(long, value_name = "N")]
    pub revision: Option<i64>,
    /// Carry it out; without it the plan is printed and nothing changes.
    #[arg(long)]
    pub confirm: bool,
    /// Why, for the audit trail: shown in the Event and the action.
    #[arg(long, value_name = "TEXT", default_value = "on-call restore")]
    pub reason: String,
    /// How long to wait for the restore to finish, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
}

/// `restore NAME`: the plan, then (with `--confirm`) a Restore action.
pub fn restore_command(args: &RestoreArgs) -> Result<String, CliError> {
    let cbd = action::runtime()?.block_on(async {
        let (client, namespace) = action::connect(args.target.namespace.as_deref()).await?;
        action::read(&client, &namespace, &args.target.name)
            .await
            .map(|view| view.cbd)
    })?;
    let plan = restore_plan(&cbd, args.backup.as_deref(), args.revision, None)
        .map_err(CliError::Cluster)?;
    if !args.confirm {
        print!("{plan}\nnothing was changed: run again with --confirm to carry it out\n");
        return Err(CliError::Exit(1));
    }
    eprint!("{plan}");
    action::act(
        &args.target,
        &Request {
            kind: ActionKind::Restore,
            revision: args.revision,
            backup: args.backup.clone(),
            reason: &args.reason,
            timeout: args.timeout,
            wait: true,
            ..Request::default()
        },
    )
}

/// What a restore of `cbd` from `backup` (or revision `revision`'s data)
/// would do, step by step; `rollback_to` when the pods go back too. An
/// error names what cannot be restored.
pub fn restore_plan(
    cbd: &ChatbotDeployment,
    backup: Option<&str>,
    revision: Option<i64>,
    rollback_to: Option<i64>,
) -> Result<String, String> {
    let status = cbd.status.clone().unwrap_or_default();
    let name = cbd.metadata.name.clone().unwrap_or_default();
    let source = match (backup, revision) {
        (Some(id), _) => Source::named(&status, id),
        (None, Some(n)) => backup_for_revision(&status.revisions, n)?,
        (None, None) => {
            return Err("name a backup (--backup ID) or a revision (--revision N)".into());
        }
    };
    let snapshot = source.method.is_some();
    if let Some(why) = refusal(&standing(cbd, snapshot)) {
        return Err(format!("{name} cannot be restored: {why}"));
    }
    let backup = source.backup;
    let record = status
        .backups
        .as_ref()
        .and_then(|b| b.recent.iter().find(|r| r.id == backup));
    let database = status.database.clone().unwrap_or_default();
    let secret = database
        .connection_secret
        .unwrap_or_else(|| format!("{name}-db"));
    let mut out = String::new();
    let _ = writeln!(out, "restore of {name} from backup {backup}:");
    let _ = writeln!(out, "  {}", the_backup(record, snapshot));
    let ready = status.ready_replicas.unwrap_or(0);
    let instance = database
        .identifier
        .as_deref()
        .unwrap_or("the app's RDS instance");
    let (safety, into, switch, undo) = if snapshot {
        (
            format!("a native RDS snapshot of {instance}, the data as it is now"),
            format!(
                "RDS snapshot {backup} restored into a new RDS instance beside {instance} (RDS takes minutes to hours, by size)"
            ),
            format!("the connection Secret {secret} switched to the new instance's endpoint"),
            format!("RDS instance {instance} is kept, untouched,"),
        )
    } else {
        (
            "a safety backup of the data as it is now".to_string(),
            format!(
                "backup {backup} restored into a new database on the same server and checked against its manifest"
            ),
            format!("the connection Secret {secret} switched to the new database"),
            "the database the app uses now is kept, untouched,".to_string(),
        )
    };
    let steps = [
        format!("{safety} (the app keeps serving)"),
        format!(
            "the app ({ready} ready pods) and PgBouncer, where there is one, scaled to zero: the app is down from here until the last step"
        ),
        into,
        switch,
        match rollback_to {
            Some(n) => format!(
                "the pods of revision {n} put back, and the app started on the restored data"
            ),
            None => "the app started on the restored data".into(),
        },
    ];
    for (number, step) in steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {step}", number + 1);
    }
    let kept = kept_for(cbd);
    let _ = writeln!(
        out,
        "{undo} as the undo {kept}{}; a failure before step 4 brings the app back on it",
        if snapshot {
            ", then deleted after a final snapshot"
        } else {
            ""
        }
    );
    Ok(out)
}

/// Where `cbd` stands for a restore, as far as the CLI can tell: what the
/// spec says outright; a mode or a destination it leaves to its
/// environment's defaults is the operator's to judge, and so is a running
/// migration Job, which only it sees.
fn standing(cbd: &ChatbotDeployment, snapshot: bool) -> Standing {
    let rollout = cbd.status.as_ref().and_then(|s| s.rollout.as_ref());
    Standing {
        mode: (cbd.spec.database.as_ref())
            .and_then(|d| d.mode)
            .or(Some(StoreMode::InCluster)),
        paused: cbd.spec.paused == Some(true),
        dumps: (cbd.spec.backup.as_ref()).is_none_or(|b| b.destination.is_some()),
        snapshot,
        migrating: None,
        rolling_out: rollout
            .filter(|r| !progressive::phase_of(r).is_terminal())
            .map(|r| r.revision),
    }
}

/// One line on the backup: when, how big, of which revision, verified.
fn the_backup(record: Option<&BackupRecord>, snapshot: bool) -> String {
    match record {
        Some(r) => format!(
                "the backup: {}, {}, revision {}, verified {}",
                r.time
                    .as_ref()
                    .or(r.started_at.as_ref())
                    .map_or("-".into(), |t| t.0.to_string()),
                r.bytes
                    .map(human_bytes)
                    .unwrap_or_else(|| "size unknown".into()),
                r.revision.map_or("-".into(), |n| n.to_string()),
                match r.verified {
                    Some(true) => "yes",
                    Some(false) => "NO (its verification failed)",
                    None => "not yet",
                },
            ),
        None if snapshot => "the backup: a native RDS snapshot, not among the recent backups in status; RDS holds it".into(),
        None => "the backup is not among the recent ones in status; the restore Job reads it from the store".into(),
    }
}

/// How long the replaced database is kept as the undo.
fn kept_for(cbd: &ChatbotDeployment) -> String {
    match cbd
        .spec
        .backup
        .as_ref()
        .and_then(|b| b.keep_replaced_database_days)
        .map_or(
            i64::from(crate::reconcile::operations::restore::KEEP_REPLACED_DAYS),
            i64::from,
        ) {
        0 => "until you drop it".to_string(),
        1 => "for 1 day".to_string(),
        days => format!("for {days} days"),
    }
}

#[cfg(test)]
mod tests;
