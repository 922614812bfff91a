//! The decision of one reconcile, pure: from the resource, the renderer and
//! what the caches hold, which children to apply or prune, which values to
//! generate, which revision the pods are, and the facts the status is built
//! from. No I/O, no clock: `now` comes in.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::Resource;

use super::{
    observe::{MigrationState, Observed, Ownership},
    status::{Assessment, MigrationFacts},
};
use crate::{
    api::ChatbotDeployment,
    capacity::{self, CheckStatus},
    cost,
    render::{Child, ChildKind, RenderError, Rendered, Renderer},
    rollout::revisions,
    secrets,
};

use super::{delivery, holds, migration, rollback};

pub use super::decision::{Decision, Generate};
use super::outcome::{Blocker, Note, Pace};

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
    let blocked = |mut assessment: Assessment, blocker: Blocker| Decision {
        assessment: {
            assessment.blocker = Some(blocker);
            assessment
        },
        pace: Some(Pace::Blocked),
        ..Default::default()
    };

    // Render at the revision the history says the pods are.
    let history_revision = status
        .revisions
        .last()
        .map(|r| r.revision)
        .or(observed.recovered_revision().map(|r| r.revision))
        .unwrap_or(1);
    let rendered = match render_at(renderer, cbd, history_revision, observed) {
        Ok(rendered) => rendered,
        Err(error) => return blocked(assessment, render_blocker(&error)),
    };
    let spec = &rendered.resolution.spec;
    assessment.monitoring = crate::monitoring::facts(
        spec,
        &rendered.monitoring_gaps,
        !observed.monitoring_missing,
    );
    assessment.paused = spec.paused.unwrap_or(false);
    let checks = capacity::checks(spec);
    assessment.cost = Some(cost::estimate(spec));
    assessment.capacity = Some(checks.clone());
    assessment.edge_gaps = crate::render::edge_gaps(spec);
    assessment.missing_secrets = secrets::missing(&secrets::references(spec), |name| {
        observed.secret_keys.get(name).cloned().flatten()
    });

    if let Some(over) = checks.iter().find(|c| c.status == CheckStatus::Exceeded) {
        return blocked(
            assessment,
            Blocker {
                reason: "CapacityExceeded",
                path: over.field.clone(),
                message: format!(
                    "{}: {} needs {} but the limit is {} ({}%); the running children are left as they are",
                    over.field, over.resource, over.needed, over.limit, over.percent
                ),
            },
        );
    }
    if let Some((kind, child)) = observed
        .children
        .iter()
        .find(|(_, child)| child.ownership == Ownership::Foreign)
    {
        return blocked(
            assessment,
            Blocker {
                reason: "ChildConflict",
                path: format!("{}/{}", kind.type_meta().1, child.name),
                message: format!(
                    "{} {} exists and is not managed by this ChatbotDeployment; rename or remove it",
                    kind.type_meta().1,
                    child.name
                ),
            },
        );
    }
    if observed.gateway_api_missing
        && rendered
            .children
            .iter()
            .any(|c| c.kind() == ChildKind::HttpRoute)
    {
        return blocked(
            assessment,
            Blocker {
                reason: "GatewayApiMissing",
                path: "spec.traffic.provider".into(),
                message: "spec.traffic.provider: gatewayAPI needs the Gateway API's HTTPRoute (gateway.networking.k8s.io/v1), which this cluster does not serve; install the Gateway API CRDs and restart the operator, or use ingressNginx or none".into(),
            },
        );
    }
    let generated_names = spec
        .secrets
        .as_ref()
        .and_then(|s| s.generated.clone())
        .unwrap_or_default();
    if !generated_names.is_empty()
        && let Some(existing) = &observed.generated
        && existing.ownership == Ownership::Foreign
    {
        let name = &rendered.context.names.generated_secret;
        return blocked(
            assessment,
            Blocker {
                reason: "ChildConflict",
                path: format!("Secret/{name}"),
                message: format!(
                    "Secret {name} exists and is not managed by this ChatbotDeployment; generated values are never written over someone else's Secret"
                ),
            },
        );
    }
    let Some(owner) = cbd.controller_owner_ref(&()) else {
        return blocked(
            assessment,
            Blocker {
                reason: "MissingUid",
                path: "metadata.uid".into(),
                message: "metadata.uid: the resource has no uid yet".into(),
            },
        );
    };
    if assessment.paused || assessment.deleting {
        return Decision {
            assessment,
            ..Default::default()
        };
    }

    let mut decision = Decision::default();

    // Generated values: only keys that are not there yet.
    let existing_keys = observed
        .generated
        .as_ref()
        .map(|g| g.keys.clone())
        .unwrap_or_default();
    let keys = secrets::keys_to_generate(&generated_names, &existing_keys);
    if !keys.is_empty() {
        decision.generate = Some(Generate {
            secret: rendered.context.names.generated_secret.clone(),
            labels: rendered.context.common_labels.clone(),
            create: observed.generated.is_none(),
            keys,
        });
    }

    // New pods wait for their Secrets and for the connection URLs of
    // managed stores; everything else goes ahead.
    let urls_missing =
        !holds::connection_urls_missing(spec, &rendered.context.names, observed).is_empty();
    let hold_pods = !assessment.missing_secrets.is_empty() || urls_missing;
    let rendered = if hold_pods {
        rendered
    } else {
        let choice = revisions::choose(
            &status.revisions,
            observed.recovered_revision().as_ref(),
            &rendered.template_hash,
        );
        let rendered = if choice.number == history_revision {
            rendered
        } else {
            match render_at(renderer, cbd, choice.number, observed) {
                Ok(rendered) => rendered,
                Err(error) => return blocked(assessment, render_blocker(&error)),
            }
        };
        if choice.record {
            assessment.revisions = revisions::record(
                &status.revisions,
                choice.number,
                &rendered.context.image,
                &rendered.template_hash,
                now,
                usize::try_from(rendered.context.revision_history_limit).unwrap_or(1),
            );
            let adopted = observed.recovered_revision().map(|r| r.revision) == Some(choice.number);
            if !adopted {
                decision.notes.push(Note {
                    warning: false,
                    reason: "RevisionCreated".into(),
                    message: format!(
                        "revision {} ({}) is rolling out",
                        choice.number, rendered.context.image
                    ),
                });
            }
        }
        assessment.current_revision = Some(choice.number);
        rendered
    };

    // An on-call rollback holds the pods at its revision while the spec's
    // generation is the one it was made against: the Deployment is left as
    // the rollback put it, re-applies of the same spec change nothing.
    let held = rollback::held(cbd).cloned();
    if let Some(held) = &held {
        assessment.current_revision = Some(held.revision);
        assessment.revisions = revisions::rolled_back(
            &assessment.revisions,
            held.instead_of,
            held.at.as_ref().unwrap_or(now),
        );
    } else if rollback::stale(cbd) {
        decision.release_hold = true;
        assessment.rollback = None;
    }
    // The pods stay as they are while a rollback holds them or a restore
    // keeps them (and the pooler) at zero.
    let restoring = crate::backup::restore::stops_writes(status.restore.as_ref());
    let frozen = held.is_some() || restoring;

    // Migrations: the revision's Job runs to completion before its pods
    // replace the running ones; the running revision keeps serving.
    let revision = rendered.context.revision;
    let running_revision = observed.workload.as_ref().and_then(|w| w.template_revision);
    let mut hold_for_migration = false;
    let mut migration_job = None;
    // The pre-rollout backup goes first: migrations are what a restore undoes.
    let gate = holds::pre_rollout_gate(&rendered, &status, running_revision, hold_pods || frozen);
    decision.pre_rollout_backup = gate.wants();
    if let crate::backup::gate::Gate::Passed { revision, taken } = &gate {
        assessment.revisions = revisions::with_snapshot(&assessment.revisions, *revision, taken);
    }
    let hold_for_backup = gate.holds();
    assessment.pre_rollout = hold_for_backup.then_some(gate);
    // A migration against a Postgres that is still starting would only
    // fail: it waits (managed stores hold the pods until their URL exists).
    let database_starting =
        rendered.context.stores.database.is_some() && !observed.in_cluster_database_ready;
    if !hold_pods
        && !frozen
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
            hold_for_migration = true;
        } else if found.is_none() {
            let mut job = job.clone();
            job.metadata_mut().owner_references = Some(vec![owner.clone()]);
            // Applied after the ServiceAccount and ConfigMap it uses.
            migration_job = Some(job);
        }
        if !database_starting {
            hold_for_migration = state != MigrationState::Succeeded;
            assessment.migration = Some(MigrationFacts {
                revision,
                job: job.name().to_string(),
                state,
                running_revision,
                log_tail: None,
            });
        }
    }
    hold_for_migration |= hold_for_backup;
    decision
        .prune
        .extend(migration::old_jobs(&observed.migrations, revision));

    // Canary and blue-green: the candidate runs beside the stable pods and
    // the route carries the split; the stable Deployment keeps its
    // template until the candidate is promoted.
    let delivery = if hold_pods || hold_for_migration || frozen {
        None
    } else {
        match delivery::plan(&rendered.resolution.spec, &rendered, observed, &status, now) {
            Ok(delivery) => delivery,
            Err(blocker) => return blocked(assessment, blocker),
        }
    };
    let hold_stable = delivery.as_ref().is_some_and(|d| !d.progress.apply_stable);
    // A strategy switched to Rolling mid-rollout: its candidate goes (not
    // rendered any more) and only a finished rollout stays on record.
    if delivery.is_none() && !(hold_pods || hold_for_migration || frozen) {
        assessment.rollout = status
            .rollout
            .clone()
            .filter(|r| crate::rollout::progressive::phase_of(r).is_terminal());
    }
    let Rendered {
        mut children,
        context,
        resolution,
        ..
    } = rendered;
    if let Some(delivery) = &delivery {
        children.retain(|c| !c.kind().is_route());
        children.extend(delivery.candidate.iter().cloned());
        children.extend(delivery.route.iter().cloned());
        children.sort_by_key(Child::kind);
        assessment.rollout = delivery.progress.status.clone();
        decision.wake = delivery.wake;
        if let Some((phase, message)) = &delivery.progress.transition {
            decision
                .notes
                .push(super::events::rollout_note(*phase, message));
        }
    }
    let spec = &resolution.spec;
    let (page, switched) =
        super::maintenance::route(&mut children, &context, spec, &status, observed, now);
    assessment.maintenance = page;
    decision.notes.extend(switched);
    let wanted: Vec<ChildKind> = children.iter().map(Child::kind).collect();
    for mut child in children {
        let kind = child.kind();
        if kind.is_job_template() {
            child.metadata_mut().owner_references = Some(vec![owner.clone()]);
            decision.backup_templates.push(child);
            continue;
        }
        if kind == ChildKind::MigrationJob
            || ((hold_pods || hold_for_migration || frozen || hold_stable)
                && kind == ChildKind::Deployment)
            || (restoring && kind == ChildKind::Pooler)
        {
            continue;
        }
        let current = observed.children.get(&kind);
        // After a rollback the Deployment's template is not the one its
        // hash annotation names: the spec's goes back on in any case.
        let restore = decision.release_hold && kind == ChildKind::Deployment;
        let up_to_date = !restore
            && current.is_some_and(|c| {
                c.ownership == Ownership::Ours && c.spec_hash.as_deref() == child.spec_hash()
            });
        if up_to_date {
            continue;
        }
        if let Some(deployment) = child.app_deployment()
            && deployment
                .spec
                .as_ref()
                .is_some_and(|s| s.replicas.is_none())
        {
            decision.replicas_handover = observed.replicas_owned;
        }
        child.metadata_mut().owner_references = Some(vec![owner.clone()]);
        decision.apply.push(child);
    }
    decision.apply.extend(migration_job);
    for (kind, child) in &observed.children {
        if child.ownership == Ownership::Ours
            && !wanted.contains(kind)
            && *kind != ChildKind::MigrationJob
        {
            decision
                .prune
                .push((*kind, child.name.clone(), child.uid.clone()));
        }
    }

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
    decision.pace = Some(
        if !assessment.missing_secrets.is_empty() || migration_failed {
            Pace::Blocked
        } else if in_flight || hold_for_migration || rollout_moving {
            Pace::Waiting
        } else {
            Pace::Steady
        },
    );
    decision.assessment = assessment;
    decision
}
