//! One round of an A/B test that names a primary metric: the sample-ratio
//! check on conversations over every arm, each candidate's primary and
//! guardrails compared with the baseline's by an always-valid test (so a
//! look every round costs nothing in honesty), and what the spec's rule
//! makes of them. With several candidates the test's α is split over
//! candidates × signals (Bonferroni, which always-valid p-values keep
//! valid at every look). Pure: `elapsed` and `duration` come in, a
//! two-week test replays in microseconds.

use std::time::Duration;

use super::sequential::{self, Proportion};
use crate::{
    api::{
        AbReport, AbTest, Better, GuardrailSource, PrimaryMetric, PrimarySource, SampleRatioReport,
        SignalReport,
    },
    rollout::machine::Comparison,
};

/// The chance of a wrong decision over a whole test when the spec names none.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Below this always-valid p-value the conversations did not split as the
/// weights say.
pub const SRM_LEVEL: f64 = 0.001;
/// The power `plan` and the report size a test for.
pub const POWER: f64 = 0.8;

/// Events (successes, or bad events) and trials of one proportion.
pub type Pair = (f64, f64);

/// What a round counted of one variant over the test so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub conversations: Option<f64>,
    /// The primary's successes and trials.
    pub primary: Option<Pair>,
    /// Each guardrail's bad events and events, in spec order.
    pub guardrails: Vec<Option<Pair>>,
}

/// One arm of a round: a variant, its share of traffic and what the round
/// counted of it.
#[derive(Clone, Copy, Debug)]
pub struct Arm<'a> {
    pub name: &'a str,
    /// Percent of traffic.
    pub weight: i32,
    pub counts: &'a Counts,
}

/// What one round of the test found.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub comparison: Comparison,
    /// The candidate a `Promote` promotes.
    pub winner: Option<String>,
    pub signals: Vec<SignalReport>,
    pub sample_ratio: Option<SampleRatioReport>,
    pub more_conversations: Option<i64>,
    pub more_days: Option<f64>,
}

/// Where the round stands in the test's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Since the candidate took its share of traffic.
    pub elapsed: Duration,
    /// The test's length.
    pub duration: Duration,
}

impl Clock {
    fn ended(self) -> bool {
        self.elapsed >= self.duration
    }
}

/// The test's level split evenly over its comparisons: each of
/// `candidates` against the baseline on the primary and every guardrail.
pub fn alpha_each(test: &AbTest, candidates: usize) -> f64 {
    test.alpha.unwrap_or(DEFAULT_ALPHA) / comparisons(test, candidates) as f64
}

/// How many comparisons the test's α is split over.
fn comparisons(test: &AbTest, candidates: usize) -> usize {
    candidates.max(1) * (1 + test.guardrails.as_ref().map_or(0, Vec::len))
}

/// The primary's name in reports.
pub fn primary_name(primary: &PrimaryMetric) -> String {
    primary
        .name
        .clone()
        .unwrap_or_else(|| match primary.metric {
            PrimarySource::ThumbsUpRate => "thumbs-up-rate".into(),
            PrimarySource::Custom => "primary".into(),
        })
}

/// A guardrail's name in reports.
pub fn guardrail_name(guardrail: &crate::api::Guardrail) -> String {
    guardrail
        .name
        .clone()
        .unwrap_or_else(|| match guardrail.metric {
            GuardrailSource::ErrorRate => "error-rate".into(),
            GuardrailSource::ProviderErrorRate => "provider-error-rate".into(),
            GuardrailSource::SlowFirstToken => format!(
                "first-token-over-{}ms",
                guardrail.threshold_ms.unwrap_or_default()
            ),
            GuardrailSource::Custom => "guardrail".into(),
        })
}

/// The relative effect the primary is sized for, signed the way it is
/// better (a lower-is-better rate is meant to fall).
pub fn signed_effect(primary: &PrimaryMetric) -> f64 {
    let mde = primary.minimum_detectable_effect_percent / 100.0;
    match primary.better.unwrap_or_default() {
        Better::Higher => mde,
        Better::Lower => -mde,
    }
}

fn proportion((events, trials): Pair) -> Option<Proportion> {
    if !(events.is_finite() && trials.is_finite()) || trials < 1.0 {
        return None;
    }
    let trials = trials.round() as u64;
    let successes = (events.max(0.0).round() as u64).min(trials);
    Some(Proportion { trials, successes })
}

/// The same signal of the same candidate in the round before, if it was
/// measured (a report written before signals named their candidate had
/// one candidate).
fn before<'a>(previous: Option<&'a AbReport>, of: &SignalReport) -> Option<&'a SignalReport> {
    previous?.signals.iter().find(|s| {
        s.name == of.name && s.role == of.role && (s.variant.is_none() || s.variant == of.variant)
    })
}

/// This round's comparison carried over the rounds before it: the smaller
/// p-value (a p-value read at every look stays valid as the running
/// minimum) and the intersection of the intervals (so is a confidence
/// sequence's running intersection: what one round showed, a later noisier
/// one does not take back). An empty intersection — rounds that
/// contradict each other, which counts that only grow make rare — keeps
/// this round's interval.
fn carried(
    mut compared: sequential::Comparison,
    before: Option<&SignalReport>,
) -> sequential::Comparison {
    let Some(before) = before else {
        return compared;
    };
    if let Some(p) = before.p_value {
        compared.p_value = compared.p_value.min(p);
    }
    if let Some((_, low, high)) = before.interval() {
        let (low, high) = (
            compared.low.max(low / 100.0),
            compared.high.min(high / 100.0),
        );
        if low <= high {
            (compared.low, compared.high) = (low, high);
        }
    }
    compared
}

/// One candidate's signal `name` compared with the baseline's at `alpha`,
/// carried over the rounds before; its verdict is left `NoData`.
fn signal(
    (name, role): (String, &str),
    candidate: &str,
    counts: (Option<Pair>, Option<Pair>),
    tau: f64,
    alpha: f64,
    previous: Option<&AbReport>,
) -> (SignalReport, Option<sequential::Comparison>) {
    let (b, c) = (counts.0.and_then(proportion), counts.1.and_then(proportion));
    let percent = |p: Option<Proportion>| p.map(|p| 100.0 * p.successes as f64 / p.trials as f64);
    let mut report = SignalReport {
        name,
        role: role.into(),
        variant: Some(candidate.into()),
        baseline_percent: percent(b),
        candidate_percent: percent(c),
        alpha,
        verdict: "NoData".into(),
        ..SignalReport::default()
    };
    let compared = match (b, c) {
        (Some(b), Some(c)) => sequential::compare(b, c, tau, alpha),
        _ => None,
    }
    .map(|compared| carried(compared, before(previous, &report)));
    if let Some(c) = compared {
        report.difference_points = Some(100.0 * c.difference);
        report.low_points = Some(100.0 * c.low);
        report.high_points = Some(100.0 * c.high);
        report.p_value = Some(c.p_value);
    }
    (report, compared)
}

/// A candidate's primary compared: `Better`, `Worse` or `NotYet`
/// (`NoData` without counts for both variants).
fn primary_signal(
    primary: &PrimaryMetric,
    alpha: f64,
    (baseline, candidate): (&Counts, &Arm),
    previous: Option<&AbReport>,
) -> SignalReport {
    let p0 = primary.baseline_rate_percent / 100.0;
    let tau = (p0 * signed_effect(primary)).abs();
    let (mut report, compared) = signal(
        (primary_name(primary), "Primary"),
        candidate.name,
        (baseline.primary, candidate.counts.primary),
        tau,
        alpha,
        previous,
    );
    if let Some(c) = compared {
        let higher = primary.better.unwrap_or_default() == Better::Higher;
        report.verdict = match (c.low > 0.0, c.high < 0.0) {
            (true, _) if higher => "Better",
            (true, _) => "Worse",
            (_, true) if higher => "Worse",
            (_, true) => "Better",
            _ => "NotYet",
        }
        .into();
    }
    report
}

/// A candidate's guardrails compared against their margins: `Breached`
/// when the candidate is conclusively worse by more than the margin,
/// `Holds` when it is conclusively not, `NotYet` in between.
fn guardrail_signals(
    test: &AbTest,
    alpha: f64,
    (baseline, candidate): (&Counts, &Arm),
    previous: Option<&AbReport>,
) -> Vec<SignalReport> {
    let guardrails = test.guardrails.as_deref().unwrap_or_default();
    guardrails
        .iter()
        .enumerate()
        .map(|(i, guardrail)| {
            let margin = guardrail.margin_percent / 100.0;
            let at = |counts: &Counts| counts.guardrails.get(i).copied().flatten();
            let (mut report, compared) = signal(
                (guardrail_name(guardrail), "Guardrail"),
                candidate.name,
                (at(baseline), at(candidate.counts)),
                margin,
                alpha,
                previous,
            );
            if let Some(c) = compared {
                report.verdict = if c.low > margin {
                    "Breached"
                } else if c.high < margin {
                    "Holds"
                } else {
                    "NotYet"
                }
                .into();
            }
            report
        })
        .collect()
}

/// The sample-ratio check on conversations over every arm; `None` before
/// each has counts.
fn sample_ratio(arms: &[Arm]) -> Option<SampleRatioReport> {
    let counts: Vec<f64> = arms
        .iter()
        .map(|arm| arm.counts.conversations)
        .collect::<Option<_>>()?;
    let total: f64 = counts.iter().sum();
    if counts.iter().any(|c| !c.is_finite() || *c < 0.0) || total < 1.0 {
        return None;
    }
    let weights: Vec<f64> = arms.iter().map(|arm| f64::from(arm.weight)).collect();
    let rounded: Vec<u64> = counts.iter().map(|c| c.round() as u64).collect();
    let p_value = sequential::sample_ratio_p(&rounded, &weights);
    let joined = |parts: Vec<String>| parts.join("/");
    Some(SampleRatioReport {
        expected: joined(arms.iter().map(|arm| arm.weight.to_string()).collect()),
        observed: joined(
            counts
                .iter()
                .map(|c| ((1000.0 * c / total).round() / 10.0).to_string())
                .collect(),
        ),
        p_value,
        mismatch: p_value < SRM_LEVEL,
    })
}

/// How many more conversations each variant needs at `alpha`, and how
/// many days that takes at the pace so far of the slowest arm.
fn still_needed(
    primary: &PrimaryMetric,
    alpha: f64,
    arms: &[Arm],
    elapsed: Duration,
) -> (Option<i64>, Option<f64>) {
    let observed = arms
        .first()
        .and_then(|baseline| baseline.counts.primary)
        .and_then(proportion)
        .map(|p| p.successes as f64 / p.trials as f64)
        .filter(|p| *p > 0.0 && *p < 1.0);
    let p0 = observed.unwrap_or(primary.baseline_rate_percent / 100.0);
    let Some(needed) = sequential::conversations_needed(p0, signed_effect(primary), alpha, POWER)
    else {
        return (None, None);
    };
    let fewest = arms
        .iter()
        .map(|arm| arm.counts.primary.map_or(0.0, |(_, t)| t.max(0.0)))
        .fold(f64::INFINITY, f64::min);
    let fewest = if fewest.is_finite() { fewest } else { 0.0 };
    let more = (needed as f64 - fewest).max(0.0);
    let days = elapsed.as_secs_f64() / 86_400.0;
    let pace = (days > 0.0 && fewest > 0.0).then(|| fewest / days);
    (
        Some(more.round() as i64),
        pace.map(|per_day| (10.0 * more / per_day).ceil() / 10.0),
    )
}

/// One round of the test over its `arms` (the baseline first, then each
/// candidate): the report's parts and what `rule` makes of them. A
/// sample-ratio mismatch or a round without data never decides; at the
/// end of the duration such a test waits for a person.
pub fn judge(
    test: &AbTest,
    arms: &[Arm],
    previous: Option<&AbReport>,
    clock: Clock,
) -> Option<Judged> {
    let primary = test.primary.as_ref()?;
    let (baseline, candidates) = arms.split_first()?;
    let alpha = alpha_each(test, candidates.len());
    let judged: Vec<rule::Candidate> = candidates
        .iter()
        .map(|candidate| rule::Candidate {
            name: candidate.name,
            primary: primary_signal(primary, alpha, (baseline.counts, candidate), previous),
            guardrails: guardrail_signals(test, alpha, (baseline.counts, candidate), previous),
        })
        .collect();
    let sample_ratio = sample_ratio(arms);
    let (more_conversations, more_days) = still_needed(primary, alpha, arms, clock.elapsed);
    let (comparison, winner) = rule::decide(
        test.decision.unwrap_or_default(),
        &judged,
        sample_ratio.as_ref(),
        clock,
    );
    let signals = judged
        .into_iter()
        .flat_map(|c| std::iter::once(c.primary).chain(c.guardrails))
        .collect();
    Some(Judged {
        comparison,
        winner,
        signals,
        sample_ratio,
        more_conversations,
        more_days,
    })
}

mod rule;
#[cfg(test)]
mod tests;
