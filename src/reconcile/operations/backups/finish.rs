//! The backup runs that ended, once the plan recorded them: their Jobs
//! that the plan lets go are deleted, and each finished run is counted in
//! the operator's metrics.

use k8s_openapi::api::batch::v1::Job;
use kube::{
    Api,
    api::{DeleteParams, Preconditions, PropagationPolicy},
};

use crate::{
    api::BackupRecord,
    backup::runs,
    reconcile::{context::Context, error::ReconcileError},
    telemetry::backups::Finished,
};

/// Deletes the Jobs the plan prunes and counts the runs that finished.
pub(super) async fn finish(
    ctx: &Context,
    namespace: &str,
    name: &str,
    plan: &runs::Plan,
) -> Result<(), ReconcileError> {
    for (job, uid) in &plan.prune {
        delete_job(ctx, namespace, job, uid.as_deref()).await?;
    }
    for run in plan.finished.iter().map(finished) {
        ctx.metrics.backups.finished(namespace, name, &run);
    }
    if let Some(good) = plan.status.last_successful.as_ref().map(finished) {
        ctx.metrics.backups.seed(namespace, name, &good);
    }
    Ok(())
}

fn finished(run: &BackupRecord) -> Finished {
    Finished {
        succeeded: run.phase == runs::phase::SUCCEEDED,
        finished_at: run
            .time
            .as_ref()
            .map_or(0.0, |t| t.0.as_millisecond() as f64 / 1000.0),
        bytes: run.bytes,
        restore_seconds: run.restore_seconds,
    }
}

async fn delete_job(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: Option<&str>,
) -> Result<(), ReconcileError> {
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), namespace);
    let params = DeleteParams {
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid.to_string()),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 || status.code == 409 => Ok(()),
        Err(source) => Err(ReconcileError::Kube {
            action: "delete",
            kind: "Job",
            name: name.into(),
            source,
        }),
    }
}
