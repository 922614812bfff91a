//! A reconcile of a live resource: what it is made from (`probe`), the
//! pure decision (`decide`), then each step in order — the data stores
//! (`data_stores`), the children (`converge`), the data operations
//! (`operations`: restore, then backups) — each handing back an
//! [`Outcome`]. They are folded in order (a blocker from one keeps the
//! ones after it from starting anything new) into one outcome and the
//! next status, composed from the steps' conditions (`status`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use tracing::warn;

use super::{
    context::Context, converge, data_stores, decide, error::ReconcileError, operations,
    outcome::Outcome, probe, status, write::Turn,
};
use crate::api::{ChatbotDeployment, ChatbotDeploymentSpec};

/// A reconcile of a live resource: observe, decide, then each step in
/// order, folded into the next status and one outcome.
pub(super) async fn reconcile_live(
    cbd: &ChatbotDeployment,
    ctx: &Context,
    spec: Option<&ChatbotDeploymentSpec>,
    now: &Time,
) -> Result<Turn, ReconcileError> {
    let observed = probe::observe(ctx, cbd, spec, now).await?;
    let decision = decide::decide(cbd, &ctx.renderer, &observed, now);
    let decided = decision.outcome();
    let mut assessment = decision.assessment.clone();

    // Each step runs only while nothing blocks the spec, and hands the
    // next what it needs as plain data. Stores are created only for a
    // spec that can be applied and is not paused.
    let stores = match spec {
        Some(spec) if assessment.blocker.is_none() && !assessment.paused => {
            let stores = data_stores::converge_stores(ctx, cbd, spec).await?;
            assessment.database = stores.database.clone();
            assessment.cache = stores.cache.clone();
            stores.outcome()
        }
        _ => Outcome::default(),
    };
    let children = converge::children(ctx, cbd, &observed, &decision, &mut assessment).await?;
    // The data operations run even when a step before them is blocked, so
    // that a restore under way never leaves the app stopped; with the
    // blocker they start nothing new.
    let blocked = [&stores, &decided, &children]
        .into_iter()
        .find_map(|step| step.blocker.as_ref())
        .map(|b| b.message.as_str());
    let given = operations::Given {
        templates: &decision.backup_templates,
        pre_rollout: decision.pre_rollout_backup,
        migrating: observed.running_migration(),
        blocked,
    };
    let operations = operations::converge(ctx, cbd, spec.unwrap_or(&cbd.spec), given, now).await?;
    assessment.restore = operations.restore;
    assessment.backups = operations.backups;
    let mut outcome = Outcome::fold([stores, decided, children, operations.outcome]);
    assessment.blocker = outcome.blocker.clone();
    if let Some(blocker) = &assessment.blocker {
        warn!(reason = blocker.reason, field = %blocker.path, "{}", blocker.message);
    }
    let judged = std::mem::take(&mut outcome.conditions);
    let next = status::next(cbd.status.as_ref(), &assessment, judged, now);
    Ok(Turn {
        next: Some(next),
        outcome,
        live: true,
    })
}
