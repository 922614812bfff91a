//! The revision's pre-rollout backup and its migration Job.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::{Holds, Inputs};
use crate::{
    backup::gate::Gate,
    reconcile::{
        decision::Decision,
        holds, migration,
        observe::MigrationState,
        status::{Assessment, MigrationFacts},
    },
    render::{Child, ChildKind, Rendered},
    rollout::revisions,
};

/// The pre-rollout backup and the migration of the revision: the backup
/// goes first (migrations are what a restore undoes), then the revision's
/// Job runs to completion before its pods replace the running ones; the
/// running revision keeps serving. Returns the migration Job to create.
pub(super) fn migrate(
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
