//! The next status of a ChatbotDeployment, computed from what the reconcile
//! found and decided. Pure: the previous status, the facts and `now` in, the
//! next status out; equal input gives an equal status, so nothing is written.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

mod assessment;
mod checks;
mod deleting;
mod history;
mod lifecycle;
pub mod phase;

pub use assessment::{Assessment, BackupFacts, MigrationFacts};
pub use checks::{backups as backup_conditions, spec as spec_conditions};
pub use deleting::deleting;

use super::{
    conditions::{ConditionSet, Judgements},
    data_stores::facts::store_status,
};
use crate::api::{ChatbotDeploymentStatus, CostEstimate, condition_types as types};

/// The order of the conditions the steps judge, in status, whichever step
/// judged them first; the lifecycle conditions follow.
const ORDER: [&str; 9] = [
    types::SECRETS_READY,
    types::CAPACITY_OK,
    types::WITHIN_BUDGET,
    types::EDGE_ENFORCED,
    types::MONITORED,
    types::BACKUP_HEALTHY,
    types::BACKUP_STALE,
    types::DATABASE_READY,
    types::CACHE_READY,
];

/// Computes the next status: the conditions the steps judged (a store
/// no step looked at says why), the lifecycle conditions they and the
/// workload imply, the revision history, and the blocks other steps own,
/// kept or taken over.
pub fn next(
    previous: Option<&ChatbotDeploymentStatus>,
    facts: &Assessment,
    judged: Judgements,
    now: &Time,
) -> ChatbotDeploymentStatus {
    let previous = previous.cloned().unwrap_or_default();
    let mut conditions = ConditionSet::new(&previous.conditions, facts.generation, now);
    let mut steps = judged;
    let mut unseen = Judgements::default();
    checks::not_checked(&mut unseen, &steps, facts.blocker.as_ref(), facts.paused);
    steps.extend(unseen);
    conditions.merge(steps.sorted_by(&ORDER));

    let progress = lifecycle::Progress::of(facts);
    let mut composed = Judgements::default();
    let lifecycle = lifecycle::conditions(&mut composed, facts, &progress);
    conditions.merge(composed);
    let (revisions, stable, canary_revision, canary_weight) =
        history::history(facts, &progress, previous.stable_revision, now);
    let workload = facts.workload.as_ref();
    ChatbotDeploymentStatus {
        observed_generation: facts.generation,
        phase: Some(lifecycle.phase.into()),
        conditions: conditions.finish(),
        current_revision: facts.current_revision.or(previous.current_revision),
        stable_revision: stable,
        canary_revision,
        canary_weight,
        ready_replicas: workload.map(|w| w.ready),
        revisions,
        database: store_status(&facts.database, previous.database),
        cache: store_status(&facts.cache, previous.cache),
        backups: match &facts.backups {
            Some(backups) => Some(backups.status.clone())
                .filter(|status| *status != crate::api::BackupsStatus::default()),
            None => previous.backups,
        },
        cost_estimate: facts
            .cost
            .as_ref()
            .map(|cost| CostEstimate {
                llm_monthly_usd: cost.llm.as_ref().map_or(0.0, |l| l.total_usd),
                infra_monthly_usd: cost.infra_usd,
                total_monthly_usd: cost.total_usd,
            })
            .or(previous.cost_estimate),
        // Owned by the rollback's own field manager; never sent from here.
        rollback: facts.rollback.clone(),
        rollout: facts.rollout.clone(),
        // Owned by the actions' field manager; never sent from here.
        rollout_command: previous.rollout_command,
        backup_request: previous.backup_request,
        restore_request: previous.restore_request,
        // The newest restore stays on record until the next one.
        restore: facts.restore.clone().or(previous.restore),
        // A spec that was not applied leaves the route, and so the page, as it was.
        maintenance: if facts.blocker.is_some() {
            previous.maintenance
        } else {
            facts.maintenance.clone()
        },
        // Owned by the actions' field manager; never sent from here.
        maintenance_hold: previous.maintenance_hold,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::reconcile::outcome::Blocker;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn types(status: &ChatbotDeploymentStatus) -> Vec<&str> {
        status.conditions.iter().map(|c| c.type_.as_str()).collect()
    }

    fn judged(entries: &[(&'static str, bool)]) -> Judgements {
        let mut judged = Judgements::default();
        for (type_, status) in entries {
            judged.set(type_, *status, "Judged", "as a step judged it");
        }
        judged
    }

    #[test]
    fn the_steps_conditions_stand_in_one_order_whichever_step_folded_first() {
        let steps_order = [
            (types::BACKUP_HEALTHY, true),
            (types::CACHE_READY, true),
            (types::DATABASE_READY, true),
            (types::MONITORED, true),
            (types::SECRETS_READY, true),
            (types::CAPACITY_OK, true),
        ];
        let mut reversed = steps_order;
        reversed.reverse();
        let now = at(100);
        let facts = Assessment::default();
        let one = next(None, &facts, judged(&steps_order), &now);
        let other = next(None, &facts, judged(&reversed), &now);
        assert_eq!(one, other);
        assert_eq!(
            types(&one)[..6],
            [
                types::SECRETS_READY,
                types::CAPACITY_OK,
                types::MONITORED,
                types::BACKUP_HEALTHY,
                types::DATABASE_READY,
                types::CACHE_READY,
            ]
        );
        // The lifecycle conditions follow what the steps judged.
        assert!(types(&one)[6..].contains(&types::READY));
    }

    #[test]
    fn a_store_no_step_looked_at_says_why() {
        let blocker = Blocker {
            reason: "InvalidSpec",
            path: "spec.replicas".into(),
            message: "min is greater than max".into(),
        };
        let now = at(100);
        for (blocker, paused, store_judged, says) in [
            (
                Some(blocker.clone()),
                false,
                false,
                "the spec is not applied (InvalidSpec)",
            ),
            (None, true, false, "spec.paused is true"),
            (None, false, false, "the spec did not resolve"),
            (Some(blocker), false, true, "as a step judged it"),
        ] {
            let facts = Assessment {
                blocker,
                paused,
                ..Assessment::default()
            };
            let judged = if store_judged {
                judged(&[(types::DATABASE_READY, false)])
            } else {
                Judgements::default()
            };
            let status = next(None, &facts, judged, &now);
            let database = status
                .conditions
                .iter()
                .find(|c| c.type_ == types::DATABASE_READY)
                .expect("DatabaseReady is always said");
            assert!(database.message.starts_with(says), "{}", database.message);
            let expected = if store_judged { "False" } else { "Unknown" };
            assert_eq!(database.status, expected);
        }
    }
}
