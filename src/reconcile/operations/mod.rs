//! Data operations: what is done to the data itself, beside the stores
//! that hold it. A restore an on-call engineer asked for (`restore`: the
//! safety backup, the app stopped, the restore Job or the RDS snapshot, the
//! switch, the drop of the replaced database once its time as the undo is
//! over) and the backups with their verification (`backups`: scheduled,
//! on-call and pre-rollout dumps, RDS and ElastiCache snapshots). They run
//! as one step so that they take turns in one place: the restore goes
//! first and hands the backups the safety backup it waits for.

pub mod backups;
pub mod restore;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;

use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, RestoreStatus},
    backup::jobs::{self, JobFacts},
    reconcile::{context::Context, error::ReconcileError, outcome::Outcome, status::BackupFacts},
    render::Child,
};

/// What the data operations did, for status and the loop.
#[derive(Debug, Default)]
pub struct Operations {
    /// The restore in progress or last finished, as status keeps it.
    pub restore: Option<RestoreStatus>,
    /// Backups as this reconcile's plan left them.
    pub backups: Option<BackupFacts>,
    /// The backups' outcome, then the restore's.
    pub outcome: Outcome,
}

/// The data operations' Jobs, read from the cache once for both.
#[derive(Debug, Default)]
pub struct DataJobs {
    /// Backup and verify Jobs.
    pub backups: Vec<JobFacts>,
    /// Restore Jobs, and the Jobs that drop a replaced database.
    pub restores: Vec<JobFacts>,
}

impl DataJobs {
    fn observe(ctx: &Context, cbd: &ChatbotDeployment) -> DataJobs {
        let cached = ctx.stores.jobs.state();
        let (namespace, name) = (cbd.namespace().unwrap_or_default(), cbd.name_any());
        let owner = cbd.metadata.uid.as_deref();
        let cached = || cached.iter().map(|job| job.as_ref());
        DataJobs {
            backups: jobs::observe(cached(), &namespace, &name, owner),
            restores: jobs::observe_restores(cached(), &namespace, &name, owner),
        }
    }
}

/// What the data operations take from the steps before them.
#[derive(Clone, Copy, Debug)]
pub struct Given<'a> {
    /// The rendered backup, verify and restore Job templates.
    pub templates: &'a [Child],
    /// A revision the pre-rollout backup gate holds.
    pub pre_rollout: Option<i64>,
    /// The revision whose migration Job runs now.
    pub migrating: Option<i64>,
    /// What blocks this reconcile: no backup starts and no restore begins,
    /// and a restore under way ends with the app back (`restore`).
    pub blocked: Option<&'a str>,
}

/// Runs the data operations of one reconcile of `cbd`, whose resolved
/// spec is `spec`.
pub async fn converge(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    given: Given<'_>,
    now: &Time,
) -> Result<Operations, ReconcileError> {
    let Given {
        templates,
        pre_rollout,
        migrating,
        blocked,
    } = given;
    let jobs = DataJobs::observe(ctx, cbd);
    let restored = restore::proceed(
        ctx,
        cbd,
        spec,
        (templates, &jobs),
        (migrating, blocked),
        now,
    )
    .await?;
    if blocked.is_some() {
        return Ok(Operations {
            outcome: restored.outcome(),
            restore: restored.status,
            backups: None,
        });
    }
    let needs = &restored.needs;
    let backups = backups::converge(
        ctx,
        cbd,
        spec,
        (templates, &jobs.backups),
        pre_rollout,
        needs,
        now,
    )
    .await?;
    Ok(Operations {
        outcome: backups.outcome().then(restored.outcome()),
        restore: restored.status,
        backups: backups.facts,
    })
}
