//! What the data step says about each store, for status and the loop:
//! ready or not and why, the store's status block, and the Events the
//! step asks for. Plain data.

use crate::{
    api::{ChatbotDeploymentSpec, StoreMode, StoreStatus, condition_types as types},
    data::{StoreReport, connection::StoreKind},
    reconcile::{
        conditions::Judgements,
        outcome::{Note, Outcome, Pace},
    },
};

/// Finalizer on resources with managed stores, removed once every store
/// is deleted, snapshotted or retained as its deletion policy says.
pub const FINALIZER: &str = "chatbot.dev/data-stores";

/// What the status says about one store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreFacts {
    pub ready: bool,
    /// Short, stable reason for the store's condition.
    pub reason: String,
    pub message: String,
    /// The store cannot be used until someone acts (AWS refused, failed state).
    pub failed: bool,
    pub status: StoreStatus,
}

/// What the data step found and did.
#[derive(Clone, Debug, Default)]
pub struct DataOutcome {
    pub database: Option<StoreFacts>,
    pub cache: Option<StoreFacts>,
    pub notes: Vec<Note>,
    /// AWS calls that changed something, for metrics and tests.
    pub mutations: Vec<&'static str>,
}

impl DataOutcome {
    /// A store needs someone to act.
    pub fn failed(&self) -> bool {
        [&self.database, &self.cache]
            .into_iter()
            .flatten()
            .any(|f| f.failed)
    }

    /// A store is on its way: look again soon.
    pub fn waiting(&self) -> bool {
        [&self.database, &self.cache]
            .into_iter()
            .flatten()
            .any(|f| !f.ready && !f.failed)
    }

    /// `DatabaseReady` and `CacheReady`, for each store the step looked at.
    pub fn conditions(&self) -> Judgements {
        let mut conditions = Judgements::default();
        for (kind, store) in [
            (types::DATABASE_READY, &self.database),
            (types::CACHE_READY, &self.cache),
        ] {
            if let Some(store) = store {
                conditions.set(kind, store.ready, &store.reason, store.message.clone());
            }
        }
        conditions
    }

    /// What the data step asks of the loop: its conditions and Events,
    /// and a look again soon while a store is on its way, slowly once one
    /// needs someone (only a change in the spec or in AWS helps).
    pub fn outcome(&self) -> Outcome {
        let pace = if self.failed() {
            Some(Pace::Blocked)
        } else if self.waiting() {
            Some(Pace::Waiting)
        } else {
            None
        };
        Outcome {
            conditions: self.conditions(),
            notes: self.notes.clone(),
            pace,
            ..Outcome::default()
        }
    }
}

/// Facts of a store the operator does not run: `None` for a managed or
/// in-cluster one, which only a look at AWS or its StatefulSet can tell
/// about.
pub fn unmanaged_facts(spec: &ChatbotDeploymentSpec, kind: StoreKind) -> Option<StoreFacts> {
    let (mode, reference) = match kind {
        StoreKind::Database => {
            let database = spec.database.clone().unwrap_or_default();
            (database.mode.unwrap_or_default(), database.url_secret_ref)
        }
        StoreKind::Cache => {
            let cache = spec.cache.clone().unwrap_or_default();
            (cache.mode.unwrap_or_default(), cache.url_secret_ref)
        }
    };
    let field = kind.field();
    let (reason, message) = match mode {
        StoreMode::Managed => return None,
        StoreMode::None => ("NotUsed", format!("spec.{field}.mode is none")),
        StoreMode::External => (
            "External",
            match reference {
                Some(r) => format!(
                    "{} comes from Secret {} key {} (checked by SecretsReady)",
                    kind.url_key(),
                    r.name,
                    r.key
                ),
                None => format!("spec.{field}.urlSecretRef is not set"),
            },
        ),
        // Judged from its StatefulSet by the data step.
        StoreMode::InCluster => return None,
    };
    Some(StoreFacts {
        ready: true,
        reason: reason.into(),
        message,
        failed: false,
        status: StoreStatus::default(),
    })
}

pub(super) fn set_facts(outcome: &mut DataOutcome, kind: StoreKind, facts: StoreFacts) {
    match kind {
        StoreKind::Database => outcome.database = Some(facts),
        StoreKind::Cache => outcome.cache = Some(facts),
    }
}

pub(super) fn record(outcome: &mut DataOutcome, report: &StoreReport) {
    outcome.mutations.extend(report.mutations.iter().copied());
    for note in &report.notes {
        outcome.notes.push(Note {
            warning: false,
            reason: "StoreChanged".into(),
            message: note.clone(),
        });
    }
}

/// A store's status: what the data step found, none for a store the
/// operator does not manage, the previous one when it was not looked at.
pub fn store_status(
    facts: &Option<StoreFacts>,
    previous: Option<StoreStatus>,
) -> Option<StoreStatus> {
    match facts {
        Some(facts) if facts.status == StoreStatus::default() => None,
        Some(facts) => Some(facts.status.clone()),
        None => previous,
    }
}
