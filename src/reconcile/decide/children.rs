//! The children to apply and to prune: the rendered ones, with a
//! rollout's candidate and split route, the maintenance page's route, and
//! whatever a hold keeps as it is left out; a child already as rendered
//! is not sent again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::{Holds, Inputs};
use crate::{
    reconcile::{
        decision::Decision, delivery::Delivery, events, maintenance, observe::Ownership,
        status::Assessment,
    },
    render::{Child, ChildKind, Rendered},
};

/// Fills `decision.apply`, `prune` and `backup_templates` from `rendered`
/// and a rollout's `delivery`.
pub(super) fn choose(
    inputs: &Inputs,
    rendered: Rendered,
    delivery: Option<&Delivery>,
    owner: &OwnerReference,
    holds: Holds,
    assessment: &mut Assessment,
    decision: &mut Decision,
) {
    let Rendered {
        mut children,
        context,
        resolution,
        ..
    } = rendered;
    if let Some(delivery) = delivery {
        children.retain(|c| !c.kind().is_route());
        children.extend(delivery.candidate.iter().cloned());
        children.extend(delivery.route.iter().cloned());
        children.sort_by_key(Child::kind);
        assessment.rollout = delivery.progress.status.clone();
        decision.wake = delivery.wake;
        if let Some((phase, message)) = &delivery.progress.transition {
            decision.notes.push(events::rollout_note(*phase, message));
        }
        decision.notes.extend(delivery.notes.iter().cloned());
    }
    let (page, switched) = maintenance::route(
        &mut children,
        &context,
        &resolution.spec,
        inputs.status,
        inputs.observed,
        inputs.now,
    );
    assessment.maintenance = page;
    decision.notes.extend(switched);
    let wanted: Vec<(ChildKind, String)> = children
        .iter()
        .map(|c| (c.kind(), c.name().to_string()))
        .collect();
    for child in children {
        apply(inputs, child, owner, holds, decision);
    }
    for ((kind, name), child) in &inputs.observed.children {
        if child.ownership == Ownership::Ours
            && !wanted.contains(&(*kind, name.clone()))
            && *kind != ChildKind::MigrationJob
        {
            decision
                .prune
                .push((*kind, child.name.clone(), child.uid.clone()));
        }
    }
}

/// One rendered child: a Job template kept for the backup step, left out
/// while a hold keeps it, skipped when already as rendered, else applied.
fn apply(
    inputs: &Inputs,
    mut child: Child,
    owner: &OwnerReference,
    holds: Holds,
    decision: &mut Decision,
) {
    let kind = child.kind();
    if kind.is_job_template() {
        child.metadata_mut().owner_references = Some(vec![owner.clone()]);
        decision.backup_templates.push(child);
        return;
    }
    // While a rollout holds the stable Deployment its pods keep their
    // ConfigMap too (the candidate reads its own): a stable pod that
    // restarts meanwhile comes back with the config it had.
    if kind == ChildKind::MigrationJob
        || (holds.deployment() && kind == ChildKind::Deployment)
        || (holds.stable && kind == ChildKind::ConfigMap)
        || (holds.restoring && kind == ChildKind::Pooler)
    {
        return;
    }
    let current = inputs
        .observed
        .children
        .get(&(kind, child.name().to_string()));
    // After a rollback the Deployment's template is not the one its
    // hash annotation names: the spec's goes back on in any case.
    let restore = decision.release_hold && kind == ChildKind::Deployment;
    let up_to_date = !restore
        && current.is_some_and(|c| {
            c.ownership == Ownership::Ours && c.spec_hash.as_deref() == child.spec_hash()
        });
    if up_to_date {
        return;
    }
    if let Some(deployment) = child.app_deployment()
        && deployment
            .spec
            .as_ref()
            .is_some_and(|s| s.replicas.is_none())
    {
        decision.replicas_handover = inputs.observed.replicas_owned;
    }
    child.metadata_mut().owner_references = Some(vec![owner.clone()]);
    decision.apply.push(child);
}
