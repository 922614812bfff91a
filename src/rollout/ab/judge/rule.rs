//! What the spec's rule makes of one round's signals: a broken split or
//! missing data never decides; `Sequential` promotes a conclusive lead
//! whose guardrails hold and rolls back a conclusive loss or a breach;
//! the end of the duration keeps the baseline or asks a person.

use super::Clock;
use crate::{
    analysis::shown,
    api::{AbDecision, SampleRatioReport, SignalReport},
    rollout::machine::Comparison,
};

/// What `rule` makes of the round's signals.
pub(super) fn decide(
    rule: AbDecision,
    primary: &SignalReport,
    guardrails: &[SignalReport],
    sample_ratio: Option<&SampleRatioReport>,
    clock: Clock,
) -> Comparison {
    let ended = clock.ended();
    let summary = format!("{} {}", primary.name, interval(primary));
    // Neither an untrustworthy split nor missing data ever decides.
    if let Some(srm) = sample_ratio.filter(|s| s.mismatch) {
        let why = format!(
            "untrustworthy: conversations split {} against the configured {} (sample-ratio p = {:.2e}); no automatic decision until the split recovers or a person decides",
            srm.observed, srm.expected, srm.p_value
        );
        return wait_or_ask(ended, why);
    }
    let missing: Vec<&str> = std::iter::once(primary)
        .chain(guardrails)
        .filter(|s| s.verdict == "NoData")
        .map(|s| s.name.as_str())
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "round inconclusive: no data for {} (Prometheus did not answer, or the app does not report it yet)",
            missing.join(", ")
        );
        return wait_or_ask(ended, why);
    }
    if rule != AbDecision::Sequential {
        return wait_or_ask(ended, format!("A/B test: {summary}"));
    }
    if let Some(breached) = guardrails.iter().find(|g| g.verdict == "Breached") {
        return Comparison::RollBack(format!(
            "A/B test: guardrail {} breached, the candidate's share is worse by {}",
            breached.name,
            interval(breached)
        ));
    }
    match primary.verdict.as_str() {
        "Worse" => Comparison::RollBack(format!(
            "A/B test: the candidate is conclusively worse on {summary}"
        )),
        "Better" => {
            let pending: Vec<&str> = guardrails
                .iter()
                .filter(|g| g.verdict != "Holds")
                .map(|g| g.name.as_str())
                .collect();
            if pending.is_empty() {
                Comparison::Promote(format!(
                    "A/B test: the candidate wins on {summary}, every guardrail holds"
                ))
            } else {
                wait_or_ask(
                    ended,
                    format!(
                        "A/B test: the candidate leads on {summary}; waiting for {} to show it holds",
                        pending.join(", ")
                    ),
                )
            }
        }
        _ if ended => Comparison::RollBack(format!(
            "A/B test: no significant difference over {}s, the baseline is kept ({summary})",
            clock.duration.as_secs()
        )),
        _ => Comparison::Continue(format!("A/B test: no conclusion yet, {summary}")),
    }
}

/// Measure again, or, once the duration is over, ask a person.
fn wait_or_ask(ended: bool, why: String) -> Comparison {
    if ended {
        Comparison::Undecided(format!("test over: {why}"))
    } else {
        Comparison::Continue(why)
    }
}

fn interval(signal: &SignalReport) -> String {
    signal.interval().map_or_else(
        || "no data".into(),
        |(d, low, high)| format!("{} points [{}, {}]", shown(d), shown(low), shown(high)),
    )
}
