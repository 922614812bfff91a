//! The agent's command line: what each Job's container is given (the
//! store, the backup's id, where its outcome goes); database URLs only as
//! the names of environment variables.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::store::Store;

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
    /// The store these arguments name.
    pub async fn store(&self) -> Store {
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
    /// A backup retention never removes (a revision's pre-rollout backup, one a restore uses); repeatable.
    #[arg(long = "pin", value_name = "ID")]
    pub pinned: Vec<String>,
    /// A backup that must be in the store, readable, for this one to be taken (a restore's safety backup names the backup the restore will use).
    #[arg(long, value_name = "ID", value_parser = backup_id)]
    pub requires: Option<String>,
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
