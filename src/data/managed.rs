//! One managed store in AWS, whatever its kind: describe it, decide the
//! one next step (pure), make the one call that step needs. RDS instances
//! and ElastiCache replication groups are two implementations of
//! [`ManagedStore`]; bringing a store to its request (`ensure`) and
//! tearing it down by its deletion policy (`teardown`) are written once,
//! here.

use aws_smithy_runtime_api::client::{orchestrator::HttpResponse, result::SdkError};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{
    aws::{AwsError, classify},
    identity::{self, Claim, Owner},
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
    /// Identifier of the final snapshot taken on deletion: derived, so a
    /// repeated deletion never asks for a second one.
    fn final_snapshot_identifier(&self) -> String {
        format!("{}-final", self.identifier())
    }
}

/// What one describe shows of a store, as every kind has it.
pub trait DescribedStore {
    fn status(&self) -> &str;
    fn tags(&self) -> &[(String, String)];
    fn arn(&self) -> Option<&str>;
}

/// Declares a kind of managed store: `$calls`, its calls over an SDK
/// client; the request and the describe it works with, which hold the
/// common fields under the common names ([`StoreRequest`],
/// [`DescribedStore`]); the change a modification makes; and the names
/// its reports and Events use: the create, modify and delete calls, and
/// what the store is called; and its pure `step`.
macro_rules! store_kind {
    ($(#[$doc:meta])* $calls:ident($client:ty) $request:ty, $found:ty, $change:ty, [$create:literal, $modify:literal, $delete:literal], $label:literal, $step:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $calls<'a> {
            pub client: &'a $client,
        }

        impl $crate::data::managed::StoreKind for $calls<'_> {
            type Request = $request;
            type Found = $found;
            type Change = $change;
            const CREATE: &'static str = $create;
            const MODIFY: &'static str = $modify;
            const DELETE: &'static str = $delete;
            const LABEL: &'static str = $label;

            fn next(
                request: &$request,
                owner: &$crate::data::Owner,
                found: Option<&$found>,
            ) -> $crate::data::managed::StoreStep<$change> {
                $step(request, owner, found)
            }
        }

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
pub(crate) use store_kind;

/// What a kind of store works with, and the names its reports use.
pub trait StoreKind {
    type Request: StoreRequest;
    type Found: DescribedStore + Default;
    type Change;
    /// The calls that create, modify and delete the store, for reports
    /// and errors.
    const CREATE: &'static str;
    const MODIFY: &'static str;
    const DELETE: &'static str;
    /// What the store is called in Events: "RDS instance".
    const LABEL: &'static str;

    /// The next call, from the request and one describe. Pure.
    fn next(
        request: &Self::Request,
        owner: &Owner,
        found: Option<&Self::Found>,
    ) -> StoreStep<Self::Change>;
}

/// The SDK's tags (`$tag`, RDS's or ElastiCache's `Tag`) from pairs.
macro_rules! sdk_tags {
    ($tag:ty, $pairs:expr) => {
        $pairs
            .iter()
            .map(|(k, v)| <$tag>::builder().key(k).value(v).build())
            .collect::<Vec<$tag>>()
    };
}
pub(crate) use sdk_tags;

/// The tagging calls of a [`ManagedStore`] whose SDK client (`self.client`)
/// has `AddTagsToResource` and `RemoveTagsFromResource` with tags of type
/// `$tag`, as RDS and ElastiCache both do.
macro_rules! tagging_calls {
    ($tag:ty) => {
        async fn tag(&self, arn: &str, pairs: &[(String, String)]) -> Result<(), AwsError> {
            let call = self.client.add_tags_to_resource().resource_name(arn);
            let tags = $crate::data::managed::sdk_tags!($tag, pairs);
            $crate::data::aws::done("AddTagsToResource", call.set_tags(Some(tags)).send().await)
        }

        async fn untag(&self, arn: &str) -> Result<(), AwsError> {
            let keys = Owner::ownership_tag_keys();
            let call = self.client.remove_tags_from_resource().resource_name(arn);
            let result = call.set_tag_keys(Some(keys)).send().await;
            $crate::data::aws::done("RemoveTagsFromResource", result)
        }
    };
}
pub(crate) use tagging_calls;

/// The steps every kind takes before it looks at its own fields: create
/// what is not there, adopt what no resource owns, never touch another
/// resource's store. `Ok` is the store this resource owns.
pub fn claimed<'a, Found: DescribedStore, Change>(
    owner: &Owner,
    found: Option<&'a Found>,
) -> Result<&'a Found, StoreStep<Change>> {
    let Some(found) = found else {
        return Err(StoreStep::Create);
    };
    match identity::claim(owner, found.tags()) {
        Err(other) => Err(StoreStep::Report(StoreState::OwnedElsewhere {
            owner: other,
        })),
        Ok(Claim::Adopt) => Err(StoreStep::Adopt),
        Ok(Claim::Owned) => Ok(found),
    }
}

/// A kind of managed store: its describe, its pure next step, and the
/// calls each step makes. A third kind (or a snapshot kind) is one more
/// implementation.
#[allow(async_fn_in_trait)] // used in this crate only, never as `dyn`
pub trait ManagedStore: StoreKind {
    /// The store, `None` when there is none.
    async fn describe(&self, identifier: &str) -> Result<Option<Self::Found>, AwsError>;
    /// Creates the store with `secret` as its password or auth token; one
    /// that already exists (a create whose response was lost, or another
    /// replica's) counts as created.
    async fn create(
        &self,
        request: &Self::Request,
        owner: &Owner,
        secret: String,
    ) -> Result<(), AwsError>;
    /// Gives the store `id` the credential `secret` at once, replacing
    /// the one it has (a Secret made anew, an adopted or restored store);
    /// clients holding the old one are refused from then on.
    async fn reset_secret(&self, id: &str, secret: &str) -> Result<(), AwsError>;
    /// What a create makes, for its Event: "db.t3.micro, 20 GiB".
    fn shape(request: &Self::Request) -> String;
    async fn modify(&self, request: &Self::Request, change: &Self::Change) -> Result<(), AwsError>;
    /// The Event a modification says, `found` as described before it.
    fn modified(request: &Self::Request, change: &Self::Change, found: &Self::Found) -> String;
    /// Adds `tags` to the store `arn`.
    async fn tag(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Removes the ownership tags from the store `arn`.
    async fn untag(&self, arn: &str) -> Result<(), AwsError>;
    /// Asks AWS to delete the store `id`, after a final `snapshot` of that
    /// name when given.
    async fn delete(&self, id: &str, snapshot: Option<String>) -> Result<(), DeleteFailure>;

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
                report.notes.push(format!(
                    "creating {} {} ({})",
                    Self::LABEL,
                    request.identifier(),
                    Self::shape(request)
                ));
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

/// The answer of a delete call of `operation`, telling a store that was
/// already gone (`gone`) from a refusal or a flaky AWS.
pub(crate) fn delete_answer<T, E>(
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
    gone: impl Fn(&E) -> bool,
) -> Result<(), DeleteFailure>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    result.map(|_| ()).map_err(|error| DeleteFailure {
        not_found: error.as_service_error().is_some_and(&gone),
        error: classify(operation, &error),
    })
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
