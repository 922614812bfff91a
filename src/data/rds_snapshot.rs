//! The native RDS snapshot taken before a rollout: named by the instance
//! and the revision, so a lost response or an operator restart finds the
//! one already made instead of making another.

use aws_sdk_rds::Client;

use super::{AwsError, aws::unless};

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
    let described = client
        .describe_db_snapshots()
        .db_snapshot_identifier(snapshot);
    let output = unless("DescribeDBSnapshots", described.send().await, |e| {
        e.is_db_snapshot_not_found_fault()
    })?;
    if let Some(found) = output.as_ref().and_then(|o| o.db_snapshots().first()) {
        return Ok(state(found.status()));
    }
    let create = client.create_db_snapshot().db_instance_identifier(instance);
    let created = unless(
        "CreateDBSnapshot",
        create.db_snapshot_identifier(snapshot).send().await,
        |e| e.is_db_snapshot_already_exists_fault(),
    )?;
    // None: made by a call whose answer was lost, the same snapshot.
    Ok(created.map_or(SnapshotState::Creating, |output| {
        state(output.db_snapshot().and_then(|s| s.status()))
    }))
}
