//! `backup NAME [--wait]` (an on-call Backup action) and `backups NAME`
//! (the recent backups from status: time, size, revision, verified). The
//! report is a pure function of the resource, tested without a cluster.

use std::fmt::Write as _;

use clap::Args;
use k8s_openapi::jiff::Timestamp;

use super::{
    CliError,
    action::{self, Request, TargetArgs},
};
use crate::{
    api::{ActionKind, ChatbotDeployment},
    backup::runs::human_bytes,
};

/// Arguments of `backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Why, for the audit trail: shown in the Event and the action.
    #[arg(long, value_name = "TEXT", default_value = "on-call backup")]
    pub reason: String,
    /// Wait until the backup finished; exit code 1 if it failed.
    #[arg(long)]
    pub wait: bool,
    /// The database shrank on purpose: a dump far smaller than the previous one is not refused.
    #[arg(long)]
    pub expect_shrink: bool,
    /// How long `--wait` waits, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub timeout: u64,
}

/// `backup NAME`: a Backup action.
pub fn backup_command(args: &BackupArgs) -> Result<String, CliError> {
    action::act(
        &args.target,
        &Request {
            kind: ActionKind::Backup,
            reason: &args.reason,
            timeout: args.timeout,
            expect_shrink: args.expect_shrink,
            wait: args.wait,
            ..Request::default()
        },
    )
}

/// `backups NAME`: the recent backups.
pub fn backups_command(args: &TargetArgs) -> Result<String, CliError> {
    action::runtime()?.block_on(async {
        let (client, namespace) = action::connect(args.namespace.as_deref()).await?;
        let view = action::read(&client, &namespace, &args.name).await?;
        Ok(backups_report(&view.cbd, &Timestamp::now()))
    })
}

/// The recent backups, newest first, with the conditions' verdicts.
pub fn backups_report(cbd: &ChatbotDeployment, now: &Timestamp) -> String {
    let status = cbd.status.clone().unwrap_or_default();
    let backups = status.backups.unwrap_or_default();
    let mut out = String::new();
    for type_ in ["BackupHealthy", "BackupStale"] {
        if let Some(c) = status.conditions.iter().find(|c| c.type_ == type_) {
            let _ = writeln!(out, "{type_}={} ({}): {}", c.status, c.reason, c.message);
        }
    }
    if let Some(next) = &backups.next_window {
        let _ = writeln!(out, "next scheduled backup: {}", next.0);
    }
    if backups.recent.is_empty() {
        out.push_str("no backups yet\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:<28} {:<10} {:<12} {:>10} {:>9} {:>9} {:<9}",
        "ID", "PHASE", "REASON", "SIZE", "REVISION", "AGE", "VERIFIED"
    );
    for record in &backups.recent {
        let verified = match record.verified {
            Some(true) => "yes",
            Some(false) => "FAILED",
            None => "-",
        };
        let _ = writeln!(
            out,
            "{:<28} {:<10} {:<12} {:>10} {:>9} {:>9} {:<9}",
            record.id,
            record.phase,
            record.reason,
            record.bytes.map(human_bytes).unwrap_or_else(|| "-".into()),
            record
                .revision
                .map(|r| r.to_string())
                .unwrap_or_else(|| "-".into()),
            super::text::age(record.started_at.as_ref(), now),
            verified
        );
        if let Some(message) = &record.message {
            let _ = writeln!(out, "    {message}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{BackupRecord, BackupsStatus, ChatbotDeploymentSpec, ChatbotDeploymentStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    #[test]
    fn the_report_lists_backups_newest_first_with_why_one_failed() {
        let at = |s: &str| Some(Time(s.parse().unwrap()));
        let mut cbd = ChatbotDeployment::new("brigade-sales", ChatbotDeploymentSpec::default());
        cbd.status = Some(ChatbotDeploymentStatus {
            backups: Some(BackupsStatus {
                recent: vec![
                    BackupRecord {
                        id: "20261201-040000-r7".into(),
                        phase: "Failed".into(),
                        reason: "scheduled".into(),
                        revision: Some(7),
                        started_at: at("2026-12-01T04:00:00Z"),
                        message: Some("pg_dump exited 1: connection refused".into()),
                        ..Default::default()
                    },
                    BackupRecord {
                        id: "20261130-040000-r7".into(),
                        phase: "Succeeded".into(),
                        reason: "scheduled".into(),
                        revision: Some(7),
                        started_at: at("2026-11-30T04:00:00Z"),
                        bytes: Some(48_213_977),
                        verified: Some(true),
                        ..Default::default()
                    },
                ],
                next_window: at("2026-12-02T04:00:00Z"),
                ..Default::default()
            }),
            ..Default::default()
        });
        let report = backups_report(&cbd, &"2026-12-01T10:00:00Z".parse().unwrap());
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines[0], "next scheduled backup: 2026-12-02T04:00:00Z");
        assert!(lines[1].starts_with("ID"));
        assert!(
            lines[2].starts_with("20261201-040000-r7           Failed"),
            "{report}"
        );
        assert_eq!(lines[3], "    pg_dump exited 1: connection refused");
        assert!(
            lines[4].contains("46.0 MiB") && lines[4].contains("yes"),
            "{report}"
        );
    }
}
