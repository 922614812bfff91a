//! One backup: the snapshot exported, `pg_dump --format=custom` of it
//! streamed part by part to the store (hashed and listed on the way, never
//! staged on disk), judged, and only then completed and described by its
//! manifest. Any failure aborts the upload.

use std::process::Stdio;

use bytes::Bytes;
use jiff::Timestamp;

use super::{
    AgentError, Summary,
    conninfo::ConnInfo,
    session::Snapshot,
    store::{Store, Upload},
    stream::{self, Digest256, Listing},
};
use crate::backup::manifest::{self, Dump, Manifest, Measured, Previous};

/// What to back up, and where.
pub struct DumpPlan {
    pub source: ConnInfo,
    pub store: Store,
    pub prefix: String,
    pub namespace: String,
    pub deployment: String,
    pub revision: Option<i64>,
    pub spec_hash: Option<String>,
    pub reason: String,
    pub part_size: usize,
    pub expect_shrink: bool,
    /// The id to give the backup (the operator passes its Job's); else one
    /// from the start time and revision.
    pub id: Option<String>,
    /// A backup that must be in the store, with a readable manifest, for
    /// this one to be taken.
    pub requires: Option<String>,
}

/// Takes one backup. A failed one is reported in the summary (and as an
/// error exit by the caller), with nothing left behind that lists as a
/// backup.
pub async fn run(plan: &DumpPlan) -> Summary {
    let started_at = Timestamp::now();
    let id = plan
        .id
        .clone()
        .unwrap_or_else(|| manifest::backup_id(started_at, plan.revision));
    let mut summary = Summary::new("backup", &id, started_at);
    match take(plan, &id, started_at).await {
        Ok(manifest) => summary.succeeded(&manifest),
        Err(error) => summary.failed(&error),
    }
    summary
}

async fn take(plan: &DumpPlan, id: &str, started_at: Timestamp) -> Result<Manifest, AgentError> {
    let (folder, manifest_key, previous) = prepare(plan, id).await?;

    let snapshot = Snapshot::open(&plan.source).await?;
    let mut child = stream::tool("pg_dump", Some(&plan.source))
        .args(["--format=custom", "--no-password"])
        .arg(format!("--snapshot={}", snapshot.id))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| AgentError::Tool(format!("starting pg_dump: {e}")))?;
    let stderr = stream::stderr_tail(&mut child);
    let stdout = child.stdout.take().expect("piped stdout");

    let upload = plan
        .store
        .start(&format!("{folder}{}", manifest::DUMP_FILE))
        .await?;
    let counting = snapshot.row_counts();
    let streaming = send(stdout, &upload, plan.part_size);
    let (tables, streamed) = tokio::join!(counting, streaming);
    let status = child.wait().await;
    let server_version = snapshot.server_version;
    snapshot.close().await;
    let stderr = stderr.await.unwrap_or_default();

    let outcome = async {
        let (digest, toc_entries, parts) = streamed?;
        let tables = tables?;
        let status = status.map_err(|e| AgentError::Tool(format!("waiting for pg_dump: {e}")))?;
        let measured = Measured {
            exit_code: status.code(),
            bytes: digest.bytes,
            toc_entries,
            rows: tables.iter().map(|t| t.rows).sum(),
        };
        manifest::judge(&measured, previous, plan.expect_shrink).map_err(|reason| {
            AgentError::Dump(if stderr.is_empty() {
                reason
            } else {
                format!("{reason}: {}", crate::redact::postgres_output(&stderr))
            })
        })?;
        Ok::<_, AgentError>((digest.hex(), measured, parts, tables))
    }
    .await;
    let (sha256, measured, parts, tables) = match outcome {
        Ok(done) => done,
        Err(error) => {
            upload.abort().await;
            return Err(error);
        }
    };
    upload.complete().await?;
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        id: id.to_string(),
        namespace: plan.namespace.clone(),
        deployment: plan.deployment.clone(),
        revision: plan.revision,
        spec_hash: plan.spec_hash.clone(),
        reason: plan.reason.clone(),
        database: plan.source.dbname.clone(),
        server_version,
        started_at,
        finished_at: Timestamp::now(),
        dump: Dump {
            bytes: measured.bytes,
            sha256,
            toc_entries: measured.toc_entries,
            parts,
        },
        tables,
    };
    let body = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    plan.store.put(&manifest_key, body).await?;
    Ok(manifest)
}

/// Before a dump: uploads an earlier run left are aborted, the backup's
/// id is new (a backup is never overwritten), and the newest earlier
/// manifest is read to judge this one against. Returns the backup's
/// folder and manifest key, and that manifest.
async fn prepare(
    plan: &DumpPlan,
    id: &str,
) -> Result<(String, String, Option<Previous>), AgentError> {
    let deployment_folder =
        manifest::deployment_folder(&plan.prefix, &plan.namespace, &plan.deployment);
    let stale = plan.store.abort_stale(&deployment_folder).await?;
    if stale > 0 {
        tracing::warn!(
            stale,
            "aborted uploads left by an earlier run that did not finish"
        );
    }
    let folder = manifest::folder(&plan.prefix, &plan.namespace, &plan.deployment, id);
    let manifest_key = format!("{folder}{}", manifest::MANIFEST_FILE);
    let manifests: Vec<String> = plan
        .store
        .list(&deployment_folder)
        .await?
        .into_iter()
        .filter(|key| key.ends_with(manifest::MANIFEST_FILE))
        .collect();
    if manifests.contains(&manifest_key) {
        return Err(AgentError::Dump(format!(
            "backup {id} already exists: a backup is never overwritten"
        )));
    }
    if let Some(required) = &plan.requires {
        required_backup(plan, required).await?;
    }
    let previous = previous(&plan.store, &manifests).await?;
    Ok((folder, manifest_key, previous))
}

/// Fails unless backup `id` is in the store with a manifest that reads:
/// the safety backup of a restore checks the backup it will restore,
/// before the app is stopped for it.
async fn required_backup(plan: &DumpPlan, id: &str) -> Result<(), AgentError> {
    let folder = manifest::folder(&plan.prefix, &plan.namespace, &plan.deployment, id);
    let key = format!("{folder}{}", manifest::MANIFEST_FILE);
    let missing = |why: &str| {
        AgentError::Dump(format!(
            "backup {id}, which the restore would use, {why}: the restore goes no further and nothing was stopped"
        ))
    };
    let body = plan.store.get(&key).await?;
    let body = body
        .ok_or_else(|| missing("is not in the store (a mistyped id, or removed by retention)"))?;
    serde_json::from_slice::<Manifest>(&body)
        .map(|_| ())
        .map_err(|_| missing("has a manifest that does not read"))
}

/// Reads the dump in parts: each is hashed, fed to `pg_restore --list`, and
/// uploaded while the next one is read (at most one in flight).
async fn send(
    mut stdout: tokio::process::ChildStdout,
    upload: &Upload,
    part_size: usize,
) -> Result<(Digest256, u64, u32), AgentError> {
    let mut digest = Digest256::default();
    let mut listing = Listing::start()?;
    let mut in_flight = None;
    let mut parts = 0;
    loop {
        let part = stream::read_part(&mut stdout, part_size)
            .await
            .map_err(|e| AgentError::Tool(format!("reading pg_dump's output: {e}")))?;
        if part.is_empty() {
            break;
        }
        digest.update(&part);
        listing.feed(&part).await;
        if let Some(sent) = in_flight.take() {
            joined(sent).await?;
        }
        parts += 1;
        in_flight = Some(upload.send_part(parts as i32, Bytes::from(part)));
    }
    if let Some(sent) = in_flight.take() {
        joined(sent).await?;
    }
    Ok((digest, listing.entries().await, parts))
}

async fn joined(handle: tokio::task::JoinHandle<Result<(), AgentError>>) -> Result<(), AgentError> {
    handle
        .await
        .map_err(|e| AgentError::Store(format!("an upload task ended: {e}")))?
}

/// The newest good backup among `manifests` (by when it finished: ids given
/// with `--id` need not sort by time), for the size check.
pub async fn previous(store: &Store, manifests: &[String]) -> Result<Option<Previous>, AgentError> {
    let mut newest: Option<Manifest> = None;
    for key in manifests {
        let Some(body) = store.get(key).await? else {
            continue;
        };
        let manifest: Manifest = serde_json::from_slice(&body)
            .map_err(|e| AgentError::Store(format!("{key} is not a backup manifest: {e}")))?;
        if newest
            .as_ref()
            .is_none_or(|n| manifest.finished_at > n.finished_at)
        {
            newest = Some(manifest);
        }
    }
    Ok(newest.map(|manifest| Previous {
        bytes: manifest.dump.bytes,
        rows: manifest.rows(),
    }))
}
