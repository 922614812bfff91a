//! What every managed store is described by, whatever its kind: where it
//! answers, what state it is in and what a reconcile did to it, and how
//! tearing it down goes. Pure.

use super::{
    aws::AwsError,
    identity::{self, Owner},
};

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

/// The one call a teardown step makes, decided from one describe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TeardownStep {
    /// Nothing to call: the store is gone, not ours, or already deleting.
    Finished(Teardown),
    /// `Retain`: remove the ownership tags.
    RemoveTags,
    /// `Snapshot` or `Delete`: ask AWS to delete, with the final snapshot.
    Delete { final_snapshot: Option<String> },
}

/// What tearing a store down takes next, from its deletion policy and what
/// the describe found (`status`, `tags`), `None` when it is not there.
/// Pure, and the same for an RDS instance and a replication group.
pub fn teardown_step(
    policy: crate::api::DeletionPolicy,
    final_snapshot_identifier: String,
    found: Option<(&str, &[(String, String)])>,
    owner: &Owner,
) -> TeardownStep {
    use crate::api::DeletionPolicy;
    let Some((status, tags)) = found else {
        return TeardownStep::Finished(Teardown::Gone);
    };
    if identity::claim(owner, tags) != Ok(identity::Claim::Owned) {
        // Not ours (any more): never delete someone else's data.
        return TeardownStep::Finished(Teardown::Gone);
    }
    let final_snapshot = (policy == DeletionPolicy::Snapshot).then_some(final_snapshot_identifier);
    if status == "deleting" {
        // Under way: waited for, never asked for twice.
        return TeardownStep::Finished(Teardown::Deleting { final_snapshot });
    }
    match policy {
        DeletionPolicy::Retain => TeardownStep::RemoveTags,
        DeletionPolicy::Snapshot | DeletionPolicy::Delete => {
            TeardownStep::Delete { final_snapshot }
        }
    }
}

/// Why a delete call failed: the store was already gone, or AWS said no.
pub struct DeleteFailure {
    pub not_found: bool,
    pub error: AwsError,
}

/// The teardown state after a delete call `operation`: under way, already
/// gone, or refused (the finalizer stays); a transient failure is an error.
pub fn after_delete(
    operation: &str,
    final_snapshot: Option<String>,
    result: Result<(), DeleteFailure>,
) -> Result<Teardown, AwsError> {
    match result {
        Ok(()) => Ok(Teardown::Deleting { final_snapshot }),
        Err(DeleteFailure {
            not_found: true, ..
        }) => Ok(Teardown::Gone),
        Err(DeleteFailure { error, .. }) => match error {
            AwsError::Rejected { code, message, .. } => Ok(Teardown::Refused {
                message: format!("{operation}: {code}: {message}"),
            }),
            transient => Err(transient),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::DeletionPolicy;

    fn owner(uid: &str) -> Owner {
        Owner {
            namespace: "shop".into(),
            name: "stocks".into(),
            uid: uid.into(),
        }
    }

    fn step(policy: DeletionPolicy, status: &str, tags: &[(String, String)]) -> TeardownStep {
        teardown_step(
            policy,
            "chatbot-shop-stocks-final".into(),
            Some((status, tags)),
            &owner("uid-1"),
        )
    }

    #[test]
    fn each_policy_makes_its_one_call_on_an_owned_store() {
        let ours = owner("uid-1").tags();
        assert_eq!(
            step(DeletionPolicy::Snapshot, "available", &ours),
            TeardownStep::Delete {
                final_snapshot: Some("chatbot-shop-stocks-final".into())
            }
        );
        assert_eq!(
            step(DeletionPolicy::Delete, "available", &ours),
            TeardownStep::Delete {
                final_snapshot: None
            }
        );
        assert_eq!(
            step(DeletionPolicy::Retain, "available", &ours),
            TeardownStep::RemoveTags
        );
    }

    #[test]
    fn a_deletion_under_way_is_waited_for_and_someone_elses_store_never_touched() {
        let ours = owner("uid-1").tags();
        assert_eq!(
            step(DeletionPolicy::Snapshot, "deleting", &ours),
            TeardownStep::Finished(Teardown::Deleting {
                final_snapshot: Some("chatbot-shop-stocks-final".into())
            })
        );
        let theirs = owner("uid-2").tags();
        assert_eq!(
            step(DeletionPolicy::Delete, "available", &theirs),
            TeardownStep::Finished(Teardown::Gone)
        );
        assert_eq!(
            step(DeletionPolicy::Delete, "available", &[]),
            TeardownStep::Finished(Teardown::Gone),
            "untagged: not ours to delete"
        );
        assert_eq!(
            teardown_step(DeletionPolicy::Delete, "x".into(), None, &owner("uid-1")),
            TeardownStep::Finished(Teardown::Gone)
        );
    }

    #[test]
    fn a_refused_delete_keeps_the_finalizer_and_a_lost_store_counts_as_gone() {
        let refused = after_delete(
            "DeleteDBInstance",
            None,
            Err(DeleteFailure {
                not_found: false,
                error: AwsError::Rejected {
                    operation: "DeleteDBInstance",
                    code: "InvalidDBInstanceState".into(),
                    message: "backing up".into(),
                },
            }),
        );
        assert_eq!(
            refused.unwrap(),
            Teardown::Refused {
                message: "DeleteDBInstance: InvalidDBInstanceState: backing up".into()
            }
        );
        let gone = after_delete(
            "DeleteDBInstance",
            None,
            Err(DeleteFailure {
                not_found: true,
                error: AwsError::Rejected {
                    operation: "DeleteDBInstance",
                    code: "DBInstanceNotFound".into(),
                    message: "gone".into(),
                },
            }),
        );
        assert_eq!(gone.unwrap(), Teardown::Gone);
    }
}
