//! An A/B test's candidates as revisions: which one leads (is rendered as
//! the spec's revision), the resource its pods run (its overlay over the
//! spec), and the others rendered and numbered beside it while the test
//! runs.

use super::{
    Inputs,
    render::{render_at, render_blocker},
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, ChatbotDeploymentStatus},
    reconcile::{
        decision::Decision,
        delivery::OtherCandidate,
        outcome::{Blocker, Note},
        status::Assessment,
    },
    render::{Rendered, candidate_spec_at, candidates},
    rollout::{progressive, revisions},
};

/// The position of the candidate the spec's revision is rendered from:
/// the one whose revision the rollout on record is (the lead of a test
/// in flight, or the winner it promoted), else the first that sets
/// anything over the spec (a candidate that sets nothing may run the
/// stable template), else the first.
pub(super) fn lead(cbd: &ChatbotDeployment, status: &ChatbotDeploymentStatus) -> usize {
    let of_spec = candidates(&cbd.spec);
    let on_record = status.rollout.as_ref().and_then(|rollout| {
        let variant = &rollout
            .candidates
            .iter()
            .find(|c| c.revision == rollout.revision)?
            .variant;
        of_spec.iter().position(|(_, v)| &v.name == variant)
    });
    on_record
        .or_else(|| of_spec.iter().position(|(_, v)| v.is_overlay()))
        .unwrap_or(0)
}

/// `cbd` with the overlay of its A/B test's candidate at `position` set
/// over its spec, once a revision runs to compare it with: the overlay is
/// the revision the pods go to, the stable revision stays the baseline,
/// and after promotion the winner keeps running while the spec still
/// names it. The very first revision is the spec's own. `None` without
/// an overlay (or with a bad one: rendering refuses it with its path).
pub(super) fn overlaid(
    cbd: &ChatbotDeployment,
    position: usize,
    status: &ChatbotDeploymentStatus,
    running: bool,
) -> Option<ChatbotDeployment> {
    let running = running || !status.revisions.is_empty();
    let spec = candidate_spec_at(&cbd.spec, position).ok().flatten()?;
    running.then(|| with_spec(cbd, spec))
}

/// `cbd` running `spec`: a candidate's pods are rendered from it.
fn with_spec(cbd: &ChatbotDeployment, spec: ChatbotDeploymentSpec) -> ChatbotDeployment {
    ChatbotDeployment {
        metadata: cbd.metadata.clone(),
        spec,
        status: cbd.status.clone(),
    }
}

/// Whether a test runs (or is about to start) for the lead's `revision`:
/// its rollout is in flight, or none is on record for it yet and the
/// stable pods run another revision.
fn test_runs(inputs: &Inputs, revision: i64) -> bool {
    match inputs.status.rollout.as_ref() {
        Some(rollout) if rollout.revision == revision => {
            progressive::phase_of(rollout).is_in_flight()
        }
        _ => inputs
            .observed
            .workload
            .as_ref()
            .and_then(|w| w.template_revision)
            .is_some_and(|stable| stable != revision),
    }
}

/// The test's other candidates beside the lead at `lead`, each rendered
/// from its own overlay (or the spec) at its own revision: the history's
/// for its template while the test runs, else a new one recorded beside
/// the lead's (and said). None unless a test of several runs.
pub(super) fn others(
    inputs: &Inputs,
    lead: usize,
    rendered: &Rendered,
    assessment: &mut Assessment,
    decision: &mut Decision,
) -> Result<Vec<OtherCandidate>, Blocker> {
    let of_spec = candidates(&inputs.cbd.spec);
    let count = of_spec.len();
    if count < 2 || !test_runs(inputs, rendered.context.revision) {
        return Ok(Vec::new());
    }
    // The stable revision's record stays beside every candidate's.
    let limit = usize::try_from(rendered.context.revision_history_limit)
        .unwrap_or(1)
        .max(count + 1);
    // The revision each ran at so far: rendered there, most reconciles
    // render each candidate once (the template hash leaves the number out).
    let ran_at = |position: usize| {
        let name = &of_spec.get(position)?.1.name;
        let rollout = inputs.status.rollout.as_ref()?;
        let found = rollout.candidates.iter().find(|c| &c.variant == name)?;
        Some(found.revision)
    };
    let mut others = Vec::new();
    for position in (0..count).filter(|p| *p != lead) {
        let spec = candidate_spec_at(&inputs.cbd.spec, position)
            .map_err(|error| render_blocker(&error))?
            .unwrap_or_else(|| inputs.cbd.spec.clone());
        let pods = with_spec(inputs.cbd, spec);
        let render = |number| {
            render_at(inputs.renderer, &pods, number, inputs.observed)
                .map_err(|error| render_blocker(&error))
        };
        let first = render(ran_at(position).unwrap_or(rendered.context.revision))?;
        let choice = revisions::choose(&assessment.revisions, None, &first.template_hash);
        let other = if choice.number == first.context.revision {
            first
        } else {
            render(choice.number)?
        };
        if choice.record {
            assessment.revisions = revisions::record_beside(
                &assessment.revisions,
                choice.number,
                &other.context.image,
                &other.template_hash,
                inputs.now,
                limit,
            );
            decision.notes.push(Note {
                warning: false,
                reason: "RevisionCreated".into(),
                message: format!(
                    "revision {} ({}) is rolling out beside revision {}, another candidate of the A/B test",
                    choice.number, other.context.image, rendered.context.revision
                ),
            });
        }
        others.push(OtherCandidate {
            position,
            rendered: other,
        });
    }
    Ok(others)
}
