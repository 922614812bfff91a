//! What the spec's rollout asks for, read once: the strategy's steps (the
//! candidate's smoke checks first when analysis is on), whether analysis
//! runs, how often and judged by which policy, and the A/B test.

use std::time::Duration;

use crate::{
    analysis::RunPolicy,
    api::{AbTest, ChatbotDeploymentSpec, Strategy},
    reconcile::outcome::Blocker,
    rollout::{
        ab,
        machine::{self, Step},
    },
};

/// Analysis interval when the spec names none.
pub const ANALYSIS_INTERVAL: Duration = Duration::from_secs(60);
/// Rounds in a row Prometheus may fail to answer before the run pauses as
/// inconclusive, when the spec does not say (Argo Rollouts' default).
pub const CONSECUTIVE_ERROR_LIMIT: u32 = 4;

/// The spec's rollout, read once.
pub(super) struct Settings {
    pub steps: Vec<Step>,
    /// Analysis runs: the smoke step first, then each analysis step.
    pub analysis: bool,
    /// How often an analysis round is measured.
    pub interval: Duration,
    pub policy: RunPolicy,
    /// The A/B test, when the strategy is ABTest and the test is valid.
    pub test: Option<(AbTest, ab::Variants, Duration)>,
}

impl Settings {
    /// The rollout `spec` asks for; `None` for Rolling. Errs when the
    /// strategy's steps cannot be built.
    pub fn of(spec: &ChatbotDeploymentSpec) -> Result<Option<Settings>, Blocker> {
        let Some(steps) = steps(spec)? else {
            return Ok(None);
        };
        Ok(Some(Settings {
            steps,
            analysis: analysis_enabled(spec),
            interval: interval(spec),
            policy: policy(spec),
            test: ab_test(spec),
        }))
    }
}

/// The steps of `spec`'s strategy; `None` for Rolling. With analysis on,
/// the candidate's smoke checks come first, before it takes any traffic.
pub fn steps(spec: &ChatbotDeploymentSpec) -> Result<Option<Vec<Step>>, Blocker> {
    let steps = strategy_steps(spec)?;
    Ok(steps.map(|mut steps| {
        if analysis_enabled(spec) {
            steps.insert(0, Step::Smoke);
        }
        steps
    }))
}

fn strategy_steps(spec: &ChatbotDeploymentSpec) -> Result<Option<Vec<Step>>, Blocker> {
    let settings = spec.rollout.clone().unwrap_or_default();
    crate::rollout::steps(&settings, analysis_enabled(spec)).map_err(|error| Blocker {
        reason: "InvalidSpec",
        path: error.path.clone(),
        message: error.to_string(),
    })
}

/// Whether the spec's rollout runs analysis.
fn analysis_enabled(spec: &ChatbotDeploymentSpec) -> bool {
    spec.rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .is_some_and(|a| a.enabled.unwrap_or(true))
}

fn interval(spec: &ChatbotDeploymentSpec) -> Duration {
    spec.rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.interval.as_deref())
        .and_then(machine::parse_duration)
        .unwrap_or(ANALYSIS_INTERVAL)
}

fn policy(spec: &ChatbotDeploymentSpec) -> RunPolicy {
    let analysis = spec.rollout.as_ref().and_then(|r| r.analysis.as_ref());
    RunPolicy {
        count: analysis
            .and_then(|a| a.count)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(5)
            .max(1),
        failure_limit: analysis
            .and_then(|a| a.failure_limit)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(1),
        consecutive_error_limit: analysis
            .and_then(|a| a.consecutive_error_limit)
            .and_then(|c| u32::try_from(c).ok())
            .unwrap_or(CONSECUTIVE_ERROR_LIMIT),
    }
}

/// The spec's A/B test, when the strategy is ABTest and the test is valid.
fn ab_test(spec: &ChatbotDeploymentSpec) -> Option<(AbTest, ab::Variants, Duration)> {
    let rollout = spec.rollout.as_ref()?;
    if rollout.strategy != Some(Strategy::AbTest) {
        return None;
    }
    let test = rollout.ab_test.clone().unwrap_or_default();
    let (_, variants, duration) = ab::plan(&test).ok()?;
    Some((test, variants, duration))
}
