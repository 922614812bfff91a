//! The metadata every child carries, set in one place: namespace, common
//! labels, the hash of the child as rendered, and the app pod template's
//! hash.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;

use super::{
    children::{Child, ChildKind},
    context::RenderContext,
};
use crate::{hash::hash_hex, names};

/// Hashes the pod template with its revision number blanked out and
/// records the hash on the template; returns the hash.
pub(super) fn mark_template(deployment: &mut Deployment) -> String {
    let Some(template) = deployment.spec.as_mut().map(|spec| &mut spec.template) else {
        return String::new();
    };
    let mut neutral = template.clone();
    if let Some(labels) = neutral.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(names::keys::REVISION);
    }
    for container in neutral
        .spec
        .iter_mut()
        .flat_map(|spec| spec.containers.iter_mut())
    {
        for var in container.env.iter_mut().flatten() {
            if var.name == "CHATBOT_REVISION" {
                var.value = None;
            }
        }
    }
    let hash = hash_hex(&serde_json::to_vec(&neutral).unwrap_or_default());
    template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(names::keys::TEMPLATE_HASH.into(), hash.clone());
    hash
}

/// Common metadata, set in one place for every child: namespace, labels,
/// and the hash of the child as rendered (taken before the hash itself is
/// added, so it depends on the content alone).
pub(crate) fn stamp(child: &mut Child, context: &RenderContext) {
    if let Some(annotations) = child.metadata_mut().annotations.as_mut() {
        annotations.remove(names::keys::SPEC_HASH);
    }
    let kind = child.kind();
    let metadata = child.metadata_mut();
    metadata.namespace = context.namespace.clone();
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    // The app's version means nothing on Postgres, Redis or PgBouncer, and
    // would rewrite them on every release.
    let data_service = kind_is_data_service(kind);
    for (key, value) in &context.common_labels {
        if data_service && key == names::keys::VERSION {
            continue;
        }
        labels.entry(key.clone()).or_insert_with(|| value.clone());
    }
    let hash = hash_hex(&serde_json::to_vec(child).unwrap_or_default());
    child
        .metadata_mut()
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(names::keys::SPEC_HASH.into(), hash);
}

/// The children that run something other than the app's code (a data
/// service, the maintenance page) or watch it (the monitor and its rules):
/// the app's version label would rewrite them on every release.
fn kind_is_data_service(kind: ChildKind) -> bool {
    matches!(
        kind,
        ChildKind::StoreNetworkPolicy
            | ChildKind::DataOperationsNetworkPolicy
            | ChildKind::DatabaseService
            | ChildKind::Database
            | ChildKind::CacheService
            | ChildKind::Cache
            | ChildKind::PoolerService
            | ChildKind::Pooler
            | ChildKind::MaintenancePage
            | ChildKind::MaintenanceService
            | ChildKind::Maintenance
            | ChildKind::MaintenanceDisruptionBudget
            | ChildKind::PodMonitor
            | ChildKind::AlertRules
            | ChildKind::Dashboard
    )
}
