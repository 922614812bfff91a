//! Native snapshots taken as backups: an RDS snapshot before each rollout
//! of a managed database and as a snapshot restore's safety backup, and an
//! ElastiCache snapshot before each rollout of a managed cache that holds
//! state. Each is made once (named, so a lost answer or a restart finds
//! it) and looked at until AWS says how it went. RDS snapshots are
//! recorded in `status.backups.recent` like a dump, cache snapshots in
//! `status.backups.cacheSnapshots`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::{
    api::BackupRecord,
    backup::{
        jobs,
        restore::Safety,
        runs::{self, Plan},
    },
    data::rds_snapshot::SnapshotState,
    reconcile::ReconcileError,
};

/// The service a native snapshot is taken by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Service {
    Rds,
    ElastiCache,
}

impl Service {
    fn method(self) -> &'static str {
        match self {
            Service::Rds => runs::RDS_SNAPSHOT,
            Service::ElastiCache => runs::ELASTICACHE_SNAPSHOT,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Service::Rds => "RDS",
            Service::ElastiCache => "ElastiCache",
        }
    }
}

/// What is snapshotted before revision `revision` rolls out: the RDS
/// instance the app runs on, the cache's replication group.
#[derive(Clone, Debug, Default)]
pub(super) struct Due<'a> {
    pub revision: Option<i64>,
    pub instance: Option<&'a str>,
    pub cache: Option<&'a str>,
}

/// Takes the snapshots `due` and a restore's `safety` snapshot; their
/// records go into `plan`'s status, with an Event once each ends.
pub(super) async fn take(
    aws: &crate::data::AwsClients,
    due: Due<'_>,
    safety: Option<&Safety>,
    plan: &mut Plan,
    now: &Time,
) -> Result<(), ReconcileError> {
    let Due {
        revision: pre_rollout,
        instance: live,
        cache,
    } = due;
    let mut taking = Vec::new();
    let wanted = [
        (Service::Rds, live, &plan.status.recent),
        (Service::ElastiCache, cache, &plan.status.cache_snapshots),
    ];
    for (service, source, records) in wanted {
        let (Some(revision), Some(source)) = (pre_rollout, source) else {
            continue;
        };
        let base = match service {
            Service::Rds => crate::data::rds_snapshot::pre_rollout_identifier(source, revision),
            Service::ElastiCache => {
                crate::data::elasticache_snapshot::pre_rollout_name(source, revision)
            }
        };
        let (id, previous) =
            match runs::snapshot_attempt(records, revision, service.method(), &base, now.0) {
                runs::Attempt::Start(id) => (id, None),
                runs::Attempt::Look(record) => (record.id.clone(), Some(record.clone())),
                runs::Attempt::Settled => continue,
            };
        let fresh = snapshot_record(&id, service, jobs::Reason::PreRollout, Some(revision), now);
        taking.push((service, source.to_string(), id, previous, fresh));
    }
    if let Some(Safety::RdsSnapshot { instance, id }) = safety {
        let previous = plan.status.recent.iter().find(|r| r.id == *id);
        let fresh = snapshot_record(id, Service::Rds, jobs::Reason::PreRestore, None, now);
        taking.push((
            Service::Rds,
            instance.clone(),
            id.clone(),
            previous.cloned(),
            fresh,
        ));
    }
    for (service, source, id, previous, fresh) in taking {
        if previous
            .as_ref()
            .is_some_and(|r| r.phase != runs::phase::RUNNING)
        {
            continue;
        }
        let state = match service {
            Service::Rds => crate::data::rds_snapshot::ensure(&aws.rds, &source, &id).await?,
            Service::ElastiCache => {
                crate::data::elasticache_snapshot::ensure(&aws.elasticache, &source, &id).await?
            }
        };
        let record = recorded(previous.unwrap_or(fresh), state, now);
        if record.phase != runs::phase::RUNNING {
            plan.notes.push(snapshot_note(service, &record));
        }
        match service {
            Service::Rds => runs::upsert(&mut plan.status, record),
            Service::ElastiCache => runs::upsert_cache(&mut plan.status, record),
        }
    }
    Ok(())
}

/// The record of a native RDS snapshot just asked for.
fn snapshot_record(
    id: &str,
    service: Service,
    reason: jobs::Reason,
    revision: Option<i64>,
    now: &Time,
) -> BackupRecord {
    BackupRecord {
        id: id.to_string(),
        reason: reason.as_str().into(),
        revision,
        started_at: Some(now.clone()),
        method: Some(service.method().into()),
        ..Default::default()
    }
}

/// A snapshot's record with what AWS said of it.
fn recorded(mut record: BackupRecord, state: SnapshotState, now: &Time) -> BackupRecord {
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
    record
}

fn snapshot_note(service: Service, record: &BackupRecord) -> runs::Note {
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
            let label = service.label();
            if succeeded {
                format!("{what} {label} snapshot {} is available", record.id)
            } else {
                format!(
                    "{what} {label} snapshot {} failed: {}",
                    record.id,
                    record.message.as_deref().unwrap_or("no reason given")
                )
            }
        },
    }
}
