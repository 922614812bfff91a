//! The candidates a rollout runs: one for a canary or a blue-green
//! preview, up to seven for an A/B test, each at its own revision. The
//! one that leads is the rollout's own revision (the spec rendered for
//! this reconcile); the others come rendered at theirs. Their pods,
//! their readiness taken together, their shares of the split, and the
//! switch to a winner that is not the lead.

use crate::{
    api::{ChatbotDeploymentSpec, RolloutCandidate, RolloutCommand, RolloutStatus, Sticky},
    names,
    reconcile::observe::{Observed, Workload},
    render::{CandidateOf, Child, Rendered, candidate_children},
    rollout::{
        ab::Variants,
        machine::Phase,
        progressive::{self, Pods},
        traffic::{Candidate, Split},
    },
};

/// An A/B test's candidate beside the one that leads, rendered at its
/// own revision.
#[derive(Clone, Debug)]
pub struct OtherCandidate {
    /// Its position among the test's candidates.
    pub position: usize,
    pub rendered: Rendered,
}

/// Which candidates run this reconcile.
#[derive(Clone, Copy, Debug, Default)]
pub struct Candidates<'a> {
    /// The position of the one rendered as the rollout's revision.
    pub lead: usize,
    pub others: &'a [OtherCandidate],
}

impl Candidates<'_> {
    /// Every running candidate's position and rendering, in position
    /// order, the lead's being `lead`.
    pub fn all<'r>(&'r self, lead: &'r Rendered) -> Vec<(usize, &'r Rendered)> {
        let mut all: Vec<(usize, &Rendered)> = std::iter::once((self.lead, lead))
            .chain(self.others.iter().map(|o| (o.position, &o.rendered)))
            .collect();
        all.sort_by_key(|(position, _)| *position);
        all
    }
}

/// A Deployment's pods as the machine judges them.
pub fn pods(workload: &Workload) -> Pods {
    Pods {
        revision: workload.template_revision,
        desired: workload.desired,
        rolled_out: workload.rolled_out(),
    }
}

/// The candidates of `rollout` by position and revision: each of an A/B
/// test's, found among the spec's by variant name, else the one.
pub fn running(spec: &ChatbotDeploymentSpec, rollout: &RolloutStatus) -> Vec<(usize, i64)> {
    if rollout.candidates.is_empty() {
        return vec![(0, rollout.revision)];
    }
    let of_spec = crate::render::candidates(spec);
    rollout
        .candidates
        .iter()
        .filter_map(|c| {
            let position = of_spec.iter().position(|(_, v)| v.name == c.variant)?;
            Some((position, c.revision))
        })
        .collect()
}

/// The Deployment observed at a candidate's position.
pub fn observed_at(observed: &Observed, position: usize) -> Option<&Workload> {
    match position {
        0 => observed.candidate.as_ref(),
        _ => observed.more_candidates.get(&position),
    }
}

/// The candidates' pods taken together, as the machine judges them: the
/// lead's, rolled out only when every other candidate's Deployment runs
/// its own revision with every pod available too.
pub fn pods_of(observed: &Observed, candidates: Candidates) -> Option<Pods> {
    let lead = observed_at(observed, candidates.lead).map(pods)?;
    let others = candidates.others.iter().all(|other| {
        observed_at(observed, other.position).is_some_and(|w| {
            w.rolled_out() && w.template_revision == Some(other.rendered.context.revision)
        })
    });
    Some(Pods {
        rolled_out: lead.rolled_out && others,
        ..lead
    })
}

/// Each running candidate's variant and revision, in position order.
pub fn recorded(
    variants: &Variants,
    candidates: Candidates,
    lead: &Rendered,
) -> Vec<RolloutCandidate> {
    candidates
        .all(lead)
        .into_iter()
        .filter_map(|(position, rendered)| {
            Some(RolloutCandidate {
                variant: variants.candidates.get(position)?.name.clone(),
                revision: rendered.context.revision,
            })
        })
        .collect()
}

/// Every running candidate's ConfigMap, Deployment and Service, with
/// `replicas` pods each, named and labelled for its position (a
/// Deployment's selector never changes).
pub fn children(
    candidates: Candidates,
    lead: &Rendered,
    replicas: i32,
    component: &str,
    variants: Option<&Variants>,
) -> Vec<Child> {
    candidates
        .all(lead)
        .into_iter()
        .flat_map(|(position, rendered)| {
            // The first keeps the component it is given (`app` when its
            // pods share the stable Service); the others their own.
            let component = match position {
                0 => component.to_string(),
                _ => names::candidate_component(position),
            };
            let variant = variants
                .and_then(|v| v.candidates.get(position))
                .map(|c| c.name.as_str());
            candidate_children(
                rendered,
                CandidateOf {
                    replicas,
                    component: &component,
                    position,
                    variant,
                },
            )
        })
        .collect()
}

/// The split with `weight` percent on the candidates: the lead alone
/// takes it all (a canary, a blue-green preview, one A/B candidate, a
/// winner being promoted); beside others each takes its variant's share
/// of it, reached by a sticky value that is its variant's name.
pub fn split(
    stable_service: &str,
    names_of: &names::ChildNames,
    candidates: Candidates,
    lead: &Rendered,
    weight: i32,
    variants: Option<&Variants>,
    sticky: Option<Sticky>,
) -> Split {
    let several = variants.filter(|_| !candidates.others.is_empty());
    let Some(variants) = several else {
        return Split::one(
            stable_service,
            &names_of.candidate_at(candidates.lead),
            weight,
            sticky,
        );
    };
    let total = variants.candidate_weight().max(1);
    let running = candidates.all(lead);
    let shares: Vec<Candidate> = running
        .iter()
        .filter_map(|(position, _)| {
            let variant = variants.candidates.get(*position)?;
            Some(Candidate {
                service: names_of.candidate_at(*position),
                weight: variant.weight * weight / total,
                sticky_value: variant.name.clone(),
            })
        })
        .collect();
    Split {
        stable_service: stable_service.to_string(),
        candidates: shares,
        sticky,
    }
}

/// A person's `Promote` of a named candidate makes it the winner, once
/// carried out.
pub fn name_winner(status: &mut RolloutStatus, command: Option<&RolloutCommand>) {
    let Some(command) = command else {
        return;
    };
    let Some(variant) = command.variant.as_ref() else {
        return;
    };
    let carried_out = command.command == "Promote"
        && status.last_action.as_deref() == Some(command.action.as_str())
        && progressive::phase_of(status) == Phase::Promoted;
    if !carried_out {
        return;
    }
    let report = status.report.get_or_insert_with(Default::default);
    if report.winner.as_ref() != Some(variant) {
        report.winner = Some(variant.clone());
        report.decision = format!("{variant} promoted by {}", command.action);
    }
}

/// A test that just promoted a winner that is not the lead hands the
/// rollout to it: the rollout's revision becomes the winner's, and the
/// lead's rendering is no longer what the stable Deployment takes (the
/// next reconcile renders the winner). The winner's position, when so.
pub fn hand_to_winner(
    status: &mut RolloutStatus,
    variants: &Variants,
    candidates: Candidates,
) -> Option<usize> {
    let winner = status.report.as_ref()?.winner.as_deref()?;
    let position = variants.candidates.iter().position(|c| c.name == winner)?;
    if position == candidates.lead {
        return None;
    }
    let other = candidates.others.iter().find(|o| o.position == position)?;
    status.revision = other.rendered.context.revision;
    status.message = format!(
        "{winner} (revision {}) is promoted and takes all traffic while the stable Deployment updates",
        status.revision
    );
    Some(position)
}
