//! Redis on AWS ElastiCache: a replication group with in-transit
//! encryption and an auth token. Same shape as `rds`: a request from the
//! spec, one describe, a pure `step`, then at most one mutating call.

mod calls;
mod request;

pub use calls::ElastiCache;
pub use request::{CacheGroup, CacheRequest, CacheStep, step};
