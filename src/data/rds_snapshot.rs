//! The native RDS snapshot taken before a rollout: named by the instance
//! and the revision, so a lost response or an operator restart finds the
//! one already made instead of making another.

use aws_sdk_rds::Client;

use super::{AwsError, aws::classify};

/// Where a snapshot stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnapshotState {
    Creating,
    Available,
    /// RDS reports it failed (its status).
    Failed(String),
}

/// The snapshot of `instance` before `revision` rolls out.
pub fn pre_rollout_identifier(instance: &str, revision: i64) -> String {
    format!("{instance}-pre-r{revision}")
}

fn state(status: Option<&str>) -> SnapshotState {
    match status.unwrap_or("creating") {
        "available" => SnapshotState::Available,
        "creating" | "pending" => SnapshotState::Creating,
        other => SnapshotState::Failed(format!("RDS snapshot status {other}")),
    }
}

/// Looks the snapshot up, and creates it when it is not there.
pub async fn ensure(
    client: &Client,
    instance: &str,
    snapshot: &str,
) -> Result<SnapshotState, AwsError> {
    match client
        .describe_db_snapshots()
        .db_snapshot_identifier(snapshot)
        .send()
        .await
    {
        Ok(output) => {
            if let Some(found) = output.db_snapshots().first() {
                return Ok(state(found.status()));
            }
        }
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_db_snapshot_not_found_fault()) => {}
        Err(error) => return Err(classify("DescribeDBSnapshots", &error)),
    }
    match client
        .create_db_snapshot()
        .db_instance_identifier(instance)
        .db_snapshot_identifier(snapshot)
        .send()
        .await
    {
        Ok(output) => Ok(state(output.db_snapshot().and_then(|s| s.status()))),
        // Made by a call whose answer was lost: it is the same snapshot.
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_db_snapshot_already_exists_fault()) =>
        {
            Ok(SnapshotState::Creating)
        }
        Err(error) => Err(classify("CreateDBSnapshot", &error)),
    }
}
