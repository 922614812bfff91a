//! The steps of the spec's strategy, the candidate's smoke checks first
//! when analysis is on.

use crate::{
    api::{ChatbotDeploymentSpec, Strategy},
    reconcile::outcome::Blocker,
    rollout::{
        ab,
        machine::{self, Step},
    },
};

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
    let rollout = spec.rollout.clone().unwrap_or_default();
    match rollout.strategy.unwrap_or(Strategy::Rolling) {
        Strategy::Canary => {
            let canary = rollout.canary.unwrap_or_default();
            machine::canary_plan(&canary)
                .map(Some)
                .map_err(|error| Blocker {
                    reason: "InvalidSpec",
                    path: error.path.clone(),
                    message: error.to_string(),
                })
        }
        Strategy::BlueGreen => Ok(Some(machine::blue_green_plan(
            &rollout.blue_green.unwrap_or_default(),
            analysis_enabled(spec),
        ))),
        Strategy::AbTest => ab::plan(&rollout.ab_test.unwrap_or_default())
            .map(|(steps, _, _)| Some(steps))
            .map_err(|error| Blocker {
                reason: "InvalidSpec",
                path: error.path.clone(),
                message: error.to_string(),
            }),
        Strategy::Rolling => Ok(None),
    }
}

/// Whether the spec's rollout runs analysis.
pub(super) fn analysis_enabled(spec: &ChatbotDeploymentSpec) -> bool {
    spec.rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .is_some_and(|a| a.enabled.unwrap_or(true))
}
