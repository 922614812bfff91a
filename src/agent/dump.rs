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

/// S3's most parts in one upload.
pub const MAX_PARTS: u32 = 10_000;
/// The largest part: the two held at once (one uploading, the next being
/// read) stay well within the Job's 256 MiB memory limit.
pub const MAX_PART: usize = 64 << 20;
/// Parts taken at one size before the size doubles.
const PARTS_PER_SIZE: u32 = 1_000;

/// The size of part `number` (from 1) of an upload whose first part is
/// `first` bytes: parts grow as the upload does (S3's parts may differ in
/// size), doubling every thousand parts up to [`MAX_PART`], so a dump of
/// hundreds of GiB fits in S3's ten thousand parts while a small one is
/// sent in small parts.
pub fn part_size(number: u32, first: usize) -> usize {
    let doublings = (number.max(1) - 1) / PARTS_PER_SIZE;
    let grown = first.saturating_mul(1 << doublings.min(16));
    grown.min(MAX_PART.max(first))
}

/// Reads the dump in parts: each is hashed, fed to `pg_restore --list`, and
/// uploaded while the next one is read (at most one in flight).
async fn send(
    mut stdout: tokio::process::ChildStdout,
    upload: &Upload,
    first_part: usize,
) -> Result<(Digest256, u64, u32), AgentError> {
    let mut digest = Digest256::default();
    let mut listing = Listing::start()?;
    let mut in_flight = None;
    let mut parts = 0;
    loop {
        let size = part_size(parts + 1, first_part);
        let part = stream::read_part(&mut stdout, size)
            .await
            .map_err(|e| AgentError::Tool(format!("reading pg_dump's output: {e}")))?;
        if part.is_empty() {
            break;
        }
        if parts == MAX_PARTS {
            let sent: u64 = (1..=MAX_PARTS)
                .map(|n| part_size(n, first_part) as u64)
                .sum();
            return Err(AgentError::Dump(format!(
                "the dump is larger than {} GiB, the most {MAX_PARTS} parts starting at {} MiB hold; start with larger parts (--part-size-mib)",
                sent >> 30,
                first_part >> 20
            )));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_double_every_thousand_up_to_the_largest() {
        let mib = 1 << 20;
        let sizes: Vec<usize> = [1, 1000, 1001, 2000, 2001, 3001, 10_000]
            .into_iter()
            .map(|n| part_size(n, 16 * mib) / mib)
            .collect();
        assert_eq!(sizes, [16, 16, 32, 32, 64, 64, 64]);
        // Larger first parts than the cap are taken as given.
        assert_eq!(part_size(5_000, 100 * mib), 100 * mib);
    }

    #[test]
    fn ten_thousand_parts_hold_half_a_tebibyte_from_the_default_size() {
        let total = |first: usize| -> u64 {
            (1..=MAX_PARTS)
                .map(|n| part_size(n, first << 20) as u64)
                .sum::<u64>()
                >> 30
        };
        // Fixed 16 MiB parts held 156 GiB.
        assert_eq!(total(16), 546);
        assert!(total(5) >= 400, "{}", total(5));
    }
}
