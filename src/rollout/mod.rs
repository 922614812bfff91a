//! Rollouts: numbered revisions of the pod template and, per strategy, how
//! a new revision replaces the stable one. Pure: time comes in as `now`.

pub mod ab;
pub mod machine;
pub mod progressive;
pub mod revisions;
pub mod traffic;

use crate::api::{Rollout, Strategy};

/// The steps of `rollout`'s strategy (`analysis` says whether a blue-green
/// preview is analysed); `None` for Rolling. Errs with the field path when
/// the spec makes no plan: a canary's steps, an A/B test's variants or
/// primary metric.
pub fn steps(
    rollout: &Rollout,
    analysis: bool,
) -> Result<Option<Vec<machine::Step>>, machine::PlanError> {
    match rollout.strategy.unwrap_or_default() {
        Strategy::Canary => {
            machine::canary_plan(&rollout.canary.clone().unwrap_or_default()).map(Some)
        }
        Strategy::BlueGreen => Ok(Some(machine::blue_green_plan(
            &rollout.blue_green.clone().unwrap_or_default(),
            analysis,
        ))),
        Strategy::AbTest => {
            ab::plan(&rollout.ab_test.clone().unwrap_or_default()).map(|(steps, _, _)| Some(steps))
        }
        Strategy::Rolling => Ok(None),
    }
}
