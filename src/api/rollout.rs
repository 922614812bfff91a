//! How a new revision replaces the stable one, and how it is judged.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Variant;

/// The delivery strategy of new revisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Strategy {
    /// Zero-downtime rolling update of one Deployment.
    #[default]
    Rolling,
    /// The new revision runs beside the stable one behind a preview Service until promoted.
    BlueGreen,
    /// Traffic moves to the new revision in weighted steps.
    Canary,
    /// Traffic is split between variants for a fixed time, then the winner is kept.
    #[serde(rename = "ABTest")]
    AbTest,
}

/// A pause in a canary rollout.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pause {
    /// How long to wait, e.g. `10m`, `24h`; without it the rollout waits for a Promote action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(s|m|h|d))+$')").message("spec.rollout.canary.steps[].pause.duration must be a duration such as 30s, 10m, 24h or 14d"))]
    pub duration: Option<String>,
}

/// One step of a canary rollout: exactly one of `setWeight`, `pause`, `analysis`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + (has(self.analysis) ? 1 : 0) == 1").message("each spec.rollout.canary.steps[] entry must set exactly one of setWeight, pause, analysis"))]
pub struct CanaryStep {
    /// Percent of traffic sent to the new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 100").message("spec.rollout.canary.steps[].setWeight must be between 0 and 100"))]
    pub set_weight: Option<i32>,
    /// Wait for a duration or for a Promote action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<Pause>,
    /// Run the rollout's analysis now; the next step waits for it to pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<bool>,
}

/// Canary settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Canary {
    /// Steps in order; weights may only grow.
    #[schemars(length(min = 1, max = 32))]
    // Every pair of weighted steps in order, over the list itself: a
    // 1.26 API server charges any walk of a `map()`/`filter()` result as
    // unbounded. `indexOf(a) < lastIndexOf(b)` holds exactly when some
    // copy of `a` stands before some copy of `b` (steps may repeat).
    #[x_kube(validation = Rule::new("self.all(a, !has(a.setWeight) || self.all(b, !has(b.setWeight) || self.indexOf(a) >= self.lastIndexOf(b) || a.setWeight <= b.setWeight))").message("spec.rollout.canary.steps setWeight values must not decrease"))]
    pub steps: Vec<CanaryStep>,
}

/// Blue-green settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreen {
    /// Promote as soon as smoke checks and analysis pass; `false` waits for a Promote action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_promotion: Option<bool>,
    /// Seconds the old revision keeps running after promotion, for an instant rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 86400").message("spec.rollout.blueGreen.scaleDownDelaySeconds must be between 0 and 86400"))]
    pub scale_down_delay_seconds: Option<i32>,
}

/// How a user stays on one variant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.header) != has(self.cookie)").message("spec.rollout.abTest.sticky must name exactly one of header, cookie"))]
pub struct Sticky {
    /// Request header that carries the variant, e.g. `X-Chatbot-Variant`
    /// (an HTTP token: it goes into the route's match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9!#$%&*+.^_|~-]+$')").message("spec.rollout.abTest.sticky.header must be an HTTP header name: letters, digits and !#$%&*+.^_|~-"))]
    pub header: Option<String>,
    /// Cookie that carries the variant (an HTTP token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9!#$%&*+.^_|~-]+$')").message("spec.rollout.abTest.sticky.cookie must be a cookie name: letters, digits and !#$%&*+.^_|~-"))]
    pub cookie: Option<String>,
}

/// What ends an A/B test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AbDecision {
    /// Wait for an on-call Promote or Rollback action.
    #[default]
    Manual,
    /// Keep the variant with the better success rate when its lead is significant.
    BestSuccessRate,
    /// Keep the variant with the better value of the first comparison metric.
    BestMetric,
    /// Judge every round with an always-valid sequential test on the
    /// `primary` metric and the `guardrails`: promote the candidate as soon
    /// as its lead is conclusive and no guardrail is breached, roll it back
    /// as soon as it is conclusively worse or breaches a guardrail, keep
    /// the baseline when the duration ends without a conclusion.
    Sequential,
}

/// Which way a metric is better.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Better {
    /// A higher rate is better (a thumbs-up rate, a conversion).
    #[default]
    Higher,
    /// A lower rate is better (an escalation to a human, a retry).
    Lower,
}

/// Where a test's primary metric comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PrimarySource {
    /// Conversations rated up over conversations
    /// (`chatbot_feedback_total{rating="up"}` over
    /// `chatbot_conversations_total`; the app counts one rating per
    /// conversation).
    #[default]
    ThumbsUpRate,
    /// The spec's own `successes` and `trials` queries.
    Custom,
}

/// The metric a test is decided on: a proportion per conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.metric != 'Custom' || (has(self.successes) && has(self.trials))").message("spec.rollout.abTest.primary needs successes and trials queries when metric is Custom"))]
#[x_kube(validation = Rule::new("self.metric == 'Custom' || (!has(self.successes) && !has(self.trials))").message("spec.rollout.abTest.primary.successes and trials are for metric Custom only"))]
#[x_kube(validation = Rule::new("has(self.better) && self.better == 'Lower' ? double(self.minimumDetectableEffectPercent) < 100.0 : double(self.baselineRatePercent) * (1.0 + double(self.minimumDetectableEffectPercent) / 100.0) < 100.0").message("spec.rollout.abTest.primary.minimumDetectableEffectPercent must leave the changed rate between 0 and 100%"))]
pub struct PrimaryMetric {
    /// `ThumbsUpRate` or `Custom`.
    pub metric: PrimarySource,
    /// Name shown in the report (default: the metric's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9_.-]*$')").message("spec.rollout.abTest.primary.name must be a name of letters, digits, _, . and -, starting with a letter"))]
    pub name: Option<String>,
    /// PromQL counting a variant's successes over the test (`Custom`);
    /// `{{revision}}` and `{{window}}` are filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub successes: Option<String>,
    /// PromQL counting a variant's trials (conversations) over the test (`Custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub trials: Option<String>,
    /// `Higher` (default) or `Lower` is better.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub better: Option<Better>,
    /// The smallest relative change worth finding, in percent of the
    /// baseline's rate: `5` finds a thumbs-up rate of 42 % becoming 44.1 %.
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 1000.0").message("spec.rollout.abTest.primary.minimumDetectableEffectPercent must be above 0 and at most 1000"))]
    pub minimum_detectable_effect_percent: f64,
    /// The baseline's expected rate in percent, from its history: `plan`
    /// sizes the test from it (offline, without Prometheus).
    #[x_kube(validation = Rule::new("self > 0.0 && self < 100.0").message("spec.rollout.abTest.primary.baselineRatePercent must be between 0 and 100, both excluded"))]
    pub baseline_rate_percent: f64,
}

/// Where a guardrail's bad events come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GuardrailSource {
    /// 5xx responses over responses (`http_requests_total`).
    #[default]
    ErrorRate,
    /// LLM provider calls answered 429 or 5xx over provider calls
    /// (`chatbot_llm_requests_total`).
    ProviderErrorRate,
    /// Requests whose first token took longer than `thresholdMs`
    /// (`chatbot_time_to_first_token_seconds`; the threshold must be one
    /// of the histogram's bucket bounds).
    SlowFirstToken,
    /// The spec's own `bad` and `total` queries.
    Custom,
}

/// A proportion the candidate must not make worse by more than a margin
/// (a non-inferiority test): a share of bad events, lower is better.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.metric != 'SlowFirstToken' || has(self.thresholdMs)").message("spec.rollout.abTest.guardrails[].thresholdMs is required for SlowFirstToken"))]
#[x_kube(validation = Rule::new("self.metric != 'Custom' || (has(self.bad) && has(self.total))").message("spec.rollout.abTest.guardrails[] needs bad and total queries when metric is Custom"))]
pub struct Guardrail {
    /// `ErrorRate`, `ProviderErrorRate`, `SlowFirstToken` or `Custom`.
    pub metric: GuardrailSource,
    /// Name shown in the report (default: the metric's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9_.-]*$')").message("spec.rollout.abTest.guardrails[].name must be a name of letters, digits, _, . and -, starting with a letter"))]
    pub name: Option<String>,
    /// `SlowFirstToken`: a first token later than this is a bad event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0 && self <= 600000").message("spec.rollout.abTest.guardrails[].thresholdMs must be between 1 and 600000"))]
    pub threshold_ms: Option<i64>,
    /// PromQL counting a variant's bad events over the test (`Custom`);
    /// `{{revision}}` and `{{window}}` are filled in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub bad: Option<String>,
    /// PromQL counting a variant's events over the test (`Custom`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub total: Option<String>,
    /// How many percentage points the candidate's share of bad events may
    /// exceed the baseline's: `0.5` lets an error rate of 1 % become 1.5 %.
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 50.0").message("spec.rollout.abTest.guardrails[].marginPercent must be above 0 and at most 50"))]
    pub margin_percent: f64,
}

/// A/B test settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.decision) || self.decision != 'Sequential' || has(self.primary)").message("spec.rollout.abTest.primary is required when decision is Sequential"))]
#[x_kube(validation = Rule::new("self.variants.size() <= 2 || has(self.primary)").message("spec.rollout.abTest.primary is required with more than one candidate: the sequential test judges several at once, with its level split over them; the comparison at the end of a test without a primary metric takes one candidate"))]
#[x_kube(validation = Rule::new("!has(self.primary) || !has(self.decision) || self.decision == 'Sequential' || self.decision == 'Manual'").message("spec.rollout.abTest.decision must be Sequential or Manual when the test names a primary metric"))]
pub struct AbTest {
    /// The variants; weights add up to 100.
    #[schemars(length(min = 2, max = 8))]
    // The sum spelled out over the 2..=8 items `maxItems` allows: a 1.26
    // API server charges `sum()` of a `map()` result as unbounded.
    #[x_kube(validation = Rule::new("self[0].weight + self[1].weight + (self.size() > 2 ? self[2].weight : 0) + (self.size() > 3 ? self[3].weight : 0) + (self.size() > 4 ? self[4].weight : 0) + (self.size() > 5 ? self[5].weight : 0) + (self.size() > 6 ? self[6].weight : 0) + (self.size() > 7 ? self[7].weight : 0) == 100").message("spec.rollout.abTest.variants weights must add up to 100"))]
    #[x_kube(validation = Rule::new("self.all(v, self.exists_one(w, w.name == v.name))").message("spec.rollout.abTest.variants names must be unique"))]
    #[x_kube(validation = Rule::new("self.size() <= 2 || self.all(v, v.name != 'always' && v.name != 'never')").message("spec.rollout.abTest.variants names always and never are the route's sticky values of a lone candidate and of the stable revision; beside other candidates each variant is reached by its name"))]
    #[x_kube(validation = Rule::new("self.filter(v, has(v.baseline) && v.baseline).size() <= 1").message("spec.rollout.abTest.variants may mark at most one variant as baseline"))]
    pub variants: Vec<Variant>,
    /// Sticky assignment, so a user stays on one variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky: Option<Sticky>,
    /// How long the test runs, e.g. `14d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(s|m|h|d))+$')").message("spec.rollout.abTest.duration must be a duration such as 24h or 14d"))]
    pub duration: Option<String>,
    /// How the winner is chosen when the duration ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<AbDecision>,
    /// Extra per-variant metrics for the report, e.g. a conversion rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub compare: Option<Vec<MetricQuery>>,
    /// The metric the test is decided on (required by `Sequential`; with
    /// `Manual`, the live report shows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<PrimaryMetric>,
    /// Proportions the candidate must not make worse by more than their
    /// margin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4))]
    pub guardrails: Option<Vec<Guardrail>>,
    /// The chance of a wrong decision over the whole test however often it
    /// is looked at (default 0.05), split evenly between the primary and
    /// the guardrails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 0.2").message("spec.rollout.abTest.alpha must be above 0 and at most 0.2"))]
    pub alpha: Option<f64>,
}

/// A named PromQL query; `{{revision}}` is replaced by the revision's label value.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricQuery {
    /// Name shown in status and reports.
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9_.-]*$')").message("spec.rollout.abTest.compare[].name must be a name of letters, digits, _, . and -, starting with a letter"))]
    pub name: String,
    /// PromQL returning one number.
    #[schemars(length(max = 4096))]
    pub query: String,
}

/// A custom metric check with its own threshold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.min) || has(self.max)").message("spec.rollout.analysis.metrics[] needs min or max"))]
pub struct MetricCheck {
    /// Name shown in status.
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z][A-Za-z0-9_.-]*$')").message("spec.rollout.analysis.metrics[].name must be a name of letters, digits, _, . and -, starting with a letter"))]
    pub name: String,
    /// PromQL returning one number; `{{revision}}` is replaced by the candidate revision.
    #[schemars(length(max = 4096))]
    pub query: String,
    /// The check fails below this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The check fails above this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// Judgement of a new revision from Prometheus metrics and HTTP smoke checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    /// Run analysis at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Prometheus base URL, e.g. `http://prometheus.monitoring:9090`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+$')").message("spec.rollout.analysis.prometheusURL must be an http(s) URL in URL characters"))]
    #[serde(rename = "prometheusURL")]
    pub prometheus_url: Option<String>,
    /// Time between two measurements, e.g. `1m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(s|m|h))+$')").message("spec.rollout.analysis.interval must be a duration such as 30s or 1m"))]
    pub interval: Option<String>,
    /// Measurements per analysis run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 100").message("spec.rollout.analysis.count must be between 1 and 100"))]
    pub count: Option<i32>,
    /// Failed measurements tolerated before the run fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("spec.rollout.analysis.failureLimit must not be negative"))]
    pub failure_limit: Option<i32>,
    /// Rounds in a row that Prometheus could not answer, tolerated before the run pauses as inconclusive (default 4). Such a round is measured again: it never counts toward `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 100").message("spec.rollout.analysis.consecutiveErrorLimit must be between 0 and 100"))]
    pub consecutive_error_limit: Option<i32>,
    /// Lowest acceptable share of non-5xx responses, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0.0 && self <= 100.0").message("spec.rollout.analysis.minSuccessRatePercent must be between 0 and 100"))]
    pub min_success_rate_percent: Option<f64>,
    /// Highest acceptable share of 5xx responses, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0.0 && self <= 100.0").message("spec.rollout.analysis.maxErrorRatePercent must be between 0 and 100"))]
    pub max_error_rate_percent: Option<f64>,
    /// Highest acceptable p95 server latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0").message("spec.rollout.analysis.maxP95LatencyMs must be positive"))]
    pub max_p95_latency_ms: Option<i64>,
    /// Highest acceptable p95 time to the first streamed token in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0").message("spec.rollout.analysis.maxP95TimeToFirstTokenMs must be positive"))]
    pub max_p95_time_to_first_token_ms: Option<i64>,
    /// Extra metric checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub metrics: Option<Vec<MetricCheck>>,
    /// Paths requested on the new revision before it takes traffic (the
    /// health path is always checked): each a path on the candidate's own
    /// address, starting with one `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16), inner(length(max = 256)))]
    #[x_kube(validation = Rule::new("self.all(p, p.matches('^/([A-Za-z0-9._~!$&()*+,;=:@%?-][A-Za-z0-9._~!$&()*+,;=:@%/?-]*)?$'))").message("spec.rollout.analysis.smokePaths[] must each be a path on the candidate starting with a single /, in URL characters"))]
    pub smoke_paths: Option<Vec<String>>,
}

/// Rollout settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.strategy) || self.strategy != 'Canary' || has(self.canary)").message("spec.rollout.canary is required when spec.rollout.strategy is Canary"))]
#[x_kube(validation = Rule::new("!has(self.strategy) || self.strategy != 'ABTest' || has(self.abTest)").message("spec.rollout.abTest is required when spec.rollout.strategy is ABTest"))]
pub struct Rollout {
    /// `Rolling`, `BlueGreen`, `Canary` or `ABTest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Canary steps (strategy `Canary`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<Canary>,
    /// Blue-green settings (strategy `BlueGreen`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreen>,
    /// A/B test settings (strategy `ABTest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab_test: Option<AbTest>,
    /// Metric and smoke checks of new revisions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// Send all traffic back to the stable revision when a check fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback: Option<bool>,
    /// Seconds a new revision may take to become ready before it counts as failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 30 && self <= 86400").message("spec.rollout.progressDeadlineSeconds must be between 30 and 86400"))]
    pub progress_deadline_seconds: Option<i32>,
    /// Old revisions kept in status and available to roll back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 50").message("spec.rollout.revisionHistoryLimit must be between 1 and 50"))]
    pub revision_history_limit: Option<i32>,
}
