//! The variants of a test: one baseline and up to seven candidates, with
//! their weights, and what several candidates ask of the spec.

use crate::{
    api::AbTest,
    rollout::{
        machine::PlanError,
        traffic::{STICKY_NEVER, STICKY_VALUE},
    },
};

/// Candidates a test may have beside its baseline: a Gateway API route
/// has a backend and a sticky match per variant; ingress-nginx has one
/// canary Ingress per host, so one candidate there.
pub const MAX_CANDIDATES: usize = crate::names::MAX_CANDIDATES;

/// The variants of a test: the baseline, then each candidate with its
/// weight, in spec order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variants {
    pub baseline: String,
    pub candidates: Vec<Candidate>,
}

/// A variant that is not the baseline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub name: String,
    /// Percent of traffic on it.
    pub weight: i32,
}

impl Variants {
    /// Percent of traffic on the candidates together.
    pub fn candidate_weight(&self) -> i32 {
        self.candidates
            .iter()
            .map(|c| c.weight)
            .sum::<i32>()
            .min(100)
    }

    /// Percent of traffic on the baseline.
    pub fn baseline_weight(&self) -> i32 {
        100 - self.candidate_weight()
    }

    /// The smallest share of traffic any variant gets, in percent: the
    /// variant that takes longest to reach a test's size.
    pub fn slowest_weight(&self) -> i32 {
        self.candidates
            .iter()
            .map(|c| c.weight)
            .fold(self.baseline_weight(), i32::min)
    }
}

/// The test's variants: one baseline and one to [`MAX_CANDIDATES`]
/// candidates.
pub fn variants(test: &AbTest) -> Result<Variants, PlanError> {
    let baselines: Vec<_> = test
        .variants
        .iter()
        .filter(|v| v.baseline == Some(true))
        .collect();
    let candidates: Vec<Candidate> = test
        .variants
        .iter()
        .filter(|v| v.baseline != Some(true))
        .map(|v| Candidate {
            name: v.name.clone(),
            weight: v.weight.clamp(0, 100),
        })
        .collect();
    match baselines.as_slice() {
        [baseline] if (1..=MAX_CANDIDATES).contains(&candidates.len()) => Ok(Variants {
            baseline: baseline.name.clone(),
            candidates,
        }),
        _ => Err(PlanError {
            path: "spec.rollout.abTest.variants".into(),
            message: format!(
                "needs exactly one baseline variant and one to {MAX_CANDIDATES} others (the candidates); found {} baseline and {} other",
                baselines.len(),
                candidates.len()
            ),
        }),
    }
}

/// Several candidates are judged by the sequential test (the comparison
/// at the end takes one), and each is reached by its own name, so none
/// may take the values the route gives the stable revision and a lone
/// candidate.
pub(super) fn check_several(test: &AbTest, variants: &Variants) -> Result<(), PlanError> {
    let count = variants.candidates.len();
    if count < 2 {
        return Ok(());
    }
    if test.primary.is_none() {
        return Err(PlanError {
            path: "spec.rollout.abTest.primary".into(),
            message: format!(
                "is required with {count} candidates: the sequential test judges several at once, with its level split over them; the comparison at the end of a test without a primary metric takes one candidate"
            ),
        });
    }
    let reserved = [STICKY_VALUE, STICKY_NEVER];
    match test
        .variants
        .iter()
        .position(|v| reserved.contains(&v.name.as_str()))
    {
        Some(index) => Err(PlanError {
            path: format!("spec.rollout.abTest.variants[{index}].name"),
            message: format!(
                "{} is one of the route's sticky values ({} of a lone candidate, {} of the stable revision); beside other candidates each variant is reached by its name",
                test.variants[index].name, STICKY_VALUE, STICKY_NEVER
            ),
        }),
        None => Ok(()),
    }
}
