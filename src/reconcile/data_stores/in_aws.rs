//! One managed store in AWS brought to its request: the connection
//! Secret's credential made first (it must exist before the store does),
//! the store's one next call, the credential given to a store that does
//! not have it, the Secret's URL kept current, and what the status says.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use super::{
    facts::{DataOutcome, StoreFacts, record},
    managed::{Managed, connection_secret},
    secret::{
        annotate, create_secret, foreign_secret, read_password, restored_database, secret_view,
        write_url,
    },
};
use crate::reconcile::{
    context::Context,
    error::{ReconcileError, kube_error},
    observe::{Ownership, ownership},
    outcome::Note,
};
use crate::{
    api::{ChatbotDeployment, StoreStatus},
    data::{
        AwsClients, AwsError, Endpoint, ManagedStore, Owner, StoreReport, StoreState,
        connection::{PASSWORD_KEY, Route, SecretView, keys},
        elasticache::ElastiCache,
        managed::StoreKind as _,
        rds::Rds,
    },
    names::ChildNames,
    secrets,
};

/// Everything one store's run reads, named once.
pub(super) struct StoreRun<'a> {
    pub ctx: &'a Context,
    pub aws: &'a AwsClients,
    pub cbd: &'a ChatbotDeployment,
    pub owner: &'a Owner,
    pub names: &'a ChildNames,
    pub labels: &'a BTreeMap<String, String>,
}

impl StoreRun<'_> {
    /// Brings `store` to its request; `pooler` is the PgBouncer the app's
    /// URL leads to, when enabled.
    pub(super) async fn converge(
        &self,
        store: &Managed,
        pooler: Option<Endpoint>,
        outcome: &mut DataOutcome,
    ) -> Result<StoreFacts, ReconcileError> {
        let kind = store.kind();
        let secret_name = connection_secret(self.names, kind);
        let api: Api<Secret> = Api::namespaced(self.ctx.client.clone(), &self.owner.namespace);
        let status = StoreStatus {
            identifier: Some(store.identifier().to_string()),
            connection_secret: Some(secret_name.to_string()),
            ..Default::default()
        };
        let Some(mut view) = self.credential(&api, store, secret_name).await? else {
            return Ok(foreign_secret(secret_name, kind, status));
        };
        let report = self.ensure(&api, store, secret_name, &mut view).await?;
        record(outcome, &report);
        let StoreState::Available { endpoint, pending } = &report.state else {
            return Ok(facts_of(store, &report, status));
        };
        let status = StoreStatus {
            endpoint: Some(endpoint.to_string()),
            ..status
        };
        let route = Route {
            store: endpoint.clone(),
            tls: true,
            pooler,
            database: restored_database(self.cbd, kind, &view),
        };
        if !view.is_current(kind, store.identifier(), &route) {
            if !view.has_credentials_for(store.identifier())
                && let Some(refused) = self.reset(&api, store, secret_name, outcome).await?
            {
                return Ok(StoreFacts { status, ..refused });
            }
            write_url(&api, secret_name, kind, store.identifier(), &route).await?;
            outcome.notes.push(Note {
                warning: false,
                reason: "ConnectionSecretUpdated".into(),
                message: format!("Secret {secret_name} holds {} for {route}", kind.url_key()),
            });
        }
        let what = format!("{} {}", store.label(), store.identifier());
        let message = if pending.is_empty() {
            format!("{what} is available at {endpoint}")
        } else {
            format!(
                "{what} is available at {endpoint}; waiting for the maintenance window: {}",
                pending.join(", ")
            )
        };
        Ok(StoreFacts {
            ready: true,
            reason: report.reason().into(),
            message,
            failed: false,
            status,
        })
    }

    /// The connection Secret with a password in it, made when missing;
    /// `None` when the Secret is someone else's.
    async fn credential(
        &self,
        api: &Api<Secret>,
        store: &Managed,
        secret_name: &str,
    ) -> Result<Option<SecretView>, ReconcileError> {
        let cached = self
            .ctx
            .stores
            .secret(&self.ctx.client, &self.owner.namespace, secret_name)
            .await
            .map_err(kube_error("read", "Secret", secret_name))?;
        if let Some(existing) = &cached
            && ownership(self.cbd, &existing.metadata) == Ownership::Foreign
        {
            return Ok(None);
        }
        let mut view = cached.as_deref().map(secret_view).unwrap_or_default();
        if !view.has_password() {
            let password = secrets::generate_value().map_err(ReconcileError::RandomSource)?;
            create_secret(
                api,
                self.cbd,
                secret_name,
                self.labels,
                BTreeMap::new(),
                store.kind().initial_data(password),
            )
            .await?;
            view.keys.push(PASSWORD_KEY.into());
        }
        Ok(Some(view))
    }

    /// The store's one next call; a store just created has the Secret's
    /// password, which the Secret then records.
    async fn ensure(
        &self,
        api: &Api<Secret>,
        store: &Managed,
        secret_name: &str,
        view: &mut SecretView,
    ) -> Result<StoreReport, ReconcileError> {
        let password = || read_password(api, secret_name);
        let report = match store {
            Managed::Database(request) => {
                Rds {
                    client: &self.aws.rds,
                }
                .ensure(request, self.owner, async || password().await)
                .await
            }
            Managed::Cache(request) => {
                ElastiCache {
                    client: &self.aws.elasticache,
                }
                .ensure(request, self.owner, async || password().await)
                .await
            }
        }?;
        if report.mutations.contains(&"CreateDBInstance")
            || report.mutations.contains(&"CreateReplicationGroup")
        {
            annotate(
                api,
                secret_name,
                BTreeMap::from([(keys::CREDENTIALS_FOR, store.identifier())]),
            )
            .await?;
            view.annotations
                .insert(keys::CREDENTIALS_FOR.into(), store.identifier().into());
        }
        Ok(report)
    }

    /// Gives an adopted store (or one whose Secret was lost and made anew)
    /// the Secret's password. `Some(facts)` when ElastiCache refused the
    /// auth token: the store cannot be used until someone acts.
    async fn reset(
        &self,
        api: &Api<Secret>,
        store: &Managed,
        secret_name: &str,
        outcome: &mut DataOutcome,
    ) -> Result<Option<StoreFacts>, ReconcileError> {
        let what = format!("{} {}", store.label(), store.identifier());
        let secret = read_password(api, secret_name).await?;
        let (reset, call, message) = match store {
            Managed::Database(request) => {
                let rds = Rds {
                    client: &self.aws.rds,
                };
                let reset = rds.reset_secret(&request.identifier, &secret).await;
                let why = "the Secret was new, or the instance was restored from a snapshot";
                (
                    reset,
                    Rds::MODIFY,
                    format!("{what}: master password set from Secret {secret_name} ({why})"),
                )
            }
            Managed::Cache(request) => {
                let cache = ElastiCache {
                    client: &self.aws.elasticache,
                };
                let reset = cache.reset_secret(&request.identifier, &secret).await;
                let message = format!(
                    "{what}: auth token set from Secret {secret_name} (the Secret was new)"
                );
                (reset, ElastiCache::MODIFY, message)
            }
        };
        match (reset, store) {
            (Ok(()), _) => {}
            // The cache cannot be used until someone acts; RDS refusing a
            // password fails the reconcile, to be tried again.
            (Err(AwsError::Rejected { code, message, .. }), Managed::Cache(_)) => {
                return Ok(Some(StoreFacts {
                    ready: false,
                    reason: "CredentialsUnknown".into(),
                    message: format!(
                        "{what} exists but Secret {secret_name} does not hold its auth token, and setting it was refused ({code}: {message}); restore the Secret or delete the replication group"
                    ),
                    failed: true,
                    status: StoreStatus::default(),
                }));
            }
            (Err(error), _) => return Err(ReconcileError::Aws(error)),
        }
        outcome.mutations.push(call);
        outcome.notes.push(Note {
            warning: true,
            reason: "CredentialsReset".into(),
            message,
        });
        Ok(None)
    }
}

/// What the status says of a store that does not serve yet. Pure.
fn facts_of(store: &Managed, report: &StoreReport, status: StoreStatus) -> StoreFacts {
    let what = format!("{} {}", store.label(), store.identifier());
    let (message, failed) = match &report.state {
        StoreState::Available { endpoint, .. } => {
            (format!("{what} is available at {endpoint}"), false)
        }
        StoreState::Creating => (format!("{what} is being created"), false),
        StoreState::Busy { status } => (format!("{what} is {status}"), false),
        StoreState::Failed { status } => (
            format!("{what} is {status}; it needs attention in AWS"),
            true,
        ),
        StoreState::Rejected { message } => (format!("{what}: {message}"), true),
        StoreState::OwnedElsewhere { owner } => (
            format!("{what} exists and belongs to {owner}; it is left untouched"),
            true,
        ),
    };
    StoreFacts {
        ready: report.endpoint().is_some(),
        reason: report.reason().into(),
        message,
        failed,
        status,
    }
}
