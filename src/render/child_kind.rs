//! The kinds of a ChatbotDeployment's children: their apply order, names,
//! templates and Kubernetes types.

use super::object_type::ObjectType;

/// Kinds of children, in the order they are rendered and applied: identity
/// and configuration before the pods that use them, the data stores (behind
/// their network policy) before the app that connects to them, pods before
/// the objects that point at pods, and the public route last, once there is
/// something behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChildKind {
    ServiceAccount,
    ConfigMap,
    /// The app ConfigMap's data of each revision in the history, kept for
    /// a rollback to put back; decided by the reconcile, never rendered.
    ConfigHistory,
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
    pub const ALL: [ChildKind; 34] = [
        ChildKind::ServiceAccount,
        ChildKind::ConfigMap,
        ChildKind::ConfigHistory,
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

    /// A rollout's candidate: one of each per candidate of an A/B test,
    /// at [`crate::names::ChildNames::candidate_at`].
    pub fn is_candidate(self) -> bool {
        matches!(
            self,
            ChildKind::CandidateService
                | ChildKind::CandidateConfigMap
                | ChildKind::CandidateDeployment
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
            ChildKind::ConfigHistory => &names.config_history,
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
    /// computed, not templated), for a rollout's candidate, which is
    /// built from the rendered app Deployment and Service, and for the
    /// config history, which the reconcile keeps.
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
            | ChildKind::ConfigHistory
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
            | ChildKind::ConfigHistory
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
