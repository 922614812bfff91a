//! The controller: observe → decide → apply → status.
//!
//! `reconcile` reads the caches and what a rollout needs measured
//! (`probe::observe`), asks the pure `decide` what to do, then runs the
//! steps in order — the data stores (`data_stores`), the children
//! (`converge`), the data operations (`operations`: restore, then
//! backups) — each handing back an [`Outcome`]; the loop folds them (a
//! blocker from one stops the steps after it), composes the next status
//! from their conditions (`status`) and writes it only when it changed
//! (`write`). A reconcile of an unchanged resource sends no request at
//! all.

pub mod action;
pub mod caches;
pub mod command;
pub mod conditions;
mod context;
pub mod converge;
pub mod data_stores;
pub mod decide;
mod decision;
mod deleted;
pub mod delivery;
mod error;
pub mod events;
pub mod holds;
mod maintenance;
pub mod migration;
pub mod observe;
pub mod operations;
pub mod outcome;
mod probe;
mod publish;
pub mod rollback;
pub mod status;
mod timing;
mod write;

use std::{sync::Arc, time::Duration};

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{
    Resource, ResourceExt,
    runtime::{controller::Action, reflector::ObjectRef},
};
use tracing::{Instrument, warn};

use crate::api::ChatbotDeployment;
pub use caches::{Stores, SyncGate};
pub use context::Context;
pub use error::ReconcileError;
use outcome::Outcome;
pub use timing::Timing;

/// Controller name in metrics and logs.
pub const CONTROLLER: &str = "chatbotdeployment";

/// Reconciles one ChatbotDeployment.
pub async fn reconcile(
    cbd: Arc<ChatbotDeployment>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if !ctx.synced.wait().await {
        // The watchers are gone: the operator is stopping.
        return Ok(Action::await_change());
    }
    let result = reconcile_at(&cbd, &ctx, Time(Timestamp::now())).await;
    if result.is_ok()
        && let Ok(mut failures) = ctx.failures.lock()
    {
        failures.remove(&ObjectRef::from(cbd.as_ref()));
    }
    result
}

/// One reconcile at `now`: the whole observe → decide → apply → status
/// path, inside a span that puts the object reference on every log line.
pub async fn reconcile_at(
    cbd: &ChatbotDeployment,
    ctx: &Context,
    now: Time,
) -> Result<Action, ReconcileError> {
    // At ERROR level so that no `RUST_LOG` filter that lets a line through
    // drops the span, and with it the object reference, from that line.
    let span = tracing::error_span!(
        "reconcile",
        namespace = cbd.namespace().unwrap_or_default(),
        chatbot = cbd.name_any()
    );
    reconcile_in_span(cbd, ctx, now).instrument(span).await
}

async fn reconcile_in_span(
    cbd: &ChatbotDeployment,
    ctx: &Context,
    now: Time,
) -> Result<Action, ReconcileError> {
    let _timer = ctx.metrics.reconcile_started(CONTROLLER);
    let fresher = ctx.with_latest_status(cbd);
    let cbd = fresher.as_ref().unwrap_or(cbd);
    let resolved = ctx
        .renderer
        .environments
        .resolve(&cbd.spec)
        .ok()
        .map(|resolution| resolution.spec);
    if cbd.meta().deletion_timestamp.is_some() {
        return deleted::finalize_deleted(cbd, ctx, resolved.as_ref(), &now).await;
    }
    let observed = probe::observe(ctx, cbd, resolved.as_ref(), &now).await?;
    let decision = decide::decide(cbd, &ctx.renderer, &observed, &now);
    let mut assessment = decision.assessment.clone();

    // Each step runs only while nothing blocks the spec, and hands the
    // next what it needs as plain data. Stores are created only for a
    // spec that can be applied and is not paused.
    let spec = resolved.as_ref();
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
    let so_far = stores.then(decision.outcome()).then(children);
    // The data operations run even when a step before them is blocked, so
    // that a restore under way never leaves the app stopped; with the
    // blocker they start nothing new.
    let blocked = so_far.blocker.as_ref().map(|b| b.message.as_str());
    let given = operations::Given {
        templates: &decision.backup_templates,
        pre_rollout: decision.pre_rollout_backup,
        migrating: observed.running_migration(),
        blocked,
    };
    let operations = operations::converge(ctx, cbd, spec.unwrap_or(&cbd.spec), given, &now).await?;
    assessment.restore = operations.restore;
    assessment.backups = operations.backups;
    let mut outcome = so_far.then(operations.outcome);
    assessment.blocker = outcome.blocker.clone();
    if let Some(blocker) = &assessment.blocker {
        warn!(reason = blocker.reason, field = %blocker.path, "{}", blocker.message);
    }

    let judged = std::mem::take(&mut outcome.conditions);
    let next = status::next(cbd.status.as_ref(), &assessment, judged, &now);
    let transitions = write::next_status(ctx, cbd, &next).await?;
    let outcome = outcome.then(transitions);
    publish::publish(ctx, cbd, &outcome.notes).await;
    Ok(Action::requeue(ctx.timing.after(&outcome)))
}

/// Decides the retry of a failed reconcile: exponential backoff per
/// resource, from `timing.backoff` up to `timing.blocked`.
pub fn error_policy(
    cbd: Arc<ChatbotDeployment>,
    error: &ReconcileError,
    ctx: Arc<Context>,
) -> Action {
    ctx.metrics.reconcile_failed(CONTROLLER, error.reason());
    let attempts = ctx
        .failures
        .lock()
        .map(|mut failures| {
            let count = failures.entry(ObjectRef::from(cbd.as_ref())).or_insert(0);
            *count = count.saturating_add(1);
            *count
        })
        .unwrap_or(1);
    let delay = backoff(ctx.timing.backoff, ctx.timing.blocked, attempts);
    warn!(
        namespace = cbd.namespace().unwrap_or_default(),
        chatbot = cbd.name_any(),
        reason = error.reason(),
        attempts,
        retry_in = ?delay,
        "reconcile failed: {error}"
    );
    Action::requeue(delay)
}

/// `first × 2^(attempts-1)`, at most `max`.
pub fn backoff(first: Duration, max: Duration, attempts: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(16));
    first.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling() {
        let first = Duration::from_secs(5);
        let max = Duration::from_secs(300);
        let delays: Vec<u64> = (1..=8).map(|n| backoff(first, max, n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
    }
}
