//! The restore in the reconcile: observe what [`crate::backup::restore`]
//! decides from (the restore Job, the database the connection Secret leads
//! to, the app's and the pooler's pods), ask it, and apply: the replica
//! counts of the app and the pooler, and the one restore Job. The switch of
//! the connection Secret is the data step's (it reads `status.restore`).

use k8s_openapi::{
    api::{apps::v1::Deployment, batch::v1::Job},
    apimachinery::pkg::apis::meta::v1::Time,
};
use kube::{Api, ResourceExt, api::PatchParams};
use tracing::info;

use super::{
    Context, ReconcileError, backups,
    converge::{self, kube_error},
    data::secret_view,
    decide::Note,
    stores::get,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, RestoreStatus, StoreMode},
    backup::{
        jobs::{self, JobState},
        restore::{self, Facts},
    },
    render::{Child, ChildKind, Object, names::ChildNames, stores::fallback},
    rollout::progressive,
};

/// Days the database a restore replaced is kept when the spec does not say.
pub const KEEP_REPLACED_DAYS: u32 = 7;

/// Field manager of the replica counts a restore sets.
pub const MANAGER: &str = "chatbot-operator-restore";

/// What the restore step did, for status, Events, backups and the requeue.
#[derive(Debug, Default)]
pub struct RestoreOutcome {
    pub status: Option<RestoreStatus>,
    /// The safety backup the backup step must take.
    pub safety_backup: Option<String>,
    pub notes: Vec<Note>,
    /// A restore is in progress: look again soon.
    pub in_progress: bool,
}

/// The Deployments that write to the database and the replica count each
/// runs with outside a restore: the app (its autoscaler's floor) and the
/// pooler.
fn writers(spec: &ChatbotDeploymentSpec, names: &ChildNames) -> Vec<(String, i32)> {
    let (app, _) = spec.replicas.clone().unwrap_or_default().bounds();
    let mut writers = vec![(names.deployment.clone(), app)];
    let pooler = spec.database.as_ref().and_then(|d| d.pooler.as_ref());
    if let Some(pooler) = pooler.filter(|p| p.enabled.unwrap_or(false)) {
        writers.push((
            names.pooler.clone(),
            pooler.replicas.unwrap_or(fallback::POOLER_REPLICAS),
        ));
    }
    writers
}

/// Why no restore can start for `spec`, if it cannot.
fn cannot(
    spec: &ChatbotDeploymentSpec,
    cbd: &ChatbotDeployment,
    template: Option<&Job>,
) -> Option<String> {
    let mode = spec.database.as_ref().and_then(|d| d.mode);
    if !matches!(mode, Some(StoreMode::Managed | StoreMode::InCluster)) {
        return Some(
            "spec.database.mode is not Managed or InCluster: the operator switches only a connection Secret it writes; restore an external database yourself".into(),
        );
    }
    if cbd.spec.paused == Some(true) {
        return Some(
            "spec.paused is true: nothing changes while the resource is paused; resume it first"
                .into(),
        );
    }
    if template.is_none() {
        return Some(
            "spec.backup.destination is not set (or backups are off): there is no dump to restore from".into(),
        );
    }
    let rollout = cbd.status.as_ref().and_then(|s| s.rollout.as_ref());
    if let Some(rollout) = rollout.filter(|r| !progressive::phase_of(r).is_terminal()) {
        return Some(format!(
            "revision {} is rolling out; promote or abort it first",
            rollout.revision
        ));
    }
    None
}

/// Runs the restore step of one reconcile of `cbd` (resolved spec `spec`,
/// rendered Job templates `templates`).
pub async fn converge(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    templates: &[Child],
    now: &Time,
) -> Result<RestoreOutcome, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let name = cbd.name_any();
    let status = cbd.status.clone().unwrap_or_default();
    if status.restore_request.is_none() && status.restore.is_none() {
        return Ok(RestoreOutcome::default());
    }
    let names = ChildNames::for_deployment(&name);
    let template = templates
        .iter()
        .find(|c| c.kind() == ChildKind::RestoreJob)
        .and_then(|child| match child.object() {
            Object::Job(job) => Some(job.as_ref()),
            _ => None,
        });
    let cached = ctx.stores.jobs.state();
    let restore_jobs = jobs::observe_restores(
        cached.iter().map(|job| job.as_ref()),
        &namespace,
        &name,
        cbd.metadata.uid.as_deref(),
    );
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
    let mut report = None;
    let mut drop_report = None;
    for (found, into) in [(job, &mut report), (drop_job, &mut drop_report)] {
        if let Some(job) = found.filter(|j| j.state != JobState::Running) {
            *into = backups::termination_report(ctx, &namespace, &job.name).await;
        }
    }
    let keep_replaced_days = spec
        .backup
        .as_ref()
        .and_then(|b| b.keep_replaced_database_days)
        .map_or(Some(KEEP_REPLACED_DAYS), |days| u32::try_from(days).ok());
    let secret = get(&ctx.stores.secrets, &namespace, &names.database_secret);
    let view = secret.as_deref().map(secret_view).unwrap_or_default();
    let live = restore::live_database(None, view.database());
    let writers = writers(spec, &names);
    let (writes_stopped, app_available) = pods(ctx, &namespace, &writers, &names.deployment);
    let cannot = cannot(spec, cbd, template);
    let plan = restore::plan(&Facts {
        deployment: &name,
        request: status.restore_request.as_ref(),
        previous: status.restore.as_ref(),
        backups: status.backups.as_ref(),
        job,
        report: report.as_ref(),
        live_database: &live,
        writes_stopped,
        app_available,
        held_revision: status.rollback.as_ref().map(|h| h.revision),
        cannot,
        keep_replaced_days,
        drop_job,
        drop_report: drop_report.as_ref(),
        now: now.0,
    });

    let restored_before = status.restore.is_some();
    scale_writers(ctx, &namespace, &writers, plan.stop_writes, restored_before).await?;
    if let (Some(start), Some(template)) = (&plan.start_job, template) {
        let job = jobs::stamp_restore(template, &name, start);
        backups::apply_job(ctx, &namespace, &job).await?;
        info!(restore = %start.id, backup = %start.backup, database = %start.database, "restore Job started");
    }
    if let (Some(start), Some(template)) = (&plan.drop_job, template) {
        let job = jobs::stamp_drop(template, &name, start);
        backups::apply_job(ctx, &namespace, &job).await?;
        info!(database = %start.database, "dropping the database a restore replaced");
    }
    let in_progress = plan
        .status
        .as_ref()
        .is_some_and(|r| !restore::step::is_final(&r.step));
    Ok(RestoreOutcome {
        status: plan.status,
        safety_backup: plan.safety_backup,
        notes: plan.notes.into_iter().map(Note::from).collect(),
        in_progress,
    })
}

/// Whether no app or pooler pod is left (`writers`), and whether the app
/// (`app`) has a ready pod.
fn pods(ctx: &Context, namespace: &str, writers: &[(String, i32)], app: &str) -> (bool, bool) {
    let deployment = |name: &str| get(&ctx.stores.deployments, namespace, name);
    let running = |d: &Deployment| {
        let spec = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let pods = d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        spec > 0 || pods > 0
    };
    let stopped = writers
        .iter()
        .all(|(name, _)| deployment(name).is_none_or(|d| !running(&d)));
    let ready = deployment(app)
        .and_then(|d| d.status.as_ref()?.ready_replicas)
        .unwrap_or(0);
    (stopped, ready > 0)
}

/// The app and the pooler at zero while writes stop; back at their counts
/// once a restore (`restored_before`: there was one) no longer stops them.
async fn scale_writers(
    ctx: &Context,
    namespace: &str,
    writers: &[(String, i32)],
    stop: bool,
    restored_before: bool,
) -> Result<(), ReconcileError> {
    let api: Api<Deployment> = Api::namespaced(ctx.client.clone(), namespace);
    for (writer, replicas) in writers {
        let Some(found) = get(&ctx.stores.deployments, namespace, writer) else {
            continue;
        };
        let at = found.spec.as_ref().and_then(|s| s.replicas);
        let wanted = if stop {
            0
        } else if at == Some(0) && restored_before {
            // Back from a restore's zero (or a failed one's).
            *replicas
        } else {
            continue;
        };
        if at != Some(wanted) {
            scale(&api, writer, wanted).await?;
            info!(deployment = %writer, replicas = wanted, "scaled for the restore");
        }
    }
    Ok(())
}

/// Sets Deployment `name`'s replica count under the restore's own field
/// manager: the operator's apply leaves a count it does not send alone.
async fn scale(api: &Api<Deployment>, name: &str, replicas: i32) -> Result<(), ReconcileError> {
    let params = PatchParams::apply(MANAGER).force();
    converge::apply_replicas(api, name, replicas, &params)
        .await
        .map_err(kube_error("apply", "Deployment", name))
}
