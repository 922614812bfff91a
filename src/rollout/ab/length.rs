//! How long an A/B test with a primary metric will take, offline: the
//! conversations each variant needs under the sequential test actually
//! used (more than one look at a fixed horizon needs: the price of being
//! allowed to stop early), and the days the spec's expected usage takes
//! to bring them to the slower variant.

use serde::Serialize;

use super::{judge, plan, sequential};
use crate::{
    analysis::shown,
    api::{ChatbotDeploymentSpec, Strategy},
};

/// The expected length of a spec's A/B test.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestLength {
    /// Conversations each variant needs at 80 % power.
    pub conversations_per_variant: u64,
    /// What a test looked at only once, at its end, would need.
    pub fixed_horizon_conversations: u64,
    /// Conversations a day the spec's usage implies, all variants together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversations_per_day: Option<f64>,
    /// Days until the slower variant has its conversations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<f64>,
    /// The test's duration, in days.
    pub duration_days: f64,
    /// The arithmetic, one line each.
    pub lines: Vec<String>,
    /// Set when the test will likely end before it can find the effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The length of `spec`'s A/B test, when it is one with a primary metric
/// that plans.
pub fn of(spec: &ChatbotDeploymentSpec) -> Option<TestLength> {
    let rollout = spec.rollout.as_ref()?;
    if rollout.strategy != Some(Strategy::AbTest) {
        return None;
    }
    let test = rollout.ab_test.as_ref()?;
    let primary = test.primary.as_ref()?;
    let (_, variants, duration) = plan(test).ok()?;
    let p0 = primary.baseline_rate_percent / 100.0;
    let effect = judge::signed_effect(primary);
    let candidates = variants.candidates.len();
    let alpha = judge::alpha_each(test, candidates);
    let needed = sequential::conversations_needed(p0, effect, alpha, judge::POWER)?;
    let fixed = sequential::fixed_horizon_conversations(p0, effect, alpha, judge::POWER)?;
    let duration_days = duration.as_secs_f64() / 86_400.0;
    let signals = 1 + test.guardrails.as_ref().map_or(0, Vec::len);
    let over = if candidates == 1 {
        format!("{signals} signals")
    } else {
        format!("{candidates} candidates × {signals} signals")
    };
    let mut lines = vec![format!(
        "{}: {}% expected on the baseline, a change of {}% ({} to {}%) to find at 80% power and α {} (the test's {} over {over})",
        judge::primary_name(primary),
        shown(primary.baseline_rate_percent),
        shown(100.0 * effect),
        shown(primary.baseline_rate_percent),
        shown(primary.baseline_rate_percent * (1.0 + effect)),
        format_alpha(alpha),
        format_alpha(test.alpha.unwrap_or(judge::DEFAULT_ALPHA)),
    )];
    lines.push(format!(
        "needs {needed} conversations per variant under the sequential test (looked at every round), {fixed} if looked at once at the end ({:.2}×)",
        needed as f64 / fixed as f64
    ));
    let usage = spec.cost.as_ref().and_then(|c| c.usage.as_ref());
    let per_day = usage.map(|u| {
        let messages = u.active_users_per_day as f64 * u.messages_per_user_per_day;
        let per_conversation = u
            .messages_per_conversation
            .unwrap_or(u.messages_per_user_per_day)
            .max(1e-9);
        lines.push(format!(
            "{} users × {} messages a day ÷ {} messages a conversation = {} conversations a day",
            u.active_users_per_day,
            shown(u.messages_per_user_per_day),
            shown(per_conversation),
            shown(messages / per_conversation)
        ));
        messages / per_conversation
    });
    let share = f64::from(variants.slowest_weight()) / 100.0;
    let days = per_day
        .map(|per_day| per_day * share)
        .filter(|per_variant| *per_variant > 0.0)
        .map(|per_variant| (10.0 * needed as f64 / per_variant).ceil() / 10.0);
    match days {
        Some(days) => lines.push(format!(
            "about {} days at {}% of them on the slower variant; the duration is {} days",
            shown(days),
            shown(100.0 * share),
            shown(duration_days)
        )),
        None => lines.push(
            "days unknown: spec.cost.usage gives no conversations, or a variant gets none".into(),
        ),
    }
    let warning = days.filter(|d| *d > duration_days).map(|days| {
        format!(
            "the A/B test needs about {} days to find a {}% change of {} but spec.rollout.abTest.duration is {} days: it will likely end with no significant difference; lengthen it, send the candidate more traffic, or look for a larger effect",
            shown(days),
            shown(100.0 * effect),
            judge::primary_name(primary),
            shown(duration_days)
        )
    });
    Some(TestLength {
        conversations_per_variant: needed,
        fixed_horizon_conversations: fixed,
        conversations_per_day: per_day,
        days,
        duration_days,
        lines,
        warning,
    })
}

fn format_alpha(alpha: f64) -> String {
    let rounded = (alpha * 10_000.0).round() / 10_000.0;
    format!("{rounded}")
}
