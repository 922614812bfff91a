//! An A/B test's report: which queries measure each variant, once the
//! test's duration has ended, or every round of a test judged as it goes.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::settings::Settings;
use crate::{
    analysis::Selector,
    api::{ChatbotDeploymentSpec, ChatbotDeploymentStatus},
    rollout::{ab, machine::Step, progressive},
};

/// The report queries of one A/B variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantQueries {
    pub name: String,
    pub revision: i64,
    /// Metric name and PromQL, in [`ab::report_queries`] order.
    pub queries: Vec<(String, String)>,
    /// Guardrails the test names (their counts close the queries).
    pub guardrails: usize,
}

/// The Prometheus URL and the queries of an A/B test's report (baseline,
/// then each candidate): at the compare step once, or every `interval` while a
/// test with a primary metric runs (over the test so far).
pub fn due_report(
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    namespace: &str,
    name: &str,
    now: &Time,
) -> Option<(String, Vec<VariantQueries>)> {
    let settings = Settings::of(spec).ok()??;
    let (test, variants, duration) = settings.test?;
    let rollout = status.rollout.as_ref()?;
    if status.current_revision != Some(rollout.revision) {
        return None;
    }
    let at_compare = progressive::stands_at(rollout, &settings.steps, &Step::Compare);
    let at_test = progressive::stands_at(rollout, &settings.steps, &Step::Test(duration));
    let now = now.0.as_second();
    let seconds = |t: &Option<Time>| t.as_ref().map(|t| t.0.as_second());
    let window = if at_compare && rollout.report.is_none() {
        duration.as_secs()
    } else if at_test {
        let last = rollout.report.as_ref().and_then(|r| seconds(&r.at));
        if last.is_some_and(|last| now - last < settings.interval.as_secs() as i64) {
            return None;
        }
        u64::try_from(now - seconds(&rollout.step_started_at).unwrap_or(now)).unwrap_or(0)
    } else {
        return None;
    };
    let window = format!("{}s", window.max(60));
    let guardrails = test.guardrails.as_ref().map_or(0, Vec::len);
    let url = spec
        .rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.prometheus_url.clone())
        .unwrap_or_default();
    let queries = |revision, variant: Option<&str>| {
        let selector = Selector {
            namespace: namespace.to_string(),
            instance: name.to_string(),
            revision,
            variant: variant.map(str::to_string),
        };
        ab::report_queries(&selector, &window, &test)
    };
    let baseline = VariantQueries {
        name: variants.baseline.clone(),
        revision: rollout.stable_revision,
        queries: queries(rollout.stable_revision, None),
        guardrails,
    };
    // Each candidate's pods at its revision, told apart by their variant
    // label (two candidates may run the same template).
    let candidates: Vec<(String, i64)> = if rollout.candidates.is_empty() {
        vec![(variants.candidates.first()?.name.clone(), rollout.revision)]
    } else {
        rollout
            .candidates
            .iter()
            .map(|c| (c.variant.clone(), c.revision))
            .collect()
    };
    let candidates = candidates
        .into_iter()
        .map(|(variant, revision)| VariantQueries {
            queries: queries(revision, Some(&variant)),
            name: variant,
            revision,
            guardrails,
        });
    Some((url, std::iter::once(baseline).chain(candidates).collect()))
}
