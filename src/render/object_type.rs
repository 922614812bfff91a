//! The Kubernetes types children are, and where the API server serves
//! them.

/// The Kubernetes type a kind of child is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectType {
    ServiceAccount,
    ConfigMap,
    Service,
    Deployment,
    StatefulSet,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    Job,
    Ingress,
    HttpRoute,
    PodMonitor,
    PrometheusRule,
}

impl ObjectType {
    /// `apiVersion` and `kind` of this type.
    pub fn type_meta(self) -> (&'static str, &'static str) {
        match self {
            ObjectType::ServiceAccount => ("v1", "ServiceAccount"),
            ObjectType::ConfigMap => ("v1", "ConfigMap"),
            ObjectType::Service => ("v1", "Service"),
            ObjectType::Deployment => ("apps/v1", "Deployment"),
            ObjectType::StatefulSet => ("apps/v1", "StatefulSet"),
            ObjectType::HorizontalPodAutoscaler => ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ObjectType::PodDisruptionBudget => ("policy/v1", "PodDisruptionBudget"),
            ObjectType::NetworkPolicy => ("networking.k8s.io/v1", "NetworkPolicy"),
            ObjectType::Job => ("batch/v1", "Job"),
            ObjectType::Ingress => ("networking.k8s.io/v1", "Ingress"),
            ObjectType::HttpRoute => ("gateway.networking.k8s.io/v1", "HTTPRoute"),
            ObjectType::PodMonitor => ("monitoring.coreos.com/v1", "PodMonitor"),
            ObjectType::PrometheusRule => ("monitoring.coreos.com/v1", "PrometheusRule"),
        }
    }

    /// Where objects of this type are served, for an untyped client.
    pub fn api_resource(self) -> kube::api::ApiResource {
        let (api_version, kind) = self.type_meta();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(group, version, kind))
    }

    /// A Prometheus Operator kind, applied only where the cluster serves
    /// `monitoring.coreos.com`.
    pub fn is_monitoring(self) -> bool {
        matches!(self, ObjectType::PodMonitor | ObjectType::PrometheusRule)
    }
}
