//! Migration Jobs beyond the reconcile's decision: the log of a failed one,
//! for the status (its last lines, with anything that looks like a
//! credential taken out first), and which old ones go.

use std::sync::LazyLock;

use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api, Client,
    api::{ListParams, LogParams},
};
use regex::Regex;

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

static URL_CREDENTIALS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s@]*@").expect("valid regex"));
static ASSIGNMENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b([a-z0-9_]*(?:password|passwd|secret|token|api[_-]?key)[a-z0-9_]*)(["']?\s*[=:]\s*["']?)[^\s"',;]+"#)
        .expect("valid regex")
});
/// Generated passwords and most keys: long runs of hex or base64.
static LONG_TOKENS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Za-z0-9+/_-]{32,}={0,2}").expect("valid regex"));

/// `text` with URL credentials, `password=…`-style assignments and long
/// tokens replaced by `[redacted]`.
pub fn redact(text: &str) -> String {
    let text = URL_CREDENTIALS.replace_all(text, "${1}[redacted]@");
    let text = ASSIGNMENTS.replace_all(&text, "${1}${2}[redacted]");
    LONG_TOKENS.replace_all(&text, "[redacted]").into_owned()
}

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
        .map(redact)
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

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn credentials_in_a_log_line_are_redacted() {
        let password = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let line = format!(
            "sqlalchemy.exc.OperationalError: could not connect to postgresql://chatbot:{password}@db:5432/chatbot"
        );
        let out = redact(&line);
        assert!(!out.contains(password), "{out}");
        assert!(
            out.contains("postgresql://[redacted]@db:5432/chatbot"),
            "{out}"
        );

        let out = redact("settings: DB_PASSWORD=hunter2 OPENAI_API_KEY: 'sk-abc' user=alice");
        assert!(!out.contains("hunter2") && !out.contains("sk-abc"), "{out}");
        assert!(out.contains("user=alice"), "ordinary words stay: {out}");

        let out = redact(&format!("token {password} rejected"));
        assert_eq!(out, "token [redacted] rejected");
    }

    #[test]
    fn an_ordinary_error_reads_as_it_was() {
        let line = "alembic.util.exc.CommandError: Can't locate revision identified by 'a1b2c3'";
        assert_eq!(redact(line), line);
    }
}
