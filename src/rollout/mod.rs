//! Rollouts: numbered revisions of the pod template and, per strategy, how
//! a new revision replaces the stable one. Pure: time comes in as `now`.

pub mod ab;
pub mod machine;
pub mod progressive;
pub mod revisions;
pub mod traffic;
