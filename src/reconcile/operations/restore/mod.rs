//! The restore in the reconcile: observe what [`crate::backup::restore`]
//! decides from (the restore Job, the database the connection Secret leads
//! to, the app's and the pooler's pods), ask it, and apply: the replica
//! counts of the app and the pooler, the one restore Job, and for an RDS
//! snapshot the new instance (`rds`). The switch of the connection Secret
//! is the data step's (it reads `status.restore`).

use k8s_openapi::{api::batch::v1::Job, apimachinery::pkg::apis::meta::v1::Time};
use kube::ResourceExt;
use tracing::info;

use super::{DataJobs, backups};
use crate::reconcile::{
    context::Context,
    data_stores::secret_view,
    error::{ReconcileError, kube_error},
    outcome::{Note, Outcome, Pace},
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, ChatbotDeploymentStatus, RestoreStatus},
    backup::{
        jobs::{self, JobFacts, JobState},
        report::Report,
        restore::{
            self, Facts, Needs, instance,
            refusal::{Standing, refusal},
        },
    },
    names::ChildNames,
    render::{Child, ChildKind, Object},
    rollout::progressive,
};

mod rds;
mod writers;

use writers::{pods, scale_writers, writers};

/// Days the database a restore replaced is kept when the spec does not say.
pub const KEEP_REPLACED_DAYS: u32 = 7;

/// What the restore step did, for status, Events, backups and the requeue.
#[derive(Debug, Default)]
pub struct RestoreOutcome {
    pub status: Option<RestoreStatus>,
    /// What the restore asks of the backup step: its safety backup, no
    /// other backup while it is under way, the backups it keeps.
    pub needs: Needs,
    pub notes: Vec<Note>,
    /// A restore is in progress: look again soon.
    pub in_progress: bool,
}

impl RestoreOutcome {
    /// What the restore step asks of the loop: its Events, and a look
    /// again soon while a restore is in progress.
    pub fn outcome(&self) -> Outcome {
        Outcome {
            notes: self.notes.clone(),
            pace: self.in_progress.then_some(Pace::Waiting),
            ..Outcome::default()
        }
    }
}

/// Why no restore can start for `spec`, if it cannot.
fn cannot(
    spec: &ChatbotDeploymentSpec,
    cbd: &ChatbotDeployment,
    template: Option<&Job>,
    snapshot: bool,
    migrating: Option<i64>,
) -> Option<String> {
    let rollout = cbd.status.as_ref().and_then(|s| s.rollout.as_ref());
    refusal(&Standing {
        mode: spec.database.as_ref().and_then(|d| d.mode),
        paused: cbd.spec.paused == Some(true),
        dumps: template.is_some(),
        snapshot,
        migrating,
        rolling_out: rollout
            .filter(|r| !progressive::phase_of(r).is_terminal())
            .map(|r| r.revision),
    })
}

/// Runs the restore step of one reconcile of `cbd` (resolved spec `spec`,
/// rendered Job templates `templates`, the data operations' Jobs `jobs`;
/// `migrating`: the revision whose migration Job runs, if one does;
/// `blocked`: what blocks the reconcile).
pub async fn proceed(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    (templates, jobs): (&[Child], &DataJobs),
    (migrating, blocked): (Option<i64>, Option<&str>),
    now: &Time,
) -> Result<RestoreOutcome, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let name = cbd.name_any();
    let status = cbd.status.clone().unwrap_or_default();
    if status.restore_request.is_none() && status.restore.is_none() {
        return Ok(RestoreOutcome::default());
    }
    let names = ChildNames::for_deployment(&name);
    let snapshot = status
        .restore_request
        .as_ref()
        .is_some_and(|r| r.method.as_deref() == Some(instance::RDS_SNAPSHOT));
    let template = templates
        .iter()
        .find(|c| c.kind() == ChildKind::RestoreJob)
        .and_then(|child| match child.object() {
            Object::Job(job) => Some(job.as_ref()),
            _ => None,
        });
    // What the spec allows, before what the cluster shows.
    let keep_replaced_days = keep_replaced_days(spec);
    let cannot = cannot(spec, cbd, template, snapshot, migrating);
    let jobs = RestoreJobs::observe(ctx, jobs, &namespace, &status).await;
    let secret = ctx
        .stores
        .secret(&ctx.client, &namespace, &names.database_secret)
        .await
        .map_err(kube_error("read", "Secret", &names.database_secret))?;
    let view = secret.as_deref().map(secret_view).unwrap_or_default();
    let live = restore::live_database(None, view.database());
    let writers = writers(spec, &names);
    let (writes_stopped, app_available) = pods(ctx, &namespace, &writers, &names.deployment);
    let observed = rds::observe(ctx, cbd, spec, &view, now.0).await?;
    let plan = restore::plan(&Facts {
        deployment: &name,
        request: status.restore_request.as_ref(),
        previous: status.restore.as_ref(),
        backups: status.backups.as_ref(),
        job: jobs.job.as_ref(),
        report: jobs.report.as_ref(),
        live_database: &live,
        writes_stopped,
        app_available,
        held_revision: status.rollback.as_ref().map(|h| h.revision),
        cannot,
        blocked,
        busy: jobs.busy,
        keep_replaced_days,
        drop_job: jobs.drop_job.as_ref(),
        drop_report: jobs.drop_report.as_ref(),
        rds: observed.as_ref().map(rds::Observed::facts),
        now: now.0,
    });
    rds::apply(ctx, cbd, spec, &plan).await?;
    let restored_before = status.restore.is_some();
    scale_writers(ctx, &namespace, &writers, plan.stop_writes, restored_before).await?;
    if let Some(template) = template {
        start_jobs(ctx, &namespace, &name, template, &plan).await?;
    }
    let mut needs = plan.needs();
    let in_progress = needs.under_way;
    needs.under_way |= jobs.running;
    Ok(RestoreOutcome {
        needs,
        status: plan.status,
        notes: plan.notes.into_iter().map(Note::from).collect(),
        in_progress,
    })
}

/// The Jobs of the restore in progress and of the drop of the database
/// the newest restore replaced, with what each reported once it ended.
#[derive(Default)]
struct RestoreJobs {
    job: Option<JobFacts>,
    report: Option<Report>,
    drop_job: Option<JobFacts>,
    drop_report: Option<Report>,
    /// A restore (or drop) Job runs, even one whose restore already ended:
    /// no backup starts beside it.
    running: bool,
    /// That, or a backup or verify Job runs: a new restore waits for it.
    busy: bool,
}

impl RestoreJobs {
    async fn observe(
        ctx: &Context,
        jobs: &DataJobs,
        namespace: &str,
        status: &ChatbotDeploymentStatus,
    ) -> RestoreJobs {
        let (restore_jobs, backup_jobs) = (&jobs.restores, &jobs.backups);
        let running = restore_jobs.iter().any(|j| j.state == JobState::Running);
        let busy = running || backup_jobs.iter().any(|j| j.state == JobState::Running);
        let current = status
            .restore
            .as_ref()
            .filter(|r| !restore::step::is_final(&r.step));
        let job = current.and_then(|r| restore_jobs.iter().find(|j| j.id == r.id));
        let drop_job = status
            .restore
            .as_ref()
            .filter(|r| r.previous_dropped.is_none())
            .and_then(|r| {
                restore_jobs
                    .iter()
                    .find(|j| j.id == restore::drop_id(&r.id))
            });
        let mut found = RestoreJobs {
            running,
            busy,
            job: job.cloned(),
            drop_job: drop_job.cloned(),
            ..RestoreJobs::default()
        };
        for (job, into) in [(job, &mut found.report), (drop_job, &mut found.drop_report)] {
            if let Some(job) = job.filter(|j| j.state != JobState::Running) {
                *into = backups::termination_report(ctx, namespace, &job.name).await;
            }
        }
        found
    }
}

/// Days the database a restore replaced is kept (`None`: until dropped
/// by hand). Pure.
fn keep_replaced_days(spec: &ChatbotDeploymentSpec) -> Option<u32> {
    spec.backup
        .as_ref()
        .and_then(|b| b.keep_replaced_database_days)
        .map_or(Some(KEEP_REPLACED_DAYS), |days| u32::try_from(days).ok())
}

/// Starts the restore Job and the Job dropping a replaced database, as
/// the plan asks.
async fn start_jobs(
    ctx: &Context,
    namespace: &str,
    name: &str,
    template: &Job,
    plan: &restore::Plan,
) -> Result<(), ReconcileError> {
    if let Some(start) = &plan.start_job {
        let job = jobs::stamp_restore(template, name, start);
        backups::apply_job(ctx, namespace, &job).await?;
        info!(restore = %start.id, backup = %start.backup, database = %start.database, "restore Job started");
    }
    if let Some(start) = &plan.drop_job {
        let job = jobs::stamp_drop(template, name, start);
        backups::apply_job(ctx, namespace, &job).await?;
        info!(database = %start.database, "dropping the database a restore replaced");
    }
    Ok(())
}
