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

pub use super::object_type::ObjectType;
use crate::{
    document::{self, FieldError},
    monitoring::{PodMonitor, PrometheusRule},
};

/// Kinds of children, in the order they are rendered and applied: identity
/// and configuration before the pods that use them, the data stores (behind
/// their network policy) before the app that connects to them, pods before
/// the objects that point at pods, and the public route last, once there is
/// something behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChildKind {
    ServiceAccount,
    ConfigMap,
    /// Who may reach the in-cluster stores and the pooler: the app only.
    StoreNetworkPolicy,
    /// No connection to the migration, backup, verify and restore pods.
    DataOperationsNetworkPolicy,
    /// Headless Service of the in-cluster Postgres.
    DatabaseService,
    /// The in-cluster Postgres StatefulSet.
    Database,
    /// Headless Service of the in-cluster Redis.
    CacheService,
    /// The in-cluster Redis StatefulSet.
    Cache,
    /// Service of the PgBouncer pooler.
    PoolerService,
    /// The PgBouncer pooler Deployment.
    Pooler,
    /// The schema migration Job of the revision being rolled out; created
    /// once per revision, before the app's pods change.
    MigrationJob,
    /// The template every backup Job is stamped from; never applied itself.
    BackupJob,
    /// The template every verification Job is stamped from; never applied itself.
    VerifyJob,
    /// The template every restore Job is stamped from; never applied itself.
    RestoreJob,
    Service,
    Deployment,
    /// Service of a rollout's candidate (the blue-green preview).
    CandidateService,
    /// The app ConfigMap of a rollout's candidate revision: its config,
    /// while the stable pods keep theirs.
    CandidateConfigMap,
    /// Deployment of a rollout's candidate revision.
    CandidateDeployment,
    HorizontalPodAutoscaler,
    PodDisruptionBudget,
    NetworkPolicy,
    /// The maintenance page and its headers, mounted by its server.
    MaintenancePage,
    /// Service of the maintenance page server.
    MaintenanceService,
    /// The maintenance page server Deployment.
    Maintenance,
    /// Disruption budget of the maintenance page server.
    MaintenanceDisruptionBudget,
    /// The Prometheus Operator PodMonitor of the app's `/metrics`.
    PodMonitor,
    /// The Prometheus Operator PrometheusRule of the deployment's alerts.
    AlertRules,
    /// The Grafana dashboard, a ConfigMap for Grafana's sidecar.
    Dashboard,
    /// The response headers ingress-nginx sets on the host (`custom-headers`).
    EdgeHeaders,
    /// ingress-nginx's Ingress for the host (`traffic.provider: ingressNginx`).
    Ingress,
    /// ingress-nginx's canary Ingress that sends a rollout's share of the
    /// traffic to the candidate.
    CanaryIngress,
    /// The Gateway API HTTPRoute for the host (`traffic.provider: gatewayAPI`).
    HttpRoute,
}

impl ChildKind {
    /// Every kind, in apply order.
    pub const ALL: [ChildKind; 33] = [
        ChildKind::ServiceAccount,
        ChildKind::ConfigMap,
        ChildKind::StoreNetworkPolicy,
        ChildKind::DataOperationsNetworkPolicy,
        ChildKind::DatabaseService,
        ChildKind::Database,
        ChildKind::CacheService,
        ChildKind::Cache,
        ChildKind::PoolerService,
        ChildKind::Pooler,
        ChildKind::MigrationJob,
        ChildKind::BackupJob,
        ChildKind::VerifyJob,
        ChildKind::RestoreJob,
        ChildKind::Service,
        ChildKind::Deployment,
        ChildKind::CandidateService,
        ChildKind::CandidateConfigMap,
        ChildKind::CandidateDeployment,
        ChildKind::HorizontalPodAutoscaler,
        ChildKind::PodDisruptionBudget,
        ChildKind::NetworkPolicy,
        ChildKind::MaintenancePage,
        ChildKind::MaintenanceService,
        ChildKind::Maintenance,
        ChildKind::MaintenanceDisruptionBudget,
        ChildKind::PodMonitor,
        ChildKind::AlertRules,
        ChildKind::Dashboard,
        ChildKind::EdgeHeaders,
        ChildKind::Ingress,
        ChildKind::CanaryIngress,
        ChildKind::HttpRoute,
    ];

    /// The public route's kinds: rebuilt together for each split of the
    /// traffic.
    pub fn is_route(self) -> bool {
        matches!(
            self,
            ChildKind::EdgeHeaders
                | ChildKind::Ingress
                | ChildKind::CanaryIngress
                | ChildKind::HttpRoute
        )
    }

    /// A template Jobs are stamped from (backup, verify, restore): never
    /// applied itself.
    pub fn is_job_template(self) -> bool {
        matches!(
            self,
            ChildKind::BackupJob | ChildKind::VerifyJob | ChildKind::RestoreJob
        )
    }

    /// The name of this kind's child among `names`.
    pub fn name_in(self, names: &crate::names::ChildNames) -> &str {
        match self {
            ChildKind::ServiceAccount => &names.service_account,
            ChildKind::ConfigMap => &names.config_map,
            ChildKind::StoreNetworkPolicy => &names.store_network_policy,
            ChildKind::DataOperationsNetworkPolicy => &names.data_operations_network_policy,
            ChildKind::DatabaseService | ChildKind::Database => &names.database_store,
            ChildKind::CacheService | ChildKind::Cache => &names.cache_store,
            ChildKind::PoolerService | ChildKind::Pooler => &names.pooler,
            ChildKind::MigrationJob => &names.migration_job,
            ChildKind::BackupJob => &names.backup_job,
            ChildKind::VerifyJob => &names.verify_job,
            ChildKind::RestoreJob => &names.restore_job,
            ChildKind::Service => &names.service,
            ChildKind::Deployment => &names.deployment,
            ChildKind::HorizontalPodAutoscaler => &names.autoscaler,
            ChildKind::PodDisruptionBudget => &names.disruption_budget,
            ChildKind::NetworkPolicy => &names.network_policy,
            ChildKind::EdgeHeaders => &names.edge_headers,
            ChildKind::MaintenancePage
            | ChildKind::MaintenanceService
            | ChildKind::Maintenance
            | ChildKind::MaintenanceDisruptionBudget => &names.maintenance,
            ChildKind::Ingress | ChildKind::HttpRoute => &names.route,
            ChildKind::PodMonitor | ChildKind::AlertRules => &names.monitoring,
            ChildKind::Dashboard => &names.dashboard,
            ChildKind::CandidateService
            | ChildKind::CandidateConfigMap
            | ChildKind::CandidateDeployment
            | ChildKind::CanaryIngress => &names.candidate,
        }
    }

    /// The template that renders this kind; `None` for the traffic objects,
    /// which are built from typed values (their weights and matches are
    /// computed, not templated), and for a rollout's candidate, which is
    /// built from the rendered app Deployment and Service.
    pub fn template(self) -> Option<&'static str> {
        Some(match self {
            ChildKind::ServiceAccount => "serviceaccount.yaml",
            ChildKind::ConfigMap => "configmap.yaml",
            ChildKind::StoreNetworkPolicy => "stores-networkpolicy.yaml",
            ChildKind::DataOperationsNetworkPolicy => "data-operations-networkpolicy.yaml",
            ChildKind::DatabaseService => "postgres-service.yaml",
            ChildKind::Database => "postgres.yaml",
            ChildKind::CacheService => "redis-service.yaml",
            ChildKind::Cache => "redis.yaml",
            ChildKind::PoolerService => "pgbouncer-service.yaml",
            ChildKind::Pooler => "pgbouncer.yaml",
            ChildKind::MigrationJob => "migration-job.yaml",
            ChildKind::BackupJob => "backup-job.yaml",
            ChildKind::VerifyJob => "verify-job.yaml",
            ChildKind::RestoreJob => "restore-job.yaml",
            ChildKind::Service => "service.yaml",
            ChildKind::Deployment => "deployment.yaml",
            ChildKind::HorizontalPodAutoscaler => "hpa.yaml",
            ChildKind::PodDisruptionBudget => "pdb.yaml",
            ChildKind::NetworkPolicy => "networkpolicy.yaml",
            ChildKind::MaintenanceService => "maintenance-service.yaml",
            ChildKind::Maintenance => "maintenance-deployment.yaml",
            ChildKind::MaintenanceDisruptionBudget => "maintenance-pdb.yaml",
            ChildKind::Ingress
            | ChildKind::HttpRoute
            | ChildKind::EdgeHeaders
            | ChildKind::MaintenancePage
            | ChildKind::PodMonitor
            | ChildKind::AlertRules
            | ChildKind::Dashboard
            | ChildKind::CanaryIngress
            | ChildKind::CandidateService
            | ChildKind::CandidateConfigMap
            | ChildKind::CandidateDeployment => return None,
        })
    }

    /// The Kubernetes type of this kind.
    pub fn object_type(self) -> ObjectType {
        match self {
            ChildKind::ServiceAccount => ObjectType::ServiceAccount,
            ChildKind::ConfigMap
            | ChildKind::CandidateConfigMap
            | ChildKind::EdgeHeaders
            | ChildKind::MaintenancePage
            | ChildKind::Dashboard => ObjectType::ConfigMap,
            ChildKind::DatabaseService
            | ChildKind::CacheService
            | ChildKind::PoolerService
            | ChildKind::Service
            | ChildKind::MaintenanceService
            | ChildKind::CandidateService => ObjectType::Service,
            ChildKind::Pooler
            | ChildKind::Deployment
            | ChildKind::CandidateDeployment
            | ChildKind::Maintenance => ObjectType::Deployment,
            ChildKind::Database | ChildKind::Cache => ObjectType::StatefulSet,
            ChildKind::MigrationJob
            | ChildKind::BackupJob
            | ChildKind::VerifyJob
            | ChildKind::RestoreJob => ObjectType::Job,
            ChildKind::HorizontalPodAutoscaler => ObjectType::HorizontalPodAutoscaler,
            ChildKind::PodDisruptionBudget | ChildKind::MaintenanceDisruptionBudget => {
                ObjectType::PodDisruptionBudget
            }
            ChildKind::StoreNetworkPolicy
            | ChildKind::DataOperationsNetworkPolicy
            | ChildKind::NetworkPolicy => ObjectType::NetworkPolicy,
            ChildKind::Ingress | ChildKind::CanaryIngress => ObjectType::Ingress,
            ChildKind::HttpRoute => ObjectType::HttpRoute,
            ChildKind::PodMonitor => ObjectType::PodMonitor,
            ChildKind::AlertRules => ObjectType::PrometheusRule,
        }
    }

    /// `apiVersion` and `kind` the template must produce.
    pub fn type_meta(self) -> (&'static str, &'static str) {
        self.object_type().type_meta()
    }
}

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
