//! The typed children of a ChatbotDeployment. Every rendered template is
//! parsed into its k8s-openapi type, strictly, so a template mistake is an
//! error and never an object the API server would reject or silently trim.

use k8s_openapi::{
    api::{
        apps::v1::Deployment,
        autoscaling::v2::HorizontalPodAutoscaler,
        core::v1::{ConfigMap, Service, ServiceAccount},
        networking::v1::NetworkPolicy,
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use serde::Serialize;

use crate::document::{self, FieldError};

/// Kinds of children, in the order they are rendered and applied: identity
/// and configuration before the pods that use them, pods before the
/// objects that point at pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChildKind {
    ServiceAccount,
    ConfigMap,
    Service,
    Deployment,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
}

impl ChildKind {
    /// Every kind, in apply order.
    pub const ALL: [ChildKind; 7] = [
        ChildKind::ServiceAccount,
        ChildKind::ConfigMap,
        ChildKind::Service,
        ChildKind::Deployment,
        ChildKind::HorizontalPodAutoscaler,
        ChildKind::PodDisruptionBudget,
        ChildKind::NetworkPolicy,
    ];

    /// The name of this kind's child among `names`.
    pub fn name_in(self, names: &super::names::ChildNames) -> &str {
        match self {
            ChildKind::ServiceAccount => &names.service_account,
            ChildKind::ConfigMap => &names.config_map,
            ChildKind::Service => &names.service,
            ChildKind::Deployment => &names.deployment,
            ChildKind::HorizontalPodAutoscaler => &names.autoscaler,
            ChildKind::PodDisruptionBudget => &names.disruption_budget,
            ChildKind::NetworkPolicy => &names.network_policy,
        }
    }

    /// The template that renders this kind.
    pub fn template(self) -> &'static str {
        match self {
            ChildKind::ServiceAccount => "serviceaccount.yaml",
            ChildKind::ConfigMap => "configmap.yaml",
            ChildKind::Service => "service.yaml",
            ChildKind::Deployment => "deployment.yaml",
            ChildKind::HorizontalPodAutoscaler => "hpa.yaml",
            ChildKind::PodDisruptionBudget => "pdb.yaml",
            ChildKind::NetworkPolicy => "networkpolicy.yaml",
        }
    }

    /// `apiVersion` and `kind` the template must produce.
    pub fn type_meta(self) -> (&'static str, &'static str) {
        match self {
            ChildKind::ServiceAccount => ("v1", "ServiceAccount"),
            ChildKind::ConfigMap => ("v1", "ConfigMap"),
            ChildKind::Service => ("v1", "Service"),
            ChildKind::Deployment => ("apps/v1", "Deployment"),
            ChildKind::HorizontalPodAutoscaler => ("autoscaling/v2", "HorizontalPodAutoscaler"),
            ChildKind::PodDisruptionBudget => ("policy/v1", "PodDisruptionBudget"),
            ChildKind::NetworkPolicy => ("networking.k8s.io/v1", "NetworkPolicy"),
        }
    }
}

/// One rendered child.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Child {
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Service(Service),
    Deployment(Box<Deployment>),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
}

impl Child {
    /// Parses a rendered template as `kind`, strictly.
    pub fn parse(kind: ChildKind, yaml: &str) -> Result<Child, FieldError> {
        let (api_version, kind_name) = kind.type_meta();
        // One YAML parse: malformed YAML reports its line here, wrong types
        // and unknown fields report their field path below.
        let mut documents = document::documents(yaml)?;
        if documents.len() != 1 {
            return Err(FieldError {
                path: ".".into(),
                message: format!(
                    "a template renders exactly one object, found {}",
                    documents.len()
                ),
            });
        }
        let object = documents.remove(0);
        let found = |key: &str| {
            object
                .get(key)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        if found("apiVersion") != api_version || found("kind") != kind_name {
            return Err(FieldError {
                path: "apiVersion/kind".into(),
                message: format!(
                    "expected {api_version}/{kind_name}, found {}/{}",
                    found("apiVersion"),
                    found("kind")
                ),
            });
        }
        Ok(match kind {
            ChildKind::ServiceAccount => {
                Child::ServiceAccount(document::strict_from_value(object)?)
            }
            ChildKind::ConfigMap => Child::ConfigMap(document::strict_from_value(object)?),
            ChildKind::Service => Child::Service(document::strict_from_value(object)?),
            ChildKind::Deployment => {
                Child::Deployment(Box::new(document::strict_from_value(object)?))
            }
            ChildKind::HorizontalPodAutoscaler => {
                Child::HorizontalPodAutoscaler(document::strict_from_value(object)?)
            }
            ChildKind::PodDisruptionBudget => {
                Child::PodDisruptionBudget(document::strict_from_value(object)?)
            }
            ChildKind::NetworkPolicy => Child::NetworkPolicy(document::strict_from_value(object)?),
        })
    }

    /// The kind of this child.
    pub fn kind(&self) -> ChildKind {
        match self {
            Child::ServiceAccount(_) => ChildKind::ServiceAccount,
            Child::ConfigMap(_) => ChildKind::ConfigMap,
            Child::Service(_) => ChildKind::Service,
            Child::Deployment(_) => ChildKind::Deployment,
            Child::HorizontalPodAutoscaler(_) => ChildKind::HorizontalPodAutoscaler,
            Child::PodDisruptionBudget(_) => ChildKind::PodDisruptionBudget,
            Child::NetworkPolicy(_) => ChildKind::NetworkPolicy,
        }
    }

    /// The child's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Child::ServiceAccount(o) => &o.metadata,
            Child::ConfigMap(o) => &o.metadata,
            Child::Service(o) => &o.metadata,
            Child::Deployment(o) => &o.metadata,
            Child::HorizontalPodAutoscaler(o) => &o.metadata,
            Child::PodDisruptionBudget(o) => &o.metadata,
            Child::NetworkPolicy(o) => &o.metadata,
        }
    }

    /// The child's metadata, to stamp labels and annotations on.
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Child::ServiceAccount(o) => &mut o.metadata,
            Child::ConfigMap(o) => &mut o.metadata,
            Child::Service(o) => &mut o.metadata,
            Child::Deployment(o) => &mut o.metadata,
            Child::HorizontalPodAutoscaler(o) => &mut o.metadata,
            Child::PodDisruptionBudget(o) => &mut o.metadata,
            Child::NetworkPolicy(o) => &mut o.metadata,
        }
    }

    /// The `chatbot.dev/spec-hash` the child was rendered with.
    pub fn spec_hash(&self) -> Option<&str> {
        self.metadata()
            .annotations
            .as_ref()
            .and_then(|a| a.get(super::names::keys::SPEC_HASH))
            .map(String::as_str)
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}
