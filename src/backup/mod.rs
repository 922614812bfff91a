//! Backups of the app database: when one is due and what retention
//! removes. Pure: time comes in as an argument, so a year of schedules is
//! replayed in a test in microseconds. The engine that takes a backup (the
//! `backup-agent` Job) and the reconciler's use of these decisions are
//! separate concerns built on this core.

pub mod agent;
pub mod health;
pub mod manifest;
pub mod retention;
pub mod schedule;

pub use health::{Verdict, healthy, stale};
pub use retention::{Record, Retention, prune};
pub use schedule::{Due, Schedule, ScheduleError};
