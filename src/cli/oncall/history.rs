//! The revision history and the data's lines of the on-call reports:
//! each revision with the backups taken before it rolled out, the newest
//! good backup, and the restore in progress or last done.

use std::fmt::Write as _;

use k8s_openapi::jiff::Timestamp;

use crate::cli::text::{age, number};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus, RevisionRecord},
    backup::{restore::step, runs::human_bytes},
};

/// `Maintenance:` while users get the maintenance page: why, since when.
pub(super) fn maintenance_line(
    out: &mut String,
    status: &ChatbotDeploymentStatus,
    now: &Timestamp,
) {
    if let Some(page) = status.maintenance.as_ref().filter(|p| p.serving) {
        let _ = writeln!(
            out,
            "Maintenance: ON for {} ({})",
            age(page.since.as_ref(), now),
            page.message
        );
    }
}

/// `Backups:` (the newest good one) and `Restore:` (in progress, or the
/// last one) lines, when there is something to say.
pub(super) fn data_lines(out: &mut String, status: &ChatbotDeploymentStatus, now: &Timestamp) {
    if let Some(good) = status
        .backups
        .as_ref()
        .and_then(|b| b.last_successful.as_ref())
    {
        let verified = match good.verified {
            Some(true) => ", verified",
            Some(false) => ", its verification FAILED",
            None => "",
        };
        let _ = writeln!(
            out,
            "Backups:    newest good {} ({}{verified}), {} ago",
            good.id,
            good.bytes
                .map(human_bytes)
                .unwrap_or_else(|| good.method.clone().unwrap_or_else(|| "dump".into())),
            age(good.time.as_ref().or(good.started_at.as_ref()), now)
        );
    }
    if let Some(restore) = &status.restore {
        let when = if step::is_final(&restore.step) {
            format!(", {} ago", age(restore.finished_at.as_ref(), now))
        } else {
            format!(
                " (step {}, since {} ago)",
                restore.step,
                age(restore.started_at.as_ref(), now)
            )
        };
        let _ = writeln!(
            out,
            "Restore:    {} of {}{when}: {}",
            restore.id,
            restore.backup,
            restore.message.as_deref().unwrap_or(&restore.step)
        );
    }
}

pub(super) fn history_lines(
    out: &mut String,
    revisions: &[RevisionRecord],
    now: &Timestamp,
    limit: usize,
) {
    for record in revisions.iter().rev().take(limit) {
        let outcome = record.outcome.as_deref().unwrap_or("-");
        let mut line = format!(
            "  #{:<4} {:<11} {}  created {} ago",
            record.revision,
            outcome,
            record.image,
            age(record.created_at.as_ref(), now)
        );
        if record.promoted_at.is_some() {
            let _ = write!(
                line,
                ", promoted {} ago",
                age(record.promoted_at.as_ref(), now)
            );
        }
        if record.aborted_at.is_some() {
            let _ = write!(line, ", ended {} ago", age(record.aborted_at.as_ref(), now));
        }
        let taken: Vec<String> = [
            ("dump", &record.pre_rollout_snapshot),
            ("RDS snapshot", &record.pre_rollout_db_snapshot),
            ("ElastiCache snapshot", &record.pre_rollout_cache_snapshot),
        ]
        .into_iter()
        .filter_map(|(what, id)| id.as_ref().map(|id| format!("{what} {id}")))
        .collect();
        if !taken.is_empty() {
            let _ = write!(line, ", backed up first: {}", taken.join(", "));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The `history` report: every recorded revision, newest first.
pub fn history_report(cbd: &ChatbotDeployment, now: &Timestamp) -> String {
    let status = cbd.status.clone().unwrap_or_default();
    let name = cbd.metadata.name.as_deref().unwrap_or_default();
    if status.revisions.is_empty() {
        return format!("{name}: no revision recorded yet\n");
    }
    let mut out = format!(
        "{name}: {} revision(s), stable {}\n",
        status.revisions.len(),
        number(status.stable_revision)
    );
    history_lines(&mut out, &status.revisions, now, usize::MAX);
    out
}
