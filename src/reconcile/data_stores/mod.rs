//! The data-store step of a reconcile: managed stores in AWS, their connection
//! Secrets, and the finalizer that honours the deletion policy. The only
//! part of the reconciler that talks to AWS.
//!
//! Order matters for safety: the finalizer is added before a store is
//! created (so a deletion can never orphan it), and the connection Secret
//! with the generated credential is created before the store (so a
//! restart between the two never loses the password).

mod converge;
pub mod facts;
mod finalize;
mod finalizer;
mod in_aws;
mod managed;
mod secret;

pub use converge::converge_stores;
pub use facts::{DataOutcome, FINALIZER, StoreFacts, unmanaged_facts};
pub use finalize::{Finalized, finalize};
pub use managed::owner_of;
pub(super) use secret::secret_view;
