//! The controller: observe → decide → apply → status.
//!
//! `reconcile` reads the caches (`observe`), asks the pure `decide` what to
//! do, lets `converge` do it with server-side apply, computes the next
//! status (`status::next`) and writes it only when it changed. A reconcile
//! of an unchanged resource sends no request at all.

pub mod action;
pub mod backups;
pub mod command;
pub mod conditions;
mod context;
pub mod converge;
pub mod data;
pub mod decide;
mod decision;
pub mod delivery;
mod error;
pub mod events;
pub mod holds;
mod maintenance;
pub mod migration;
pub mod observe;
pub mod outcome;
mod publish;
pub mod restore;
pub mod rollback;
pub mod status;
pub mod stores;

use std::{sync::Arc, time::Duration};

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{controller::Action, reflector::ObjectRef},
};
use serde_json::json;
use tracing::{Instrument, info, warn};

use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    names::MANAGER,
};
pub use context::{Context, Timing};
pub use error::ReconcileError;
use outcome::Pace;
pub use stores::{Stores, SyncGate};

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
        // Children carry owner references: the garbage collector removes
        // them. Stores outside the cluster are the finalizer's.
        return finalize_deleted(cbd, ctx, resolved.as_ref(), &now).await;
    }
    let references = ctx.secret_references(cbd);
    let mut observed = observe::gather(&ctx.stores, cbd, &references);
    if let (Some(spec), Some(status)) = (&resolved, &cbd.status) {
        observe_rollout(ctx, cbd, spec, status, &now, &mut observed).await;
    }
    let decision = decide::decide(cbd, &ctx.renderer, &observed, &now);
    // Stores are created only for a spec that can be applied.
    let stores = match &resolved {
        Some(spec) if decision.assessment.blocker.is_none() && !decision.assessment.paused => {
            data::converge_stores(ctx, cbd, spec).await?
        }
        _ => data::DataOutcome::default(),
    };
    let converged = converge::converge(&ctx.client, cbd, &observed, &decision).await?;
    if decision.release_hold {
        rollback::release(&ctx.client, cbd).await?;
        info!("the spec changed since the on-call rollback: its hold is lifted");
    }
    if !converged.applied.is_empty() || !converged.pruned.is_empty() {
        info!(applied = ?converged.applied, pruned = ?converged.pruned, "children converged");
    }

    let mut assessment = decision.assessment.clone();
    if let Some(failed) = assessment
        .migration
        .as_mut()
        .filter(|m| m.state == observe::MigrationState::Failed)
    {
        let namespace = cbd.namespace().unwrap_or_default();
        failed.log_tail = migration::log_tail(&ctx.client, &namespace, &failed.job).await;
    }
    let mut pace = decision.pace();
    if resolved.is_some() && assessment.blocker.is_none() && !assessment.paused {
        assessment.database = stores.database.clone();
        assessment.cache = stores.cache.clone();
    }
    if stores.waiting() && pace == Pace::Steady {
        pace = Pace::Waiting;
    }
    if stores.failed() {
        // Only a change (in the spec or in AWS) helps: look again slowly.
        pace = Pace::Blocked;
    }
    if assessment.blocker.is_none()
        && let Some(conflict) = converged.conflicts.first()
    {
        assessment.blocker = Some(conflict.clone());
        pace = Pace::Blocked;
    }
    let templates = &decision.backup_templates;
    let restored = match &resolved {
        Some(spec) if assessment.blocker.is_none() => {
            let migrating = observed
                .migrations
                .iter()
                .find(|(_, m)| m.state == observe::MigrationState::Running)
                .map(|(revision, _)| *revision);
            restore::converge(ctx, cbd, spec, templates, migrating, &now).await?
        }
        _ => restore::RestoreOutcome::default(),
    };
    if restored.in_progress && pace == Pace::Steady {
        pace = Pace::Waiting;
    }
    let backups = match &resolved {
        Some(spec) if assessment.blocker.is_none() => {
            let safety = restored.safety_backup.as_ref();
            let pre_rollout = decision.pre_rollout_backup;
            backups::converge(ctx, cbd, spec, templates, pre_rollout, safety, &now).await?
        }
        _ => backups::BackupOutcome::default(),
    };
    assessment.backups = backups.facts;
    assessment.restore = restored.status;
    if let Some(blocker) = &assessment.blocker {
        warn!(reason = blocker.reason, field = %blocker.path, "{}", blocker.message);
    }
    let next = status::next(cbd.status.as_ref(), &assessment, &now);
    // Deployments gone from the cache (deleted without a finalizer, so
    // never reconciled again) leave no series behind.
    ctx.metrics
        .deployments
        .retain(|namespace, name| stores::get(&ctx.stores.chatbots, namespace, name).is_some());
    ctx.metrics
        .deployments
        .observe(&cbd.namespace().unwrap_or_default(), &cbd.name_any(), &next);
    let previous = cbd.status.clone().unwrap_or_default();
    if next != previous {
        let after = write_status(&ctx.client, cbd, &next).await?;
        ctx.remember_status(cbd, after, &next);
    }

    let mut notes = stores.notes.clone();
    notes.extend(decision.notes.clone());
    notes.extend(converged.notes());
    notes.extend(backups.notes);
    notes.extend(restored.notes);
    notes.extend(events::transitions(&previous.conditions, &next.conditions));
    publish::publish(ctx, cbd, &notes).await;

    let after = match pace {
        Pace::Steady => ctx.timing.resync,
        Pace::Waiting => ctx.timing.waiting,
        Pace::Blocked => ctx.timing.blocked,
    };
    let wake = [decision.wake, backups.wake].into_iter().flatten().min();
    Ok(Action::requeue(wake.map_or(after, |wake| wake.min(after))))
}

/// What a rollout needs observed beyond the caches, when it is due: an
/// analysis round, the candidate's smoke checks, an A/B test's report.
async fn observe_rollout(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &crate::api::ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    now: &Time,
    observed: &mut observe::Observed,
) {
    let namespace = cbd.namespace().unwrap_or_default();
    let name = cbd.name_any();
    if let Ok(Some((url, checks))) = delivery::due_checks(spec, status, &namespace, &name, now) {
        observed.analysis_round = Some(measure(&url, &checks, now).await);
    }
    if let Some((url, variants)) = delivery::due_report(spec, status, &namespace, &name) {
        observed.ab_variants = Some(measure_variants(&url, &variants).await);
    }
    if let Some(paths) = delivery::due_smoke(spec, status, observed) {
        let base = ctx.smoke_base.clone().unwrap_or_else(|| {
            format!(
                "http://{}.{namespace}.svc:{}",
                crate::names::ChildNames::for_deployment(&name).candidate,
                crate::rollout::traffic::SERVICE_PORT
            )
        });
        observed.smoke = Some(smoke(&base, &paths).await);
    }
}

/// The Prometheus the spec names.
fn prometheus(url: &str) -> Result<crate::analysis::prometheus::Prometheus, String> {
    if url.is_empty() {
        return Err("spec.rollout.analysis.prometheusURL is not set".to_string());
    }
    crate::analysis::prometheus::Prometheus::new(url)
}

/// Longest a smoke request may take.
const SMOKE_TIMEOUT: Duration = Duration::from_secs(5);

/// GETs every path on the candidate's Service; each must answer 2xx.
async fn smoke(base: &str, paths: &[String]) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(SMOKE_TIMEOUT)
        .build()
        .map_err(|error| format!("HTTP client: {error}"))?;
    for path in paths {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        match client.get(&url).send().await {
            Ok(response) if response.status().is_success() => {}
            Ok(response) => {
                return Err(format!(
                    "GET {path} answered {}",
                    response.status().as_u16()
                ));
            }
            Err(error) => {
                let why = if error.is_timeout() {
                    format!("no answer within {}s", SMOKE_TIMEOUT.as_secs())
                } else {
                    "the candidate's Service could not be reached".to_string()
                };
                return Err(format!("GET {path}: {why}"));
            }
        }
    }
    info!(paths = paths.len(), "smoke checks passed");
    Ok(())
}

/// An A/B test's report: every query of the baseline and the candidate,
/// once. A value that cannot be had is left out (the rule then asks a
/// person or keeps the baseline, never promotes on missing data).
async fn measure_variants(
    url: &str,
    variants: &[delivery::VariantQueries],
) -> (crate::api::VariantReport, crate::api::VariantReport) {
    use crate::{analysis::QueryResult, rollout::ab};
    let server = prometheus(url).ok();
    let mut reports = Vec::new();
    for variant in variants {
        let mut values = Vec::with_capacity(variant.queries.len());
        for (metric, query) in &variant.queries {
            let value = match &server {
                Some(server) => match server.query(query).await {
                    QueryResult::Value(value) => Some(value),
                    _ => None,
                },
                None => None,
            };
            values.push((metric.clone(), value));
        }
        reports.push(ab::variant_report(&variant.name, variant.revision, &values));
    }
    info!("A/B test variants measured");
    let candidate = reports.pop().unwrap_or_default();
    let baseline = reports.pop().unwrap_or_default();
    (baseline, candidate)
}

/// One analysis round: every check queried once against Prometheus and
/// judged. A server that cannot be asked makes each measurement an error,
/// which never passes.
async fn measure(
    url: &str,
    checks: &[crate::analysis::Check],
    now: &Time,
) -> crate::api::AnalysisRound {
    use crate::analysis::{QueryResult, judge};
    let server = prometheus(url);
    let mut measurements = Vec::with_capacity(checks.len());
    for check in checks {
        let result = match &server {
            Ok(server) => server.query(&check.query).await,
            Err(error) => QueryResult::Failed(error.clone()),
        };
        measurements.push(judge(check, &result));
    }
    info!(checks = measurements.len(), "analysis round measured");
    delivery::round(measurements, now)
}

/// One step of deleting `cbd`: its managed stores are torn down by their
/// deletion policy; the status says how far it got until the finalizer
/// comes off.
async fn finalize_deleted(
    cbd: &ChatbotDeployment,
    ctx: &Context,
    spec: Option<&crate::api::ChatbotDeploymentSpec>,
    now: &Time,
) -> Result<Action, ReconcileError> {
    ctx.metrics
        .deployments
        .forget(&cbd.namespace().unwrap_or_default(), &cbd.name_any());
    if !cbd.finalizers().iter().any(|f| f == data::FINALIZER) {
        return Ok(Action::await_change());
    }
    let finalized = data::finalize(ctx, cbd, spec).await?;
    publish::publish(ctx, cbd, &finalized.notes).await;
    if finalized.done {
        return Ok(Action::await_change());
    }
    let next = status::deleting(
        cbd.status.as_ref(),
        &finalized.database,
        &finalized.cache,
        now,
    );
    if Some(&next) != cbd.status.as_ref() {
        let after = write_status(&ctx.client, cbd, &next).await?;
        ctx.remember_status(cbd, after, &next);
    }
    let refused = [&finalized.database, &finalized.cache]
        .into_iter()
        .flatten()
        .any(|f| f.failed);
    Ok(Action::requeue(if refused {
        ctx.timing.blocked
    } else {
        ctx.timing.waiting
    }))
}

/// Writes the status with server-side apply on the status subresource: a
/// field the operator stops setting is removed, not left behind.
/// Returns the resource version after the write.
async fn write_status(
    client: &Client,
    cbd: &ChatbotDeployment,
    status: &ChatbotDeploymentStatus,
) -> Result<Option<String>, ReconcileError> {
    let namespace = cbd.namespace().ok_or(ReconcileError::MissingNamespace)?;
    let name = cbd.name_any();
    let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace);
    // `status.rollback` belongs to the rollback's field manager: leaving it
    // out here never removes or takes it over.
    // Fields other managers own (an on-call rollback, a rollout command)
    // are never sent, so they are never taken over or removed.
    let status = ChatbotDeploymentStatus {
        rollback: None,
        rollout_command: None,
        backup_request: None,
        restore_request: None,
        maintenance_hold: None,
        ..status.clone()
    };
    let patch = json!({
        "apiVersion": ChatbotDeployment::api_version(&()),
        "kind": ChatbotDeployment::kind(&()),
        "status": status,
    });
    api.patch_status(
        &name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map(|written| written.metadata.resource_version)
    .map_err(|source| ReconcileError::Kube {
        action: "apply",
        kind: "ChatbotDeployment/status",
        name,
        source,
    })
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
