//! The report of an A/B test in `status.rollout.report`: each variant as
//! measured, each signal with its always-valid interval, the sample-ratio
//! check and how much longer the test needs.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One variant of an A/B test as measured over the test's duration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantReport {
    /// Variant name from the spec.
    pub name: String,
    /// Revision the variant's pods run.
    pub revision: i64,
    /// Requests served over the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<f64>,
    /// Conversations started over the test (the randomised unit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversations: Option<f64>,
    /// Share of non-5xx responses, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_rate_percent: Option<f64>,
    /// p95 server latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_latency_ms: Option<f64>,
    /// The spec's extra comparison metrics (`abTest.compare`), by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricValue>,
}

/// A named value of a comparison metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricValue {
    /// Name from `abTest.compare`.
    pub name: String,
    /// The value; absent when the query returned none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// The report of an A/B test: measured once its duration ended, or every
/// round when the test names a primary metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AbReport {
    /// When the variants were measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// The baseline first, then each candidate.
    #[serde(default)]
    pub variants: Vec<VariantReport>,
    /// What the spec's decision rule made of it.
    pub decision: String,
    /// For each candidate, the primary metric, then each guardrail,
    /// compared with the baseline's by an always-valid test.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signals: Vec<SignalReport>,
    /// Whether conversations split as the weights say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_ratio: Option<SampleRatioReport>,
    /// About how many more conversations each variant needs before the
    /// test can find the primary's minimum detectable effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_conversations: Option<i64>,
    /// About how many more days that takes at the traffic so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_days: Option<f64>,
    /// The candidate the rule found conclusively better with every
    /// guardrail holding (the surest of several), when it promotes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub winner: Option<String>,
    /// Once a candidate that is an overlay (`variants[].config`, `image`,
    /// ...) is promoted: the JSON merge patch that makes the spec say what
    /// now runs. Commit it (`kubectl chatbot ab NAME --patch` prints it);
    /// until the spec changes the winner keeps running, and the patched
    /// spec renders the same revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion_patch: Option<String>,
}

/// One proportion of an A/B test compared between the candidate and the
/// baseline, with an always-valid interval (rates in percent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignalReport {
    /// The metric's name.
    pub name: String,
    /// `Primary` or `Guardrail`.
    pub role: String,
    /// The candidate variant compared with the baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// The baseline's rate, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_percent: Option<f64>,
    /// The candidate's rate, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_percent: Option<f64>,
    /// Candidate minus baseline, in percentage points, with the bounds of
    /// its confidence sequence at this signal's level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difference_points: Option<f64>,
    /// The lower bound of the difference's confidence sequence, in points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_points: Option<f64>,
    /// The upper bound of the difference's confidence sequence, in points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_points: Option<f64>,
    /// The smallest always-valid p-value of "no difference" seen so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The level this signal is judged at (the test's alpha, split).
    pub alpha: f64,
    /// `Better`, `Worse`, `NotYet` or `NoData` for the primary; `Holds`,
    /// `Breached`, `NotYet` or `NoData` for a guardrail.
    pub verdict: String,
}

impl SignalReport {
    /// The difference and its interval's bounds, in points, when measured.
    pub fn interval(&self) -> Option<(f64, f64, f64)> {
        Some((self.difference_points?, self.low_points?, self.high_points?))
    }

    /// The signal's name, after its candidate's beside other candidates
    /// (`listen-first: thumbs-up-rate`).
    pub fn label(&self, several: bool) -> String {
        match self.variant.as_deref().filter(|_| several) {
            Some(variant) => format!("{variant}: {}", self.name),
            None => self.name.clone(),
        }
    }
}

impl AbReport {
    /// The report's signals compare more than one candidate with the
    /// baseline.
    pub fn several_candidates(&self) -> bool {
        let mut candidates = self.signals.iter().filter_map(|s| s.variant.as_deref());
        candidates
            .next()
            .is_some_and(|first| candidates.any(|other| other != first))
    }
}

/// The sample-ratio check: conversations per variant against the weights.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SampleRatioReport {
    /// The configured split, the baseline first, e.g. `50/50`.
    pub expected: String,
    /// The split of conversations so far, e.g. `52.1/47.9`.
    pub observed: String,
    /// This round's always-valid p-value of "split as configured".
    pub p_value: f64,
    /// The split is off (p below 0.001): no automatic decision is taken.
    pub mismatch: bool,
}
