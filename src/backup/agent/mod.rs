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
pub mod restore;
pub mod scratch;
pub mod session;
pub mod store;
pub mod stream;

use std::path::PathBuf;

use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde::Serialize;

use self::{conninfo::ConnInfo, store::Store};
use crate::backup::manifest::Manifest;

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
    /// A verification into a throwaway database: reported as `verify`.
    #[arg(long)]
    pub verify: bool,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    Succeeded,
    Failed,
}

/// What a run reports: one JSON line, and the termination message.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub kind: &'static str,
    pub id: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toc_entries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tables: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
}

/// A termination message is cut at 4096 bytes by the kubelet.
const TERMINATION_LIMIT: usize = 4096;

impl Summary {
    pub fn new(kind: &'static str, id: &str, started_at: Timestamp) -> Self {
        Self {
            kind,
            id: id.to_string(),
            outcome: Outcome::Failed,
            message: None,
            started_at,
            finished_at: started_at,
            revision: None,
            bytes: None,
            sha256: None,
            toc_entries: None,
            tables: None,
            rows: None,
            server_version: None,
            restore_seconds: None,
            mismatches: Vec::new(),
        }
    }

    pub fn succeeded(&mut self, manifest: &Manifest) {
        self.outcome = Outcome::Succeeded;
        self.finished_at = Timestamp::now();
        self.revision = manifest.revision;
        self.bytes = Some(manifest.dump.bytes);
        self.sha256 = Some(manifest.dump.sha256.clone());
        self.toc_entries = Some(manifest.dump.toc_entries);
        self.tables = Some(manifest.tables.len());
        self.rows = Some(manifest.rows());
        self.server_version = Some(manifest.server_version);
    }

    pub fn failed(&mut self, error: &AgentError) {
        self.outcome = Outcome::Failed;
        self.finished_at = Timestamp::now();
        self.message = Some(error.to_string());
    }

    /// The summary as JSON within the termination message's limit: the
    /// message and the mismatches are shortened first.
    pub fn to_json(&self) -> String {
        let mut summary = self.clone();
        let json =
            |summary: &Summary| serde_json::to_string(summary).expect("a summary serialises");
        if json(&summary).len() > TERMINATION_LIMIT && summary.mismatches.len() > 1 {
            let more = summary.mismatches.len() - 1;
            summary.mismatches.truncate(1);
            summary.mismatches.push(format!("… and {more} more"));
        }
        for _ in 0..8 {
            let text = json(&summary);
            if text.len() <= TERMINATION_LIMIT {
                return text;
            }
            let message = summary.message.get_or_insert_with(String::new);
            let keep = message
                .len()
                .saturating_sub(text.len() - TERMINATION_LIMIT + 4);
            let mut cut = keep.min(message.len());
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push('…');
            if keep == 0 {
                summary.mismatches.clear();
            }
        }
        let mut bare = Summary::new(self.kind, "", self.started_at);
        bare.outcome = self.outcome;
        bare.message = Some("the summary is too long for a termination message".into());
        json(&bare)
    }
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
    let (summary, location) = match runtime.block_on(execute(&args)) {
        Ok(done) => done,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let text = summary.to_json();
    println!("{text}");
    // The kubelet mounts the file; outside a pod there is none to write.
    if location.termination_log.exists()
        && let Err(error) = std::fs::write(&location.termination_log, &text)
    {
        tracing::warn!(path = %location.termination_log.display(), %error, "writing the termination message failed");
    }
    match summary.outcome {
        Outcome::Succeeded => 0,
        Outcome::Failed => 1,
    }
}

async fn execute(args: &AgentArgs) -> Result<(Summary, &Location), AgentError> {
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
            let summary = dump::run(&plan).await;
            log(&summary);
            Ok((summary, &dump.location))
        }
        AgentCommand::Restore(restore) => {
            let plan = restore::RestorePlan {
                target: url_from_env(&restore.target_env)?,
                store: restore.location.store().await,
                prefix: restore.location.prefix.clone(),
                namespace: restore.location.namespace.clone(),
                deployment: restore.location.deployment.clone(),
                id: restore.id.clone(),
                verify: restore.verify,
            };
            let summary = restore::run(&plan).await;
            log(&summary);
            Ok((summary, &restore.location))
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
                }
                // A verification that cannot run is a failure, never a pass.
                Err(error) => summary.failed(&error),
            }
            log(&summary);
            Ok((summary, &verify.location))
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

    #[test]
    fn a_summary_fits_a_termination_message_however_long_its_error() {
        let mut summary = Summary::new("backup", "20261201T020000Z-r3", Timestamp::UNIX_EPOCH);
        summary.failed(&AgentError::Dump(format!(
            "pg_dump exited with status 1: {}",
            "é".repeat(5000)
        )));
        summary.mismatches = (0..500)
            .map(|i| format!("table public.t{i}: 0 rows"))
            .collect();
        let text = summary.to_json();
        assert!(text.len() <= TERMINATION_LIMIT, "{}", text.len());
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["outcome"], "Failed");
        assert!(
            value["message"]
                .as_str()
                .unwrap()
                .starts_with("pg_dump exited with status 1: é")
        );
        assert_eq!(value["id"], "20261201T020000Z-r3");
    }

    #[test]
    fn the_operator_reads_back_what_the_agent_reports() {
        let mut summary = Summary::new("backup", "20261201-020000-r3", Timestamp::UNIX_EPOCH);
        summary.outcome = Outcome::Succeeded;
        summary.bytes = Some(4096);
        summary.toc_entries = Some(17);
        summary.sha256 = Some("ab".repeat(32));
        let report = crate::backup::report::Report::parse(&summary.to_json()).unwrap();
        assert!(report.succeeded());
        assert_eq!(report.id, "20261201-020000-r3");
        assert_eq!(report.bytes, Some(4096));
        assert_eq!(report.toc_entries, Some(17));
        assert_eq!(report.sha256, summary.sha256);
        summary.failed(&AgentError::Dump("pg_dump was killed".into()));
        let report = crate::backup::report::Report::parse(&summary.to_json()).unwrap();
        assert!(!report.succeeded());
        assert!(
            report.failure().contains("pg_dump was killed"),
            "{}",
            report.failure()
        );
    }
}
