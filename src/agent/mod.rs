//! `chatbot-operator backup-agent`: the engine the backup, verify and
//! restore Jobs run (the operator image carries the Postgres client tools).
//!
//! Database URLs come only from the environment (a Secret's key, through
//! `secretKeyRef`), never from arguments; S3 credentials from the SDK's
//! chain (the pod's web identity, or keys from a Secret). The outcome is one
//! JSON line on stdout and the container's termination message, which the
//! operator reads from the pod; exit code 0 for a good backup or restore, 1
//! for a failed one, 2 for a wrong invocation.

pub mod conninfo;
pub mod dump;
pub mod prune;
pub mod restore;
pub mod scratch;
pub mod session;
pub mod store;
pub mod stream;
mod summary;

pub use summary::{Outcome, Summary};

use std::path::PathBuf;

use clap::{Args, Subcommand};
use jiff::Timestamp;

use self::{conninfo::ConnInfo, store::Store};

/// Why the agent could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Config(String),
    #[error("database: {0}")]
    Database(String),
    #[error("store: {0}")]
    Store(String),
    #[error("{0}")]
    Tool(String),
    #[error("{0}")]
    Dump(String),
    #[error("{0}")]
    Verify(String),
}

/// Arguments of `backup-agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(subcommand)]
    pub command: AgentCommand,
}

#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Take a backup: pg_dump of the database in $DIRECT_DATABASE_URL to the store, with its manifest.
    Dump(DumpArgs),
    /// Restore a backup into the database in $TARGET_DATABASE_URL and check it against its manifest.
    Restore(RestoreArgs),
    /// Prove a backup restores: into a throwaway Postgres started here, checked against its manifest.
    Verify(VerifyArgs),
    /// Drop a database a restore replaced, on the server of $DIRECT_DATABASE_URL (never that URL's own).
    DropDatabase(DropArgs),
}

/// Arguments of `backup-agent drop-database`.
#[derive(Debug, Args)]
pub struct DropArgs {
    /// The database to drop.
    #[arg(long, value_name = "NAME")]
    pub database: String,
    /// Environment variable holding the URL of the server (its own database is never dropped).
    #[arg(long, value_name = "VAR", default_value = "DIRECT_DATABASE_URL")]
    pub server_env: String,
    /// Where the outcome is written for the operator (a container's termination message), when the file exists.
    #[arg(long, value_name = "FILE", default_value = "/dev/termination-log")]
    pub termination_log: PathBuf,
}

/// Arguments of `backup-agent verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub location: Location,
    /// Backup id.
    #[arg(long)]
    pub id: String,
    /// Directory for the throwaway database (an emptyDir in the verify Job).
    #[arg(long, value_name = "DIR", default_value = "/tmp")]
    pub scratch: PathBuf,
}

/// Where backups live and whose they are.
#[derive(Debug, Args)]
pub struct Location {
    /// S3 bucket (credentials and endpoint from the AWS SDK's standard chain).
    #[arg(
        long,
        value_name = "BUCKET",
        conflicts_with = "directory",
        required_unless_present = "directory"
    )]
    pub s3_bucket: Option<String>,
    /// S3 region (else the SDK's chain: AWS_REGION, the profile, …).
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Directory on a mounted volume, instead of S3.
    #[arg(long, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// Key prefix (folder) in the store.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// Namespace of the ChatbotDeployment.
    #[arg(long)]
    pub namespace: String,
    /// Name of the ChatbotDeployment.
    #[arg(long)]
    pub deployment: String,
    /// Where the outcome is written for the operator (a container's termination message), when the file exists.
    #[arg(long, value_name = "FILE", default_value = "/dev/termination-log")]
    pub termination_log: PathBuf,
}

impl Location {
    async fn store(&self) -> Store {
        match (&self.s3_bucket, &self.directory) {
            (Some(bucket), _) => Store::s3(bucket, self.s3_region.as_deref()).await,
            (None, Some(root)) => Store::Directory { root: root.clone() },
            (None, None) => unreachable!("clap requires one of --s3-bucket, --directory"),
        }
    }
}

/// Arguments of `backup-agent dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub location: Location,
    /// Environment variable holding the database URL (direct, not through a pooler).
    #[arg(long, value_name = "VAR", default_value = "DIRECT_DATABASE_URL")]
    pub source_env: String,
    /// Revision of the app the backup belongs to.
    #[arg(long)]
    pub revision: Option<i64>,
    /// Spec hash of that revision.
    #[arg(long)]
    pub spec_hash: Option<String>,
    /// Why it is taken: scheduled, pre-rollout, on-demand, safety.
    #[arg(long, default_value = "scheduled")]
    pub reason: String,
    /// Upload part size in MiB (5 to 64; S3's smallest part is 5 MiB).
    #[arg(long, value_name = "MIB", default_value_t = 16, value_parser = clap::value_parser!(u16).range(5..=64))]
    pub part_size_mib: u16,
    /// Accept a dump far smaller than the previous backup (data deleted on purpose).
    #[arg(long)]
    pub expect_shrink: bool,
    /// Id of the backup (letters, digits, `.`, `_`, `-`; at most 63); by default the start time and revision.
    #[arg(long, value_parser = backup_id)]
    pub id: Option<String>,
    /// After a good backup, keep at most this many good ones (the newest verified one always stays).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub keep_last: Option<u32>,
    /// After a good backup, remove backups older than this many days (the newest good one always stays).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub max_age_days: Option<u32>,
    /// A backup retention never removes (a revision's pre-rollout backup); repeatable.
    #[arg(long = "pin", value_name = "ID")]
    pub pinned: Vec<String>,
}

/// A backup id given on the command line: a folder name in every store.
fn backup_id(text: &str) -> Result<String, String> {
    let fits = !text.is_empty()
        && text.len() <= 63
        && !text.starts_with('.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if fits {
        Ok(text.to_string())
    } else {
        Err("an id is 1 to 63 letters, digits, `.`, `_` or `-`, not starting with `.`".into())
    }
}

/// Arguments of `backup-agent restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub location: Location,
    /// Backup id.
    #[arg(long)]
    pub id: String,
    /// Environment variable holding the URL of the (new, empty) target database.
    #[arg(long, value_name = "VAR", default_value = "TARGET_DATABASE_URL")]
    pub target_env: String,
    /// Restore into this new database, created (empty) on the server of
    /// the URL in `--server-env`; that URL's own database is never touched.
    #[arg(long, value_name = "NAME")]
    pub create_database: Option<String>,
    /// Environment variable holding the URL of the server `--create-database` creates on.
    #[arg(long, value_name = "VAR", default_value = "DIRECT_DATABASE_URL")]
    pub server_env: String,
    /// A verification into a throwaway database: reported as `verify`.
    #[arg(long)]
    pub verify: bool,
}

/// glibc raises its mmap threshold after the first large buffer is freed,
/// so later part buffers come from per-thread heaps that keep what they
/// held: memory grows with the dump. A fixed threshold maps every part
/// buffer on its own and gives it back when the part is sent.
fn bounded_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it is called before the
    // runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn url_from_env(var: &str) -> Result<ConnInfo, AgentError> {
    let text = std::env::var(var).map_err(|_| {
        AgentError::Config(format!(
            "{var} is not set: the agent reads the database URL from it (a Secret's key)"
        ))
    })?;
    ConnInfo::parse(&text, var)
}

/// Runs the agent; returns the process's exit code.
pub fn main(args: AgentArgs) -> i32 {
    bounded_allocator();
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return 1;
        }
    };
    let (summary, termination_log) = match runtime.block_on(execute(&args)) {
        Ok(done) => done,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let text = summary.to_json();
    println!("{text}");
    // The kubelet mounts the file; outside a pod there is none to write.
    if termination_log.exists()
        && let Err(error) = std::fs::write(termination_log, &text)
    {
        tracing::warn!(path = %termination_log.display(), %error, "writing the termination message failed");
    }
    match summary.outcome {
        Outcome::Succeeded => 0,
        Outcome::Failed => 1,
    }
}

async fn execute(args: &AgentArgs) -> Result<(Summary, &std::path::Path), AgentError> {
    match &args.command {
        AgentCommand::Dump(dump) => {
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
        AgentCommand::Restore(restore) => {
            let target = match &restore.create_database {
                Some(name) => {
                    let server = url_from_env(&restore.server_env)?;
                    match restore::create_database(&server, name).await {
                        Ok(target) => target,
                        Err(error) => {
                            let mut summary =
                                Summary::new("restore", &restore.id, Timestamp::now());
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
            log(&summary);
            Ok((summary, &restore.location.termination_log))
        }
        AgentCommand::Verify(verify) => {
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
        AgentCommand::DropDatabase(drop) => {
            let mut summary = Summary::new("drop", &drop.database, Timestamp::now());
            let server = url_from_env(&drop.server_env)?;
            match restore::drop_database(&server, &drop.database).await {
                Ok(()) => summary.done(),
                Err(error) => summary.failed(&error),
            }
            log(&summary);
            Ok((summary, &drop.termination_log))
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_id_must_be_a_plain_folder_name() {
        assert_eq!(
            backup_id("sales-backup-29113520"),
            Ok("sales-backup-29113520".into())
        );
        for bad in ["", "../etc", ".hidden", "a/b", "x y", &"a".repeat(64)] {
            assert!(backup_id(bad).is_err(), "{bad:?}");
        }
    }
}
