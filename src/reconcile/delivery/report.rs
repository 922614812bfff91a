//! An A/B test's report: which queries measure each variant, once the
//! test's duration has ended.

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
}

/// The Prometheus URL and the queries of an A/B test's report (baseline,
/// then candidate), when the test's duration ended and it was not
/// measured yet.
pub fn due_report(
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    namespace: &str,
    name: &str,
) -> Option<(String, Vec<VariantQueries>)> {
    let settings = Settings::of(spec).ok()??;
    let (test, variants, duration) = settings.test?;
    let rollout = status.rollout.as_ref()?;
    let at_compare = progressive::stands_at(rollout, &settings.steps, &Step::Compare);
    if !at_compare || rollout.report.is_some() || status.current_revision != Some(rollout.revision)
    {
        return None;
    }
    let window = format!("{}s", duration.as_secs().max(60));
    let compare = test.compare.clone().unwrap_or_default();
    let url = spec
        .rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.prometheus_url.clone())
        .unwrap_or_default();
    let queries = |revision| {
        let selector = Selector {
            namespace: namespace.to_string(),
            instance: name.to_string(),
            revision,
        };
        ab::report_queries(&selector, &window, &compare)
    };
    Some((
        url,
        vec![
            VariantQueries {
                name: variants.baseline.clone(),
                revision: rollout.stable_revision,
                queries: queries(rollout.stable_revision),
            },
            VariantQueries {
                name: variants.candidate.clone(),
                revision: rollout.revision,
                queries: queries(rollout.revision),
            },
        ],
    ))
}
