//! A backup restored into a target database (a new one for a restore, a
//! throwaway server for a verification): the dump streamed from the store
//! into `pg_restore` in one transaction, hashed and listed on the way, then
//! the target's rows counted and everything compared with the manifest.

use std::{process::Stdio, time::Instant};

use jiff::Timestamp;
use tokio::io::AsyncWriteExt;

use super::{
    AgentError, Summary,
    conninfo::ConnInfo,
    session,
    store::Store,
    stream::{self, Digest256, Listing},
};
use crate::backup::manifest::{self, Manifest};

/// Chunks read from the store at a time.
const CHUNK: usize = 1 << 20;

pub struct RestorePlan {
    pub store: Store,
    pub prefix: String,
    pub namespace: String,
    pub deployment: String,
    pub id: String,
    pub target: ConnInfo,
    /// A verification: the same restore, reported as `verify`.
    pub verify: bool,
}

pub async fn run(plan: &RestorePlan) -> Summary {
    let started_at = Timestamp::now();
    let kind = if plan.verify { "verify" } else { "restore" };
    let mut summary = Summary::new(kind, &plan.id, started_at);
    let clock = Instant::now();
    match restore(plan).await {
        Ok((manifest, mismatches)) => {
            summary.restore_seconds = Some(clock.elapsed().as_secs_f64());
            summary.succeeded(&manifest);
            if !mismatches.is_empty() {
                summary.mismatches = mismatches.iter().map(ToString::to_string).collect();
                summary.failed(&AgentError::Verify(format!(
                    "the restored database does not match backup {}: {}",
                    plan.id, summary.mismatches[0]
                )));
            }
        }
        Err(error) => summary.failed(&error),
    }
    summary
}

/// Whether `name` can name a database the agent creates: lowercase
/// letters, digits and `_`, at most 63 bytes, starting with a letter.
pub fn valid_database_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Makes database `name` new and empty on the server of `server` (whose
/// own database is never touched), and returns the connection to it. A
/// database of that name left by an earlier, interrupted attempt of the
/// same restore is dropped first: it was never the one the app uses.
pub async fn create_database(server: &ConnInfo, name: &str) -> Result<ConnInfo, AgentError> {
    if !valid_database_name(name) {
        return Err(AgentError::Config(format!(
            "--create-database: {name:?} is not a database name this agent creates (lowercase letters, digits and `_`, at most 63, starting with a letter)"
        )));
    }
    if name == server.dbname {
        return Err(AgentError::Config(format!(
            "--create-database: {name} is the database the URL leads to; a restore never writes over it"
        )));
    }
    let client = session::connect(server).await?;
    let quoted = session::quote_ident(name);
    let failed = |what: &'static str| {
        move |e: tokio_postgres::Error| {
            AgentError::Database(format!("{what} {name}: {}", session::in_words(&e)))
        }
    };
    client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {quoted}"))
        .await
        .map_err(failed("dropping the unfinished"))?;
    client
        .batch_execute(&format!("CREATE DATABASE {quoted}"))
        .await
        .map_err(failed("creating"))?;
    Ok(server.with_dbname(name))
}

/// Drops database `name` on the server of `server`: the one a restore
/// replaced, once its time as the undo is over. Never the database the
/// URL leads to (the one the app uses).
pub async fn drop_database(server: &ConnInfo, name: &str) -> Result<(), AgentError> {
    if !valid_database_name(name) {
        return Err(AgentError::Config(format!(
            "--database: {name:?} is not a database name this agent drops (lowercase letters, digits and `_`, at most 63, starting with a letter)"
        )));
    }
    if name == server.dbname {
        return Err(AgentError::Config(format!(
            "--database: {name} is the database the URL leads to (the one the app uses); it is never dropped"
        )));
    }
    let client = session::connect(server).await?;
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {}",
            session::quote_ident(name)
        ))
        .await
        .map_err(|e| AgentError::Database(format!("dropping {name}: {}", session::in_words(&e))))
}

pub async fn load_manifest(store: &Store, folder: &str, id: &str) -> Result<Manifest, AgentError> {
    let key = format!("{folder}{}", manifest::MANIFEST_FILE);
    let body = store
        .get(&key)
        .await?
        .ok_or_else(|| AgentError::Verify(format!("backup {id} does not exist (no {key})")))?;
    serde_json::from_slice(&body)
        .map_err(|e| AgentError::Verify(format!("{key} is not a backup manifest: {e}")))
}

async fn restore(plan: &RestorePlan) -> Result<(Manifest, Vec<manifest::Mismatch>), AgentError> {
    let folder = manifest::folder(&plan.prefix, &plan.namespace, &plan.deployment, &plan.id);
    let manifest = load_manifest(&plan.store, &folder, &plan.id).await?;
    let mut reader = plan
        .store
        .reader(&format!("{folder}{}", manifest::DUMP_FILE))
        .await?;

    let mut child = stream::tool("pg_restore", Some(&plan.target))
        .args([
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
        ])
        .arg(format!("--dbname={}", plan.target.dbname))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| AgentError::Tool(format!("starting pg_restore: {e}")))?;
    let stderr = stream::stderr_tail(&mut child);
    let mut stdin = child.stdin.take();
    let mut digest = Digest256::default();
    let mut listing = Listing::start()?;
    loop {
        let chunk = stream::read_part(&mut reader, CHUNK)
            .await
            .map_err(|e| AgentError::Store(format!("reading backup {}: {e}", plan.id)))?;
        if chunk.is_empty() {
            break;
        }
        digest.update(&chunk);
        listing.feed(&chunk).await;
        if let Some(input) = &mut stdin
            && input.write_all(&chunk).await.is_err()
        {
            // pg_restore stopped: its exit status and error say why. The
            // rest is still read, for the checksum.
            stdin = None;
        }
    }
    drop(stdin);
    let status = child
        .wait()
        .await
        .map_err(|e| AgentError::Tool(format!("waiting for pg_restore: {e}")))?;
    let stderr = stderr.await.unwrap_or_default();
    let toc_entries = listing.entries().await;
    let bytes = digest.bytes;
    let sha256 = digest.hex();
    if !status.success() {
        let mismatches =
            manifest::compare(&manifest, bytes, &sha256, toc_entries, &manifest.tables);
        let cause = mismatches
            .iter()
            .find(|m| !matches!(m, manifest::Mismatch::Rows { .. }))
            .map(|m| format!(" ({m})"))
            .unwrap_or_default();
        return Err(AgentError::Verify(format!(
            "pg_restore of backup {} failed{cause}: {}",
            plan.id,
            crate::redact::postgres_output(&stderr)
        )));
    }

    let client = session::connect(&plan.target).await?;
    let present = session::existing(&client, &manifest.tables).await?;
    let rows = session::count_rows(&client, present).await?;
    let mismatches = manifest::compare(&manifest, bytes, &sha256, toc_entries, &rows);
    Ok((manifest, mismatches))
}
