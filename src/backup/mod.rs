//! Backups of the app database: when one is due and what retention
//! removes. Pure: time comes in as an argument, so a year of schedules is
//! replayed in a test in microseconds. `runs` decides which backup Job to
//! start and what status says; `jobs` reads and stamps the Jobs; the
//! engine that takes a backup is the `backup-agent` (`crate::agent`, the
//! process a Job runs); `restore` carries a restore step by step; the
//! reconciler only observes, asks `runs` and `restore` and applies.

pub mod action;
pub mod claim;
pub mod estimate;
pub mod gate;
pub mod health;
pub mod jobs;
pub mod manifest;
pub mod report;
pub mod restore;
pub mod retention;
pub mod runs;
pub mod schedule;
pub mod settings;

pub use health::{Verdict, healthy, stale};
pub use retention::{Record, Retention, prune};
pub use schedule::{Due, Schedule, ScheduleError};
pub use settings::Settings;

#[cfg(test)]
mod interlock_tests;
