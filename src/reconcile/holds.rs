//! What holds a new revision's pods back, beside its migration: the
//! connection URLs of the stores the operator writes, and the pre-rollout
//! backup. Pure; `decide` composes them.

use super::observe::Observed;
use crate::{
    api::ChatbotDeploymentStatus,
    backup::{self, gate::Gate},
    render::{ChildKind, Rendered},
};

/// The pre-rollout gate of the rendered revision, over the revision the
/// pods run; open when something else already holds the pods.
pub fn pre_rollout_gate(
    rendered: &Rendered,
    status: &ChatbotDeploymentStatus,
    running_revision: Option<i64>,
    held_otherwise: bool,
) -> Gate {
    if held_otherwise {
        return Gate::Open;
    }
    let settings = backup::Settings::of(&rendered.resolution.spec);
    let can_dump = rendered
        .children
        .iter()
        .any(|c| c.kind() == ChildKind::BackupJob);
    let needs = backup::gate::Needs {
        dump: settings.before_rollout && can_dump,
        snapshot: settings.rds_snapshot,
        cache_snapshot: settings.cache_snapshot,
    };
    backup::gate::pre_rollout(
        needs,
        running_revision,
        rendered.context.revision,
        status.backups.as_ref(),
    )
}

/// The connection Secrets the operator writes (managed and in-cluster
/// stores) that do not hold their URL yet, as `Secret/KEY`. Pods that
/// would read them wait.
pub fn connection_urls_missing(
    spec: &crate::api::ChatbotDeploymentSpec,
    names: &crate::names::ChildNames,
    observed: &Observed,
) -> Vec<String> {
    use crate::{api::StoreMode, data::connection::StoreKind};
    let written =
        |mode: Option<StoreMode>| matches!(mode, Some(StoreMode::Managed | StoreMode::InCluster));
    let database = written(spec.database.as_ref().and_then(|d| d.mode));
    let cache = written(spec.cache.as_ref().and_then(|c| c.mode));
    [
        (database, &names.database_secret, StoreKind::Database),
        (cache, &names.cache_secret, StoreKind::Cache),
    ]
    .into_iter()
    .filter(|(written, secret, kind)| {
        *written
            && !observed
                .connection_keys
                .get(secret.as_str())
                .is_some_and(|keys| keys.contains(kind.url_key()))
    })
    .map(|(_, secret, kind)| format!("{secret}/{}", kind.url_key()))
    .collect()
}
