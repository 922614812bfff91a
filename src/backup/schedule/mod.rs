//! When a scheduled backup is due: a five-field cron expression (or
//! `@hourly`, `@daily`, `@weekly`, `@monthly`) in a named time zone, UTC by
//! default. A window missed while the operator was down, or while a backup
//! failed, is run **once** when the operator next looks — never a backlog
//! of every missed window — and how many were missed is reported.

use croner::Cron;
use jiff::{SignedDuration, Timestamp, Zoned, tz::TimeZone};

/// The missed windows counted at most (the count is for the report only).
const MISSED_COUNTED: u32 = 1_000;

/// Why a schedule cannot be used; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("spec.backup.schedule: {expression:?} is not a cron expression: {reason}")]
    Cron { expression: String, reason: String },
    #[error("spec.backup.timeZone: {zone:?} is not a time zone name such as Europe/Berlin")]
    Zone { zone: String },
    #[error("spec.backup.schedule: {expression:?} never fires")]
    Never { expression: String },
}

impl ScheduleError {
    /// The spec field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            ScheduleError::Zone { .. } => "spec.backup.timeZone",
            ScheduleError::Cron { .. } | ScheduleError::Never { .. } => "spec.backup.schedule",
        }
    }
}

/// A parsed backup schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    cron: Cron,
    zone: TimeZone,
}

/// What the schedule asks for at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// Take a backup for `window` now; `missed` earlier windows since the
    /// last one were skipped (they are not run one by one).
    Now { window: Timestamp, missed: u32 },
    /// Nothing to do before `next`.
    Later { next: Timestamp },
}

impl Schedule {
    /// Reads `expression` in `zone` (an IANA name; UTC when `None`).
    pub fn parse(expression: &str, zone: Option<&str>) -> Result<Self, ScheduleError> {
        let cron: Cron =
            expression
                .trim()
                .parse()
                .map_err(|error: croner::errors::CronError| ScheduleError::Cron {
                    expression: expression.into(),
                    reason: error.to_string(),
                })?;
        let zone = match zone {
            None => TimeZone::UTC,
            Some(name) => {
                TimeZone::get(name).map_err(|_| ScheduleError::Zone { zone: name.into() })?
            }
        };
        let schedule = Self {
            expression: expression.into(),
            cron,
            zone,
        };
        schedule
            .next_after(Timestamp::UNIX_EPOCH)
            .map(|_| schedule.clone())
            .ok_or(ScheduleError::Never {
                expression: expression.into(),
            })
    }

    fn zoned(&self, at: Timestamp) -> Zoned {
        at.to_zoned(self.zone.clone())
    }

    /// The first window strictly after `at`.
    pub fn next_after(&self, at: Timestamp) -> Option<Timestamp> {
        self.cron
            .find_next_occurrence(&self.zoned(at), false)
            .ok()
            .map(|z| z.timestamp())
    }

    /// The newest window at or before `at`.
    pub fn latest_at(&self, at: Timestamp) -> Option<Timestamp> {
        self.cron
            .find_previous_occurrence(&self.zoned(at), true)
            .ok()
            .map(|z| z.timestamp())
    }

    /// What is due at `now`. `last_window` is the window the last scheduled
    /// backup ran for (kept in status, so a restart knows it); `since` is
    /// when the schedule began to apply (the resource's creation, or when
    /// backups were switched on): windows before it are not owed.
    pub fn due(&self, last_window: Option<Timestamp>, since: Timestamp, now: Timestamp) -> Due {
        let owed_after = last_window.map_or(since, |last| last.max(since));
        match self.latest_at(now) {
            Some(window) if window > owed_after => {
                let mut missed = 0;
                let mut at = owed_after;
                while let Some(earlier) = self.next_after(at) {
                    if earlier >= window || missed == MISSED_COUNTED {
                        break;
                    }
                    missed += 1;
                    at = earlier;
                }
                Due::Now { window, missed }
            }
            _ => Due::Later {
                next: self.next_after(now).unwrap_or(now),
            },
        }
    }

    /// The gap between the window at or before `at` and the next one: the
    /// schedule's period around `at` (months and DST make it vary).
    pub fn period(&self, at: Timestamp) -> SignedDuration {
        let start = self.latest_at(at).unwrap_or(at);
        self.next_after(start)
            .map_or(SignedDuration::ZERO, |next| next.duration_since(start))
    }

    /// Whether the newest good backup is older than 1.5 periods of the
    /// schedule (or there is none): the `BackupStale` condition.
    pub fn stale(&self, newest_good: Option<Timestamp>, now: Timestamp) -> bool {
        let Some(newest) = newest_good else {
            return true;
        };
        let allowed = self.period(now).mul_f64(1.5);
        now.duration_since(newest) > allowed
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }
}

#[cfg(test)]
mod tests;
