//! What a rollout needs measured outside the caches, when it is due: an
//! analysis round against Prometheus, the candidate's smoke checks, an
//! A/B test's report. Each measurement is plain data the decision judges.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use tracing::info;

use super::{context::Context, delivery, observe};
use crate::api::{ChatbotDeployment, ChatbotDeploymentSpec, ChatbotDeploymentStatus};

/// What a rollout needs observed beyond the caches, when it is due: an
/// analysis round, the candidate's smoke checks, an A/B test's report.
pub(super) async fn rollout(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    now: &Time,
    observed: &mut observe::Observed,
) {
    let namespace = cbd.namespace().unwrap_or_default();
    let name = cbd.name_any();
    if let Ok(Some((url, checks))) = delivery::due_checks(spec, status, &namespace, &name, now) {
        observed.analysis_round = Some(measure(&url, &checks, now).await);
    }
    if let Some((url, variants)) = delivery::due_report(spec, status, &namespace, &name, now) {
        observed.ab_variants = Some(measure_variants(&url, &variants).await);
    }
    if let Some(due) = delivery::due_smoke(spec, status, observed, &name) {
        observed.smoke = Some(smoke_each(ctx, &namespace, &due).await);
    }
}

/// The smoke checks on each candidate's Service (or the base the context
/// names): passed, or why not, naming the candidate beside others.
async fn smoke_each(ctx: &Context, namespace: &str, due: &delivery::Smoke) -> Result<(), String> {
    for service in &due.services {
        let base = ctx.smoke_base.clone().unwrap_or_else(|| {
            format!(
                "http://{service}.{namespace}.svc:{}",
                crate::rollout::traffic::SERVICE_PORT
            )
        });
        smoke(&base, &due.paths)
            .await
            .map_err(|why| match due.services.len() {
                1 => why,
                _ => format!("{service}: {why}"),
            })?;
    }
    Ok(())
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

/// An A/B test's report: every query of the baseline and each candidate,
/// once. A value that cannot be had is left out (the rule then asks a
/// person or keeps the baseline, never promotes on missing data).
async fn measure_variants(
    url: &str,
    variants: &[delivery::VariantQueries],
) -> crate::rollout::ab::MeasuredVariants {
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
        reports.push(ab::measured(
            &variant.name,
            variant.revision,
            &values,
            variant.guardrails,
        ));
    }
    info!(variants = reports.len(), "A/B test variants measured");
    let mut reports = reports.into_iter();
    ab::MeasuredVariants {
        baseline: reports.next().unwrap_or_default(),
        candidates: reports.collect(),
    }
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
