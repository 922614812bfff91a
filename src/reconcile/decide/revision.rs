//! Which revision the pods are: the spec's (a new one recorded in the
//! history, or one the history already has), or the one an on-call
//! rollback holds them at.

use super::{
    Inputs,
    render::{render_at, render_blocker},
};
use crate::{
    reconcile::{
        decision::Decision, outcome::Blocker, outcome::Note, rollback, status::Assessment,
    },
    render::Rendered,
    rollout::revisions,
};

/// The spec's revision: the one the history has for this pod template, or
/// a new one, recorded (and said, unless it is the running one adopted).
/// `rendered` is the spec rendered at `history_revision`; it is rendered
/// again when the revision differs.
pub(super) fn choose(
    inputs: &Inputs,
    rendered: Rendered,
    history_revision: i64,
    assessment: &mut Assessment,
    decision: &mut Decision,
) -> Result<Rendered, Blocker> {
    let observed = inputs.observed;
    let history = &inputs.status.revisions;
    let choice = revisions::choose(
        history,
        observed.recovered_revision().as_ref(),
        &rendered.template_hash,
    );
    let rendered = if choice.number == history_revision {
        rendered
    } else {
        render_at(inputs.renderer, inputs.pods, choice.number, observed)
            .map_err(|error| render_blocker(&error))?
    };
    if choice.record {
        assessment.revisions = revisions::record(
            history,
            choice.number,
            &rendered.context.image,
            &rendered.template_hash,
            inputs.now,
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
    Ok(rendered)
}

/// An on-call rollback holds the pods at its revision while the spec's
/// generation is the one it was made against: the Deployment is left as
/// the rollback put it, re-applies of the same spec change nothing. Once
/// the spec changed, the hold is lifted. Whether the pods are held.
pub(super) fn held(inputs: &Inputs, assessment: &mut Assessment, decision: &mut Decision) -> bool {
    let held = rollback::held(inputs.cbd).cloned();
    let stale = rollback::stale(inputs.cbd);
    if let Some(held) = &held {
        assessment.current_revision = Some(held.revision);
        assessment.revisions = revisions::rolled_back(
            &assessment.revisions,
            held.instead_of,
            held.at.as_ref().unwrap_or(inputs.now),
        );
    } else if stale {
        decision.release_hold = true;
        assessment.rollback = None;
    }
    held.is_some()
}
