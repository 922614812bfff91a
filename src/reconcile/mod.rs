//! The controller: observe → decide → apply → status.
//!
//! `reconcile` runs a live resource's steps (`live`: what a rollout needs
//! measured is read by `probe`, the pure `decide` says what to do, then
//! the data stores, the children and the data operations run in order,
//! each handing back an [`Outcome`](outcome::Outcome), folded so that a blocker from one
//! stops the steps after it), or a deleted one's teardown (`deleted`).
//! Either ends in a `Turn`: `write` writes the next status only when it
//! changed and publishes the Events. A reconcile of an unchanged resource
//! sends no request at all.

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
mod live;
mod maintenance;
mod measure;
pub mod migration;
pub mod observe;
pub mod operations;
pub mod outcome;
pub mod probe;
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
    let turn = if cbd.meta().deletion_timestamp.is_none() {
        live::reconcile_live(cbd, ctx, resolved.as_ref(), &now).await?
    } else {
        deleted::finalize_deleted(cbd, ctx, resolved.as_ref(), &now).await?
    };
    write::finish(ctx, cbd, turn).await
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
