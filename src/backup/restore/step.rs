//! Names of a restore's steps and of its two ends, and what a restore at
//! each step means for the app. Pure.

use crate::api::RestoreStatus;

/// What one step decides; the restore's record carries it out
/// (`record::make`), in one place.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Move {
    /// The step goes on; how it stands now, when there is news.
    Stay(Option<String>),
    /// The step is done (with its closing words, if any) and `next` begins.
    Next(&'static str, Option<String>),
    /// The restore ended well: what it did.
    Succeed(String),
    /// The restore ends failed before its switch: why.
    Fail(String),
}

pub const SAFETY_BACKUP: &str = "SafetyBackup";
pub const STOP_WRITES: &str = "StopWrites";
pub const RESTORE: &str = "Restore";
pub const SWITCH: &str = "Switch";
pub const ROLL_BACK_PODS: &str = "RollBackPods";
pub const RESUME: &str = "Resume";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";

/// Whether a restore at `step` is over.
pub fn is_final(step: &str) -> bool {
    matches!(step, SUCCEEDED | FAILED)
}

/// Whether a restore at its step has moved the app to what it made.
pub fn switched(restore: &RestoreStatus) -> bool {
    matches!(
        restore.step.as_str(),
        SWITCH | ROLL_BACK_PODS | RESUME | SUCCEEDED
    )
}

/// Whether a restore at `step` keeps the app's pods at zero.
pub fn stops_writes(restore: Option<&RestoreStatus>) -> bool {
    restore.is_some_and(|r| {
        matches!(
            r.step.as_str(),
            STOP_WRITES | RESTORE | SWITCH | ROLL_BACK_PODS
        )
    })
}
