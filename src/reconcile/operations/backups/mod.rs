//! Backups in the reconcile: read what backup Jobs that just ended
//! reported, ask [`crate::backup::runs::plan`] what to do, create the one
//! Job it starts and delete the old Jobs it lets go. Everything decided is
//! decided there; this file only observes and applies.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::{batch::v1::Job, core::v1::Pod},
    apimachinery::pkg::apis::meta::v1::Time,
};
use kube::{
    Api, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use tracing::info;

use crate::reconcile::{
    conditions::Judgements,
    context::Context,
    error::ReconcileError,
    outcome::{Note, Outcome},
    status::{self, BackupFacts},
};

mod claim;
mod finish;
mod snapshots;
use crate::{
    api::{BackupsStatus, ChatbotDeployment, ChatbotDeploymentSpec, ChatbotDeploymentStatus},
    backup::{
        Settings,
        jobs::{self, JobFacts, JobState},
        report::Report,
        restore::{Needs, Safety},
        runs::{self, Facts},
        settings,
    },
    names::MANAGER,
    render::{Child, ChildKind, Object},
};

/// What the backup step did, for status, Events and the requeue.
#[derive(Debug, Default)]
pub struct BackupOutcome {
    pub facts: Option<BackupFacts>,
    pub notes: Vec<Note>,
    pub wake: Option<std::time::Duration>,
}

impl BackupOutcome {
    /// What the backup step asks of the loop: `BackupHealthy` and
    /// `BackupStale`, its Events, and a wake when the next scheduled
    /// backup is due.
    pub fn outcome(&self) -> Outcome {
        let mut conditions = Judgements::default();
        if let Some(facts) = &self.facts {
            status::backup_conditions(&mut conditions, facts);
        }
        Outcome {
            conditions,
            notes: self.notes.clone(),
            wake: self.wake,
            ..Outcome::default()
        }
    }
}

/// Runs the backup step of one reconcile of `cbd`, whose resolved spec is
/// `spec`, whose backup and verify Jobs are `jobs` and whose rendered Job
/// templates are `templates` (none when no backup can be taken: settings
/// say why, or the resource is paused); `pre_rollout` is a revision the
/// gate holds; `restore` what a restore asks of the backups.
pub async fn converge(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    (templates, jobs): (&[Child], &[JobFacts]),
    pre_rollout: Option<i64>,
    restore: &Needs,
    now: &Time,
) -> Result<BackupOutcome, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let name = cbd.name_any();
    let settings = Settings::of(spec);
    let status = cbd.status.clone().unwrap_or_default();
    let previous = status.backups.clone().unwrap_or_default();
    let reports = reports(ctx, jobs, &namespace, &previous).await;
    let since = cbd
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now.0, |t| t.0);
    let template = |kind| template_for(kind, templates);
    let unavailable = settings.unavailable.as_ref().map(|(_, why)| why.as_str());
    let mut plan = runs::plan(&Facts {
        schedule: settings.schedule.as_ref(),
        since,
        previous: &previous,
        jobs,
        reports: &reports,
        request: status.backup_request.as_ref(),
        pre_rollout,
        safety: match &restore.safety {
            Some(Safety::Dump(id)) => Some(id.as_str()),
            _ => None,
        },
        restore_source: restore.source.as_deref(),
        restoring: restore.under_way,
        revision: status.current_revision,
        verify_every: settings.verify_every,
        backup_template: template(ChildKind::BackupJob).is_some(),
        verify_template: template(ChildKind::VerifyJob).is_some(),
        unavailable,
        now: now.0,
    });
    if let Some(start) = &plan.start {
        let kind = if start.reason == jobs::Reason::Verify {
            ChildKind::VerifyJob
        } else {
            ChildKind::BackupJob
        };
        if let Some(template) = template(kind) {
            let job = jobs::stamp(template, &name, start, &pinned(&status, &restore.pinned));
            claim::ensure(ctx, &namespace, &name, spec).await?;
            apply_job(ctx, &namespace, &job).await?;
            info!(backup = %start.id, reason = start.reason.as_str(), "backup started");
        }
    }
    if let Some(aws) = &ctx.aws {
        let due = snapshots::Due {
            revision: pre_rollout,
            instance: identifier(&status.database).filter(|_| settings.rds_snapshot),
            cache: identifier(&status.cache).filter(|_| settings.cache_snapshot),
        };
        snapshots::take(aws, due, restore.safety.as_ref(), &mut plan, now).await?;
    }
    finish::finish(ctx, &namespace, &name, &plan).await?;
    let (healthy, stale) = settings::verdicts(&settings, Some(&plan.status), now.0);
    Ok(BackupOutcome {
        facts: Some(BackupFacts {
            status: plan.status,
            healthy,
            stale,
        }),
        notes: plan.notes.into_iter().map(Note::from).collect(),
        wake: plan.wake,
    })
}

/// What each backup or verify Job that ended and is not yet recorded
/// reported.
async fn reports(
    ctx: &Context,
    jobs: &[JobFacts],
    namespace: &str,
    previous: &BackupsStatus,
) -> BTreeMap<String, Report> {
    let mut reports = BTreeMap::new();
    for job in jobs {
        if job.state != JobState::Running
            && !runs::recorded(previous, job)
            && let Some(report) = termination_report(ctx, namespace, &job.name).await
        {
            reports.insert(job.name.clone(), report);
        }
    }
    reports
}

/// The rendered Job template of `kind`. Pure.
fn template_for(kind: ChildKind, templates: &[Child]) -> Option<&Job> {
    templates
        .iter()
        .find(|c| c.kind() == kind)
        .and_then(|child| match child.object() {
            Object::Job(job) => Some(job.as_ref()),
            _ => None,
        })
}

/// The backups retention never prunes: revisions' pre-rollout backups, and
/// those a restore keeps (`restore`: the backup it restores while it is
/// under way, its safety backup while the database it replaced is kept).
/// Pure.
fn pinned(status: &ChatbotDeploymentStatus, restore: &[String]) -> Vec<String> {
    status
        .revisions
        .iter()
        .filter_map(|r| r.pre_rollout_snapshot.clone())
        .chain(restore.iter().cloned())
        .collect()
}

fn identifier(store: &Option<crate::api::StoreStatus>) -> Option<&str> {
    store.as_ref().and_then(|s| s.identifier.as_deref())
}

/// A note of the backup and restore plans, as an Event of the reconcile.
impl From<runs::Note> for Note {
    fn from(note: runs::Note) -> Self {
        Note {
            warning: note.warning,
            reason: note.reason.into(),
            message: note.message,
        }
    }
}

/// The agent's summary from the termination message of a Job's pod.
pub(super) async fn termination_report(
    ctx: &Context,
    namespace: &str,
    job: &str,
) -> Option<Report> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let list = pods
        .list(&ListParams::default().labels(&format!("job-name={job}")))
        .await
        .ok()?;
    list.items
        .iter()
        .filter_map(|pod| pod.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter(|c| c.name == "backup-agent")
        .filter_map(|c| c.state.as_ref()?.terminated.as_ref()?.message.as_deref())
        .find_map(Report::parse)
}

pub(super) async fn apply_job(
    ctx: &Context,
    namespace: &str,
    job: &Job,
) -> Result<(), ReconcileError> {
    let name = job.name_any();
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), namespace);
    let mut body = serde_json::to_value(job).map_err(|e| ReconcileError::Encode(e.to_string()))?;
    body["apiVersion"] = "batch/v1".into();
    body["kind"] = "Job".into();
    api.patch(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(|_| ())
    .map_err(|source| ReconcileError::Kube {
        action: "apply",
        kind: "Job",
        name,
        source,
    })
}
