//! The native ElastiCache snapshot taken before a rollout of a cache that
//! holds state: named by the replication group and the revision, so a
//! lost response or an operator restart finds the one already made.

use aws_sdk_elasticache::Client;

use super::{AwsError, aws::unless, rds_snapshot::SnapshotState};

/// The snapshot of replication group `group` before `revision` rolls out
/// (`-cache-`: the database's RDS snapshot has the same stem).
pub fn pre_rollout_name(group: &str, revision: i64) -> String {
    format!("{group}-cache-pre-r{revision}")
}

fn state(status: Option<&str>) -> SnapshotState {
    match status.unwrap_or("creating") {
        "available" => SnapshotState::Available,
        "creating" => SnapshotState::Creating,
        other => SnapshotState::Failed(format!("ElastiCache snapshot status {other}")),
    }
}

/// Looks the snapshot up, and creates it when it is not there. A refusal
/// (a node type without snapshots, a group mid-change) is the snapshot's
/// failure, with AWS's words.
pub async fn ensure(client: &Client, group: &str, name: &str) -> Result<SnapshotState, AwsError> {
    let described = client.describe_snapshots().snapshot_name(name).send().await;
    let output = unless("DescribeSnapshots", described, |e| {
        e.is_snapshot_not_found_fault()
    })?;
    if let Some(found) = output.as_ref().and_then(|o| o.snapshots().first()) {
        return Ok(state(found.snapshot_status()));
    }
    let create = client.create_snapshot().replication_group_id(group);
    let created = create.snapshot_name(name).send().await;
    match unless("CreateSnapshot", created, |e| {
        e.is_snapshot_already_exists_fault()
    }) {
        Ok(Some(output)) => Ok(state(output.snapshot().and_then(|s| s.snapshot_status()))),
        // Made by a call whose answer was lost: it is the same snapshot.
        Ok(None) => Ok(SnapshotState::Creating),
        Err(AwsError::Rejected { code, message, .. }) => {
            Ok(SnapshotState::Failed(format!("{code}: {message}")))
        }
        Err(transient) => Err(transient),
    }
}
