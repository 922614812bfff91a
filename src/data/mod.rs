//! Data services: the Postgres database and the Redis cache the app
//! connects to.
//!
//! Managed stores live in AWS (RDS, ElastiCache). Each is looked at with
//! one describe per reconcile; a pure `step` function decides from the
//! spec and that describe whether to create, modify, wait or report ready,
//! and only then is a mutating call made. Identifiers are derived from the
//! resource, so a restart or a lost response finds the store it created
//! instead of creating a second one.

pub mod aws;
pub mod connection;
pub mod elasticache;
pub mod identity;
pub mod rds;

pub use aws::{AwsClients, AwsError};
pub use identity::Owner;

/// Host and port of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: i32,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Where a managed store stands after one look at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreState {
    /// Being created; no endpoint yet.
    Creating,
    /// Serving at its endpoint; `pending` names changes AWS holds for the
    /// maintenance window.
    Available {
        endpoint: Endpoint,
        pending: Vec<String>,
    },
    /// Not serving for now (rebooting, upgrading, …): look again soon.
    Busy { status: String },
    /// In a state only a person can fix (failed, storage-full, …).
    Failed { status: String },
    /// AWS refused a request: a bad parameter, a quota. The message is AWS's.
    Rejected { message: String },
    /// Exists, but the tags say another resource owns it.
    OwnedElsewhere { owner: String },
}

/// What one reconcile found and did for one managed store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreReport {
    /// RDS instance identifier or ElastiCache replication group id.
    pub identifier: String,
    pub state: StoreState,
    /// Mutating calls made in this reconcile, e.g. `CreateDBInstance`.
    pub mutations: Vec<&'static str>,
    /// Events worth publishing (adoption, modification, …).
    pub notes: Vec<String>,
}

impl StoreReport {
    /// A short, stable reason for the store's condition.
    pub fn reason(&self) -> &'static str {
        match &self.state {
            StoreState::Creating => "Creating",
            StoreState::Available { pending, .. } if pending.is_empty() => "Available",
            StoreState::Available { .. } => "PendingMaintenance",
            StoreState::Busy { .. } => "Busy",
            StoreState::Failed { .. } => "Failed",
            StoreState::Rejected { .. } => "Rejected",
            StoreState::OwnedElsewhere { .. } => "OwnedElsewhere",
        }
    }

    /// The endpoint when the store serves.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match &self.state {
            StoreState::Available { endpoint, .. } => Some(endpoint),
            _ => None,
        }
    }
}

/// What happens to a managed store once its resource is deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Teardown {
    /// Deletion asked for (or under way); look again until it is gone.
    Deleting { final_snapshot: Option<String> },
    /// The store no longer exists (or never did).
    Gone,
    /// Left in place with its ownership tags removed.
    Retained,
    /// AWS refused the deletion; the finalizer stays.
    Refused { message: String },
}
