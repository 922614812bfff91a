//! The app's and a rollout's Deployments as observed: their progress, the
//! revision and template hash their pod template carries, and whether the
//! operator owns their replica count.

use k8s_openapi::api::apps::v1::Deployment;

use crate::names;

/// The app Deployment as observed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    pub generation: i64,
    pub observed_generation: i64,
    /// Pods asked for (`spec.replicas`).
    pub desired: i32,
    /// Pods of any template (`status.replicas`).
    pub current: i32,
    pub updated: i32,
    pub ready: i32,
    pub available: i32,
    /// The Deployment controller gave up waiting for the new pods.
    pub deadline_exceeded: bool,
    /// Revision of the pod template, from its label.
    pub template_revision: Option<i64>,
    /// Template hash recorded on the pod template.
    pub template_hash: Option<String>,
}

impl Workload {
    /// Every pod runs the current template and is available (what
    /// `kubectl rollout status` waits for).
    pub fn rolled_out(&self) -> bool {
        self.observed_generation >= self.generation
            && self.updated >= self.desired
            && self.current == self.updated
            && self.available >= self.updated
    }
}

/// The progress of the app Deployment.
pub fn workload(deployment: &Deployment) -> Workload {
    let spec = deployment.spec.as_ref();
    let status = deployment.status.clone().unwrap_or_default();
    let template_meta = spec.and_then(|s| s.template.metadata.as_ref());
    let deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing"
            && c.status == "False"
            && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    Workload {
        generation: deployment.metadata.generation.unwrap_or(0),
        observed_generation: status.observed_generation.unwrap_or(0),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1),
        current: status.replicas.unwrap_or(0),
        updated: status.updated_replicas.unwrap_or(0),
        ready: status.ready_replicas.unwrap_or(0),
        available: status.available_replicas.unwrap_or(0),
        deadline_exceeded,
        template_revision: template_meta
            .and_then(|m| m.labels.as_ref())
            .and_then(|l| l.get(names::keys::REVISION))
            .and_then(|r| r.parse().ok()),
        template_hash: template_meta
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(names::keys::TEMPLATE_HASH))
            .cloned(),
    }
}

/// Whether the operator's field manager owns `spec.replicas`.
pub(super) fn owns_replicas(deployment: &Deployment) -> bool {
    deployment
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|entry| {
            entry.manager.as_deref() == Some(names::MANAGER)
                && entry.operation.as_deref() == Some("Apply")
                && entry.subresource.is_none()
                && entry
                    .fields_v1
                    .as_ref()
                    .and_then(|f| f.0.get("f:spec"))
                    .and_then(|spec| spec.get("f:replicas"))
                    .is_some()
        })
}
