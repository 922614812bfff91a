//! Native RDS snapshots taken as backups: one before each rollout of a
//! managed database, and a snapshot restore's safety backup. Each is made
//! once (named, so a lost answer or a restart finds it), looked at until
//! RDS says how it went, and recorded in `status.backups` like a dump.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::{
    api::BackupRecord,
    backup::{
        jobs,
        restore::Safety,
        runs::{self, Plan},
    },
    reconcile::ReconcileError,
};

/// Takes the snapshots due: revision `pre_rollout`'s of the `live`
/// instance, and a restore's `safety` snapshot; their records go into
/// `plan`'s status, with an Event once each ends.
pub(super) async fn take(
    client: &aws_sdk_rds::Client,
    live: Option<&str>,
    pre_rollout: Option<i64>,
    safety: Option<&Safety>,
    plan: &mut Plan,
    now: &Time,
) -> Result<(), ReconcileError> {
    let mut due = Vec::new();
    if let (Some(revision), Some(instance)) = (pre_rollout, live) {
        let id = crate::data::rds_snapshot::pre_rollout_identifier(instance, revision);
        let previous = runs::pre_rollout(Some(&plan.status), revision, Some(runs::RDS_SNAPSHOT));
        let fresh = snapshot_record(&id, jobs::Reason::PreRollout, Some(revision), now);
        due.push((instance.to_string(), id, previous.cloned(), fresh));
    }
    if let Some(Safety::RdsSnapshot { instance, id }) = safety {
        let previous = plan.status.recent.iter().find(|r| r.id == *id);
        let fresh = snapshot_record(id, jobs::Reason::PreRestore, None, now);
        due.push((instance.clone(), id.clone(), previous.cloned(), fresh));
    }
    for (instance, id, previous, fresh) in due {
        if let Some(record) = rds_snapshot(client, &instance, &id, previous, fresh, now).await? {
            if record.phase != runs::phase::RUNNING {
                plan.notes.push(snapshot_note(&record));
            }
            runs::upsert(&mut plan.status, record);
        }
    }
    Ok(())
}

/// The record of a native RDS snapshot just asked for.
fn snapshot_record(
    id: &str,
    reason: jobs::Reason,
    revision: Option<i64>,
    now: &Time,
) -> BackupRecord {
    BackupRecord {
        id: id.to_string(),
        reason: reason.as_str().into(),
        revision,
        started_at: Some(now.clone()),
        method: Some(runs::RDS_SNAPSHOT.into()),
        ..Default::default()
    }
}

/// A native RDS snapshot `id` of `instance` (before a rollout, or a
/// restore's safety backup): made once, looked at until RDS says it is
/// available or failed. `None` when its record (`previous`) already has
/// its outcome.
async fn rds_snapshot(
    client: &aws_sdk_rds::Client,
    instance: &str,
    id: &str,
    previous: Option<BackupRecord>,
    fresh: BackupRecord,
    now: &Time,
) -> Result<Option<BackupRecord>, ReconcileError> {
    use crate::data::rds_snapshot::{self, SnapshotState};
    if previous
        .as_ref()
        .is_some_and(|r| r.phase != runs::phase::RUNNING)
    {
        return Ok(None);
    }
    let state = rds_snapshot::ensure(client, instance, id).await?;
    let mut record = previous.unwrap_or(fresh);
    record.phase = match &state {
        SnapshotState::Creating => runs::phase::RUNNING,
        SnapshotState::Available => runs::phase::SUCCEEDED,
        SnapshotState::Failed(_) => runs::phase::FAILED,
    }
    .into();
    if let SnapshotState::Failed(why) = state {
        record.message = Some(why);
    }
    if record.phase != runs::phase::RUNNING {
        record.time = Some(now.clone());
    }
    Ok(Some(record))
}

fn snapshot_note(record: &BackupRecord) -> runs::Note {
    let succeeded = record.phase == runs::phase::SUCCEEDED;
    runs::Note {
        warning: !succeeded,
        reason: if succeeded {
            "BackupSucceeded"
        } else {
            "BackupFailed"
        },
        message: {
            let what = if record.reason == jobs::Reason::PreRestore.as_str() {
                "the restore's safety"
            } else {
                "pre-rollout"
            };
            if succeeded {
                format!("{what} RDS snapshot {} is available", record.id)
            } else {
                format!(
                    "{what} RDS snapshot {} failed: {}",
                    record.id,
                    record.message.as_deref().unwrap_or("no reason given")
                )
            }
        },
    }
}
