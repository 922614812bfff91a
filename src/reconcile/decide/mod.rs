//! The decision of one reconcile, pure: from the resource, the renderer and
//! what the caches hold, which children to apply or prune, which values to
//! generate, which revision the pods are, and the facts the status is built
//! from. No I/O, no clock: `now` comes in.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{OwnerReference, Time};

mod children;
mod revision;
mod spec;

use super::{
    delivery, holds, migration,
    observe::{MigrationState, Observed},
    outcome::{Blocker, Pace},
    status::{Assessment, MigrationFacts},
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    backup::gate::Gate,
    render::{Child, ChildKind, RenderError, Rendered, Renderer},
    rollout::revisions,
};

pub use super::decision::{Decision, Generate};

fn render_blocker(error: &RenderError) -> Blocker {
    Blocker {
        reason: error.reason(),
        path: error.field(),
        message: error.to_string(),
    }
}

/// `cbd` rendered at `revision`, without the Prometheus Operator's kinds
/// where the cluster does not serve them (said in the Monitored
/// condition; nothing else waits for them). Every render of a reconcile
/// goes through here: a new revision leaves them out as the first did.
fn render_at(
    renderer: &Renderer,
    cbd: &ChatbotDeployment,
    revision: i64,
    observed: &Observed,
) -> Result<Rendered, RenderError> {
    let mut rendered = renderer.render(cbd, revision)?;
    if observed.monitoring_missing {
        rendered
            .children
            .retain(|c| !c.kind().object_type().is_monitoring());
    }
    Ok(rendered)
}

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
    let inputs = Inputs {
        cbd,
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

/// What every part of the decision reads.
struct Inputs<'a> {
    cbd: &'a ChatbotDeployment,
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
    let rendered = if holds.pods {
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
    let migration_job = migrate(
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
    let delivery = if moving {
        delivery::plan(
            &rendered.resolution.spec,
            &rendered,
            inputs.observed,
            inputs.status,
            inputs.now,
        )?
    } else {
        None
    };
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
    decision.pace = Some(pace(&decision, assessment, holds, urls_missing, revision));
    Ok(Some(decision))
}

/// The pre-rollout backup and the migration of the revision: the backup
/// goes first (migrations are what a restore undoes), then the revision's
/// Job runs to completion before its pods replace the running ones; the
/// running revision keeps serving. Returns the migration Job to create.
fn migrate(
    inputs: &Inputs,
    rendered: &Rendered,
    owner: &OwnerReference,
    assessment: &mut Assessment,
    decision: &mut Decision,
    holds: &mut Holds,
) -> Option<Child> {
    let observed = inputs.observed;
    let revision = rendered.context.revision;
    let running_revision = observed.workload.as_ref().and_then(|w| w.template_revision);
    let mut migration_job = None;
    let gate = holds::pre_rollout_gate(
        rendered,
        inputs.status,
        running_revision,
        holds.pods || holds.frozen,
    );
    decision.pre_rollout_backup = gate.wants();
    if let Gate::Passed { revision, taken } = &gate {
        assessment.revisions = revisions::with_snapshot(&assessment.revisions, *revision, taken);
    }
    let hold_for_backup = gate.holds();
    assessment.pre_rollout = hold_for_backup.then_some(gate);
    // A migration against a Postgres that is still starting would only
    // fail: it waits (managed stores hold the pods until their URL exists).
    let database_starting =
        rendered.context.stores.database.is_some() && !observed.in_cluster_database_ready;
    if !holds.pods
        && !holds.frozen
        && !hold_for_backup
        && running_revision != Some(revision)
        && let Some(job) = rendered
            .children
            .iter()
            .find(|c| c.kind() == ChildKind::MigrationJob)
    {
        let found = observed.migrations.get(&revision);
        let state = found.map_or(MigrationState::Running, |m| m.state);
        if database_starting {
            holds.migration = true;
        } else if found.is_none() {
            let mut job = job.clone();
            job.metadata_mut().owner_references = Some(vec![owner.clone()]);
            // Applied after the ServiceAccount and ConfigMap it uses.
            migration_job = Some(job);
        }
        if !database_starting {
            holds.migration = state != MigrationState::Succeeded;
            assessment.migration = Some(MigrationFacts {
                revision,
                job: job.name().to_string(),
                state,
                running_revision,
                log_tail: None,
            });
        }
    }
    holds.migration |= hold_for_backup;
    decision
        .prune
        .extend(migration::old_jobs(&observed.migrations, revision));
    migration_job
}

/// How soon to look again: slowly while only a change helps, soon while
/// something is in flight.
fn pace(
    decision: &Decision,
    assessment: &Assessment,
    holds: Holds,
    urls_missing: bool,
    revision: i64,
) -> Pace {
    let in_flight = urls_missing
        || decision.release_hold
        || !decision.apply.is_empty()
        || decision.generate.is_some()
        || assessment.workload.as_ref().is_none_or(|w| !w.rolled_out());
    let migration_failed = assessment
        .migration
        .as_ref()
        .is_some_and(|m| m.state == MigrationState::Failed);
    // A rollout that time alone moves (a timed pause, the next analysis
    // round, the scale-down delay) wakes when it is due; one that waits
    // for pods or checks looks again soon.
    let rollout_moving = decision.wake.is_none()
        && assessment.rollout.as_ref().is_some_and(|r| {
            use crate::rollout::progressive;
            r.revision == revision
                && (progressive::phase_of(r) == crate::rollout::machine::Phase::Progressing
                    || progressive::promoting(r))
        });
    if !assessment.missing_secrets.is_empty() || migration_failed {
        Pace::Blocked
    } else if in_flight || holds.migration || rollout_moving {
        Pace::Waiting
    } else {
        Pace::Steady
    }
}
