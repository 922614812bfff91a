//! The reflector caches the reconciler reads from. Children are cached only
//! when they carry the operator's `managed-by` label; Secrets are watched
//! by their metadata only, and the key names of the few a reconcile needs
//! are read by name ([`Stores::secret`]), so the operator never holds a
//! secret value it did not just generate.

use gateway_api::apis::standard::httproutes::HttpRoute;
use k8s_openapi::api::{
    apps::v1::{Deployment, StatefulSet},
    autoscaling::v2::HorizontalPodAutoscaler,
    batch::v1::Job,
    core::v1::{ConfigMap, Secret, Service, ServiceAccount},
    networking::v1::{Ingress, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Resource,
    core::PartialObjectMeta,
    runtime::reflector::{self, ObjectRef, Store, store::Writer},
};

mod secret_keys;
mod trim;

pub use secret_keys::SecretKeys;

pub use trim::{trim_deployment, trim_job, trim_metadata, trim_rules};

use crate::{
    api::ChatbotDeployment,
    monitoring::{PodMonitor, PrometheusRule},
};

/// Label selector of every child the operator creates.
pub const CHILD_SELECTOR: &str = "app.kubernetes.io/managed-by=chatbot-operator";

/// Read handles of every cache.
#[derive(Clone)]
pub struct Stores {
    pub chatbots: Store<ChatbotDeployment>,
    pub service_accounts: Store<ServiceAccount>,
    pub config_maps: Store<ConfigMap>,
    pub services: Store<Service>,
    pub deployments: Store<Deployment>,
    pub stateful_sets: Store<StatefulSet>,
    pub autoscalers: Store<HorizontalPodAutoscaler>,
    pub disruption_budgets: Store<PodDisruptionBudget>,
    pub network_policies: Store<NetworkPolicy>,
    pub jobs: Store<Job>,
    pub ingresses: Store<Ingress>,
    /// Filled by a watch only when the cluster serves the Gateway API;
    /// otherwise marked filled and empty (see [`Writers::no_http_routes`]).
    pub http_routes: Store<HttpRoute>,
    /// Filled by a watch only when the cluster serves the Prometheus
    /// Operator's kinds; otherwise marked filled and empty.
    pub pod_monitors: Store<PodMonitor>,
    pub prometheus_rules: Store<PrometheusRule>,
    /// Every Secret's metadata; key names are read through [`Stores::secret`].
    pub secrets: Store<PartialObjectMeta<Secret>>,
    /// Key names of the Secrets reconciles have read.
    pub secret_keys: SecretKeys,
    /// The cluster serves Gateway API HTTPRoutes (found at start).
    gateway_api: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The cluster serves `monitoring.coreos.com` (found at start).
    monitoring: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Stores {
    /// Whether the cluster serves Gateway API HTTPRoutes.
    pub fn gateway_api(&self) -> bool {
        self.gateway_api.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records whether the cluster serves Gateway API HTTPRoutes.
    pub fn set_gateway_api(&self, served: bool) {
        self.gateway_api
            .store(served, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the cluster serves the Prometheus Operator's kinds.
    pub fn monitoring(&self) -> bool {
        self.monitoring.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Records whether the cluster serves the Prometheus Operator's kinds.
    pub fn set_monitoring(&self, served: bool) {
        self.monitoring
            .store(served, std::sync::atomic::Ordering::Relaxed);
    }

    /// The Secret `name` as a reconcile may see it: metadata and key names,
    /// no values. Read from the API server when the watch has seen a change
    /// since the last read; `None` when there is no such Secret.
    pub async fn secret(
        &self,
        client: &kube::Client,
        namespace: &str,
        name: &str,
    ) -> Result<Option<std::sync::Arc<Secret>>, kube::Error> {
        let Some(watched) = get(&self.secrets, namespace, name) else {
            self.secret_keys.forget(namespace, name);
            return Ok(None);
        };
        let version = watched.metadata.resource_version.as_ref();
        if let Some(known) = self.secret_keys.known(namespace, name, version) {
            return Ok(Some(known));
        }
        let api: kube::Api<Secret> = kube::Api::namespaced(client.clone(), namespace);
        Ok(api
            .get_opt(name)
            .await?
            .map(|secret| self.secret_keys.remember(secret)))
    }

    /// Waits until every cache has been filled by its first list. Errs when
    /// a cache's writer is gone (the operator is stopping).
    ///
    /// One task only: `Store::wait_until_ready` wakes just the last task
    /// that polled it, so others wait on a [`SyncGate`] instead.
    pub async fn synced(&self) -> Result<(), reflector::store::WriterDropped> {
        self.chatbots.wait_until_ready().await?;
        self.service_accounts.wait_until_ready().await?;
        self.config_maps.wait_until_ready().await?;
        self.services.wait_until_ready().await?;
        self.deployments.wait_until_ready().await?;
        self.stateful_sets.wait_until_ready().await?;
        self.autoscalers.wait_until_ready().await?;
        self.disruption_budgets.wait_until_ready().await?;
        self.network_policies.wait_until_ready().await?;
        self.jobs.wait_until_ready().await?;
        self.ingresses.wait_until_ready().await?;
        self.http_routes.wait_until_ready().await?;
        self.pod_monitors.wait_until_ready().await?;
        self.prometheus_rules.wait_until_ready().await?;
        self.secrets.wait_until_ready().await
    }
}

/// Whether the caches have been filled, for any number of waiting
/// reconciles. A decision from a cache that has not been filled yet would
/// see children and Secrets as missing: it would apply again what exists
/// and report present Secrets as missing, with Events, on every start and
/// every leader hand-over.
#[derive(Clone, Debug)]
pub struct SyncGate(std::sync::Arc<tokio::sync::watch::Sender<Option<bool>>>);

impl Default for SyncGate {
    fn default() -> Self {
        Self(std::sync::Arc::new(tokio::sync::watch::Sender::new(None)))
    }
}

impl SyncGate {
    /// The caches are filled: release every waiter, now and later.
    pub fn open(&self) {
        self.0.send_replace(Some(true));
    }

    /// The operator is stopping before the caches were filled.
    pub fn close(&self) {
        self.0.send_replace(Some(false));
    }

    /// Waits until the gate opens (`true`) or closes (`false`).
    pub async fn wait(&self) -> bool {
        let mut receiver = self.0.subscribe();
        receiver
            .wait_for(Option::is_some)
            .await
            .map(|state| *state == Some(true))
            .unwrap_or(false)
    }
}

/// Write handles of the same caches, fed by watchers (or by tests).
pub struct Writers {
    pub chatbots: Writer<ChatbotDeployment>,
    pub service_accounts: Writer<ServiceAccount>,
    pub config_maps: Writer<ConfigMap>,
    pub services: Writer<Service>,
    pub deployments: Writer<Deployment>,
    pub stateful_sets: Writer<StatefulSet>,
    pub autoscalers: Writer<HorizontalPodAutoscaler>,
    pub disruption_budgets: Writer<PodDisruptionBudget>,
    pub network_policies: Writer<NetworkPolicy>,
    pub jobs: Writer<Job>,
    pub ingresses: Writer<Ingress>,
    pub http_routes: Writer<HttpRoute>,
    pub pod_monitors: Writer<PodMonitor>,
    pub prometheus_rules: Writer<PrometheusRule>,
    pub secrets: Writer<PartialObjectMeta<Secret>>,
}

impl Writers {
    /// The cluster has no HTTPRoute type: the cache is filled, and empty,
    /// without a watch (a watch of a missing type would keep every cache
    /// from being reported filled).
    pub fn no_http_routes(writer: &mut Writer<HttpRoute>) {
        Self::unserved(writer);
    }

    /// A kind the cluster does not serve: its cache is filled, and empty,
    /// without a watch.
    pub fn unserved<K>(writer: &mut Writer<K>)
    where
        K: Resource<DynamicType = ()> + Clone + 'static,
    {
        use kube::runtime::watcher::Event;
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
    }
}

/// Empty caches and their writers.
pub fn stores() -> (Stores, Writers) {
    let (chatbots, chatbots_w) = reflector::store();
    let (service_accounts, service_accounts_w) = reflector::store();
    let (config_maps, config_maps_w) = reflector::store();
    let (services, services_w) = reflector::store();
    let (deployments, deployments_w) = reflector::store();
    let (stateful_sets, stateful_sets_w) = reflector::store();
    let (autoscalers, autoscalers_w) = reflector::store();
    let (disruption_budgets, disruption_budgets_w) = reflector::store();
    let (network_policies, network_policies_w) = reflector::store();
    let (jobs, jobs_w) = reflector::store();
    let (ingresses, ingresses_w) = reflector::store();
    let (http_routes, http_routes_w) = reflector::store();
    let (pod_monitors, pod_monitors_w) = reflector::store();
    let (prometheus_rules, prometheus_rules_w) = reflector::store();
    let (secrets, secrets_w) = reflector::store();
    (
        Stores {
            chatbots,
            service_accounts,
            config_maps,
            services,
            deployments,
            stateful_sets,
            autoscalers,
            disruption_budgets,
            network_policies,
            jobs,
            ingresses,
            http_routes,
            pod_monitors,
            prometheus_rules,
            secrets,
            secret_keys: SecretKeys::default(),
            gateway_api: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
            monitoring: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true)),
        },
        Writers {
            chatbots: chatbots_w,
            service_accounts: service_accounts_w,
            config_maps: config_maps_w,
            services: services_w,
            deployments: deployments_w,
            stateful_sets: stateful_sets_w,
            autoscalers: autoscalers_w,
            disruption_budgets: disruption_budgets_w,
            network_policies: network_policies_w,
            jobs: jobs_w,
            ingresses: ingresses_w,
            http_routes: http_routes_w,
            pod_monitors: pod_monitors_w,
            prometheus_rules: prometheus_rules_w,
            secrets: secrets_w,
        },
    )
}

/// Looks an object up by namespace and name.
pub fn get<K>(store: &Store<K>, namespace: &str, name: &str) -> Option<std::sync::Arc<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    store.get(&ObjectRef::new(name).within(namespace))
}

#[cfg(test)]
mod tests {
    use super::SyncGate;
    use std::time::Duration;

    #[tokio::test]
    async fn every_waiter_is_released_when_the_gate_opens() {
        let gate = SyncGate::default();
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.wait().await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "closed until opened"
        );
        gate.open();
        for waiter in waiters {
            let opened = tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("released")
                .unwrap();
            assert!(opened);
        }
        assert!(gate.wait().await, "a later waiter passes at once");
    }

    #[tokio::test]
    async fn a_closed_gate_releases_its_waiters_with_false() {
        let gate = SyncGate::default();
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait().await }
        });
        gate.close();
        assert!(!waiter.await.unwrap());
    }
}
