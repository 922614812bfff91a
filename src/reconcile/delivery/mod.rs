//! Canary and blue-green delivery inside one reconcile, pure: from the
//! resolved spec, the rendered children, what the caches hold and the
//! persisted progress, the rollout's next move and the children it needs
//! (the candidate, the route with the split). The analysis rounds come in
//! measured; which checks are due is decided here too.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{observe::Observed, outcome::Blocker};
use crate::{
    analysis::{self, Check, RunPolicy, RunVerdict, Selector},
    api::{
        AbTest, AnalysisRound, ChatbotDeploymentSpec, ChatbotDeploymentStatus, MeasurementStatus,
        RolloutStatus, Strategy, TrafficProvider,
    },
    names,
    render::{Child, Rendered, candidate_children, route_children},
    rollout::{
        ab,
        machine::{self, Command, Step},
        progressive::{self, Inputs, Pods, Progress},
        traffic::Split,
    },
};

/// How long a promoted candidate stays when the spec names no delay.
pub const SCALE_DOWN_DELAY: Duration = Duration::from_secs(30);
/// Analysis interval when the spec names none.
pub const ANALYSIS_INTERVAL: Duration = Duration::from_secs(60);
/// Rounds in a row Prometheus may fail to answer before the run pauses as
/// inconclusive, when the spec does not say (Argo Rollouts' default).
pub const CONSECUTIVE_ERROR_LIMIT: u32 = 4;

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

/// The report queries of one A/B variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VariantQueries {
    pub name: String,
    pub revision: i64,
    /// Metric name and PromQL, in [`ab::report_queries`] order.
    pub queries: Vec<(String, String)>,
}

/// The Prometheus URL and the queries of an A/B test's report (baseline,
/// then candidate), when the test's duration ended and it was not
/// measured yet.
pub fn due_report(
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    namespace: &str,
    name: &str,
) -> Option<(String, Vec<VariantQueries>)> {
    let (test, variants, duration) = ab_test(spec)?;
    let rollout = status.rollout.as_ref()?;
    let at_compare = progressive::stands_at(rollout, &steps(spec).ok()??, &Step::Compare);
    if !at_compare || rollout.report.is_some() || status.current_revision != Some(rollout.revision)
    {
        return None;
    }
    let window = format!("{}s", duration.as_secs().max(60));
    let compare = test.compare.clone().unwrap_or_default();
    let url = spec
        .rollout
        .as_ref()
        .and_then(|r| r.analysis.as_ref())
        .and_then(|a| a.prometheus_url.clone())
        .unwrap_or_default();
    let queries = |revision| {
        let selector = Selector {
            namespace: namespace.to_string(),
            instance: name.to_string(),
            revision,
        };
        ab::report_queries(&selector, &window, &compare)
    };
    Some((
        url,
        vec![
            VariantQueries {
                name: variants.baseline.clone(),
                revision: rollout.stable_revision,
                queries: queries(rollout.stable_revision),
            },
            VariantQueries {
                name: variants.candidate.clone(),
                revision: rollout.revision,
                queries: queries(rollout.revision),
            },
        ],
    ))
}

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

/// The rounds of `rollout`'s analysis as the verdict reads them.
fn measurements(rounds: &[AnalysisRound]) -> Vec<Vec<analysis::Measurement>> {
    rounds
        .iter()
        .map(|r| r.measurements.iter().map(measurement).collect())
        .collect()
}

/// The analysis step the rollout in `status` stands at, if any.
fn at_analysis<'a>(
    steps: &[Step],
    status: &'a ChatbotDeploymentStatus,
) -> Option<&'a RolloutStatus> {
    let rollout = status.rollout.as_ref()?;
    progressive::stands_at(rollout, steps, &Step::Analysis).then_some(rollout)
}

/// The checks to measure now, with the Prometheus URL: the rollout stands
/// at an analysis step, analysis is on, and a round is due. Errs when the
/// spec's checks cannot be built.
pub fn due_checks(
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    namespace: &str,
    name: &str,
    now: &Time,
) -> Result<Option<(String, Vec<Check>)>, Blocker> {
    let Ok(Some(steps)) = steps(spec) else {
        return Ok(None);
    };
    let Some(rollout) = at_analysis(&steps, status) else {
        return Ok(None);
    };
    if !analysis_enabled(spec) {
        return Ok(None);
    }
    let every = interval(spec);
    let due = rollout
        .analysis
        .last()
        .and_then(|round| round.at.as_ref())
        .is_none_or(|at| now.0.as_second() - at.0.as_second() >= every.as_secs() as i64);
    // Rounds that could not be measured are taken again: only measured
    // ones count toward the run.
    let measured = analysis::measured_rounds(&measurements(&rollout.analysis));
    if !due || measured >= policy(spec).count {
        return Ok(None);
    }
    let Some(analysis) = spec.rollout.as_ref().and_then(|r| r.analysis.as_ref()) else {
        return Ok(None);
    };
    let url = analysis.prometheus_url.clone().unwrap_or_default();
    let selector = Selector {
        namespace: namespace.to_string(),
        instance: name.to_string(),
        revision: rollout.revision,
    };
    let checks =
        analysis::checks(analysis, &selector, every.as_secs()).map_err(|error| Blocker {
            reason: "InvalidSpec",
            path: error.path.clone(),
            message: error.to_string(),
        })?;
    Ok(Some((url, checks)))
}

/// The paths to request on the candidate now: the rollout stands at its
/// smoke step and the candidate's pods are all ready. The health path
/// first, then the spec's `analysis.smokePaths`.
pub fn due_smoke(
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    observed: &Observed,
) -> Option<Vec<String>> {
    let steps = steps(spec).ok()??;
    let rollout = status.rollout.as_ref()?;
    let at_smoke = progressive::stands_at(rollout, &steps, &Step::Smoke);
    let ready = observed
        .candidate
        .as_ref()
        .is_some_and(|c| c.rolled_out() && c.template_revision == Some(rollout.revision));
    if !at_smoke || !ready || status.current_revision != Some(rollout.revision) {
        return None;
    }
    let health = spec
        .health
        .as_ref()
        .and_then(|h| h.readiness_path.clone().or(h.path.clone()))
        .unwrap_or_else(|| crate::defaults::HEALTH_PATH.into());
    let mut paths = vec![health];
    paths.extend(
        spec.rollout
            .as_ref()
            .and_then(|r| r.analysis.as_ref())
            .and_then(|a| a.smoke_paths.clone())
            .unwrap_or_default(),
    );
    Some(paths)
}

/// A measured round as status keeps it.
pub fn round(measurements: Vec<analysis::Measurement>, now: &Time) -> AnalysisRound {
    AnalysisRound {
        at: Some(now.clone()),
        measurements: measurements
            .into_iter()
            .map(|m| MeasurementStatus {
                name: m.name,
                query: Some(m.query),
                value: m.value.filter(|v| v.is_finite()),
                threshold: m.threshold,
                verdict: m.verdict.to_string(),
                reason: m.reason,
            })
            .collect(),
    }
}

fn measurement(status: &MeasurementStatus) -> analysis::Measurement {
    let verdict = match status.verdict.as_str() {
        "Passed" => analysis::Verdict::Passed,
        "Failed" => analysis::Verdict::Failed,
        "Error" => analysis::Verdict::Error,
        _ => analysis::Verdict::Inconclusive,
    };
    analysis::Measurement {
        name: status.name.clone(),
        query: status.query.clone().unwrap_or_default(),
        value: status.value,
        threshold: status.threshold.clone(),
        verdict,
        reason: status.reason.clone(),
    }
}

/// The rounds of the current step with `new` added (queries kept on the
/// newest only, to keep status small), and their verdict.
fn analysis_run(
    spec: &ChatbotDeploymentSpec,
    previous: &[AnalysisRound],
    new: Option<&AnalysisRound>,
) -> (Vec<AnalysisRound>, RunVerdict) {
    let mut rounds = previous.to_vec();
    if let Some(new) = new {
        for older in &mut rounds {
            for m in &mut older.measurements {
                m.query = None;
            }
        }
        rounds.push(new.clone());
    }
    let verdict = analysis::run_verdict(&measurements(&rounds), policy(spec));
    (rounds, verdict)
}

fn pods(workload: &super::observe::Workload) -> Pods {
    Pods {
        revision: workload.template_revision,
        desired: workload.desired,
        rolled_out: workload.rolled_out(),
    }
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

/// The rollout's move for `rendered` (at the spec's revision), or `None`
/// when the strategy rolls plainly.
pub fn plan(
    spec: &ChatbotDeploymentSpec,
    rendered: &Rendered,
    observed: &Observed,
    status: &ChatbotDeploymentStatus,
    now: &Time,
) -> Result<Option<Delivery>, Blocker> {
    let Some(steps) = steps(spec)? else {
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
    // An A/B test's comparison, from the variants measured this reconcile.
    let test = ab_test(spec);
    let comparison = match (&test, &observed.ab_variants) {
        (Some((test, _, _)), Some((baseline, candidate))) => Some(ab::decide(
            test.decision.unwrap_or_default(),
            baseline,
            candidate,
        )),
        _ => None,
    };

    // Analysis of the step the rollout stands at: rounds measured so far
    // plus this reconcile's; a spec without analysis passes the step.
    let current = status.rollout.as_ref().filter(|r| r.revision == revision);
    let mut rounds = current.map(|r| r.analysis.clone()).unwrap_or_default();
    let analysis = match at_analysis(&steps, status).filter(|r| r.revision == revision) {
        Some(_) if !analysis_enabled(spec) => Some(RunVerdict::Passed),
        Some(at) => {
            let (measured, verdict) =
                analysis_run(spec, &at.analysis, observed.analysis_round.as_ref());
            rounds = measured;
            Some(verdict)
        }
        None => None,
    };
    let with_rounds = current.cloned().map(|mut r| {
        r.analysis = rounds;
        if let (Some(comparison), Some((baseline, candidate))) =
            (&comparison, &observed.ab_variants)
        {
            r.report = Some(ab::report(
                baseline.clone(),
                candidate.clone(),
                comparison,
                Some(now.clone()),
            ));
        }
        r
    });

    let inputs = Inputs {
        strategy,
        steps: &steps,
        spec_revision: revision,
        stable: observed.workload.as_ref().map(pods),
        candidate: observed.candidate.as_ref().map(pods),
        previous: with_rounds.as_ref().or(status.rollout.as_ref()),
        command: command(status, revision),
        analysis,
        comparison,
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
    // With no provider the Service picks pods, not weights: say so.
    if let Some(status) = progress.status.as_mut() {
        status.traffic = match progress.candidate_replicas {
            Some(candidate) if weight_by_replicas => {
                let stable = observed.workload.as_ref().map_or(0, |w| w.desired);
                Some(format!(
                    "no traffic provider: the weight is approximated by pods, {candidate} of the candidate beside {stable} stable behind Service {}",
                    rendered.context.names.service
                ))
            }
            _ => None,
        };
    }

    let component = if weight_by_replicas {
        "app"
    } else {
        names::CANDIDATE_COMPONENT
    };
    let candidate = progress
        .candidate_replicas
        .map(|replicas| candidate_children(rendered, replicas, component))
        .unwrap_or_default();
    let names = &rendered.context.names;
    // A promoted candidate kept for its scale-down delay is off the route.
    let handed_back = progress.status.as_ref().is_some_and(|s| {
        progressive::phase_of(s) == machine::Phase::Promoted && !progressive::promoting(s)
    });
    let split = match progress.candidate_replicas {
        Some(_) if !handed_back => Split {
            stable_service: names.service.clone(),
            candidate: Some((names.candidate.clone(), progress.candidate_weight)),
            sticky: test.as_ref().and_then(|(test, _, _)| test.sticky.clone()),
        },
        _ => Split::stable(&names.service),
    };
    let route = route_children(&rendered.context, &split);
    let mut wake = progress
        .status
        .as_ref()
        .and_then(|s| progressive::wake_after(&inputs, s));
    if let Some(status) = &progress.status
        && progressive::stands_at(status, &steps, &Step::Analysis)
        && analysis_enabled(spec)
    {
        let every = interval(spec);
        wake = Some(wake.map_or(every, |w| w.min(every)));
    }
    Ok(Some(Delivery {
        progress,
        candidate,
        route,
        wake,
    }))
}

#[cfg(test)]
mod tests;
