//! A/B tests: the baseline variant keeps the stable revision, each other
//! variant (a candidate) is the spec's new revision or, when it sets an
//! overlay, the spec with the overlay set over it; traffic is split by
//! the variants' weights for the test's duration, the variants are
//! measured every round (or once at the end) and the spec's rule decides. Pure: queries are
//! built here and run by the reconciler.

use std::time::Duration;

pub mod judge;
pub mod length;
mod queries;
pub mod sequential;
mod variants;

pub use variants::{Candidate, MAX_CANDIDATES, Variants, variants};

use super::machine::{Comparison, PlanError, Step, parse_duration};
use crate::{
    analysis::Selector,
    api::{AbDecision, AbReport, AbTest, VariantReport},
};

/// The test's length when the spec names none.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(14 * 86_400);
/// z of a two-sided 95% test: a lead smaller than this is no lead.
const SIGNIFICANT_Z: f64 = 1.96;

/// The test's steps and variants: the candidates' weight, the duration,
/// then the comparison.
pub fn plan(test: &AbTest) -> Result<(Vec<Step>, Variants, Duration), PlanError> {
    let error = |path: &str, message: String| PlanError {
        path: format!("spec.rollout.abTest.{path}"),
        message,
    };
    let variants = variants(test)?;
    variants::check_several(test, &variants)?;
    let duration = match &test.duration {
        None => DEFAULT_DURATION,
        Some(text) => parse_duration(text).ok_or_else(|| {
            error(
                "duration",
                format!("{text} is not a duration such as 30m, 24h or 14d"),
            )
        })?,
    };
    check_primary(test)?;
    let weight = variants.candidate_weight();
    let steps = if test.primary.is_some() {
        vec![Step::SetWeight(weight), Step::Test(duration)]
    } else {
        vec![
            Step::SetWeight(weight),
            Step::Pause(Some(duration)),
            Step::Compare,
        ]
    };
    Ok((steps, variants, duration))
}

/// What a sequential test's primary needs beyond its schema: a rule that
/// decides on it, and an effect that leaves a rate inside (0, 100) %.
fn check_primary(test: &AbTest) -> Result<(), PlanError> {
    let error = |path: &str, message: String| PlanError {
        path: format!("spec.rollout.abTest.{path}"),
        message,
    };
    let Some(primary) = &test.primary else {
        return match test.decision {
            Some(AbDecision::Sequential) => Err(error(
                "primary",
                "is required when decision is Sequential".into(),
            )),
            _ => Ok(()),
        };
    };
    if let Some(rule @ (AbDecision::BestSuccessRate | AbDecision::BestMetric)) = test.decision {
        return Err(error(
            "decision",
            format!(
                "{rule:?} decides once at the end on its own measure; a test with a primary metric is decided by Sequential or Manual"
            ),
        ));
    }
    let p0 = primary.baseline_rate_percent / 100.0;
    let changed = p0 * (1.0 + judge::signed_effect(primary));
    if !(changed > 0.0 && changed < 1.0) {
        return Err(error(
            "primary.minimumDetectableEffectPercent",
            format!(
                "a change of {}% of a {}% baseline rate is {}%, outside 0–100%",
                crate::analysis::shown(primary.minimum_detectable_effect_percent),
                crate::analysis::shown(primary.baseline_rate_percent),
                crate::analysis::shown(100.0 * changed)
            ),
        ));
    }
    Ok(())
}

/// The queries of one variant's report over `window` (e.g. `1209600s`):
/// requests, success rate, p95 latency, then the spec's comparison
/// metrics, by name; with a primary metric, then the counts the
/// sequential test reads (named with a leading `~`, which no comparison
/// metric's name has).
pub fn report_queries(selector: &Selector, window: &str, test: &AbTest) -> Vec<(String, String)> {
    let sel = selector.matchers();
    let mut queries = vec![
        (
            "requests".to_string(),
            format!("sum(increase(http_requests_total{{{sel}}}[{window}]))"),
        ),
        (
            "success-rate".to_string(),
            format!(
                r#"100 * sum(increase(http_requests_total{{{sel},code!~"5.."}}[{window}])) / sum(increase(http_requests_total{{{sel}}}[{window}]))"#
            ),
        ),
        (
            "p95-latency".to_string(),
            format!(
                "1000 * histogram_quantile(0.95, sum by (le) (increase(http_request_duration_seconds_bucket{{{sel}}}[{window}])))"
            ),
        ),
    ];
    for metric in test.compare.as_deref().unwrap_or_default() {
        queries.push((metric.name.clone(), selector.fill(&metric.query)));
    }
    if test.primary.is_some() {
        queries.extend(queries::counts(selector, window, test));
    }
    queries
}

/// One variant as a round measured it: the report status shows, and the
/// counts the sequential test reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Measured {
    pub report: VariantReport,
    pub counts: judge::Counts,
}

/// Every variant as a round measured it: the baseline, then each
/// candidate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MeasuredVariants {
    pub baseline: Measured,
    pub candidates: Vec<Measured>,
}

/// A variant's report and counts from its measured values, in the order
/// of [`report_queries`].
pub fn measured(
    name: &str,
    revision: i64,
    values: &[(String, Option<f64>)],
    guardrails: usize,
) -> Measured {
    let value = |key: &str| {
        values
            .iter()
            .find(|(name, _)| name == key)
            .and_then(|(_, v)| *v)
            .filter(|v| v.is_finite())
    };
    let pair = |events: &str, trials: &str| value(events).zip(value(trials));
    let report = VariantReport {
        name: name.to_string(),
        revision,
        requests: value("requests"),
        conversations: value(queries::CONVERSATIONS),
        success_rate_percent: value("success-rate"),
        p95_latency_ms: value("p95-latency"),
        metrics: values
            .iter()
            .skip(3)
            .filter(|(name, _)| !name.starts_with('~'))
            .map(|(name, value)| crate::api::MetricValue {
                name: name.clone(),
                value: value.filter(|v| v.is_finite()),
            })
            .collect(),
    };
    let counts = judge::Counts {
        conversations: value(queries::CONVERSATIONS),
        primary: pair(queries::PRIMARY_SUCCESSES, queries::PRIMARY_TRIALS),
        guardrails: (0..guardrails)
            .map(|i| pair(&queries::guardrail_bad(i), &queries::guardrail_total(i)))
            .collect(),
    };
    Measured { report, counts }
}

/// Two-proportion z statistic of the candidate's success rate over the
/// baseline's; `None` without enough data.
fn success_z(baseline: &VariantReport, candidate: &VariantReport) -> Option<f64> {
    let (n1, n2) = (baseline.requests?, candidate.requests?);
    if n1 < 1.0 || n2 < 1.0 {
        return None;
    }
    let (p1, p2) = (
        baseline.success_rate_percent? / 100.0,
        candidate.success_rate_percent? / 100.0,
    );
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let spread = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if spread == 0.0 {
        return Some(0.0);
    }
    Some((p2 - p1) / spread)
}

fn shown(value: Option<f64>) -> String {
    value.map_or_else(|| "no data".into(), crate::analysis::shown)
}

/// What `rule` makes of the measured variants. The candidate is kept only
/// when it is better: a lead that is not significant, or a metric without
/// data, keeps the baseline (BestSuccessRate) or asks a person.
pub fn decide(rule: AbDecision, baseline: &VariantReport, candidate: &VariantReport) -> Comparison {
    let summary = format!(
        "{} (revision {}) {}% success over {} requests, {} (revision {}) {}% over {}",
        candidate.name,
        candidate.revision,
        shown(candidate.success_rate_percent),
        shown(candidate.requests),
        baseline.name,
        baseline.revision,
        shown(baseline.success_rate_percent),
        shown(baseline.requests),
    );
    match rule {
        // Sequential without a primary metric is refused by `plan`.
        AbDecision::Manual | AbDecision::Sequential => {
            Comparison::Undecided(format!("A/B test over: {summary}"))
        }
        AbDecision::BestSuccessRate => match success_z(baseline, candidate) {
            None => Comparison::Undecided(format!(
                "A/B test over without enough data to compare: {summary}"
            )),
            Some(z) if z > SIGNIFICANT_Z => Comparison::Promote(format!(
                "A/B test: {} wins ({summary}; z = {})",
                candidate.name,
                crate::analysis::shown(z)
            )),
            Some(z) => Comparison::RollBack(format!(
                "A/B test: {} keeps serving, {} has no significant lead ({summary}; z = {})",
                baseline.name,
                candidate.name,
                crate::analysis::shown(z)
            )),
        },
        AbDecision::BestMetric => {
            let first = |v: &VariantReport| v.metrics.first().cloned();
            match (first(baseline), first(candidate)) {
                (Some(b), Some(c)) => match (b.value, c.value) {
                    (Some(bv), Some(cv)) if cv > bv => Comparison::Promote(format!(
                        "A/B test: {} wins on {} ({} against {})",
                        candidate.name,
                        c.name,
                        crate::analysis::shown(cv),
                        crate::analysis::shown(bv)
                    )),
                    (Some(bv), Some(cv)) => Comparison::RollBack(format!(
                        "A/B test: {} keeps serving, {} is not better on {} ({} against {})",
                        baseline.name,
                        candidate.name,
                        c.name,
                        crate::analysis::shown(cv),
                        crate::analysis::shown(bv)
                    )),
                    _ => Comparison::Undecided(format!(
                        "A/B test over, but {} has no data for both variants: {summary}",
                        c.name
                    )),
                },
                _ => Comparison::Undecided(format!(
                    "A/B test over, but spec.rollout.abTest.compare names no metric for BestMetric: {summary}"
                )),
            }
        }
    }
}

/// One measurement of the test's variants: what the spec's rule makes of
/// it, and the report status keeps. A test with a primary metric is judged
/// by the always-valid test of [`judge`] (every round, `elapsed` into its
/// `duration`, the running minimum p-values carried over from `previous`);
/// one without, by `decide` at its end. Each candidate measured is
/// weighted as the spec weights the variant of its name.
pub fn round(
    test: &AbTest,
    variants: &Variants,
    measured: &MeasuredVariants,
    previous: Option<&AbReport>,
    clock: judge::Clock,
    at: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
) -> (Comparison, AbReport) {
    let mut report = AbReport {
        at,
        variants: std::iter::once(&measured.baseline)
            .chain(&measured.candidates)
            .map(|m| m.report.clone())
            .collect(),
        ..AbReport::default()
    };
    let weight = |name: &str| {
        variants
            .candidates
            .iter()
            .find(|c| c.name == name)
            .map_or(0, |c| c.weight)
    };
    let arms: Vec<judge::Arm> = std::iter::once(judge::Arm {
        name: &variants.baseline,
        weight: variants.baseline_weight(),
        counts: &measured.baseline.counts,
    })
    .chain(measured.candidates.iter().map(|c| judge::Arm {
        name: &c.report.name,
        weight: weight(&c.report.name),
        counts: &c.counts,
    }))
    .collect();
    let comparison = match judge::judge(test, &arms, previous, clock) {
        Some(judged) => {
            report.signals = judged.signals;
            report.sample_ratio = judged.sample_ratio;
            report.more_conversations = judged.more_conversations;
            report.more_days = judged.more_days;
            report.winner = judged.winner;
            judged.comparison
        }
        // Without a primary metric the rollout runs one candidate.
        None => decide(
            test.decision.unwrap_or_default(),
            &measured.baseline.report,
            &measured
                .candidates
                .first()
                .map(|c| c.report.clone())
                .unwrap_or_default(),
        ),
    };
    report.decision = match &comparison {
        Comparison::Promote(why)
        | Comparison::RollBack(why)
        | Comparison::Undecided(why)
        | Comparison::Continue(why) => why.clone(),
    };
    (comparison, report)
}

#[cfg(test)]
mod tests;
