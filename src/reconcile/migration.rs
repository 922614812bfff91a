//! Migration Jobs beyond the reconcile's decision: the log of a failed one,
//! for the status (its last lines, with anything that looks like a
//! credential taken out first), and which old ones go.

use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{ListParams, LogParams},
};

/// Finished migration Jobs older than the last three revisions' (kept
/// for `kubectl logs`): kind, name and uid, to delete.
pub fn old_jobs(
    jobs: &std::collections::BTreeMap<i64, super::observe::ObservedMigration>,
    revision: i64,
) -> Vec<(crate::render::ChildKind, String, Option<String>)> {
    jobs.iter()
        .filter(|(job_revision, job)| {
            **job_revision < revision - 2 && job.state != super::observe::MigrationState::Running
        })
        .map(|(_, job)| {
            (
                crate::render::ChildKind::MigrationJob,
                job.name.clone(),
                job.uid.clone(),
            )
        })
        .collect()
}

/// Lines of the log kept in the status.
pub const TAIL_LINES: i64 = 10;
/// Characters of the log kept in the status.
const TAIL_CHARS: usize = 1500;

/// The last lines of the Job's newest pod, redacted and joined with ` | `;
/// `None` when no pod or log can be read (the message then names the Job).
pub async fn log_tail(client: &Client, namespace: &str, job: &str) -> Option<String> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .ok()?;
    let newest = list
        .items
        .iter()
        .max_by_key(|pod| pod.metadata.creation_timestamp.clone())?;
    let name = newest.metadata.name.as_deref()?;
    let log = pods
        .logs(
            name,
            &LogParams {
                container: Some("migrate".into()),
                tail_lines: Some(TAIL_LINES),
                ..Default::default()
            },
        )
        .await
        .ok()?;
    let lines: Vec<String> = log
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .map(crate::redact::credentials)
        .collect();
    let mut joined = lines.join(" | ");
    if joined.len() > TAIL_CHARS {
        let cut = joined
            .char_indices()
            .map(|(i, _)| i)
            .rfind(|i| joined.len() - i >= TAIL_CHARS)
            .unwrap_or(0);
        joined = format!("…{}", &joined[cut..]);
    }
    Some(joined)
}
