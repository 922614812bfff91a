//! What each of the agent's commands does: it takes its arguments, runs
//! the engine, and returns the summary the Job reports with the file its
//! termination message goes to.

use std::path::Path;

use jiff::Timestamp;

use super::{
    AgentError, Outcome, Summary,
    args::{AgentArgs, AgentCommand, DropArgs, DumpArgs, RestoreArgs, VerifyArgs},
    conninfo::ConnInfo,
    dump, prune, restore, scratch,
};

/// Runs the command of `args`.
pub async fn execute(args: &AgentArgs) -> Result<(Summary, &Path), AgentError> {
    match &args.command {
        AgentCommand::Dump(dump) => dump_command(dump).await,
        AgentCommand::Restore(restore) => restore_command(restore).await,
        AgentCommand::Verify(verify) => verify_command(verify).await,
        AgentCommand::DropDatabase(drop) => drop_command(drop).await,
    }
}

/// A backup, and retention after a good one.
async fn dump_command(dump: &DumpArgs) -> Result<(Summary, &Path), AgentError> {
    let plan = dump::DumpPlan {
        source: url_from_env(&dump.source_env)?,
        store: dump.location.store().await,
        prefix: dump.location.prefix.clone(),
        namespace: dump.location.namespace.clone(),
        deployment: dump.location.deployment.clone(),
        revision: dump.revision,
        spec_hash: dump.spec_hash.clone(),
        reason: dump.reason.clone(),
        part_size: usize::from(dump.part_size_mib) << 20,
        expect_shrink: dump.expect_shrink,
        id: dump.id.clone(),
        requires: dump.requires.clone(),
    };
    let mut summary = dump::run(&plan).await;
    if summary.outcome == Outcome::Succeeded {
        let policy = prune::Policy {
            keep_last: dump.keep_last.map(|n| n as usize),
            max_age_days: dump.max_age_days,
            pinned: dump.pinned.clone(),
        };
        let folder = crate::backup::manifest::deployment_folder(
            &plan.prefix,
            &plan.namespace,
            &plan.deployment,
        );
        // A good backup stays good when retention cannot run; the
        // next one tries again.
        match prune::prune(&plan.store, &folder, &policy, Timestamp::now()).await {
            Ok(removed) => summary.pruned = removed,
            Err(error) => tracing::warn!(%error, "retention did not run"),
        }
    }
    log(&summary);
    Ok((summary, &dump.location.termination_log))
}

/// A restore into a new database (made here) or a given one.
async fn restore_command(restore: &RestoreArgs) -> Result<(Summary, &Path), AgentError> {
    let mut created = None;
    let target = match &restore.create_database {
        Some(name) => {
            let server = url_from_env(&restore.server_env)?;
            match restore::create_database(&server, name).await {
                Ok(target) => {
                    created = Some((server, name));
                    target
                }
                Err(error) => {
                    let mut summary = Summary::new("restore", &restore.id, Timestamp::now());
                    summary.failed(&error);
                    log(&summary);
                    return Ok((summary, &restore.location.termination_log));
                }
            }
        }
        None => url_from_env(&restore.target_env)?,
    };
    let plan = restore::RestorePlan {
        target,
        store: restore.location.store().await,
        prefix: restore.location.prefix.clone(),
        namespace: restore.location.namespace.clone(),
        deployment: restore.location.deployment.clone(),
        id: restore.id.clone(),
        verify: restore.verify,
    };
    let summary = restore::run(&plan).await;
    // A restore that failed leaves nothing behind: the database it made
    // goes (the app never used it).
    if let Some((server, name)) = created
        && summary.outcome != Outcome::Succeeded
        && let Err(error) = restore::drop_database(&server, name).await
    {
        tracing::warn!(%error, database = %name, "the failed restore's database was not dropped");
    }
    log(&summary);
    Ok((summary, &restore.location.termination_log))
}

/// A restore test into a throwaway Postgres, marked on the backup when it
/// passes.
async fn verify_command(verify: &VerifyArgs) -> Result<(Summary, &Path), AgentError> {
    let mut summary = Summary::new("verify", &verify.id, Timestamp::now());
    match scratch::Scratch::start(&verify.scratch) {
        Ok(server) => {
            let plan = restore::RestorePlan {
                target: server.target.clone(),
                store: verify.location.store().await,
                prefix: verify.location.prefix.clone(),
                namespace: verify.location.namespace.clone(),
                deployment: verify.location.deployment.clone(),
                id: verify.id.clone(),
                verify: true,
            };
            summary = restore::run(&plan).await;
            drop(server);
            if summary.outcome == Outcome::Succeeded {
                let folder = crate::backup::manifest::folder(
                    &plan.prefix,
                    &plan.namespace,
                    &plan.deployment,
                    &plan.id,
                );
                let marker = prune::Verified {
                    verified_at: Timestamp::now(),
                    restore_seconds: summary.restore_seconds.unwrap_or_default(),
                };
                let body = serde_json::to_vec(&marker).unwrap_or_default();
                let key = format!("{folder}{}", prune::VERIFIED_FILE);
                if let Err(error) = plan.store.put(&key, body).await {
                    summary.failed(&error);
                }
            }
        }
        // A verification that cannot run is a failure, never a pass.
        Err(error) => summary.failed(&error),
    }
    log(&summary);
    Ok((summary, &verify.location.termination_log))
}

/// Dropping a database a restore replaced.
async fn drop_command(drop: &DropArgs) -> Result<(Summary, &Path), AgentError> {
    let mut summary = Summary::new("drop", &drop.database, Timestamp::now());
    let server = url_from_env(&drop.server_env)?;
    match restore::drop_database(&server, &drop.database).await {
        Ok(()) => summary.done(),
        Err(error) => summary.failed(&error),
    }
    log(&summary);
    Ok((summary, &drop.termination_log))
}

fn url_from_env(var: &str) -> Result<ConnInfo, AgentError> {
    let text = std::env::var(var).map_err(|_| {
        AgentError::Config(format!(
            "{var} is not set: the agent reads the database URL from it (a Secret's key)"
        ))
    })?;
    ConnInfo::parse(&text, var)
}

fn log(summary: &Summary) {
    match summary.outcome {
        Outcome::Succeeded => {
            tracing::info!(kind = summary.kind, id = %summary.id, bytes = summary.bytes, "done")
        }
        Outcome::Failed => {
            tracing::error!(kind = summary.kind, id = %summary.id, message = summary.message.as_deref().unwrap_or(""), "failed")
        }
    }
}
