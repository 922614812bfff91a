//! A reconciler wired to the in-memory API server: the real `Context`, the
//! real client and the real caches, fed from the fake's objects the way the
//! watchers feed them in a cluster.

use std::sync::Arc;

use chatbot_operator::{
    api::ChatbotAction,
    api::ChatbotDeployment,
    reconcile::{
        self, Context, SyncGate, Timing,
        action::{self, ActionContext},
        caches::{self, CHILD_SELECTOR, Stores, Writers},
    },
    render::Renderer,
    telemetry::Metrics,
};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use kube::runtime::{controller::Action, events::Reporter, reflector::store::Writer, watcher};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{fake_api::FakeApi, moto::Moto};

/// Resource, API prefix and kind of every namespaced kind the operator touches.
pub const NAMESPACE_PATHS: [(&str, &str, &str); 15] = [
    ("serviceaccounts", "/api/v1", "ServiceAccount"),
    ("configmaps", "/api/v1", "ConfigMap"),
    ("services", "/api/v1", "Service"),
    ("secrets", "/api/v1", "Secret"),
    ("deployments", "/apis/apps/v1", "Deployment"),
    ("statefulsets", "/apis/apps/v1", "StatefulSet"),
    ("replicasets", "/apis/apps/v1", "ReplicaSet"),
    ("jobs", "/apis/batch/v1", "Job"),
    (
        "horizontalpodautoscalers",
        "/apis/autoscaling/v2",
        "HorizontalPodAutoscaler",
    ),
    (
        "poddisruptionbudgets",
        "/apis/policy/v1",
        "PodDisruptionBudget",
    ),
    (
        "networkpolicies",
        "/apis/networking.k8s.io/v1",
        "NetworkPolicy",
    ),
    ("ingresses", "/apis/networking.k8s.io/v1", "Ingress"),
    (
        "httproutes",
        "/apis/gateway.networking.k8s.io/v1",
        "HTTPRoute",
    ),
    (
        "podmonitors",
        "/apis/monitoring.coreos.com/v1",
        "PodMonitor",
    ),
    (
        "prometheusrules",
        "/apis/monitoring.coreos.com/v1",
        "PrometheusRule",
    ),
];

/// Path of an object in the fake.
pub fn path(resource: &str, namespace: &str, name: &str) -> String {
    if resource == "chatbotdeployments" || resource == "chatbotactions" {
        return format!("/apis/chatbot.dev/v1alpha1/namespaces/{namespace}/{resource}/{name}");
    }
    let (_, prefix, _) = NAMESPACE_PATHS
        .iter()
        .find(|(r, _, _)| *r == resource)
        .expect("known resource");
    format!("{prefix}/namespaces/{namespace}/{resource}/{name}")
}

/// The default the ChatbotDeployment CRD gives `status`.
pub fn status_default() -> Value {
    let crd = serde_json::to_value(&chatbot_operator::api::crds()[0]).unwrap();
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["default"]
        .clone()
}

pub struct Harness {
    /// The AWS emulator behind managed stores.
    pub moto: Moto,
    pub api: FakeApi,
    pub metrics: Arc<Metrics>,
    pub context: Context,
    pub stores: Stores,
    writers: Writers,
    pub now: Time,
}

fn has_child_label(object: &Value) -> bool {
    let (key, value) = CHILD_SELECTOR.split_once('=').unwrap();
    object["metadata"]["labels"][key].as_str() == Some(value)
}

/// Fills a cache with `objects` as a watcher's first list would.
pub fn refill<K>(writer: &mut Writer<K>, objects: Vec<Value>, trim: fn(&mut K))
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    writer.apply_watcher_event(&watcher::Event::Init);
    for object in objects {
        let mut typed: K = serde_json::from_value(object).expect("object of its kind");
        trim(&mut typed);
        writer.apply_watcher_event(&watcher::Event::InitApply(typed));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
}

impl Harness {
    pub fn new() -> Self {
        Self::with_renderer(Renderer::embedded().expect("embedded renderer"))
    }

    pub fn with_renderer(renderer: Renderer) -> Self {
        Self::on(FakeApi::default(), renderer)
    }

    /// A new operator (fresh caches and memory) on the cluster of `self`:
    /// what a restart or a leader hand-over sees.
    pub fn restarted(&self) -> Self {
        let mut restarted = Self::on(
            self.api.clone(),
            Renderer::embedded().expect("embedded renderer"),
        );
        restarted.context.aws = self.context.aws.clone();
        restarted.sync();
        restarted
    }

    fn on(api: FakeApi, renderer: Renderer) -> Self {
        let metrics = Arc::new(Metrics::new());
        let client = api.client(metrics.clone());
        let (stores, writers) = caches::stores();
        let reporter = Reporter {
            controller: "chatbot-operator".into(),
            instance: Some("test".into()),
        };
        let moto = Moto::start();
        let context = Context::new(
            client,
            Arc::new(renderer),
            stores.clone(),
            metrics.clone(),
            reporter,
            Timing::default(),
        )
        .with_aws(moto.clients());
        Self {
            moto,
            api,
            metrics,
            context,
            stores,
            writers,
            now: Time(Timestamp::from_second(1_800_000_000).unwrap()),
        }
    }

    /// Creates a ChatbotDeployment in the fake; returns its path.
    pub fn create(&mut self, cbd: &ChatbotDeployment) -> String {
        let namespace = cbd.metadata.namespace.clone().unwrap();
        let name = cbd.metadata.name.clone().unwrap();
        let path = path("chatbotdeployments", &namespace, &name);
        let mut object = serde_json::to_value(cbd).unwrap();
        // The API server applies the CRD's schema defaults on read; the one
        // that matters here is the status of a resource nobody observed yet.
        if object.get("status").is_none_or(Value::is_null) {
            object["status"] = status_default();
        }
        self.api.insert(&path, object);
        self.sync();
        path
    }

    /// Creates a Secret with the given keys (values are `value-of-<key>`).
    pub fn secret(&mut self, namespace: &str, name: &str, keys: &[&str]) {
        let data: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| {
                use base64::Engine;
                let value =
                    base64::engine::general_purpose::STANDARD.encode(format!("value-of-{k}"));
                (k.to_string(), json!(value))
            })
            .collect();
        self.api.insert(
            &path("secrets", namespace, name),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}, "data": data}),
        );
        self.sync();
    }

    /// Refills every cache from the fake, as the watchers would.
    pub fn sync(&mut self) {
        let all = |resource: &str| -> Vec<Value> {
            let (_, prefix, kind) = NAMESPACE_PATHS
                .iter()
                .find(|(r, _, _)| *r == resource)
                .unwrap();
            self.api
                .list(&format!("{prefix}/namespaces/"))
                .into_iter()
                .filter(|o| o["kind"] == *kind)
                .collect()
        };
        let children = |resource: &str| -> Vec<Value> {
            all(resource).into_iter().filter(has_child_label).collect()
        };
        refill(
            &mut self.writers.chatbots,
            self.api
                .list("/apis/chatbot.dev/v1alpha1/namespaces/")
                .into_iter()
                .filter(|o| o["kind"] == "ChatbotDeployment")
                .collect(),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.service_accounts,
            children("serviceaccounts"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.config_maps,
            children("configmaps"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.services,
            children("services"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.deployments,
            children("deployments"),
            caches::trim_deployment,
        );
        refill(
            &mut self.writers.stateful_sets,
            children("statefulsets"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.autoscalers,
            children("horizontalpodautoscalers"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.disruption_budgets,
            children("poddisruptionbudgets"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.network_policies,
            children("networkpolicies"),
            caches::trim_metadata,
        );
        refill(&mut self.writers.jobs, children("jobs"), caches::trim_job);
        refill(
            &mut self.writers.ingresses,
            children("ingresses"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.http_routes,
            children("httproutes"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.pod_monitors,
            children("podmonitors"),
            caches::trim_metadata,
        );
        refill(
            &mut self.writers.prometheus_rules,
            children("prometheusrules"),
            caches::trim_rules,
        );
        // Secrets by their metadata, as the operator watches them; their
        // key names are read by name when a reconcile needs them.
        refill(
            &mut self.writers.secrets,
            all("secrets"),
            caches::trim_metadata,
        );
    }

    /// The ChatbotDeployment as the API server has it.
    pub fn chatbot(&self, path: &str) -> ChatbotDeployment {
        serde_json::from_value(self.api.get(path).expect("exists")).unwrap()
    }

    /// One reconcile of the resource at `path`, then the caches catch up.
    /// (The reconcile's future is boxed: long tests await many of them, and
    /// inline they would overflow a test thread's stack.)
    pub async fn reconcile(&mut self, path: &str) -> Action {
        let cbd = self.chatbot(path);
        let action = Box::pin(reconcile::reconcile_at(
            &cbd,
            &self.context,
            self.now.clone(),
        ))
        .await
        .expect("reconcile succeeds");
        self.sync();
        action
    }

    /// Brings the managed stores of the resource at `path` to available
    /// in the emulator, with their connection Secrets holding URLs, the
    /// way earlier reconciles would have: the operator's own data step, run
    /// until it has nothing left to do. The request log is cleared, so a
    /// test starts from a resource whose stores are ready.
    pub async fn provision_stores(&mut self, path: &str) {
        for _ in 0..4 {
            let cbd = self.chatbot(path);
            let spec = self
                .context
                .renderer
                .environments
                .resolve(&cbd.spec)
                .expect("spec resolves")
                .spec;
            let outcome = reconcile::data_stores::converge_stores(&self.context, &cbd, &spec)
                .await
                .expect("stores converge");
            self.sync();
            let ready = [&outcome.database, &outcome.cache]
                .into_iter()
                .flatten()
                .all(|facts| facts.ready);
            if ready
                && self
                    .api
                    .requests()
                    .iter()
                    .all(|r| r.method == http::Method::GET)
            {
                self.api.clear_requests();
                return;
            }
            self.api.clear_requests();
        }
        panic!("the stores of {path} did not become ready");
    }

    /// `times` reconciles in a row, the caches catching up after each.
    pub async fn reconcile_times(&mut self, path: &str, times: usize) {
        for _ in 0..times {
            self.reconcile(path).await;
        }
    }

    /// Status, reason and message of condition `type_` of the resource.
    pub fn condition(&self, path: &str, type_: &str) -> (String, String, String) {
        let status = self.chatbot(path).status.unwrap_or_default();
        let c = status
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("{type_} in {:#?}", status.conditions));
        (c.status.clone(), c.reason.clone(), c.message.clone())
    }

    /// The decoded value of `key` in Secret `name`, as the API server holds it.
    pub fn secret_value(&self, namespace: &str, name: &str, key: &str) -> Option<String> {
        use base64::Engine;
        let secret = self.api.get(&path("secrets", namespace, name))?;
        let encoded = secret["data"][key].as_str()?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        String::from_utf8(bytes).ok()
    }

    /// Whether the resource carries no finalizer any more.
    pub fn finalizers_gone(&self, path: &str) -> bool {
        self.chatbot(path)
            .metadata
            .finalizers
            .is_none_or(|f| f.is_empty())
    }

    /// Reasons and notes of the Events published since requests were last cleared.
    pub fn events(&self) -> Vec<(String, String)> {
        self.api
            .requests()
            .into_iter()
            .filter(|r| r.uri.contains("/events"))
            .filter_map(|r| r.body)
            .map(|b| {
                (
                    b["reason"].as_str().unwrap_or_default().to_string(),
                    b["note"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// One reconcile without refreshing the caches afterwards.
    pub async fn reconcile_unsynced(&self, path: &str) -> Action {
        let cbd = self.chatbot(path);
        Box::pin(reconcile::reconcile_at(
            &cbd,
            &self.context,
            self.now.clone(),
        ))
        .await
        .expect("reconcile succeeds")
    }

    /// Ends Job `name` (run from `started` to `ended`) as the Job
    /// controller would, `condition` `Complete` or `Failed`, with its pod's
    /// termination message `message` (the agent's report).
    pub fn job_ended(
        &mut self,
        namespace: &str,
        name: &str,
        condition: &str,
        message: &str,
        (started, ended): (Timestamp, Timestamp),
    ) {
        self.api.set_status(
            &path("jobs", namespace, name),
            json!({
                "startTime": started.to_string(),
                "conditions": [{ "type": condition, "status": "True",
                    "lastTransitionTime": ended.to_string() }]
            }),
        );
        self.api.insert(
            &format!("/api/v1/namespaces/{namespace}/pods/{name}-x7k2p"),
            json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": { "name": format!("{name}-x7k2p"), "namespace": namespace,
                    "labels": { "job-name": name } },
                "status": { "containerStatuses": [{
                    "name": "backup-agent", "ready": false, "restartCount": 0, "image": "agent", "imageID": "",
                    "state": { "terminated": { "exitCode": if condition == "Complete" { 0 } else { 1 },
                        "message": message } } }] }
            }),
        );
        self.sync();
    }

    /// Marks the app Deployment rolled out and ready, as the Deployment
    /// controller and kubelets would.
    pub fn deployment_ready(&mut self, namespace: &str, name: &str, replicas: i64) {
        let path = path("deployments", namespace, name);
        let deployment = self.api.get(&path).expect("deployment exists");
        let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(1);
        // An autoscaler (or the spec) sets the count; the pods follow.
        self.api
            .update(&path, |d| d["spec"]["replicas"] = json!(replicas));
        self.api.set_status(
            &path,
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
            }),
        );
        self.sync();
    }

    /// The action controller's context on this harness's caches.
    pub fn action_context(&self, synced: SyncGate) -> Arc<ActionContext> {
        Arc::new(ActionContext {
            client: self.context.client.clone(),
            metrics: self.metrics.clone(),
            reporter: Reporter {
                controller: "chatbot-operator".into(),
                instance: Some("test".into()),
            },
            chatbots: self.stores.chatbots.clone(),
            synced,
        })
    }

    /// The ChatbotAction at `action_path` as the API server has it.
    pub fn action(&self, action_path: &str) -> Arc<ChatbotAction> {
        Arc::new(serde_json::from_value(self.api.get(action_path).expect("exists")).unwrap())
    }

    /// One reconcile of the action at `action_path`, with the caches filled.
    pub async fn run_action(&self, action_path: &str) -> Action {
        let synced = SyncGate::default();
        synced.open();
        Box::pin(action::reconcile(
            self.action(action_path),
            self.action_context(synced),
        ))
        .await
        .expect("action reconcile")
    }

    /// Request lines since the last call, query strings dropped.
    pub fn take_requests(&self) -> Vec<String> {
        let lines = self.api.requests().iter().map(|r| r.line()).collect();
        self.api.clear_requests();
        lines
    }
}
