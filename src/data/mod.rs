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
pub mod elasticache_snapshot;
pub mod identity;
pub mod managed;
pub mod rds;
pub mod rds_restore;
pub mod rds_snapshot;
pub mod store;

pub use aws::{AwsClients, AwsError};
pub use identity::Owner;
pub use managed::ManagedStore;
pub use store::{
    DeleteFailure, Endpoint, StoreReport, StoreState, Teardown, TeardownStep, after_delete,
    teardown_step,
};
