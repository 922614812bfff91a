//! The RDS side of a restore in the reconcile: describe the instances a
//! snapshot restore makes or replaced, and make the calls its plan asks
//! for — the instance made from the snapshot, and the replaced one deleted
//! (after a final snapshot) once its time as the undo is over.

use jiff::Timestamp;
use tracing::info;

use crate::reconcile::{context::Context, data_stores::owner_of, error::ReconcileError};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentSpec, DeletionPolicy, StoreMode},
    backup::restore::{
        self, Plan,
        instance::{self, InstanceState, RdsFacts},
    },
    data::{
        ManagedStore, Owner, Teardown,
        connection::SecretView,
        rds::{DatabaseRequest, Rds},
        rds_restore,
    },
};

/// What was seen of the RDS instances, owned for the plan to borrow.
#[derive(Debug)]
pub struct Observed {
    base: String,
    live: String,
    secret_instance: Option<String>,
    restored: Option<InstanceState>,
    replaced: Option<InstanceState>,
}

impl Observed {
    pub fn facts(&self) -> RdsFacts<'_> {
        RdsFacts {
            base: &self.base,
            live: &self.live,
            secret_instance: self.secret_instance.as_deref(),
            restored: self.restored.clone(),
            replaced: self.replaced.clone(),
        }
    }
}

fn managed(ctx: &Context, cbd: &ChatbotDeployment, spec: &ChatbotDeploymentSpec) -> Option<Owner> {
    let mode = spec.database.as_ref().and_then(|d| d.mode);
    (mode == Some(StoreMode::Managed) && ctx.aws.is_some())
        .then(|| owner_of(cbd))
        .flatten()
}

/// Describes what the restore of `cbd` decides from: the instance it
/// makes (at its Restore step) and the one it replaced (once due). `None`
/// unless the database is managed and the operator has AWS access.
pub async fn observe(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    view: &SecretView,
    now: Timestamp,
) -> Result<Option<Observed>, ReconcileError> {
    let (Some(owner), Some(aws)) = (managed(ctx, cbd, spec), ctx.aws.as_ref()) else {
        return Ok(None);
    };
    let rds = Rds { client: &aws.rds };
    let status = cbd.status.as_ref().and_then(|s| s.restore.as_ref());
    let base = owner.database_identifier();
    let describe = async |identifier: &str| {
        let found = rds.describe(identifier).await?;
        Ok::<_, ReconcileError>(rds_restore::state_of(&owner, found.as_ref()))
    };
    // From the step before the call on: an operator that made the call
    // and died before recording it finds the instance.
    let making = status
        .filter(|r| instance::is_snapshot(r))
        .filter(|r| [restore::step::STOP_WRITES, restore::step::RESTORE].contains(&r.step.as_str()))
        .and_then(|r| r.instance.as_deref());
    let restored = match making {
        Some(identifier) => Some(describe(identifier).await?),
        None => None,
    };
    let replaced = match instance::replaced_due(status, now) {
        Some(identifier) => Some(describe(identifier).await?),
        None => None,
    };
    Ok(Some(Observed {
        live: instance::live_instance(status, &base),
        base,
        secret_instance: view.credentials_for().map(str::to_string),
        restored,
        replaced,
    }))
}

/// Makes the RDS calls `plan` asks for.
pub async fn apply(
    ctx: &Context,
    cbd: &ChatbotDeployment,
    spec: &ChatbotDeploymentSpec,
    plan: &Plan,
) -> Result<(), ReconcileError> {
    let (Some(owner), Some(aws)) = (managed(ctx, cbd, spec), ctx.aws.as_ref()) else {
        return Ok(());
    };
    let Some(request) = DatabaseRequest::for_spec(&owner, spec) else {
        return Ok(());
    };
    let rds = Rds { client: &aws.rds };
    if let Some(made) = &plan.restore_instance {
        rds.restore_snapshot(&request, made)
            .await
            .map_err(ReconcileError::Aws)?;
        info!(instance = %made.identifier, snapshot = %made.snapshot, "restoring an RDS snapshot into a new instance");
    }
    if let Some(replaced) = &plan.drop_instance {
        // The undo's last trace stays: a final snapshot, whatever the
        // resource's deletion policy.
        let request = DatabaseRequest {
            identifier: replaced.clone(),
            deletion_policy: DeletionPolicy::Snapshot,
            ..request
        };
        let teardown = rds
            .teardown(&request, &owner)
            .await
            .map_err(ReconcileError::Aws)?;
        if let Teardown::Refused { message } = teardown {
            tracing::warn!(instance = %replaced, "deleting the replaced RDS instance was refused: {message}");
        } else {
            info!(instance = %replaced, "deleting the RDS instance a restore replaced");
        }
    }
    Ok(())
}
