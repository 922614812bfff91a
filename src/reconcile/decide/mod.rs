//! The decision of one reconcile, pure: from the resource, the renderer and
//! what the caches hold, which children to apply or prune, which values to
//! generate, which revision the pods are, and the facts the status is built
//! from. No I/O, no clock: `now` comes in.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

mod candidates;
mod children;
mod config;
mod migrate;
mod pace;
mod render;
mod revision;
mod spec;

use super::{
    delivery, holds,
    observe::Observed,
    outcome::{Blocker, Pace},
    status::Assessment,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    render::Renderer,
    rollout::machine::Phase,
};

pub use super::decision::{Decision, Generate};

/// Decides one reconcile of `cbd`.
pub fn decide(
    cbd: &ChatbotDeployment,
    renderer: &Renderer,
    observed: &Observed,
    now: &Time,
) -> Decision {
    let status = cbd.status.clone().unwrap_or_default();
    let mut assessment = Assessment {
        generation: cbd.metadata.generation,
        deleting: cbd.metadata.deletion_timestamp.is_some(),
        paused: cbd.spec.paused.unwrap_or(false),
        workload: observed.workload.clone(),
        current_revision: status.current_revision,
        revisions: status.revisions.clone(),
        rollback: status.rollback.clone(),
        rollout: status.rollout.clone(),
        ..Default::default()
    };
    let lead = candidates::lead(cbd, &status);
    let running = observed.recovered_revision().is_some();
    let overlaid = candidates::overlaid(cbd, lead, &status, running);
    let inputs = Inputs {
        cbd,
        lead,
        pods: overlaid.as_ref().unwrap_or(cbd),
        renderer,
        observed,
        status: &status,
        now,
    };
    match plan(&inputs, &mut assessment) {
        Ok(Some(mut decision)) => {
            decision.assessment = assessment;
            decision
        }
        // Paused or being deleted: nothing is applied, the facts are told.
        Ok(None) => Decision {
            assessment,
            ..Default::default()
        },
        Err(blocker) => {
            assessment.blocker = Some(blocker);
            Decision {
                assessment,
                pace: Some(Pace::Blocked),
                ..Default::default()
            }
        }
    }
}

/// A promoted overlay runs what the spec does not say: its report carries
/// the spec patch that makes the spec say it.
fn add_promotion_patch(inputs: &Inputs, delivery: &mut delivery::Delivery) {
    let Some(status) = delivery.progress.status.as_mut() else {
        return;
    };
    if crate::rollout::progressive::phase_of(status) != Phase::Promoted {
        return;
    }
    let patch = crate::render::promotion_patch(&inputs.cbd.spec, delivery.lead)
        .map(|patch| patch.to_string());
    match status.report.as_mut() {
        Some(report) => report.promotion_patch = patch,
        None if patch.is_some() => {
            status.report = Some(crate::api::AbReport {
                decision: "promoted before the test measured it".into(),
                promotion_patch: patch,
                ..Default::default()
            });
        }
        None => {}
    }
}

/// What every part of the decision reads.
struct Inputs<'a> {
    cbd: &'a ChatbotDeployment,
    /// The position of the A/B test's candidate the pods are rendered
    /// from (0 without a test).
    lead: usize,
    /// The resource the pods are rendered from: `cbd`, or `cbd` with its
    /// A/B test's candidate overlay.
    pods: &'a ChatbotDeployment,
    renderer: &'a Renderer,
    observed: &'a Observed,
    status: &'a ChatbotDeploymentStatus,
    now: &'a Time,
}

/// What keeps children from being applied as rendered.
#[derive(Clone, Copy, Default)]
struct Holds {
    /// New pods wait for their Secrets or the stores' connection URLs.
    pods: bool,
    /// The revision's migration (or its pre-rollout backup) comes first.
    migration: bool,
    /// An on-call rollback holds the pods, or a restore keeps them at zero.
    frozen: bool,
    /// A restore keeps the app and the pooler at zero.
    restoring: bool,
    /// A rollout keeps the stable Deployment's template until promotion.
    stable: bool,
}

impl Holds {
    /// The app Deployment is left as it is.
    fn deployment(&self) -> bool {
        self.pods || self.migration || self.frozen || self.stable
    }
}

/// The decision, or the blocker that keeps the spec from being applied;
/// `None` when the resource is paused or being deleted.
fn plan(inputs: &Inputs, assessment: &mut Assessment) -> Result<Option<Decision>, Blocker> {
    let judged = spec::judge(inputs, assessment)?;
    if assessment.paused || assessment.deleting {
        return Ok(None);
    }
    let mut decision = Decision {
        generate: spec::generate(inputs, &judged),
        ..Decision::default()
    };
    let spec::Judged {
        rendered,
        owner,
        history_revision,
        ..
    } = judged;
    let urls_missing = !holds::connection_urls_missing(
        &rendered.resolution.spec,
        &rendered.context.names,
        inputs.observed,
    )
    .is_empty();
    let mut holds = Holds {
        pods: !assessment.missing_secrets.is_empty() || urls_missing,
        ..Holds::default()
    };
    let mut rendered = if holds.pods {
        rendered
    } else {
        revision::choose(
            inputs,
            rendered,
            history_revision,
            assessment,
            &mut decision,
        )?
    };
    holds.restoring = crate::backup::restore::stops_writes(inputs.status.restore.as_ref());
    holds.frozen = revision::held(inputs, assessment, &mut decision) || holds.restoring;
    config::keep(inputs, &mut rendered, assessment, !holds.pods);
    let migration_job = migrate::migrate(
        inputs,
        &rendered,
        &owner,
        assessment,
        &mut decision,
        &mut holds,
    );

    // Canary and blue-green: the candidate runs beside the stable pods and
    // the route carries the split; the stable Deployment keeps its
    // template until the candidate is promoted.
    let moving = !(holds.pods || holds.migration || holds.frozen);
    let others = if moving {
        candidates::others(inputs, inputs.lead, &rendered, assessment, &mut decision)?
    } else {
        Vec::new()
    };
    let mut delivery = if moving {
        delivery::plan(
            &rendered.resolution.spec,
            &rendered,
            delivery::Candidates {
                lead: inputs.lead,
                others: &others,
            },
            inputs.observed,
            inputs.status,
            inputs.now,
        )?
    } else {
        None
    };
    if let Some(delivery) = delivery.as_mut() {
        add_promotion_patch(inputs, delivery);
        if let Some(revision) = delivery.handed_to {
            assessment.current_revision = Some(revision);
        }
    }
    holds.stable = delivery.as_ref().is_some_and(|d| !d.progress.apply_stable);
    // A strategy switched to Rolling mid-rollout: its candidate goes (not
    // rendered any more) and only a finished rollout stays on record.
    if delivery.is_none() && moving {
        assessment.rollout = inputs
            .status
            .rollout
            .clone()
            .filter(|r| crate::rollout::progressive::phase_of(r).is_terminal());
    }
    let revision = rendered.context.revision;
    children::choose(
        inputs,
        rendered,
        delivery.as_ref(),
        &owner,
        holds,
        assessment,
        &mut decision,
    );
    decision.apply.extend(migration_job);
    decision.pace = Some(pace::pace(
        &decision,
        assessment,
        holds,
        urls_missing,
        revision,
    ));
    Ok(Some(decision))
}
