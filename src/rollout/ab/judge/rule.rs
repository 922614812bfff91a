//! What the spec's rule makes of one round's signals: a broken split or
//! missing data never decides; `Sequential` rolls back a breach of any
//! candidate's guardrail, or a test whose every candidate is conclusively
//! worse, and promotes the candidate with the surest lead among those
//! conclusively better whose guardrails hold; the end of the duration
//! keeps the baseline or asks a person.

use super::Clock;
use crate::{
    analysis::shown,
    api::{AbDecision, SampleRatioReport, SignalReport},
    rollout::machine::Comparison,
};

/// One candidate's signals in a round.
pub(super) struct Candidate<'a> {
    pub name: &'a str,
    pub primary: SignalReport,
    pub guardrails: Vec<SignalReport>,
}

impl Candidate<'_> {
    /// How the candidate is named in a decision: "the candidate" when it
    /// is the only one.
    fn called(&self, alone: bool) -> String {
        if alone {
            "the candidate".into()
        } else {
            self.name.into()
        }
    }

    fn summary(&self) -> String {
        format!("{} {}", self.primary.name, interval(&self.primary))
    }

    /// The lead the interval is sure of: the lower bound when higher is
    /// better, minus the upper one when lower is.
    fn sure_lead(&self) -> f64 {
        let (_, low, high) = self.primary.interval().unwrap_or_default();
        if self.primary.difference_points.unwrap_or_default() >= 0.0 {
            low
        } else {
            -high
        }
    }
}

/// What `rule` makes of the round's candidates, and the candidate a
/// `Promote` promotes.
pub(super) fn decide(
    rule: AbDecision,
    candidates: &[Candidate],
    sample_ratio: Option<&SampleRatioReport>,
    clock: Clock,
) -> (Comparison, Option<String>) {
    let ended = clock.ended();
    let alone = candidates.len() == 1;
    // Neither an untrustworthy split nor missing data ever decides.
    if let Some(srm) = sample_ratio.filter(|s| s.mismatch) {
        let why = format!(
            "untrustworthy: conversations split {} against the configured {} (sample-ratio p = {:.2e}); no automatic decision until the split recovers or a person decides",
            srm.observed, srm.expected, srm.p_value
        );
        return (wait_or_ask(ended, why), None);
    }
    let missing: Vec<String> = candidates
        .iter()
        .flat_map(|c| {
            std::iter::once(&c.primary)
                .chain(&c.guardrails)
                .filter(|s| s.verdict == "NoData")
                .map(move |s| named(c, &s.name, alone))
        })
        .collect();
    if !missing.is_empty() {
        let why = format!(
            "round inconclusive: no data for {} (Prometheus did not answer, or the app does not report it yet)",
            missing.join(", ")
        );
        return (wait_or_ask(ended, why), None);
    }
    let summary = candidates
        .iter()
        .map(|c| {
            if alone {
                c.summary()
            } else {
                format!("{}: {}", c.name, c.summary())
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    if rule != AbDecision::Sequential {
        return (wait_or_ask(ended, format!("A/B test: {summary}")), None);
    }
    if let Some(breach) = breach(candidates, alone) {
        return (breach, None);
    }
    if let Some(best) = best(candidates) {
        let why = format!(
            "A/B test: {} wins on {}, every guardrail holds",
            best.called(alone),
            best.summary()
        );
        return (Comparison::Promote(why), Some(best.name.to_string()));
    }
    (without_winner(candidates, &summary, clock), None)
}

/// A breach of any candidate's guardrail rolls the whole test back.
fn breach(candidates: &[Candidate], alone: bool) -> Option<Comparison> {
    candidates.iter().find_map(|candidate| {
        let breached = candidate
            .guardrails
            .iter()
            .find(|g| g.verdict == "Breached")?;
        Some(Comparison::RollBack(format!(
            "A/B test: guardrail {} breached, {}'s share is worse by {}",
            breached.name,
            candidate.called(alone),
            interval(breached)
        )))
    })
}

/// The Sequential rule once no guardrail is breached and no candidate
/// has won: every candidate worse rolls back, a lead waits for its
/// guardrails, the end keeps the baseline.
fn without_winner(candidates: &[Candidate], summary: &str, clock: Clock) -> Comparison {
    let ended = clock.ended();
    let alone = candidates.len() == 1;
    if candidates.iter().all(|c| c.primary.verdict == "Worse") {
        let who = if alone {
            "the candidate is"
        } else {
            "every candidate is"
        };
        return Comparison::RollBack(format!("A/B test: {who} conclusively worse on {summary}"));
    }
    let leading: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.primary.verdict == "Better")
        .collect();
    if let Some(leader) = leading.first() {
        let pending: Vec<String> = leading
            .iter()
            .flat_map(|c| {
                c.guardrails
                    .iter()
                    .filter(|g| g.verdict != "Holds")
                    .map(move |g| named(c, &g.name, alone))
            })
            .collect();
        return wait_or_ask(
            ended,
            format!(
                "A/B test: {} leads on {}; waiting for {} to show it holds",
                leader.called(alone),
                leader.summary(),
                pending.join(", ")
            ),
        );
    }
    if ended {
        return Comparison::RollBack(format!(
            "A/B test: no significant difference over {}s, the baseline is kept ({summary})",
            clock.duration.as_secs()
        ));
    }
    Comparison::Continue(format!("A/B test: no conclusion yet, {summary}"))
}

/// Among the candidates conclusively better whose every guardrail holds,
/// the one whose lead is surest.
fn best<'a>(candidates: &'a [Candidate<'a>]) -> Option<&'a Candidate<'a>> {
    candidates
        .iter()
        .filter(|c| {
            c.primary.verdict == "Better" && c.guardrails.iter().all(|g| g.verdict == "Holds")
        })
        .max_by(|a, b| a.sure_lead().total_cmp(&b.sure_lead()))
}

/// A signal's name, with its candidate's when there are several.
fn named(candidate: &Candidate, signal: &str, alone: bool) -> String {
    if alone {
        signal.into()
    } else {
        format!("{} of {}", signal, candidate.name)
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
