//! The rollout decision of a candidate revision: a pure state machine from
//! the persisted state and the observed facts to the next state. The
//! reconciler stores the state in status, so an operator that restarts
//! resumes the same step with the same weights.
//!
//! Canary steps come from the spec; blue-green is the plan "preview at 0%,
//! analysis, (wait for Promote), 100%". Terminal phases never change by
//! themselves: a finished or rolled-back rollout stays in its phase across
//! resyncs until a new candidate starts a new state.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{
    analysis::RunVerdict,
    api::{BlueGreen, Canary},
};

/// One step of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this percent of traffic to the candidate.
    SetWeight(i32),
    /// Wait this long; `None` waits for Promote or Resume.
    Pause(Option<Duration>),
    /// Run the analysis; the next step waits for it to pass.
    Analysis,
    /// Compare the variants of an A/B test and apply the spec's decision.
    Compare,
    /// An A/B test judged every round for at most this long: a conclusive
    /// round ends it early, the end of the duration ends it by the spec's
    /// rule.
    Test(Duration),
    /// Request the candidate's health path (and the spec's smoke paths)
    /// before it takes traffic.
    Smoke,
}

/// Why a plan cannot be made from the spec.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlanError {
    pub path: String,
    pub message: String,
}

/// Parses `30s`, `10m`, `24h`, `14d` or sums of them (`1h30m`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let value: u64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
        number.clear();
    }
    (number.is_empty() && !text.is_empty()).then_some(Duration::from_secs(total))
}

/// The steps of a canary rollout.
pub fn canary_plan(canary: &Canary) -> Result<Vec<Step>, PlanError> {
    canary
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            if let Some(weight) = step.set_weight {
                Ok(Step::SetWeight(weight.clamp(0, 100)))
            } else if let Some(pause) = &step.pause {
                match &pause.duration {
                    None => Ok(Step::Pause(None)),
                    Some(text) => parse_duration(text)
                        .map(|d| Step::Pause(Some(d)))
                        .ok_or_else(|| PlanError {
                            path: format!("spec.rollout.canary.steps[{index}].pause.duration"),
                            message: format!("{text} is not a duration such as 30s, 10m or 24h"),
                        }),
                }
            } else if step.analysis == Some(true) {
                Ok(Step::Analysis)
            } else {
                Err(PlanError {
                    path: format!("spec.rollout.canary.steps[{index}]"),
                    message: "must set exactly one of setWeight, pause, analysis".into(),
                })
            }
        })
        .collect()
}

/// The steps of a blue-green rollout: the candidate runs behind the
/// preview Service (0% of live traffic), is analysed, waits for Promote
/// unless `autoPromotion`, then takes all traffic at once.
pub fn blue_green_plan(blue_green: &BlueGreen, analysis: bool) -> Vec<Step> {
    let mut steps = vec![Step::SetWeight(0)];
    if analysis {
        steps.push(Step::Analysis);
    }
    if !blue_green.auto_promotion.unwrap_or(true) {
        steps.push(Step::Pause(None));
    }
    steps.push(Step::SetWeight(100));
    steps
}

/// Where a rollout stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Steps are being carried out.
    Progressing,
    /// Held by an on-call Pause, a pause step without duration, or a
    /// failure that `autoRollback: false` leaves to a person.
    Paused,
    /// The analysis had no evidence either way: held, and said so.
    Inconclusive,
    /// The candidate took all traffic and is the stable revision.
    Promoted,
    /// All traffic went back to the stable revision.
    RolledBack,
}

impl Phase {
    /// The rollout is over; only a new candidate starts another.
    pub fn is_terminal(self) -> bool {
        matches!(self, Phase::Promoted | Phase::RolledBack)
    }

    /// Steps are still ahead (running, or held for a person).
    pub fn is_in_flight(self) -> bool {
        !self.is_terminal()
    }
}

/// The persisted state of one candidate's rollout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// Index of the current step.
    pub step: usize,
    /// When the current step started, in seconds since the epoch.
    pub step_started_at: i64,
    /// Percent of traffic the candidate gets.
    pub weight: i32,
    pub phase: Phase,
    /// Why the phase is what it is, for status and Events.
    pub message: String,
}

impl State {
    /// A new candidate at `now`: no traffic yet, first step.
    pub fn start(now: i64) -> Self {
        Self {
            step: 0,
            step_started_at: now,
            weight: 0,
            phase: Phase::Progressing,
            message: "starting".into(),
        }
    }
}

/// An on-call action on the rollout in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// Skip the remaining steps: all traffic to the candidate now.
    Promote,
    /// All traffic back to the stable revision now.
    Abort,
    Pause,
    /// Continue a paused rollout; re-run an inconclusive analysis.
    Resume,
}

/// What an A/B test's decision rule made of the measured variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// The candidate won: promote it.
    Promote(String),
    /// The baseline stays: roll the candidate back.
    RollBack(String),
    /// A person decides (the rule is Manual, or the data says nothing).
    Undecided(String),
    /// No conclusion this round: measure again at the next.
    Continue(String),
}

/// What the reconciler observed this time.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub now: i64,
    /// Every candidate pod asked for is ready.
    pub candidate_ready: bool,
    /// When the candidate was created.
    pub candidate_created_at: i64,
    /// How long the candidate may take to become ready.
    pub progress_deadline: Duration,
    /// The analysis run of the current step, if one is under way.
    pub analysis: Option<RunVerdict>,
    /// The A/B comparison, once the variants were measured.
    pub comparison: Option<Comparison>,
    /// The smoke checks of the candidate: passed, or why not.
    pub smoke: Option<Result<(), String>>,
    pub command: Option<Command>,
    /// Failures send traffic back at once (`rollout.autoRollback`).
    pub auto_rollback: bool,
}

fn at(state: &State, phase: Phase, message: impl Into<String>) -> State {
    State {
        phase,
        message: message.into(),
        ..state.clone()
    }
}

fn rolled_back(state: &State, message: impl Into<String>) -> State {
    State {
        weight: 0,
        ..at(state, Phase::RolledBack, message)
    }
}

fn promoted(state: &State, steps: usize, message: impl Into<String>) -> State {
    State {
        weight: 100,
        step: steps,
        ..at(state, Phase::Promoted, message)
    }
}

/// A failure: back to stable at once, or held for a person.
fn failed(state: &State, facts: &Facts, reason: String) -> State {
    if facts.auto_rollback {
        rolled_back(state, reason)
    } else {
        at(
            state,
            Phase::Paused,
            format!("{reason}; autoRollback is off: Abort or Promote"),
        )
    }
}

/// The next state of the rollout of `steps`, from `state` and `facts`.
/// Moves at most one step per call, so each step's effect (a weight) is
/// applied and seen before the next.
pub fn next(steps: &[Step], state: &State, facts: &Facts) -> State {
    if state.phase.is_terminal() {
        return state.clone();
    }
    if let Some(next) = commanded(steps, state, facts) {
        return next;
    }
    if let Some(next) = unready_candidate(state, facts) {
        return next;
    }
    let resumed = facts.command == Some(Command::Resume);
    match state.phase {
        Phase::Paused | Phase::Inconclusive if !resumed => return state.clone(),
        _ => {}
    }
    let Some(step) = steps.get(state.step) else {
        return promoted(state, steps.len(), "every step passed");
    };
    // A weight moves only once the candidate can take it.
    if !facts.candidate_ready {
        return state.clone();
    }
    at_step(step, steps.len(), state, facts, resumed)
}

/// What an on-call Abort, Promote or Pause makes of the rollout, if one
/// was given.
fn commanded(steps: &[Step], state: &State, facts: &Facts) -> Option<State> {
    match facts.command {
        Some(Command::Abort) => Some(rolled_back(state, "aborted by an on-call action")),
        // All traffic to pods that cannot serve it would be an outage.
        Some(Command::Promote) if !facts.candidate_ready => Some(at(
            state,
            state.phase,
            "Promote waits: the candidate's pods are not ready",
        )),
        Some(Command::Promote) => Some(promoted(
            state,
            steps.len(),
            "promoted by an on-call action",
        )),
        Some(Command::Pause) => Some(at(state, Phase::Paused, "paused by an on-call action")),
        _ => None,
    }
}

/// A candidate whose pods are not ready fails once the progress deadline
/// passes, and holds a progressing rollout until then.
fn unready_candidate(state: &State, facts: &Facts) -> Option<State> {
    if facts.candidate_ready {
        return None;
    }
    let waited = facts.now - facts.candidate_created_at;
    if waited >= facts.progress_deadline.as_secs() as i64 {
        return Some(failed(
            state,
            facts,
            format!(
                "the candidate's pods were not ready within the progress deadline ({}s)",
                facts.progress_deadline.as_secs()
            ),
        ));
    }
    (state.phase == Phase::Progressing).then(|| {
        at(
            state,
            Phase::Progressing,
            "waiting for the candidate's pods",
        )
    })
}

/// The next step begins now.
fn advance(state: &State, now: i64) -> State {
    State {
        step: state.step + 1,
        step_started_at: now,
        phase: Phase::Progressing,
        ..state.clone()
    }
}

/// What the current step makes of the rollout, with a ready candidate.
fn at_step(step: &Step, steps: usize, state: &State, facts: &Facts, resumed: bool) -> State {
    let advance = |state: &State| advance(state, facts.now);
    match step {
        Step::SetWeight(weight) => State {
            weight: *weight,
            message: format!(
                "step {}: {weight}% of traffic to the candidate",
                state.step + 1
            ),
            ..advance(state)
        },
        Step::Pause(Some(duration)) => {
            let elapsed = facts.now - state.step_started_at;
            // Only time (or Promote) ends a timed pause; Resume lifts an
            // on-call Pause, it does not skip the wait.
            if elapsed >= duration.as_secs() as i64 {
                advance(state)
            } else {
                at(
                    state,
                    Phase::Progressing,
                    format!(
                        "step {}: pausing {}s more",
                        state.step + 1,
                        duration.as_secs() as i64 - elapsed
                    ),
                )
            }
        }
        Step::Pause(None) if resumed => advance(state),
        Step::Pause(None) => at(
            state,
            Phase::Paused,
            format!("step {}: waiting for Promote or Resume", state.step + 1),
        ),
        Step::Smoke => match &facts.smoke {
            None => at(
                state,
                Phase::Progressing,
                format!("step {}: smoke checks", state.step + 1),
            ),
            Some(Ok(())) => advance(state),
            Some(Err(why)) => failed(state, facts, format!("smoke check failed: {why}")),
        },
        Step::Compare | Step::Test(_) => match &facts.comparison {
            None => at(
                state,
                Phase::Progressing,
                format!("step {}: measuring the variants", state.step + 1),
            ),
            Some(Comparison::Continue(why)) => at(
                state,
                Phase::Progressing,
                format!("step {}: {why}", state.step + 1),
            ),
            Some(Comparison::Promote(why)) => promoted(state, steps, why.clone()),
            Some(Comparison::RollBack(why)) => rolled_back(state, why.clone()),
            Some(Comparison::Undecided(why)) => at(
                state,
                Phase::Paused,
                format!("{why}; Promote to keep the candidate, Abort to keep the baseline"),
            ),
        },
        Step::Analysis => at_analysis(state, facts, resumed),
    }
}

/// The analysis step: wait for its verdict, then advance, fail or pause.
fn at_analysis(state: &State, facts: &Facts, resumed: bool) -> State {
    match &facts.analysis {
        // A resumed inconclusive step measures again from scratch.
        _ if resumed && state.phase == Phase::Inconclusive => at(
            state,
            Phase::Progressing,
            format!("step {}: analysis runs again", state.step + 1),
        ),
        None => at(
            state,
            Phase::Progressing,
            format!("step {}: analysis running", state.step + 1),
        ),
        Some(RunVerdict::Running { measured, count }) => at(
            state,
            Phase::Progressing,
            format!(
                "step {}: analysis running, {measured} of {count} rounds measured",
                state.step + 1
            ),
        ),
        Some(RunVerdict::Passed) => advance(state, facts.now),
        Some(RunVerdict::Failed { reason }) => {
            failed(state, facts, format!("analysis failed: {reason}"))
        }
        Some(RunVerdict::Inconclusive { reason }) => at(
            state,
            Phase::Inconclusive,
            format!("analysis inconclusive: {reason}; Resume to measure again, Promote or Abort"),
        ),
    }
}

#[cfg(test)]
mod tests;
