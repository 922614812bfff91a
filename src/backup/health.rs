//! The `BackupHealthy` and `BackupStale` conditions from what the backups
//! did: one failed backup makes `BackupHealthy=False` until the next one
//! succeeds (it never blocks the next run), and `BackupStale` says how old
//! the newest good backup is against the schedule. Pure: the reconciler
//! sets the conditions from these verdicts.

use jiff::{SignedDuration, Timestamp};

use super::{Record, Schedule};

/// A condition's status, reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `True`, `False` or `Unknown`.
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

fn verdict(status: &'static str, reason: &'static str, message: String) -> Verdict {
    Verdict {
        status,
        reason,
        message,
    }
}

/// A duration as people read it: `45m`, `37h`, `3d 4h`.
fn age(duration: SignedDuration) -> String {
    let minutes = duration.as_secs().max(0) / 60;
    let (days, hours) = (minutes / (24 * 60), minutes / 60 % 24);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, hours) => format!("{hours}h"),
        (days, 0) => format!("{days}d"),
        (days, hours) => format!("{days}d {hours}h"),
    }
}

/// `BackupHealthy`: whether the newest attempt succeeded. `failure` is
/// what the newest attempt reported when it failed.
pub fn healthy(records: &[Record], failure: Option<&str>) -> Verdict {
    match records.iter().max_by_key(|r| r.taken_at) {
        None => verdict("Unknown", "NoBackupYet", "no backup has run yet".into()),
        Some(newest) if newest.succeeded => verdict(
            "True",
            "Succeeded",
            format!("backup {} succeeded at {}", newest.id, newest.taken_at),
        ),
        Some(newest) => verdict(
            "False",
            "BackupFailed",
            format!(
                "backup {} failed at {}: {}",
                newest.id,
                newest.taken_at,
                failure.unwrap_or("no reason recorded")
            ),
        ),
    }
}

/// `BackupStale`: whether the newest good backup is older than 1.5
/// periods of the schedule, or there is none.
pub fn stale(schedule: &Schedule, records: &[Record], now: Timestamp) -> Verdict {
    let period = age(schedule.period(now));
    let newest_good = records
        .iter()
        .filter(|r| r.succeeded)
        .map(|r| r.taken_at)
        .max();
    match newest_good {
        None => verdict(
            "True",
            "NoGoodBackup",
            format!("no backup has succeeded; the schedule runs every {period}"),
        ),
        Some(newest) if schedule.stale(Some(newest), now) => verdict(
            "True",
            "TooOld",
            format!(
                "the newest good backup is {} old; the schedule runs every {period}",
                age(now.duration_since(newest))
            ),
        ),
        Some(newest) => verdict(
            "False",
            "Fresh",
            format!(
                "the newest good backup is {} old",
                age(now.duration_since(newest))
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, at: &str, succeeded: bool) -> Record {
        Record {
            id: id.into(),
            taken_at: at.parse().unwrap(),
            succeeded,
            verified: false,
            pinned: false,
            safety: false,
        }
    }

    #[test]
    fn one_failure_makes_it_unhealthy_and_the_next_success_clears_it() {
        assert_eq!(healthy(&[], None).status, "Unknown");
        let mut records = vec![
            record("a", "2026-11-29T03:00:00Z", true),
            record("b", "2026-11-30T03:00:00Z", false),
        ];
        let failed = healthy(&records, Some("pg_dump exited 1: connection refused"));
        assert_eq!((failed.status, failed.reason), ("False", "BackupFailed"));
        assert_eq!(
            failed.message,
            "backup b failed at 2026-11-30T03:00:00Z: pg_dump exited 1: connection refused"
        );
        records.push(record("c", "2026-12-01T03:00:00Z", true));
        assert_eq!(healthy(&records, None).status, "True");
    }

    #[test]
    fn staleness_is_measured_from_the_newest_good_backup() {
        let daily = Schedule::parse("@daily", None).unwrap();
        let now: Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
        let none = stale(&daily, &[], now);
        assert_eq!((none.status, none.reason), ("True", "NoGoodBackup"));
        assert_eq!(
            none.message,
            "no backup has succeeded; the schedule runs every 1d"
        );
        // A failure after a good backup does not make it fresher.
        let records = [
            record("a", "2026-11-29T22:00:00Z", true),
            record("b", "2026-12-01T00:00:00Z", false),
        ];
        let old = stale(&daily, &records, now);
        assert_eq!((old.status, old.reason), ("True", "TooOld"));
        assert_eq!(
            old.message,
            "the newest good backup is 1d 14h old; the schedule runs every 1d"
        );
        let fresh = stale(&daily, &[record("c", "2026-12-01T00:00:00Z", true)], now);
        assert_eq!(
            (fresh.status, fresh.message.as_str()),
            ("False", "the newest good backup is 12h old")
        );
    }
}
