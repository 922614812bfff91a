//! The status of a resource being deleted. Pure.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::phase;
use crate::{
    api::{ChatbotDeploymentStatus, condition_types as types},
    reconcile::{
        conditions::ConditionSet,
        data_stores::facts::{StoreFacts, store_status},
    },
};

/// The status of a resource being deleted: the stores' conditions and
/// statuses as their teardown goes, everything else as it was.
pub fn deleting(
    previous: Option<&ChatbotDeploymentStatus>,
    database: &Option<StoreFacts>,
    cache: &Option<StoreFacts>,
    now: &Time,
) -> ChatbotDeploymentStatus {
    let previous = previous.cloned().unwrap_or_default();
    let mut conditions = ConditionSet::new(&previous.conditions, previous.observed_generation, now);
    for (kind, store) in [
        (types::DATABASE_READY, database),
        (types::CACHE_READY, cache),
    ] {
        if let Some(store) = store {
            conditions.set(kind, false, &store.reason, store.message.clone());
        }
    }
    let mut merged = previous.conditions.clone();
    for updated in conditions.finish() {
        match merged.iter_mut().find(|c| c.type_ == updated.type_) {
            Some(existing) => *existing = updated,
            None => merged.push(updated),
        }
    }
    ChatbotDeploymentStatus {
        phase: Some(phase::DELETING.into()),
        conditions: merged,
        database: store_status(database, previous.database.clone()),
        cache: store_status(cache, previous.cache.clone()),
        ..previous
    }
}
