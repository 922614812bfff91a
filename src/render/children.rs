//! The typed children of a ChatbotDeployment. Every rendered template is
//! parsed into its k8s-openapi type, strictly, so a template mistake is an
//! error and never an object the API server would reject or silently trim.

use gateway_api::apis::standard::httproutes::HttpRoute;
use k8s_openapi::{
    api::{
        apps::v1::{Deployment, StatefulSet},
        autoscaling::v2::HorizontalPodAutoscaler,
        batch::v1::Job,
        core::v1::{ConfigMap, Service, ServiceAccount},
        networking::v1::{Ingress, NetworkPolicy},
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use serde::{Serialize, Serializer};

pub use super::{child_kind::ChildKind, object_type::ObjectType};
use crate::{
    document::{self, FieldError},
    monitoring::{PodMonitor, PrometheusRule},
};

/// A rendered object of one of the children's types.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    ServiceAccount(ServiceAccount),
    ConfigMap(ConfigMap),
    Service(Service),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    PodDisruptionBudget(PodDisruptionBudget),
    NetworkPolicy(NetworkPolicy),
    Job(Box<Job>),
    Ingress(Box<Ingress>),
    HttpRoute(Box<HttpRoute>),
    PodMonitor(Box<PodMonitor>),
    PrometheusRule(Box<PrometheusRule>),
}

/// One rendered child: which child it is, and the object.
#[derive(Clone, Debug, PartialEq)]
pub struct Child {
    kind: ChildKind,
    object: Object,
}

impl Serialize for Child {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.object.serialize(serializer)
    }
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
        let object = match kind.object_type() {
            ObjectType::ServiceAccount => {
                Object::ServiceAccount(document::strict_from_value(object)?)
            }
            ObjectType::ConfigMap => Object::ConfigMap(document::strict_from_value(object)?),
            ObjectType::Service => Object::Service(document::strict_from_value(object)?),
            ObjectType::Deployment => {
                Object::Deployment(Box::new(document::strict_from_value(object)?))
            }
            ObjectType::StatefulSet => {
                Object::StatefulSet(Box::new(document::strict_from_value(object)?))
            }
            ObjectType::HorizontalPodAutoscaler => {
                Object::HorizontalPodAutoscaler(document::strict_from_value(object)?)
            }
            ObjectType::PodDisruptionBudget => {
                Object::PodDisruptionBudget(document::strict_from_value(object)?)
            }
            ObjectType::NetworkPolicy => {
                Object::NetworkPolicy(document::strict_from_value(object)?)
            }
            ObjectType::Job => Object::Job(Box::new(document::strict_from_value(object)?)),
            ObjectType::Ingress => Object::Ingress(Box::new(document::strict_from_value(object)?)),
            ObjectType::HttpRoute => {
                Object::HttpRoute(Box::new(document::strict_from_value(object)?))
            }
            ObjectType::PodMonitor => {
                Object::PodMonitor(Box::new(document::strict_from_value(object)?))
            }
            ObjectType::PrometheusRule => {
                Object::PrometheusRule(Box::new(document::strict_from_value(object)?))
            }
        };
        Ok(Child { kind, object })
    }

    /// A child built from a typed object rather than a template.
    pub(crate) fn built(kind: ChildKind, object: Object) -> Child {
        Child { kind, object }
    }

    /// Which child this is.
    pub fn kind(&self) -> ChildKind {
        self.kind
    }

    /// The object.
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// The object, to adjust before it is applied.
    pub fn object_mut(&mut self) -> &mut Object {
        &mut self.object
    }

    /// The app Deployment, when this child is it.
    pub fn app_deployment(&self) -> Option<&Deployment> {
        match (&self.kind, &self.object) {
            (ChildKind::Deployment, Object::Deployment(deployment)) => Some(deployment),
            _ => None,
        }
    }

    /// The child's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match &self.object {
            Object::ServiceAccount(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::StatefulSet(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::Job(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::HttpRoute(o) => &o.metadata,
            Object::PodMonitor(o) => &o.metadata,
            Object::PrometheusRule(o) => &o.metadata,
        }
    }

    /// The child's metadata, to stamp labels and annotations on.
    pub fn metadata_mut(&mut self) -> &mut ObjectMeta {
        match &mut self.object {
            Object::ServiceAccount(o) => &mut o.metadata,
            Object::ConfigMap(o) => &mut o.metadata,
            Object::Service(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::StatefulSet(o) => &mut o.metadata,
            Object::HorizontalPodAutoscaler(o) => &mut o.metadata,
            Object::PodDisruptionBudget(o) => &mut o.metadata,
            Object::NetworkPolicy(o) => &mut o.metadata,
            Object::Job(o) => &mut o.metadata,
            Object::Ingress(o) => &mut o.metadata,
            Object::HttpRoute(o) => &mut o.metadata,
            Object::PodMonitor(o) => &mut o.metadata,
            Object::PrometheusRule(o) => &mut o.metadata,
        }
    }

    /// The `chatbot.dev/spec-hash` the child was rendered with.
    pub fn spec_hash(&self) -> Option<&str> {
        self.metadata()
            .annotations
            .as_ref()
            .and_then(|a| a.get(crate::names::keys::SPEC_HASH))
            .map(String::as_str)
    }

    /// The child's name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }
}
