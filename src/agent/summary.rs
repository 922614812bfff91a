//! What a run reports: one JSON line on stdout and, for the operator, the
//! container's termination message (kept within the kubelet's 4 KiB).

use jiff::Timestamp;
use serde::Serialize;

use super::AgentError;
use crate::backup::manifest::Manifest;

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
    /// Backups retention removed after this one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pruned: Vec<String>,
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
            pruned: Vec::new(),
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

    /// Over and good, with nothing to report beyond it (a dropped database).
    pub fn done(&mut self) {
        self.outcome = Outcome::Succeeded;
        self.finished_at = Timestamp::now();
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

#[cfg(test)]
mod tests {
    use super::*;

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
