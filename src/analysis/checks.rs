//! Which Prometheus queries an analysis runs: the built-in checks by
//! name, the spec's own queries, each bound to the pods it reads.

use crate::api::{Analysis, MetricCheck};

/// Which pods' series a query reads. Label names are those the PodMonitor's
/// `podTargetLabels` (`app.kubernetes.io/instance`, `chatbot.dev/revision`,
/// `chatbot.dev/variant`) give the scraped series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub namespace: String,
    pub instance: String,
    pub revision: i64,
    /// An A/B test's variant: a candidate's name, or empty for the
    /// baseline (whose pods carry no variant label); `None` reads every
    /// pod of the revision.
    pub variant: Option<String>,
}

impl Selector {
    /// The PromQL label matchers.
    pub fn matchers(&self) -> String {
        let mut matchers = format!(
            r#"namespace="{}",app_kubernetes_io_instance="{}",chatbot_dev_revision="{}""#,
            self.namespace, self.instance, self.revision
        );
        if let Some(variant) = &self.variant {
            matchers.push_str(&format!(r#",chatbot_dev_variant="{variant}""#));
        }
        matchers
    }

    /// A spec's own PromQL with `{{revision}}`, `{{variant}}`,
    /// `{{namespace}}` and `{{instance}}` filled in.
    pub fn fill(&self, query: &str) -> String {
        query
            .replace("{{revision}}", &self.revision.to_string())
            .replace("{{variant}}", self.variant.as_deref().unwrap_or_default())
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
