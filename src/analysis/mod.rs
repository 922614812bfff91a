//! Analysis of a candidate revision: which Prometheus queries to run, with
//! which thresholds, and how measurements add up to a verdict. Pure; the
//! queries themselves go through [`prometheus`].
//!
//! Honest by construction, avoiding the known failures of mature tools: an
//! empty result or NaN is *inconclusive* (never a pass, never a crash); a
//! round that could not be measured (Prometheus did not answer) is never a
//! pass and does not count toward the rounds a run needs — it is measured
//! again, and too many such rounds in a row pause the run as inconclusive;
//! every measurement keeps the resolved query, the value and the
//! threshold, so a status can say exactly why.

pub mod prometheus;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::api::{Analysis, MetricCheck};

/// Which pods' series a query reads. Label names are those a
/// ServiceMonitor with `podTargetLabels: [app.kubernetes.io/instance,
/// chatbot.dev/revision]` gives the scraped series.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    pub namespace: String,
    pub instance: String,
    pub revision: i64,
}

impl Selector {
    /// The PromQL label matchers.
    pub fn matchers(&self) -> String {
        format!(
            r#"namespace="{}",app_kubernetes_io_instance="{}",chatbot_dev_revision="{}""#,
            self.namespace, self.instance, self.revision
        )
    }

    /// A spec's own PromQL with `{{revision}}`, `{{namespace}}` and
    /// `{{instance}}` filled in.
    pub fn fill(&self, query: &str) -> String {
        query
            .replace("{{revision}}", &self.revision.to_string())
            .replace("{{namespace}}", &self.namespace)
            .replace("{{instance}}", &self.instance)
    }
}

/// Built-in query templates for the chatbot's own signals, by name. A
/// `metrics[].query` of `builtin:<name>` uses one of them. The metric
/// names are the app's metrics contract (see docs/app-contract.md).
pub const BUILTINS: [(&str, &str); 6] = [
    (
        "success_rate_percent",
        r#"100 * sum(rate(http_requests_total{$SEL,code!~"5.."}[$W])) / sum(rate(http_requests_total{$SEL}[$W]))"#,
    ),
    (
        "error_rate_percent",
        r#"100 * sum(rate(http_requests_total{$SEL,code=~"5.."}[$W])) / sum(rate(http_requests_total{$SEL}[$W]))"#,
    ),
    (
        "p95_latency_ms",
        r#"1000 * histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{$SEL}[$W])))"#,
    ),
    (
        "p95_time_to_first_token_ms",
        r#"1000 * histogram_quantile(0.95, sum by (le) (rate(chatbot_time_to_first_token_seconds_bucket{$SEL}[$W])))"#,
    ),
    (
        "llm_error_rate_percent",
        r#"100 * sum(rate(chatbot_llm_requests_total{$SEL,status=~"429|5.."}[$W])) / sum(rate(chatbot_llm_requests_total{$SEL}[$W]))"#,
    ),
    (
        "tokens_per_request",
        r#"sum(rate(chatbot_llm_tokens_total{$SEL}[$W])) / sum(rate(chatbot_llm_requests_total{$SEL}[$W]))"#,
    ),
];

/// Shortest rate window: two scrapes at the usual 30 s interval.
const MIN_WINDOW_SECONDS: u64 = 60;

/// The rate window for an analysis `interval` (e.g. `1m`), at least 1m.
pub fn window(interval_seconds: u64) -> String {
    format!("{}s", interval_seconds.max(MIN_WINDOW_SECONDS))
}

fn expand(template: &str, selector: &Selector, window: &str) -> String {
    template
        .replace("$SEL", &selector.matchers())
        .replace("$W", window)
}

/// The built-in query `name` for `selector`, if there is one.
pub fn builtin(name: &str, selector: &Selector, window: &str) -> Option<String> {
    BUILTINS
        .iter()
        .find(|(builtin, _)| *builtin == name)
        .map(|(_, template)| expand(template, selector, window))
}

/// One check: a resolved query and its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    pub name: String,
    pub query: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// Why a spec's checks cannot be built.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CheckError {
    pub path: String,
    pub message: String,
}

/// Every check `analysis` asks for, resolved for `selector`.
pub fn checks(
    analysis: &Analysis,
    selector: &Selector,
    interval_seconds: u64,
) -> Result<Vec<Check>, CheckError> {
    let window = window(interval_seconds);
    let query = |name: &str| builtin(name, selector, &window).unwrap_or_default();
    let mut checks = Vec::new();
    if let Some(min) = analysis.min_success_rate_percent {
        checks.push(Check {
            name: "success-rate".into(),
            query: query("success_rate_percent"),
            min: Some(min),
            max: None,
        });
    }
    if let Some(max) = analysis.max_error_rate_percent {
        checks.push(Check {
            name: "error-rate".into(),
            query: query("error_rate_percent"),
            min: None,
            max: Some(max),
        });
    }
    if let Some(max) = analysis.max_p95_latency_ms {
        checks.push(Check {
            name: "p95-latency".into(),
            query: query("p95_latency_ms"),
            min: None,
            max: Some(max as f64),
        });
    }
    if let Some(max) = analysis.max_p95_time_to_first_token_ms {
        checks.push(Check {
            name: "p95-time-to-first-token".into(),
            query: query("p95_time_to_first_token_ms"),
            min: None,
            max: Some(max as f64),
        });
    }
    for (index, metric) in analysis.metrics.iter().flatten().enumerate() {
        checks.push(custom(metric, index, selector, &window)?);
    }
    Ok(checks)
}

fn custom(
    metric: &MetricCheck,
    index: usize,
    selector: &Selector,
    window: &str,
) -> Result<Check, CheckError> {
    let path = format!("spec.rollout.analysis.metrics[{index}].query");
    let query = match metric.query.strip_prefix("builtin:") {
        Some(name) => builtin(name, selector, window).ok_or_else(|| CheckError {
            path: path.clone(),
            message: format!(
                "unknown built-in query {name}; known: {}",
                BUILTINS.map(|(n, _)| n).join(", ")
            ),
        })?,
        None => selector.fill(&metric.query),
    };
    if metric.min.is_none() && metric.max.is_none() {
        return Err(CheckError {
            path: format!("spec.rollout.analysis.metrics[{index}]"),
            message: "needs min or max".into(),
        });
    }
    Ok(Check {
        name: metric.name.clone(),
        query,
        min: metric.min,
        max: metric.max,
    })
}

/// What one query returned.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryResult {
    /// One number.
    Value(f64),
    /// No series matched (no traffic yet, or a typo in the query).
    Empty,
    /// More than one series: the query must aggregate to one number.
    Ambiguous(usize),
    /// Prometheus could not be asked or refused the query.
    Failed(String),
}

/// The verdict of one measurement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    Passed,
    Failed,
    /// Empty, NaN or ambiguous: no evidence either way.
    Inconclusive,
    /// The query could not be run.
    Error,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Passed => "Passed",
            Verdict::Failed => "Failed",
            Verdict::Inconclusive => "Inconclusive",
            Verdict::Error => "Error",
        })
    }
}

/// One measurement as status records it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Measurement {
    pub name: String,
    /// The query as sent, selector and window filled in.
    pub query: String,
    /// The value; `None` when there was none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The bounds, e.g. `>= 99` or `<= 800`.
    pub threshold: String,
    pub verdict: Verdict,
    /// Why the verdict is not a plain comparison (empty, NaN, the error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn threshold(check: &Check) -> String {
    match (check.min, check.max) {
        (Some(min), Some(max)) => format!(">= {min} and <= {max}"),
        (Some(min), None) => format!(">= {min}"),
        (None, Some(max)) => format!("<= {max}"),
        (None, None) => "none".into(),
    }
}

/// Judges one query result against `check`'s bounds.
pub fn judge(check: &Check, result: &QueryResult) -> Measurement {
    let (value, verdict, reason) = match result {
        QueryResult::Value(value) if value.is_nan() => (
            None,
            Verdict::Inconclusive,
            Some("the query returned NaN (no requests in the window?)".to_string()),
        ),
        QueryResult::Value(value) => {
            let low = check.min.is_some_and(|min| *value < min);
            let high = check.max.is_some_and(|max| *value > max);
            let verdict = if low || high {
                Verdict::Failed
            } else {
                Verdict::Passed
            };
            (Some(*value), verdict, None)
        }
        QueryResult::Empty => (
            None,
            Verdict::Inconclusive,
            Some("the query returned no series".to_string()),
        ),
        QueryResult::Ambiguous(series) => (
            None,
            Verdict::Inconclusive,
            Some(format!(
                "the query returned {series} series; it must aggregate to one number"
            )),
        ),
        QueryResult::Failed(message) => (None, Verdict::Error, Some(message.clone())),
    };
    Measurement {
        name: check.name.clone(),
        query: check.query.clone(),
        value,
        threshold: threshold(check),
        verdict,
        reason,
    }
}

/// How many measurements a run takes and how many failures it tolerates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPolicy {
    /// Measured rounds per run (each round measures every check); a round
    /// that could not be measured does not count.
    pub count: u32,
    /// Failed rounds tolerated before the run fails.
    pub failure_limit: u32,
    /// Rounds in a row that could not be measured, tolerated before the
    /// run pauses as inconclusive (Argo Rollouts' `consecutiveErrorLimit`).
    pub consecutive_error_limit: u32,
}

/// Rounds that measured something: passed or failed, not errored.
pub fn measured_rounds(rounds: &[Vec<Measurement>]) -> u32 {
    rounds
        .iter()
        .filter(|r| matches!(round_verdict(r), Verdict::Passed | Verdict::Failed))
        .count() as u32
}

/// Where an analysis run stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunVerdict {
    /// More rounds to measure: `measured` of the `count` the run needs.
    Running {
        measured: u32,
        count: u32,
    },
    Passed,
    /// Too many failed rounds: roll back.
    Failed {
        reason: String,
    },
    /// No evidence either way, or only errors: pause and say so.
    Inconclusive {
        reason: String,
    },
}

/// The verdict of a round: the worst of its measurements, where a failure
/// outweighs an error, and an error or inconclusive outweighs a pass.
pub fn round_verdict(round: &[Measurement]) -> Verdict {
    let has = |v: Verdict| round.iter().any(|m| m.verdict == v);
    if has(Verdict::Failed) {
        Verdict::Failed
    } else if has(Verdict::Error) {
        Verdict::Error
    } else if has(Verdict::Inconclusive) || round.is_empty() {
        Verdict::Inconclusive
    } else {
        Verdict::Passed
    }
}

fn describe(measurement: &Measurement) -> String {
    match (&measurement.value, &measurement.reason) {
        (Some(value), _) => format!(
            "{} = {} (wants {})",
            measurement.name,
            shown(*value),
            measurement.threshold
        ),
        (None, Some(reason)) => format!("{}: {reason}", measurement.name),
        (None, None) => measurement.name.clone(),
    }
}

/// A measured value as people read it: at most three decimals, without the
/// float noise of PromQL arithmetic (9.999999999999998 reads 10).
pub fn shown(value: f64) -> String {
    let rounded = (value * 1000.0).round() / 1000.0;
    if rounded == rounded.trunc() && rounded.abs() < 1e15 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded}")
    }
}

/// The verdict of a run from its rounds so far, oldest first.
///
/// It fails as soon as failed rounds exceed the limit; it is inconclusive
/// as soon as a round is (no data is never taken for good data), and when
/// more rounds in a row than the limit could not be measured; it passes
/// only when `count` rounds were measured — rounds that errored are taken
/// again, not counted — the failures are within the limit and at least
/// one round passed.
pub fn run_verdict(rounds: &[Vec<Measurement>], policy: RunPolicy) -> RunVerdict {
    let verdicts: Vec<Verdict> = rounds.iter().map(|r| round_verdict(r)).collect();
    let failed = verdicts.iter().filter(|v| **v == Verdict::Failed).count() as u32;
    if failed > policy.failure_limit {
        let last_failed = rounds
            .iter()
            .zip(&verdicts)
            .rev()
            .find(|(_, v)| **v == Verdict::Failed)
            .map(|(round, _)| {
                round
                    .iter()
                    .filter(|m| m.verdict == Verdict::Failed)
                    .map(describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        return RunVerdict::Failed {
            reason: format!(
                "{failed} of {} rounds failed (limit {}): {last_failed}",
                rounds.len(),
                policy.failure_limit
            ),
        };
    }
    if let Some((round, _)) = rounds
        .iter()
        .zip(&verdicts)
        .find(|(_, v)| **v == Verdict::Inconclusive)
    {
        let why: Vec<String> = round
            .iter()
            .filter(|m| m.verdict == Verdict::Inconclusive)
            .map(describe)
            .collect();
        return RunVerdict::Inconclusive {
            reason: if why.is_empty() {
                "no check to measure".into()
            } else {
                why.join("; ")
            },
        };
    }
    let measured = measured_rounds(rounds);
    let errors_in_a_row = verdicts
        .iter()
        .rev()
        .take_while(|v| **v == Verdict::Error)
        .count() as u32;
    if errors_in_a_row > policy.consecutive_error_limit {
        let errors: Vec<String> = rounds
            .last()
            .into_iter()
            .flatten()
            .filter(|m| m.verdict == Verdict::Error)
            .map(describe)
            .collect();
        return RunVerdict::Inconclusive {
            reason: format!(
                "{errors_in_a_row} rounds in a row could not be measured (limit {}): {}; {measured} of {} rounds measured",
                policy.consecutive_error_limit,
                errors.join("; "),
                policy.count
            ),
        };
    }
    if measured < policy.count {
        return RunVerdict::Running {
            measured,
            count: policy.count,
        };
    }
    if !verdicts.contains(&Verdict::Passed) {
        return RunVerdict::Inconclusive {
            reason: format!(
                "no round passed: {failed} of {measured} measured rounds failed, within the limit of {}",
                policy.failure_limit
            ),
        };
    }
    RunVerdict::Passed
}

#[cfg(test)]
mod tests;
