//! Helpers for the end-to-end tests against the cluster in `KUBECONFIG`:
//! installing what `manifests/` holds, running the operator binary as its
//! own service account (with its token where `scripts/cluster.sh` gives
//! one in `E2E_OPERATOR_KUBECONFIG`, else impersonated: exactly the RBAC
//! in `manifests/` either way), namespaces per test, and waiting on
//! conditions with deadlines.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::core::v1::{Namespace, Secret},
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{
        ApiResource, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
    },
    discovery,
    runtime::wait::{await_condition, conditions},
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

pub use super::rbac::OPERATOR_USER;
const MANAGER: &str = "chatbot-operator-e2e";

pub async fn client() -> Client {
    Client::try_default()
        .await
        .expect("a cluster in KUBECONFIG")
}

static INSTALLED: OnceCell<()> = OnceCell::const_new();

/// Applies everything `kubectl kustomize manifests/` produces except the
/// operator's own Deployment, Service and PodDisruptionBudget (the tests
/// run the binary they just built instead of an image). Once per run; left
/// installed, as an install would be.
pub async fn install(client: &Client) {
    INSTALLED
        .get_or_init(|| async {
            for object in kustomize("manifests/") {
                let kind = object["kind"].as_str().unwrap().to_string();
                if ["Deployment", "Service", "PodDisruptionBudget"].contains(&kind.as_str()) {
                    continue;
                }
                apply(client, &object).await;
                if kind == "CustomResourceDefinition" {
                    established(client, object["metadata"]["name"].as_str().unwrap()).await;
                }
            }
            install_http_routes(client).await;
        })
        .await;
}

/// The objects `kubectl kustomize DIR` builds from a directory of the
/// repository.
pub fn kustomize(dir: &str) -> Vec<Value> {
    let output = Command::new("kubectl")
        .args(["kustomize", dir])
        .current_dir(super::root())
        .output()
        .expect("kubectl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    chatbot_operator::document::documents(&String::from_utf8(output.stdout).unwrap()).unwrap()
}

async fn established(client: &Client, name: &str) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    tokio::time::timeout(
        Duration::from_secs(60),
        await_condition(crds, name, conditions::is_crd_established()),
    )
    .await
    .expect("CRD established within 60 s")
    .expect("watch CRD");
}

/// The Gateway API's HTTPRoute CRD, from the `gateway-api` crate's own
/// types (no network to download the release), unless the cluster already
/// serves HTTPRoutes: a real Gateway API install is never overwritten.
async fn install_http_routes(client: &Client) {
    let served = client
        .list_api_group_resources("gateway.networking.k8s.io/v1")
        .await
        .is_ok_and(|list| list.resources.iter().any(|r| r.name == "httproutes"));
    if served {
        return;
    }
    let object = http_route_crd();
    apply(client, &object).await;
    established(client, object["metadata"]["name"].as_str().unwrap()).await;
}

/// The HTTPRoute CRD as the Gateway API project ships it: from the
/// `gateway-api` crate's types, with the approval annotation an API server
/// demands of a CRD in a `*.k8s.io` group.
pub fn http_route_crd() -> Value {
    use kube::CustomResourceExt;
    let mut crd =
        serde_json::to_value(gateway_api::apis::standard::httproutes::HttpRoute::crd()).unwrap();
    crd["metadata"]["annotations"] = json!({
        chatbot_operator::api::crd_admission::APPROVAL_ANNOTATION:
            "https://github.com/kubernetes-sigs/gateway-api/pull/3328",
    });
    crd
}

/// Server-side applies any object (as the test's own field manager).
pub async fn apply(client: &Client, object: &Value) -> DynamicObject {
    let api_version = object["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, object["kind"].as_str().unwrap());
    let (resource, capabilities) = discovery::pinned_kind(client, &gvk)
        .await
        .expect("kind is served");
    let api: Api<DynamicObject> =
        match (capabilities.scope, object["metadata"]["namespace"].as_str()) {
            (discovery::Scope::Namespaced, Some(namespace)) => {
                Api::namespaced_with(client.clone(), namespace, &resource)
            }
            _ => Api::all_with(client.clone(), &resource),
        };
    let name = object["metadata"]["name"].as_str().unwrap();
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .unwrap_or_else(|error| panic!("apply {name}: {error}"))
}

/// A namespace for one test, deleted when dropped.
pub struct TestNamespace {
    pub name: String,
    client: Client,
}

impl TestNamespace {
    pub async fn new(client: &Client, test: &str) -> Self {
        let name = format!("cbd-e2e-{test}-{}", std::process::id());
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let mut namespace = Namespace::default();
        namespace.meta_mut().name = Some(name.clone());
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("create the test namespace");
        Self {
            name,
            client: client.clone(),
        }
    }

    /// Creates a Secret with `keys` (values are `value-of-<key>`).
    pub async fn secret(&self, name: &str, keys: &[&str]) {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &self.name);
        let data: serde_json::Map<String, Value> = keys
            .iter()
            .map(|k| (k.to_string(), json!(format!("value-of-{k}"))))
            .collect();
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": name},
            "stringData": data,
        }))
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .expect("create Secret");
    }
}

impl TestNamespace {
    /// A 1 GiB ReadWriteOnce PersistentVolumeClaim `name` of the default
    /// StorageClass, as a team makes one for its backups.
    pub async fn volume_claim(&self, name: &str) {
        let claims: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> =
            Api::namespaced(self.client.clone(), &self.name);
        let claim = serde_json::from_value(json!({
            "metadata": { "name": name },
            "spec": { "accessModes": ["ReadWriteOnce"],
                "resources": { "requests": { "storage": "1Gi" } } }
        }))
        .unwrap();
        claims
            .create(&PostParams::default(), &claim)
            .await
            .expect("create the PersistentVolumeClaim");
    }
}

/// `spec.backup` to the volume claim `claim`, with `extra` merged in, and
/// the agent image `E2E_AGENT_IMAGE` names where it is set (the release's
/// otherwise).
pub fn backup_to_volume(claim: &str, extra: Value) -> Value {
    let mut backup = json!({ "enabled": true, "schedule": "0 3 * * *",
        "destination": { "pvc": { "claimName": claim } } });
    if let (Some(backup), Value::Object(extra)) = (backup.as_object_mut(), extra) {
        backup.extend(extra);
    }
    if let Ok(image) = std::env::var("E2E_AGENT_IMAGE") {
        backup["agentImage"] = json!(image);
    }
    backup
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let name = self.name.clone();
        // On a thread of its own with a client of its own: the test's
        // client runs on the test's runtime, which is blocked in this
        // `drop` until the deletion is sent. Runs when the test fails too.
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the clean-up");
            runtime.block_on(async move {
                let Ok(client) = Client::try_default().await else {
                    return;
                };
                // Stores live in the emulator the test's operator ran
                // against, which is gone by now: let the resources go
                // without their finalizer, or the namespace never does.
                let chatbots: Api<chatbot_operator::api::ChatbotDeployment> =
                    Api::namespaced(client.clone(), &name);
                if let Ok(list) = chatbots.list(&Default::default()).await {
                    for cbd in list {
                        let patch = serde_json::json!({"metadata": {"finalizers": null}});
                        let _ = chatbots
                            .patch(
                                &kube::ResourceExt::name_any(&cbd),
                                &kube::api::PatchParams::default(),
                                &kube::api::Patch::Merge(&patch),
                            )
                            .await;
                    }
                }
                let namespaces: Api<Namespace> = Api::all(client);
                let _ = tokio::time::timeout(
                    Duration::from_secs(30),
                    namespaces.delete(&name, &DeleteParams::background()),
                )
                .await;
            });
        });
        let _ = deleted.join();
    }
}

/// Writes the operator's identity made in `namespace`, as the API server's
/// audit log records them (`E2E_AUDIT_LOG`, which `scripts/cluster.sh`
/// sets: it logs every create, update, patch and delete of that
/// identity); `None` on a cluster without that log.
pub fn audited_writes(namespace: &str) -> Option<Vec<String>> {
    let path = std::env::var_os("E2E_AUDIT_LOG")?;
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|event| {
                event["stage"] == "ResponseComplete"
                    && event["user"]["username"] == OPERATOR_USER
                    && event["objectRef"]["namespace"] == namespace
            })
            .map(|event| {
                format!(
                    "{} {}",
                    event["verb"].as_str().unwrap_or_default(),
                    event["requestURI"].as_str().unwrap_or_default()
                )
            })
            .collect(),
    )
}

/// Peak resident memory of process `pid` in KiB (Linux).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The operator binary, running as its own service account, watching one
/// namespace. Stopped with SIGTERM when dropped.
pub struct Operator {
    process: Option<Child>,
    /// The AWS emulator its managed stores are created in.
    pub moto: super::moto::Moto,
    pub metrics: SocketAddr,
    pub log: PathBuf,
}

/// The Lease `manifests/` lets the operator's service account take: the
/// only name its Role grants `get` and `update` on.
pub const PRODUCT_LEASE: &str = "chatbot-operator";

impl Operator {
    /// An operator of the test's own, watching one namespace, without
    /// leader election: tests run side by side, each with its operator.
    pub fn start(namespace: &str, test: &str) -> Self {
        Self::spawn(namespace, test, &["--no-leader-election"])
    }

    /// An operator that elects itself through the product's own Lease, as
    /// a replica of the installed operator would. One such test at a time:
    /// they share the Lease.
    pub fn leading(namespace: &str, test: &str) -> Self {
        Self::spawn(
            namespace,
            test,
            &[
                "--lease-namespace",
                "chatbot-operator-system",
                "--lease-name",
                PRODUCT_LEASE,
            ],
        )
    }

    /// An operator running as `user` (impersonated by the kubeconfig's
    /// administrator), watching `namespace` and electing its leader
    /// through a Lease there: the rights of a namespaced install only.
    pub fn as_user(namespace: &str, test: &str, user: &str) -> Self {
        Self::launch(
            namespace,
            test,
            Some(user),
            &[
                "--lease-namespace",
                namespace,
                "--lease-name",
                PRODUCT_LEASE,
            ],
        )
    }

    fn spawn(namespace: &str, test: &str, election: &[&str]) -> Self {
        Self::launch(namespace, test, None, election)
    }

    fn launch(namespace: &str, test: &str, user: Option<&str>, election: &[&str]) -> Self {
        let moto = super::moto::Moto::start();
        let metrics = SocketAddr::from(([127, 0, 0, 1], super::free_port()));
        let dir = super::root().join("target/e2e-logs");
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join(format!("{test}-{}.log", metrics.port()));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"));
        command.arg("run");
        // The operator's own identity: a kubeconfig of its ServiceAccount
        // where the control plane gives one (scripts/cluster.sh), else the
        // kubeconfig's user impersonating it. Either way only the RBAC in
        // `manifests/` applies.
        match (user, std::env::var_os("E2E_OPERATOR_KUBECONFIG")) {
            (Some(user), _) => {
                command.args(["--as", user]);
            }
            (None, Some(kubeconfig)) => {
                command.env("KUBECONFIG", kubeconfig);
            }
            (None, None) => {
                command.args(["--as", OPERATOR_USER]);
            }
        }
        // The cluster's Services by name (a candidate's smoke checks), as
        // from inside the cluster, where the control plane offers a proxy;
        // everything on this machine directly.
        if let Some(proxy) = std::env::var_os("E2E_SERVICE_PROXY") {
            command
                .env("HTTP_PROXY", proxy)
                .env("NO_PROXY", "127.0.0.1,localhost,::1");
        }
        let process = command
            .args([
                "--namespace",
                namespace,
                "--identity",
                &format!("e2e-{}", metrics.port()),
                "--resync-seconds",
                "5",
                "--metrics-address",
                &metrics.to_string(),
            ])
            .args(election)
            .env("RUST_LOG", "info,chatbot_operator=debug")
            .env("AWS_ENDPOINT_URL", moto.url())
            .env("AWS_REGION", super::moto::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start the operator");
        Self {
            moto,
            process: Some(process),
            metrics,
            log,
        }
    }

    /// Kills the process at once (no graceful shutdown, no Lease release).
    pub fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Peak resident memory of the process in KiB (Linux).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        peak_rss_kib(self.process.as_ref()?.id())
    }

    /// The operator's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The Prometheus text from `/metrics`, if it answers.
    pub fn scrape(&self) -> Option<String> {
        scrape(self.metrics)
    }

    /// Sum of a metric's samples whose line starts with `prefix`.
    pub fn metric(&self, prefix: &str) -> Option<f64> {
        Some(metric_sum(&self.scrape()?, prefix))
    }
}

/// The Prometheus text an operator serves on `/metrics` at `address`, if
/// it answers.
pub fn scrape(address: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream
        .write_all(format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
}

/// Sum of the samples in Prometheus `text` whose line starts with `prefix`.
pub fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

impl Drop for Operator {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &process.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = process.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Checks `check` until it holds or `deadline` passes; panics with `what`
/// (and the operator's log) on timeout.
pub async fn eventually<T, F, Fut>(
    what: &str,
    deadline: Duration,
    operator: Option<&Operator>,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > deadline {
            let log = operator.map(Operator::log_text).unwrap_or_default();
            panic!("{what}: not within {deadline:?}\noperator log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The API resource of a ChatbotDeployment, for dynamic access.
pub fn chatbot_resource() -> ApiResource {
    ApiResource::erase::<chatbot_operator::api::ChatbotDeployment>(&())
}

/// The name of an object.
pub fn name_of(object: &impl ResourceExt) -> String {
    object.name_any()
}

/// Creates `cbd` in `namespace` (status left out).
pub async fn create_chatbot(
    client: &Client,
    namespace: &str,
    cbd: &chatbot_operator::api::ChatbotDeployment,
) -> chatbot_operator::api::ChatbotDeployment {
    let api: Api<chatbot_operator::api::ChatbotDeployment> =
        Api::namespaced(client.clone(), namespace);
    let mut cbd = cbd.clone();
    cbd.metadata.namespace = Some(namespace.to_string());
    cbd.status = None;
    api.create(&PostParams::default(), &cbd)
        .await
        .expect("create ChatbotDeployment")
}

/// A server-side apply of `cbd`'s spec by another field manager, as Argo
/// CD syncs it.
pub async fn gitops_apply(
    client: &Client,
    namespace: &str,
    cbd: &chatbot_operator::api::ChatbotDeployment,
) {
    let api: Api<chatbot_operator::api::ChatbotDeployment> =
        Api::namespaced(client.clone(), namespace);
    let body = json!({
        "apiVersion": "chatbot.dev/v1alpha1",
        "kind": "ChatbotDeployment",
        "metadata": {"name": cbd.name_any()},
        "spec": cbd.spec,
    });
    api.patch(
        &cbd.name_any(),
        &PatchParams::apply("argocd-controller").force(),
        &Patch::Apply(&body),
    )
    .await
    .unwrap();
}

/// The resource's status, if it exists and has one.
pub async fn read_status(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Option<chatbot_operator::api::ChatbotDeploymentStatus> {
    let api: Api<chatbot_operator::api::ChatbotDeployment> =
        Api::namespaced(client.clone(), namespace);
    api.get_opt(name).await.ok().flatten()?.status
}

/// Status and reason of condition `type_`.
pub fn condition(
    status: &chatbot_operator::api::ChatbotDeploymentStatus,
    type_: &str,
) -> Option<(String, String)> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

/// The image of the first container of Deployment `name`.
pub async fn template_image(client: &Client, namespace: &str, name: &str) -> Option<String> {
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), namespace);
    let deployment = deployments.get_opt(name).await.ok().flatten()?;
    deployment.spec?.template.spec?.containers[0].image.clone()
}

/// `psql -tAc SQL` against the in-cluster Postgres of ChatbotDeployment
/// `name` (pod `<name>-postgres-0`), as its user `chatbot` with the
/// password from its Secret `<name>-db`; the output, trimmed. Over the
/// network to the pod's IP where this machine reaches it (the control
/// plane of `scripts/cluster.sh`, and most local clusters), else through
/// `kubectl exec` over the pod's own socket.
pub async fn in_cluster_sql(
    client: &Client,
    namespace: &str,
    name: &str,
    database: &str,
    sql: &str,
) -> String {
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(client.clone(), namespace);
    let pod = format!("{name}-postgres-0");
    let ip = pods
        .get(&pod)
        .await
        .ok()
        .and_then(|p| p.status?.pod_ip)
        .expect("the Postgres pod has an IP");
    let reachable = std::net::TcpStream::connect_timeout(
        &SocketAddr::new(ip.parse().expect("an IP"), 5432),
        Duration::from_secs(2),
    )
    .is_ok();
    let output = if reachable {
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let secret = secrets
            .get(&format!("{name}-db"))
            .await
            .expect("the database's Secret");
        let password = secret
            .data
            .as_ref()
            .and_then(|d| d.get("password"))
            .map(|p| String::from_utf8_lossy(&p.0).into_owned())
            .expect("the database's password");
        tokio::process::Command::new("psql")
            .args(["-h", &ip, "-U", "chatbot", "-d", database, "-tAc", sql])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .await
            .expect("psql")
    } else {
        tokio::process::Command::new("kubectl")
            .args(["exec", "-n", namespace, &pod, "--"])
            .args(["psql", "-U", "chatbot", "-d", database, "-tAc", sql])
            .output()
            .await
            .expect("kubectl exec")
    };
    assert!(
        output.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A small spec that needs no data store and no Secret, so it can become
/// Ready wherever pods can, with `extra` merged into its spec.
pub fn plain_chatbot(name: &str, extra: Value) -> chatbot_operator::api::ChatbotDeployment {
    let mut object = json!({
        "apiVersion": "chatbot.dev/v1alpha1",
        "kind": "ChatbotDeployment",
        "metadata": {"name": name},
        "spec": {
            "environment": "dev",
            "image": "ghcr.io/chatbot-operator/echo-bot:1.0.0",
            "replicas": {"min": 2, "max": 2},
            "database": {"mode": "none"},
            "cache": {"mode": "none"},
            "secrets": {"generated": ["SECRET_KEY"]},
        },
    });
    if let (Some(spec), Value::Object(extra)) = (object["spec"].as_object_mut(), extra) {
        spec.extend(extra);
    }
    serde_json::from_value(object).expect("a valid ChatbotDeployment")
}
