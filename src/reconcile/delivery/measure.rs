//! What the rollout measures of its candidate: the smoke step's paths, the
//! analysis rounds that are due, and the verdict of the rounds so far.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::settings::Settings;
use crate::{
    analysis::{self, Check, RunPolicy, RunVerdict, Selector},
    api::{
        AnalysisRound, ChatbotDeploymentSpec, ChatbotDeploymentStatus, MeasurementStatus,
        RolloutStatus,
    },
    reconcile::{observe::Observed, outcome::Blocker},
    rollout::{machine::Step, progressive},
};

/// The rounds of `rollout`'s analysis as the verdict reads them.
fn measurements(rounds: &[AnalysisRound]) -> Vec<Vec<analysis::Measurement>> {
    rounds
        .iter()
        .map(|r| r.measurements.iter().map(measurement).collect())
        .collect()
}

/// The analysis step the rollout in `status` stands at, if any.
pub(super) fn at_analysis<'a>(
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
    let Ok(Some(settings)) = Settings::of(spec) else {
        return Ok(None);
    };
    let Some(rollout) = at_analysis(&settings.steps, status) else {
        return Ok(None);
    };
    if !settings.analysis {
        return Ok(None);
    }
    let every = settings.interval;
    let due = rollout
        .analysis
        .last()
        .and_then(|round| round.at.as_ref())
        .is_none_or(|at| now.0.as_second() - at.0.as_second() >= every.as_secs() as i64);
    // Rounds that could not be measured are taken again: only measured
    // ones count toward the run.
    let measured = analysis::measured_rounds(&measurements(&rollout.analysis));
    if !due || measured >= settings.policy.count {
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
        variant: None,
    };
    let checks =
        analysis::checks(analysis, &selector, every.as_secs()).map_err(|error| Blocker {
            reason: "InvalidSpec",
            path: error.path.clone(),
            message: error.to_string(),
        })?;
    Ok(Some((url, checks)))
}

/// The smoke step's checks: each running candidate's Service, and the
/// paths to request on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Smoke {
    pub services: Vec<String>,
    pub paths: Vec<String>,
}

/// The smoke checks due: at the smoke step, once every candidate's pods
/// (of `name`'s rollout) run its revision and are ready, its readiness
/// (or health) path and each of `analysis.smokePaths`.
pub fn due_smoke(
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    observed: &Observed,
    name: &str,
) -> Option<Smoke> {
    let settings = Settings::of(spec).ok()??;
    let rollout = status.rollout.as_ref()?;
    let at_smoke = progressive::stands_at(rollout, &settings.steps, &Step::Smoke);
    let running = super::candidates::running(spec, rollout);
    let ready = running.iter().all(|(position, revision)| {
        super::candidates::observed_at(observed, *position)
            .is_some_and(|c| c.rolled_out() && c.template_revision == Some(*revision))
    });
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
    let names = crate::names::ChildNames::for_deployment(name);
    Some(Smoke {
        services: running
            .iter()
            .map(|(position, _)| names.candidate_at(*position))
            .collect(),
        paths,
    })
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
pub(super) fn analysis_run(
    policy: RunPolicy,
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
    let verdict = analysis::run_verdict(&measurements(&rounds), policy);
    (rounds, verdict)
}
