//! What a backup-agent run reports in its termination message, as the
//! operator reads it back: one JSON object (the agent's summary). Parsing
//! is lenient about fields it does not know and strict about the outcome:
//! a message that does not say `Succeeded` is never read as a success.

use jiff::Timestamp;
use serde::Deserialize;

/// The agent's summary of one run.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub started_at: Option<Timestamp>,
    #[serde(default)]
    pub finished_at: Option<Timestamp>,
    #[serde(default)]
    pub revision: Option<i64>,
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub toc_entries: Option<u64>,
    #[serde(default)]
    pub rows: Option<i64>,
    #[serde(default)]
    pub restore_seconds: Option<f64>,
    #[serde(default)]
    pub mismatches: Vec<String>,
    /// Backups retention removed after this one succeeded.
    #[serde(default)]
    pub pruned: Vec<String>,
}

impl Report {
    /// Reads a termination message; `None` when it is not a summary.
    pub fn parse(message: &str) -> Option<Self> {
        serde_json::from_str(message.trim()).ok()
    }

    /// Whether the run says it succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == "Succeeded"
    }

    /// Why it failed, for status and Events.
    pub fn failure(&self) -> String {
        let mut text = self
            .message
            .clone()
            .unwrap_or_else(|| format!("the {} run reported {}", self.kind, self.outcome));
        if let Some(first) = self.mismatches.first() {
            text.push_str(&format!("; {first}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_back_with_its_figures() {
        let report = Report::parse(
            r#"{"kind":"backup","id":"20261201-020000-r3","outcome":"Succeeded","startedAt":"2026-12-01T02:00:00Z","finishedAt":"2026-12-01T02:01:40Z","revision":3,"bytes":1048576,"sha256":"ab","tocEntries":42,"tables":3,"rows":7}"#,
        )
        .unwrap();
        assert!(report.succeeded());
        assert_eq!(report.bytes, Some(1_048_576));
        assert_eq!(report.toc_entries, Some(42));
        assert_eq!(report.revision, Some(3));
    }

    #[test]
    fn only_an_explicit_success_is_a_success() {
        assert!(Report::parse("pg_dump: error: connection refused").is_none());
        let failed =
            Report::parse(r#"{"kind":"backup","outcome":"Failed","message":"pg_dump exited 1"}"#)
                .unwrap();
        assert!(!failed.succeeded());
        assert_eq!(failed.failure(), "pg_dump exited 1");
        let odd = Report::parse(r#"{"kind":"backup"}"#).unwrap();
        assert!(!odd.succeeded());
    }
}
