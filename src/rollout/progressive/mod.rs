//! Canary and blue-green delivery of a candidate revision beside the stable
//! one. Pure: the persisted progress, what the cluster shows and `now` in;
//! the next progress and what to run and route out.
//!
//! The shape (as Flagger's, with fixed names so GitOps tools see stable
//! objects): the stable Deployment `<name>` keeps the stable revision's
//! template while a candidate Deployment `<name>-canary` runs the new one
//! behind its own Service; the route splits traffic by the machine's
//! weight. Promotion sends all traffic to the candidate, gives the stable
//! Deployment the new template, and once its pods are all available sends
//! traffic back to it and removes the candidate after the scale-down delay.
//! A rollback sends all traffic to the stable revision at once and removes
//! the candidate; the spec's template is held back until it changes.

use std::time::Duration;

use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};

use super::machine::{self, Command, Facts, Phase, State, Step};
use crate::{
    analysis::RunVerdict,
    api::{RolloutStatus, Strategy},
};

/// Pods of one Deployment, as the rollout needs them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pods {
    /// Revision of the Deployment's pod template.
    pub revision: Option<i64>,
    /// Pods asked for.
    pub desired: i32,
    /// Every pod runs the template and is available.
    pub rolled_out: bool,
}

/// Everything the rollout of a candidate is decided from.
#[derive(Clone, Debug)]
pub struct Inputs<'a> {
    /// `Canary` or `BlueGreen`.
    pub strategy: Strategy,
    pub steps: &'a [Step],
    /// Revision of the spec's pod template.
    pub spec_revision: i64,
    /// The stable Deployment `<name>`, if it exists.
    pub stable: Option<Pods>,
    /// The candidate Deployment `<name>-canary`, if it exists.
    pub candidate: Option<Pods>,
    /// The progress status holds.
    pub previous: Option<&'a RolloutStatus>,
    /// An on-call command not yet carried out, with its action's name.
    pub command: Option<(Command, &'a str)>,
    /// The analysis run of the current step (`None` while there is none).
    pub analysis: Option<RunVerdict>,
    /// The A/B comparison of the current step, once measured.
    pub comparison: Option<super::machine::Comparison>,
    /// The smoke checks of the current step, once run.
    pub smoke: Option<Result<(), String>>,
    pub now: i64,
    pub progress_deadline: Duration,
    pub auto_rollback: bool,
    /// How long the candidate stays after the stable Deployment caught up.
    pub scale_down_delay: Duration,
    /// No traffic provider: the candidate's pods sit behind the stable
    /// Service, and its share of the pods approximates its weight.
    pub weight_by_replicas: bool,
}

/// What the rollout asks of this reconcile.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The next `status.rollout`.
    pub status: Option<RolloutStatus>,
    /// The spec's template goes on the stable Deployment.
    pub apply_stable: bool,
    /// Pods of the candidate Deployment; `None`: no candidate.
    pub candidate_replicas: Option<i32>,
    /// Percent of routed traffic on the candidate's Service.
    pub candidate_weight: i32,
    /// The machine moved to a new phase: for an Event.
    pub transition: Option<(Phase, String)>,
}

impl Progress {
    /// No progressive rollout: the spec's template goes on the stable
    /// Deployment, as with a rolling update.
    fn plain(previous: Option<&RolloutStatus>) -> Self {
        Self {
            // A finished rollout stays in status for `kubectl chatbot status`.
            status: previous.filter(|p| phase_of(p).is_terminal()).cloned(),
            apply_stable: true,
            candidate_replicas: None,
            candidate_weight: 0,
            transition: None,
        }
    }
}

fn seconds(time: &Option<Time>) -> Option<i64> {
    time.as_ref().map(|t| t.0.as_second())
}

fn time(seconds: i64) -> Option<Time> {
    Timestamp::from_second(seconds).ok().map(Time)
}

/// The machine phase a status names; unknown text reads as Paused, so a
/// hand-edited status never moves traffic by itself.
pub fn phase_of(status: &RolloutStatus) -> Phase {
    match status.phase.as_str() {
        "Progressing" => Phase::Progressing,
        "Inconclusive" => Phase::Inconclusive,
        "Promoted" => Phase::Promoted,
        "RolledBack" => Phase::RolledBack,
        _ => Phase::Paused,
    }
}

/// Promoted, while the stable Deployment is still taking the template:
/// all traffic is still on the candidate.
pub fn promoting(status: &RolloutStatus) -> bool {
    phase_of(status) == Phase::Promoted && status.stable_updated_at.is_none()
}

/// The candidate runs and may carry traffic: steps ahead, or promoting.
pub fn candidate_runs(status: &RolloutStatus) -> bool {
    phase_of(status).is_in_flight() || promoting(status)
}

/// The rollout stands at `step` of `steps` and is moving (not paused).
pub fn stands_at(status: &RolloutStatus, steps: &[Step], step: &Step) -> bool {
    phase_of(status) == Phase::Progressing
        && usize::try_from(status.step)
            .ok()
            .and_then(|index| steps.get(index))
            == Some(step)
}

/// `step 2 of 6`, or `every step passed`.
pub fn step_text(status: &RolloutStatus) -> String {
    if status.step < status.steps {
        format!("step {} of {}", status.step + 1, status.steps)
    } else {
        "every step passed".into()
    }
}

/// The name status uses for a phase.
pub fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Progressing => "Progressing",
        Phase::Paused => "Paused",
        Phase::Inconclusive => "Inconclusive",
        Phase::Promoted => "Promoted",
        Phase::RolledBack => "RolledBack",
    }
}

fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::BlueGreen => "BlueGreen",
        Strategy::AbTest => "ABTest",
        Strategy::Rolling => "Rolling",
        Strategy::Canary => "Canary",
    }
}

/// Pods the candidate runs: as many as the stable revision had when it
/// started, or — with no traffic provider — the share its weight asks of
/// the pods behind the one Service (`stable × w / (100 − w)`), at least one
/// so it can be judged.
pub fn candidate_pods(base: i32, weight: i32, weight_by_replicas: bool) -> i32 {
    let base = base.max(1);
    if !weight_by_replicas {
        return base;
    }
    let weight = weight.clamp(0, 100);
    if weight >= 100 {
        return base;
    }
    let share = (f64::from(base) * f64::from(weight) / f64::from(100 - weight)).round() as i32;
    share.clamp(1, base)
}

/// The next progress of the candidate rollout.
pub fn next(inputs: &Inputs) -> Progress {
    let previous = inputs
        .previous
        .filter(|p| p.revision == inputs.spec_revision);
    let Some(previous) = previous else {
        return start(inputs);
    };
    let phase = phase_of(previous);
    match phase {
        Phase::RolledBack => Progress {
            status: Some(previous.clone()),
            apply_stable: false,
            candidate_replicas: None,
            candidate_weight: 0,
            transition: None,
        },
        Phase::Promoted => finish(inputs, previous.clone()),
        _ => step(inputs, previous),
    }
}

/// A new candidate, or none: the first revision, or a stable Deployment
/// that already runs the spec's revision, rolls out plainly.
fn start(inputs: &Inputs) -> Progress {
    let Some(stable) = inputs.stable else {
        return Progress::plain(inputs.previous);
    };
    let Some(stable_revision) = stable.revision else {
        return Progress::plain(inputs.previous);
    };
    if stable_revision == inputs.spec_revision {
        return Progress::plain(inputs.previous);
    }
    let state = State::start(inputs.now);
    let status = RolloutStatus {
        revision: inputs.spec_revision,
        stable_revision,
        strategy: strategy_name(inputs.strategy).into(),
        step: 0,
        steps: inputs.steps.len() as i32,
        weight: 0,
        phase: phase_name(state.phase).into(),
        message: format!(
            "revision {} starts beside revision {stable_revision}",
            inputs.spec_revision
        ),
        started_at: time(inputs.now),
        step_started_at: time(inputs.now),
        not_ready_since: time(inputs.now),
        replicas: stable.desired.max(1),
        ..Default::default()
    };
    Progress {
        candidate_replicas: Some(candidate_pods(
            status.replicas,
            0,
            inputs.weight_by_replicas,
        )),
        candidate_weight: 0,
        apply_stable: false,
        transition: Some((Phase::Progressing, status.message.clone())),
        status: Some(status),
    }
}

/// One move of the machine for a rollout in flight.
fn step(inputs: &Inputs, previous: &RolloutStatus) -> Progress {
    let state = State {
        step: usize::try_from(previous.step).unwrap_or(0),
        step_started_at: seconds(&previous.step_started_at).unwrap_or(inputs.now),
        weight: previous.weight,
        phase: phase_of(previous),
        message: previous.message.clone(),
    };
    let candidate_ready = inputs.candidate.is_some_and(|c| {
        c.rolled_out
            && c.revision == Some(inputs.spec_revision)
            && c.desired
                >= candidate_pods(
                    previous.replicas,
                    previous.weight,
                    inputs.weight_by_replicas,
                )
    });
    // The deadline counts from when the candidate stopped being ready (or
    // started): a pod restarting late in a long pause is not judged by the
    // time since the start.
    // A new candidate starts not ready (`start` sets the time).
    let not_ready_since =
        (!candidate_ready).then(|| seconds(&previous.not_ready_since).unwrap_or(inputs.now));
    let facts = Facts {
        now: inputs.now,
        candidate_ready,
        candidate_created_at: not_ready_since.unwrap_or(inputs.now),
        progress_deadline: inputs.progress_deadline,
        analysis: inputs.analysis.clone(),
        comparison: inputs.comparison.clone(),
        smoke: inputs.smoke.clone(),
        command: inputs.command.map(|(command, _)| command),
        auto_rollback: inputs.auto_rollback,
    };
    let moved = machine::next(inputs.steps, &state, &facts);
    let mut status = RolloutStatus {
        step: moved.step as i32,
        step_started_at: time(moved.step_started_at),
        weight: moved.weight,
        phase: phase_name(moved.phase).into(),
        message: moved.message.clone(),
        not_ready_since: not_ready_since.and_then(time),
        // A Promote that waits for ready pods is carried out later.
        last_action: inputs
            .command
            .filter(|(command, _)| *command != Command::Promote || candidate_ready)
            .map(|(_, action)| action.to_string())
            .or_else(|| previous.last_action.clone()),
        ..previous.clone()
    };
    // A new step measures afresh, and so does a resumed inconclusive one.
    let resumed = state.phase == Phase::Inconclusive && moved.phase == Phase::Progressing;
    if moved.step != state.step || resumed {
        status.analysis.clear();
    }
    let transition = (moved.phase != state.phase).then(|| (moved.phase, moved.message.clone()));
    match moved.phase {
        Phase::Promoted => Progress {
            transition,
            ..finish(inputs, status)
        },
        Phase::RolledBack => Progress {
            status: Some(status),
            apply_stable: false,
            candidate_replicas: None,
            candidate_weight: 0,
            transition,
        },
        _ => Progress {
            candidate_replicas: Some(candidate_pods(
                status.replicas,
                status.weight,
                inputs.weight_by_replicas,
            )),
            candidate_weight: status.weight,
            status: Some(status),
            apply_stable: false,
            transition,
        },
    }
}

/// A promoted candidate: all traffic on it while the stable Deployment
/// takes its template; then traffic back to the stable Deployment, and the
/// candidate removed after the scale-down delay.
fn finish(inputs: &Inputs, mut status: RolloutStatus) -> Progress {
    let caught_up = inputs
        .stable
        .is_some_and(|s| s.rolled_out && s.revision == Some(inputs.spec_revision));
    if !caught_up && status.stable_updated_at.is_none() {
        status.message = format!(
            "revision {} is promoted and takes all traffic while the stable Deployment updates",
            status.revision
        );
        return Progress {
            candidate_replicas: Some(status.replicas.max(1)),
            candidate_weight: 100,
            status: Some(status),
            apply_stable: true,
            transition: None,
        };
    }
    let since = seconds(&status.stable_updated_at).unwrap_or(inputs.now);
    status.stable_updated_at = time(since);
    status.weight = 0;
    status.message = format!("revision {} is promoted and stable", status.revision);
    let keep = inputs.now - since < inputs.scale_down_delay.as_secs() as i64;
    Progress {
        candidate_replicas: keep.then_some(status.replicas.max(1)),
        candidate_weight: 0,
        status: Some(status),
        apply_stable: true,
        transition: None,
    }
}

/// How long to wait before looking again, when time alone moves the
/// rollout (a timed pause, the scale-down delay).
pub fn wake_after(inputs: &Inputs, status: &RolloutStatus) -> Option<Duration> {
    let remaining = |from: Option<i64>, wait: Duration| {
        from.map(|from| {
            let left = from + wait.as_secs() as i64 - inputs.now;
            Duration::from_secs(left.max(1) as u64)
        })
    };
    match phase_of(status) {
        Phase::Promoted => remaining(seconds(&status.stable_updated_at), inputs.scale_down_delay),
        Phase::Progressing => match inputs.steps.get(usize::try_from(status.step).ok()?) {
            Some(Step::Pause(Some(duration))) => {
                remaining(seconds(&status.step_started_at), *duration)
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests;
