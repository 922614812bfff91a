//! Canary and blue-green delivery inside one reconcile, pure: from the
//! resolved spec, the rendered children, what the caches hold and the
//! persisted progress, the rollout's next move and the children it needs
//! (the candidate, the route with the split). The analysis rounds come in
//! measured; which checks are due is decided here too.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{
    observe::Observed,
    outcome::{Blocker, Note},
};
use crate::{
    analysis::RunVerdict,
    api::{
        ChatbotDeploymentSpec, ChatbotDeploymentStatus, RolloutStatus, Sticky, Strategy,
        TrafficProvider,
    },
    names,
    render::{Child, Rendered, route_children},
    rollout::{
        ab::{self, Variants},
        machine::{self, Command, Comparison, Step},
        progressive::{self, Inputs, Progress},
        traffic::Split,
    },
};

mod candidates;
mod measure;
mod report;
mod settings;

pub use candidates::{Candidates, OtherCandidate};

pub use measure::{Smoke, due_checks, due_smoke, round};
pub use report::{VariantQueries, due_report};
pub use settings::{ANALYSIS_INTERVAL, CONSECUTIVE_ERROR_LIMIT};

use measure::{analysis_run, at_analysis};
use settings::Settings;

/// How long a promoted candidate stays when the spec names no delay.
pub const SCALE_DOWN_DELAY: Duration = Duration::from_secs(30);

/// The rollout's part of one reconcile.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub progress: Progress,
    /// The candidate's Deployment and Service, when it runs.
    pub candidate: Vec<Child>,
    /// The route with the rollout's split, in place of the rendered one.
    pub route: Vec<Child>,
    /// Look again this soon: a timed pause ends, the candidate is due to
    /// go, an analysis round is due.
    pub wake: Option<Duration>,
    /// An A/B test's sample-ratio check turned, either way.
    pub notes: Vec<Note>,
    /// The position of the candidate whose revision the rollout's is:
    /// the one rendered, or a winner handed the rollout this reconcile.
    pub lead: usize,
    /// A winner that did not lead, handed the rollout this reconcile: its
    /// revision is the spec's now (the next reconcile renders it).
    pub handed_to: Option<i64>,
}

fn command(status: &ChatbotDeploymentStatus, revision: i64) -> Option<(Command, &str)> {
    let wanted = status.rollout_command.as_ref()?;
    let rollout = status.rollout.as_ref()?;
    if wanted.revision != revision
        || rollout.revision != revision
        || rollout.last_action.as_deref() == Some(wanted.action.as_str())
    {
        return None;
    }
    let command = match wanted.command.as_str() {
        "Promote" => Command::Promote,
        "Abort" => Command::Abort,
        "Pause" => Command::Pause,
        "Resume" => Command::Resume,
        _ => return None,
    };
    Some((command, wanted.action.as_str()))
}

/// The rollout's move for `rendered` (at the spec's revision) and an A/B
/// test's other `candidates`, or `None` when the strategy rolls plainly.
pub fn plan(
    spec: &ChatbotDeploymentSpec,
    rendered: &Rendered,
    candidates: Candidates,
    observed: &Observed,
    status: &ChatbotDeploymentStatus,
    now: &Time,
) -> Result<Option<Delivery>, Blocker> {
    let Some(settings) = Settings::of(spec)? else {
        return Ok(None);
    };
    let rollout = spec.rollout.clone().unwrap_or_default();
    let strategy = rollout.strategy.unwrap_or(Strategy::Rolling);
    let revision = rendered.context.revision;
    let provider = rendered.context.network.route.as_ref().map(|r| r.provider);
    let routed = matches!(
        provider,
        Some(TrafficProvider::IngressNginx | TrafficProvider::GatewayApi)
    );
    let weight_by_replicas = !routed && strategy != Strategy::BlueGreen;
    let measured = measured(&settings, observed, status, revision, now);

    let inputs = Inputs {
        strategy,
        steps: &settings.steps,
        spec_revision: revision,
        stable: observed.workload.as_ref().map(candidates::pods),
        candidate: candidates::pods_of(observed, candidates),
        previous: measured.current.as_ref().or(status.rollout.as_ref()),
        command: command(status, revision),
        analysis: measured.analysis,
        comparison: measured.comparison,
        smoke: observed.smoke.clone(),
        now: now.0.as_second(),
        progress_deadline: Duration::from_secs(
            u64::try_from(rendered.context.progress_deadline_seconds).unwrap_or(600),
        ),
        auto_rollback: rollout.auto_rollback.unwrap_or(true),
        scale_down_delay: rollout
            .blue_green
            .as_ref()
            .filter(|_| strategy == Strategy::BlueGreen)
            .and_then(|b| b.scale_down_delay_seconds)
            .and_then(|s| u64::try_from(s).ok())
            .map_or(SCALE_DOWN_DELAY, Duration::from_secs),
        weight_by_replicas,
    };
    let mut progress = progressive::next(&inputs);
    say_weight_by_pods(&mut progress, weight_by_replicas, observed, rendered);
    let variants = settings.test.as_ref().map(|(_, variants, _)| variants);
    let sent = status
        .rollout_command
        .as_ref()
        .filter(|c| c.revision == revision);
    if let Some(rollout) = progress.status.as_mut() {
        candidates::name_winner(rollout, sent);
    }
    let (candidates, lead, handed_to) = lead_of(&mut progress, variants, candidates, rendered);
    let sticky = settings
        .test
        .as_ref()
        .and_then(|(test, _, _)| test.sticky.clone());
    let route = route(lead, &progress, candidates, variants, sticky);
    let component = if weight_by_replicas {
        "app"
    } else {
        names::CANDIDATE_COMPONENT
    };
    let candidate = progress
        .candidate_replicas
        .map(|replicas| candidates::children(candidates, lead, replicas, component, variants))
        .unwrap_or_default();
    let wake = wake(&settings, &inputs, &progress);
    let notes = sample_ratio_turned(
        status.rollout.as_ref().filter(|r| r.revision == revision),
        progress.status.as_ref(),
    )
    .into_iter()
    .collect();
    Ok(Some(Delivery {
        progress,
        candidate,
        route,
        wake: handed_to.map_or(wake, |_| Some(Duration::from_secs(1))),
        notes,
        lead: candidates.lead,
        handed_to: handed_to.map(|_| lead.context.revision),
    }))
}

/// The candidates that run after this move, the rendering of the one
/// that leads, and whether a winner that did not lead was just handed
/// the rollout: the stable Deployment waits for the next reconcile to
/// take the winner's template, and the others go.
fn lead_of<'a>(
    progress: &mut Progress,
    variants: Option<&Variants>,
    candidates: Candidates<'a>,
    rendered: &'a Rendered,
) -> (Candidates<'a>, &'a Rendered, Option<usize>) {
    let Some(status) = progress.status.as_mut() else {
        return (candidates, rendered, None);
    };
    if let Some(variants) = variants
        && (status.candidates.is_empty() || !candidates.others.is_empty())
    {
        status.candidates = candidates::recorded(variants, candidates, rendered);
    }
    let handed = (progressive::phase_of(status) == machine::Phase::Promoted)
        .then(|| candidates::hand_to_winner(status, variants?, candidates))
        .flatten();
    let Some(position) = handed else {
        return (candidates, rendered, None);
    };
    progress.apply_stable = false;
    let winner = candidates
        .others
        .iter()
        .find(|o| o.position == position)
        .map_or(rendered, |o| &o.rendered);
    let alone = Candidates {
        lead: position,
        others: &[],
    };
    (alone, winner, Some(position))
}

/// What was measured of the revision this reconcile.
struct Measured {
    /// An A/B test's comparison, from the variants measured this reconcile.
    comparison: Option<Comparison>,
    /// The verdict of the analysis step the rollout stands at; a spec
    /// without analysis passes the step.
    analysis: Option<RunVerdict>,
    /// The rollout's status with this reconcile's analysis round and A/B
    /// report added.
    current: Option<RolloutStatus>,
}

fn measured(
    settings: &Settings,
    observed: &Observed,
    status: &ChatbotDeploymentStatus,
    revision: i64,
    now: &Time,
) -> Measured {
    let current = status.rollout.as_ref().filter(|r| r.revision == revision);
    let round = ab_round(settings, observed, current, now);
    let comparison = round.as_ref().map(|(comparison, _)| comparison.clone());
    // Rounds measured so far plus this reconcile's.
    let mut rounds = current.map(|r| r.analysis.clone()).unwrap_or_default();
    let analysis = match at_analysis(&settings.steps, status).filter(|r| r.revision == revision) {
        Some(_) if !settings.analysis => Some(RunVerdict::Passed),
        Some(at) => {
            let (measured, verdict) = analysis_run(
                settings.policy,
                &at.analysis,
                observed.analysis_round.as_ref(),
            );
            rounds = measured;
            Some(verdict)
        }
        None => None,
    };
    let current = current.cloned().map(|mut r| {
        r.analysis = rounds;
        if let Some((_, report)) = round {
            r.report = Some(report);
        }
        r
    });
    Measured {
        comparison,
        analysis,
        current,
    }
}

/// The Event (and notification) of an A/B test whose conversations stop
/// or start again to split as the weights say.
fn sample_ratio_turned(
    before: Option<&RolloutStatus>,
    after: Option<&RolloutStatus>,
) -> Option<Note> {
    let check = |r: Option<&RolloutStatus>| {
        r.and_then(|r| r.report.as_ref())
            .and_then(|report| report.sample_ratio.clone())
    };
    let was = check(before).is_some_and(|c| c.mismatch);
    let now = check(after)?;
    match (was, now.mismatch) {
        (false, true) => Some(Note {
            warning: true,
            reason: "SampleRatioMismatch".into(),
            message: format!(
                "A/B test untrustworthy: conversations split {} against the configured {} (p = {:.2e}); no automatic decision until it recovers or a person promotes or aborts",
                now.observed, now.expected, now.p_value
            ),
        }),
        (true, false) => Some(Note {
            warning: false,
            reason: "SampleRatioRecovered".into(),
            message: format!(
                "A/B test: conversations split {} against the configured {} again",
                now.observed, now.expected
            ),
        }),
        _ => None,
    }
}

/// This reconcile's measurement of an A/B test's variants: what the rule
/// makes of it and the report. Between two rounds of a test judged as it
/// goes, the last round's conclusion stands.
fn ab_round(
    settings: &Settings,
    observed: &Observed,
    current: Option<&RolloutStatus>,
    now: &Time,
) -> Option<(Comparison, crate::api::AbReport)> {
    let (test, variants, duration) = settings.test.as_ref()?;
    let previous = current.and_then(|r| r.report.as_ref());
    let Some(measured) = &observed.ab_variants else {
        let last = previous.filter(|_| {
            current
                .is_some_and(|r| progressive::stands_at(r, &settings.steps, &Step::Test(*duration)))
        })?;
        return Some((Comparison::Continue(last.decision.clone()), last.clone()));
    };
    let started = current
        .and_then(|r| r.step_started_at.as_ref())
        .map_or(now.0.as_second(), |t| t.0.as_second());
    let clock = ab::judge::Clock {
        elapsed: Duration::from_secs(u64::try_from(now.0.as_second() - started).unwrap_or(0)),
        duration: *duration,
    };
    Some(ab::round(
        test,
        variants,
        measured,
        previous,
        clock,
        Some(now.clone()),
    ))
}

/// With no traffic provider the Service picks pods, not weights: the
/// status says so.
fn say_weight_by_pods(
    progress: &mut Progress,
    weight_by_replicas: bool,
    observed: &Observed,
    rendered: &Rendered,
) {
    let Some(status) = progress.status.as_mut() else {
        return;
    };
    let candidate = progress.candidate_replicas.filter(|_| weight_by_replicas);
    status.traffic = candidate.map(|candidate| {
        let stable = observed.workload.as_ref().map_or(0, |w| w.desired);
        format!(
            "no traffic provider: the weight is approximated by pods, {candidate} of the candidate beside {stable} stable behind Service {}",
            rendered.context.names.service
        )
    });
}

/// The route with the rollout's split. A promoted candidate kept for its
/// scale-down delay is off the route.
fn route(
    rendered: &Rendered,
    progress: &Progress,
    candidates: Candidates,
    variants: Option<&Variants>,
    sticky: Option<Sticky>,
) -> Vec<Child> {
    let names = &rendered.context.names;
    let handed_back = progress.status.as_ref().is_some_and(|s| {
        progressive::phase_of(s) == machine::Phase::Promoted && !progressive::promoting(s)
    });
    let split = match progress.candidate_replicas {
        Some(_) if !handed_back => candidates::split(
            &names.service,
            names,
            candidates,
            rendered,
            progress.candidate_weight,
            variants,
            sticky,
        ),
        _ => Split::stable(&names.service),
    };
    route_children(&rendered.context, &split)
}

/// When to look again: the machine's own wake, or the next analysis round.
fn wake(settings: &Settings, inputs: &Inputs, progress: &Progress) -> Option<Duration> {
    let status = progress.status.as_ref()?;
    let wake = progressive::wake_after(inputs, status);
    let testing = settings.test.as_ref().is_some_and(|(_, _, duration)| {
        progressive::stands_at(status, &settings.steps, &Step::Test(*duration))
    });
    if testing
        || progressive::stands_at(status, &settings.steps, &Step::Analysis) && settings.analysis
    {
        let every = settings.interval;
        return Some(wake.map_or(every, |w| w.min(every)));
    }
    wake
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_several;
