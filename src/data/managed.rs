//! One managed store in AWS, whatever its kind: describe it, decide the
//! one next step (pure), make the one call that step needs. RDS instances
//! and ElastiCache replication groups are two implementations of
//! [`ManagedStore`]; bringing a store to its request (`ensure`) and
//! tearing it down by its deletion policy (`teardown`) are written once,
//! here.

use super::{
    aws::AwsError,
    identity::Owner,
    store::{
        DeleteFailure, StoreReport, StoreState, Teardown, TeardownStep, after_delete, teardown_step,
    },
};
use crate::api::DeletionPolicy;

/// The one call that brings a store closer to its request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreStep<Change> {
    Create,
    /// Tag an untagged store for this resource, then look again.
    Adopt,
    Modify(Change),
    /// Nothing to call: report this state.
    Report(StoreState),
}

/// What the spec asks of a store, as every kind has it.
pub trait StoreRequest {
    fn identifier(&self) -> &str;
    fn tags(&self) -> &[(String, String)];
    fn deletion_policy(&self) -> DeletionPolicy;
    /// Identifier of the final snapshot taken on deletion.
    fn final_snapshot_identifier(&self) -> String;
}

/// What one describe shows of a store, as every kind has it.
pub trait DescribedStore {
    fn status(&self) -> &str;
    fn tags(&self) -> &[(String, String)];
    fn arn(&self) -> Option<&str>;
}

/// Implements [`StoreRequest`] and [`DescribedStore`] for a request and a
/// describe that hold the common fields under the common names.
macro_rules! store_fields {
    ($request:ty, $found:ty) => {
        impl $crate::data::managed::StoreRequest for $request {
            fn identifier(&self) -> &str {
                &self.identifier
            }
            fn tags(&self) -> &[(String, String)] {
                &self.tags
            }
            fn deletion_policy(&self) -> $crate::api::DeletionPolicy {
                self.deletion_policy
            }
            fn final_snapshot_identifier(&self) -> String {
                <$request>::final_snapshot_identifier(self)
            }
        }

        impl $crate::data::managed::DescribedStore for $found {
            fn status(&self) -> &str {
                &self.status
            }
            fn tags(&self) -> &[(String, String)] {
                &self.tags
            }
            fn arn(&self) -> Option<&str> {
                self.arn.as_deref()
            }
        }
    };
}
pub(crate) use store_fields;

/// The tagging calls of a [`ManagedStore`] whose SDK client (`self.client`)
/// has `AddTagsToResource` and `RemoveTagsFromResource`, as RDS and
/// ElastiCache both do; `tags` makes the SDK's tags from pairs.
macro_rules! tagging_calls {
    () => {
        async fn tag(&self, arn: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
            self.client
                .add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(tags(pairs)))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| classify("AddTagsToResource", &error))
        }

        async fn untag(&self, arn: &str) -> Result<(), AwsError> {
            self.client
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(Owner::ownership_tag_keys()))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| classify("RemoveTagsFromResource", &error))
        }
    };
}
pub(crate) use tagging_calls;

/// A kind of managed store: its describe, its pure next step, and the
/// calls each step makes. A third kind (or a snapshot kind) is one more
/// implementation.
#[allow(async_fn_in_trait)] // used in this crate only, never as `dyn`
pub trait ManagedStore {
    type Request: StoreRequest;
    type Found: DescribedStore + Default;
    type Change;
    /// The calls that create and modify the store, for reports and errors.
    const CREATE: &'static str;
    const MODIFY: &'static str;

    /// The store, `None` when there is none.
    async fn describe(&self, identifier: &str) -> Result<Option<Self::Found>, AwsError>;
    /// The next call, from the request and one describe. Pure.
    fn next(
        request: &Self::Request,
        owner: &Owner,
        found: Option<&Self::Found>,
    ) -> StoreStep<Self::Change>;
    /// Creates the store with `secret` as its password or auth token; one
    /// that already exists (a create whose response was lost, or another
    /// replica's) counts as created.
    async fn create(
        &self,
        request: &Self::Request,
        owner: &Owner,
        secret: String,
    ) -> Result<(), AwsError>;
    /// The Event a create says.
    fn created(request: &Self::Request) -> String;
    async fn modify(&self, request: &Self::Request, change: &Self::Change) -> Result<(), AwsError>;
    /// The Event a modification says, `found` as described before it.
    fn modified(request: &Self::Request, change: &Self::Change, found: &Self::Found) -> String;
    /// Adds `tags` to the store `arn`.
    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Removes the ownership tags from the store `arn`.
    async fn untag(&self, arn: &str) -> Result<(), AwsError>;
    /// Asks AWS to delete the store, after `final_snapshot` when given.
    async fn delete(
        &self,
        identifier: &str,
        final_snapshot: Option<String>,
    ) -> Result<(), DeleteFailure>;
    /// The delete call, for reports and errors.
    const DELETE: &'static str;
    /// What the store is called in Events: "RDS instance".
    const LABEL: &'static str;

    /// Looks at the store and makes the one call it needs. `secret` is
    /// asked for only when the store is created.
    async fn ensure<E: From<AwsError>>(
        &self,
        request: &Self::Request,
        owner: &Owner,
        secret: impl AsyncFnOnce() -> Result<String, E>,
    ) -> Result<StoreReport, E> {
        let found = self.describe(request.identifier()).await?;
        let mut report = StoreReport {
            identifier: request.identifier().to_string(),
            state: StoreState::Creating,
            mutations: Vec::new(),
            notes: Vec::new(),
        };
        match Self::next(request, owner, found.as_ref()) {
            StoreStep::Create => {
                let secret = secret().await?;
                if let Err(error) = self.create(request, owner, secret).await {
                    return Ok(rejected_or(error, report)?);
                }
                report.mutations.push(Self::CREATE);
                report.notes.push(Self::created(request));
            }
            StoreStep::Adopt => {
                let Some(arn) = found.as_ref().and_then(|f| f.arn()) else {
                    return Ok(report);
                };
                if let Err(error) = self.tag(arn, request.tags()).await {
                    return Ok(rejected_or(error, report)?);
                }
                report.mutations.push("AddTagsToResource");
                report.notes.push(format!(
                    "adopted the existing {} {} (it had no owner tag)",
                    Self::LABEL,
                    request.identifier()
                ));
                report.state = StoreState::Busy {
                    status: "adopting".into(),
                };
            }
            StoreStep::Modify(change) => {
                let note = Self::modified(request, &change, &found.unwrap_or_default());
                if let Err(error) = self.modify(request, &change).await {
                    return Ok(rejected_or(error, report)?);
                }
                report.mutations.push(Self::MODIFY);
                report.notes.push(note);
                report.state = StoreState::Busy {
                    status: "modifying".into(),
                };
            }
            StoreStep::Report(state) => report.state = state,
        }
        Ok(report)
    }

    /// One step of tearing the store down by its deletion policy.
    /// Repeated calls are safe: a deletion under way is waited for, never
    /// asked for twice.
    async fn teardown(&self, request: &Self::Request, owner: &Owner) -> Result<Teardown, AwsError> {
        let found = self.describe(request.identifier()).await?;
        let step = teardown_step(
            request.deletion_policy(),
            request.final_snapshot_identifier(),
            found.as_ref().map(|f| (f.status(), f.tags())),
            owner,
        );
        match step {
            TeardownStep::Finished(teardown) => Ok(teardown),
            TeardownStep::RemoveTags => {
                if let Some(arn) = found.as_ref().and_then(|f| f.arn()) {
                    self.untag(arn).await?;
                }
                Ok(Teardown::Retained)
            }
            TeardownStep::Delete { final_snapshot } => {
                let result = self
                    .delete(request.identifier(), final_snapshot.clone())
                    .await;
                after_delete(Self::DELETE, final_snapshot, result)
            }
        }
    }
}

/// A refusal becomes the store's state; a transient failure fails the reconcile.
pub(super) fn rejected_or(
    error: AwsError,
    mut report: StoreReport,
) -> Result<StoreReport, AwsError> {
    match error {
        AwsError::Rejected {
            operation,
            code,
            message,
        } => {
            report.state = StoreState::Rejected {
                message: format!("{operation}: {code}: {message}"),
            };
            Ok(report)
        }
        transient => Err(transient),
    }
}
