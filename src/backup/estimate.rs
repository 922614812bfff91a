//! What the plan says about backups, offline: the schedule as people read
//! it, what is kept, and the most the kept dumps can cost per month.
//! Pure; the figures are upper bounds, with the arithmetic shown.

use serde::Serialize;

use super::Settings;
use crate::api::{Backup, BackupDestination, ChatbotDeploymentSpec};

/// Custom-format dumps measured at 0.43 of the database's size on disk
/// (`cargo bench --bench backup`: 1356 MB database, 585 MiB dump).
pub const DUMP_RATIO: f64 = 0.43;
/// S3 Standard, US East, per GiB-month.
pub const S3_USD_PER_GIB_MONTH: f64 = 0.023;
/// Database size assumed when the spec gives none.
const STORAGE_GIB: i32 = 20;

/// The backups section of `plan`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupPlan {
    /// Lines as printed: schedule, destination, gate, verification, retention.
    pub lines: Vec<String>,
    /// Dumps kept at most.
    pub kept: u32,
    /// The most they take, in GiB, if the database fills its storage.
    pub storage_gib: f64,
    /// The most they cost per month in S3 (`None` on a volume).
    #[serde(rename = "monthlyUSD")]
    pub monthly_usd: Option<f64>,
    pub arithmetic: String,
}

/// The backups section of a resolved spec; `None` when nothing asks for backups.
pub fn plan(spec: &ChatbotDeploymentSpec) -> Option<BackupPlan> {
    let settings = Settings::of(spec);
    let backup = spec.backup.clone().unwrap_or_default();
    if settings.off && backup.destination.is_none() {
        return None;
    }
    let (schedule, runs_per_day) = schedule(&settings, &backup);
    let mut lines = vec![schedule];
    if let Some((_, why)) = &settings.unavailable {
        lines.push(format!("cannot run: {why}"));
    }
    let destination = backup.destination.clone().unwrap_or_default();
    let s3 = destination.s3.is_some();
    lines.extend(destination_line(&destination));
    lines.push(before_rollout(&settings));
    lines.push(
        match (
            backup.verify.unwrap_or(false),
            backup.verify_every.unwrap_or(1),
        ) {
            (false, _) => "restore-tested: no".into(),
            (true, 1) => "restore-tested: every backup".into(),
            (true, n) => format!("restore-tested: every {n}th backup"),
        },
    );
    let kept = kept(&backup, runs_per_day);
    lines.push(format!(
        "kept: {}{}, the newest verified one always",
        backup
            .keep
            .map(|k| format!("the newest {k}"))
            .unwrap_or_else(|| "all".into()),
        backup
            .retention_days
            .map(|d| format!(" for {d} days"))
            .unwrap_or_default()
    ));
    let storage = spec
        .database
        .as_ref()
        .and_then(|d| d.storage_gib)
        .unwrap_or(STORAGE_GIB);
    let storage_gib = f64::from(kept) * f64::from(storage) * DUMP_RATIO;
    let monthly_usd = s3.then_some(storage_gib * S3_USD_PER_GIB_MONTH);
    let arithmetic = match monthly_usd {
        Some(usd) => format!(
            "{kept} dumps × {storage} GiB database × {DUMP_RATIO} = {storage_gib:.1} GiB × ${S3_USD_PER_GIB_MONTH}/GiB-month = ${usd:.2}/month at most"
        ),
        None => format!(
            "{kept} dumps × {storage} GiB database × {DUMP_RATIO} = {storage_gib:.1} GiB at most on the volume"
        ),
    };
    Some(BackupPlan {
        lines,
        kept,
        storage_gib,
        monthly_usd,
        arithmetic,
    })
}

/// The schedule's line, and how many runs a day it makes.
fn schedule(settings: &Settings, backup: &Backup) -> (String, f64) {
    match &settings.schedule {
        Some(schedule) => {
            let period = schedule
                .period(jiff::Timestamp::UNIX_EPOCH)
                .as_secs_f64()
                .max(60.0);
            let line = format!(
                "scheduled: {} ({}), every {}",
                schedule.expression(),
                backup.time_zone.as_deref().unwrap_or("UTC"),
                every(period)
            );
            (line, 86_400.0 / period)
        }
        None => (
            "scheduled: no (spec.backup.enabled is false or no schedule)".into(),
            0.0,
        ),
    }
}

/// Where the dumps go.
fn destination_line(destination: &BackupDestination) -> Option<String> {
    if let Some(s3) = &destination.s3 {
        Some(format!(
            "to: s3://{}/{}<namespace>/<name>/<id>/ ({})",
            s3.bucket,
            s3.prefix
                .as_deref()
                .map(|p| format!("{}/", p.trim_matches('/')))
                .unwrap_or_default(),
            if s3.credentials_secret.is_some() {
                "keys from a Secret"
            } else {
                "the pod's identity"
            }
        ))
    } else {
        destination
            .pvc
            .as_ref()
            .map(|pvc| format!("to: volume {} (/backups)", pvc.claim_name))
    }
}

/// What is taken before each rollout, which the new revision waits for.
fn before_rollout(settings: &Settings) -> String {
    let dump_first = settings.before_rollout && settings.unavailable.is_none();
    let before: Vec<&str> = [
        (dump_first, "a dump"),
        (settings.rds_snapshot, "an RDS snapshot"),
        (settings.cache_snapshot, "an ElastiCache snapshot"),
    ]
    .into_iter()
    .filter_map(|(wanted, what)| wanted.then_some(what))
    .collect();
    format!(
        "before each rollout: {}",
        match before.as_slice() {
            [] => "no".to_string(),
            [one] => format!("{one}; the new revision waits for it"),
            [init @ .., last] => format!(
                "{} and {last}; the new revision waits for {}",
                init.join(", "),
                if init.len() == 1 { "both" } else { "all" }
            ),
        }
    )
}

/// How many dumps are kept at most: the fewer of `keep` and the runs
/// within `retentionDays`.
fn kept(backup: &Backup, runs_per_day: f64) -> u32 {
    let by_age = backup
        .retention_days
        .map(|days| (f64::from(days) * runs_per_day).ceil() as u32);
    match (backup.keep.map(|k| k.max(1) as u32), by_age) {
        (Some(keep), Some(age)) => keep.min(age.max(1)),
        (Some(keep), None) => keep,
        (None, Some(age)) => age.max(1),
        (None, None) => 30,
    }
}

fn every(seconds: f64) -> String {
    match seconds {
        s if s >= 86_400.0 && s % 86_400.0 == 0.0 => match s / 86_400.0 {
            1.0 => "day".into(),
            d => format!("{d} days"),
        },
        s if s >= 3_600.0 => format!("{:.0}h", s / 3_600.0),
        s => format!("{:.0}m", s / 60.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirty_daily_dumps_of_a_20_gib_database_cost_at_most_six_dollars() {
        let spec: ChatbotDeploymentSpec = serde_json::from_value(serde_json::json!({
            "environment": "production", "image": "bot:1",
            "database": { "mode": "managed", "storageGiB": 20 },
            "backup": { "enabled": true, "schedule": "0 2 * * *", "retentionDays": 30,
                "beforeRollout": true, "verify": true,
                "destination": { "s3": { "bucket": "mindmitra-backups", "prefix": "prod/" } } }
        }))
        .unwrap();
        let plan = plan(&spec).unwrap();
        assert_eq!(plan.kept, 30);
        assert_eq!(plan.lines[0], "scheduled: 0 2 * * * (UTC), every day");
        assert_eq!(
            plan.lines[1],
            "to: s3://mindmitra-backups/prod/<namespace>/<name>/<id>/ (the pod's identity)"
        );
        assert!((plan.monthly_usd.unwrap() - 30.0 * 20.0 * 0.43 * 0.023).abs() < 1e-9);
        assert!(
            plan.arithmetic.ends_with("= $5.93/month at most"),
            "{}",
            plan.arithmetic
        );
    }

    #[test]
    fn without_a_destination_the_plan_says_the_backups_cannot_run() {
        let spec: ChatbotDeploymentSpec = serde_json::from_value(serde_json::json!({
            "environment": "production", "image": "bot:1",
            "database": { "mode": "managed" },
            "backup": { "enabled": true, "schedule": "@hourly", "keep": 48 }
        }))
        .unwrap();
        let plan = plan(&spec).unwrap();
        assert_eq!(plan.lines[0], "scheduled: @hourly (UTC), every 1h");
        assert!(plan.lines[1].starts_with("cannot run: spec.backup.destination: not set"));
        assert_eq!(plan.kept, 48);
        assert_eq!(plan.monthly_usd, None);
    }
}
