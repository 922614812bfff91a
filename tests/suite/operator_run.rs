//! `chatbot-operator run`, the real binary, against the in-memory API
//! server on a loopback port: caches fill from lists and watches, a
//! ChatbotDeployment gets its children and turns Ready, a settled resource
//! is reconciled without writes, a second replica stands by, and SIGTERM
//! hands the Lease over at once.

use crate::common;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::{
    fake_api::FakeApi,
    fake_server::FakeServer,
    harness::{path, status_default},
    moto::Moto,
};
use serde_json::{Value, json};

const NS: &str = "mindmitra";
const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/chatbot-operator-system/leases/chatbot-operator";

struct Replica {
    process: Child,
    metrics: SocketAddr,
    log: std::path::PathBuf,
}

impl Replica {
    fn start(server: &FakeServer, aws: &Moto, identity: &str) -> Self {
        let metrics = SocketAddr::from(([127, 0, 0, 1], common::free_port()));
        let log = server_dir().join(format!("{identity}-{}.log", metrics.port()));
        let process = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .args([
                "run",
                "--identity",
                identity,
                "--lease-namespace",
                "chatbot-operator-system",
                "--resync-seconds",
                "1",
                "--log-format",
                "json",
                "--metrics-address",
                &metrics.to_string(),
            ])
            .env("KUBECONFIG", server.kubeconfig())
            .env("RUST_LOG", "info")
            // The standard AWS chain, pointed at the emulator.
            .env("AWS_ENDPOINT_URL", aws.url())
            .env("AWS_REGION", common::moto::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the operator");
        Self {
            process,
            metrics,
            log,
        }
    }

    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(&self.metrics, Duration::from_secs(1)).ok()?;
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let code = response.split(' ').nth(1)?.parse().ok()?;
        Some((code, response.split_once("\r\n\r\n")?.1.to_string()))
    }

    fn metric(&self, prefix: &str) -> Option<f64> {
        let (_, text) = self.get("/metrics")?;
        Some(common::e2e::metric_sum(&text, prefix))
    }

    fn terminate(&mut self) -> Option<i32> {
        Command::new("kill")
            .args(["-TERM", &self.process.id().to_string()])
            .status()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.process.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn server_dir() -> std::path::PathBuf {
    let dir = common::root().join("target/operator-run-logs");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn until<T>(what: &str, replica: &Replica, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within 30 s\n{}",
            replica.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn condition(api: &FakeApi, type_: &str) -> Option<String> {
    let cbd = api.get(&path("chatbotdeployments", NS, "mindmitra"))?;
    cbd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str().map(str::to_string))
}

fn secret(api: &FakeApi, name: &str, key: &str) {
    api.insert(
        &path("secrets", NS, name),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "data": {key: "c2VjcmV0"}}),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_binary_reconciles_stays_quiet_and_hands_over_on_sigterm() {
    let api = FakeApi::default();
    let server = FakeServer::start(api.clone()).await;
    secret(&api, "mindmitra-llm", "api-key");
    secret(&api, "mindmitra-sentry", "dsn");
    let mut cbd: Value = serde_json::to_value(common::sample_without_gates("mindmitra")).unwrap();
    cbd["status"] = status_default();
    api.insert(&path("chatbotdeployments", NS, "mindmitra"), cbd);

    let moto = Moto::start();
    let mut first = Replica::start(&server, &moto, "replica-a");
    until("replica-a leads", &first, || {
        first
            .metric("chatbot_operator_leader")
            .filter(|v| *v == 1.0)
    })
    .await;
    let deployment = path("deployments", NS, "mindmitra");
    until("the Deployment is applied", &first, || api.get(&deployment)).await;
    until("Ready=False while pods start", &first, || {
        condition(&api, "Ready").filter(|s| s == "False")
    })
    .await;

    // The Deployment controller and kubelets report the pods ready.
    let generation = api.get(&deployment).unwrap()["metadata"]["generation"].clone();
    api.update(&deployment, |d| {
        d["spec"]["replicas"] = json!(2);
        d["status"] = json!({"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2, "availableReplicas": 2});
    });
    until("Ready=True", &first, || {
        condition(&api, "Ready").filter(|s| s == "True")
    })
    .await;
    let (code, _) = first.get("/readyz").unwrap();
    assert_eq!(code, 200);

    // Settled once the reconcile that saw the pods ready has also
    // published its Events (they follow its status write): two more
    // reconciles, then resyncs every second, no write.
    let ready_at = first
        .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")
        .unwrap();
    until("two reconciles after Ready", &first, || {
        first
            .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")
            .filter(|r| *r >= ready_at + 2.0)
    })
    .await;
    let writes = first.metric("chatbot_operator_write_calls_total").unwrap();
    assert!(
        writes >= 10.0,
        "children, status and Events were written: {writes}"
    );
    let reconciles = first
        .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")
        .unwrap();
    until("three more reconciles", &first, || {
        first
            .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")
            .filter(|r| *r >= reconciles + 3.0)
    })
    .await;
    let recent: Vec<String> = api
        .requests()
        .iter()
        .rev()
        .take(15)
        .map(|r| r.line())
        .collect();
    assert_eq!(
        first.metric("chatbot_operator_write_calls_total").unwrap(),
        writes,
        "a settled resource was written; the newest requests: {recent:#?}"
    );
    let log = first.log_text();
    assert!(
        !log.is_empty() && log.lines().all(|l| l.starts_with('{')),
        "JSON logs: {log}"
    );
    assert!(
        log.contains(r#""namespace":"mindmitra""#),
        "object reference on reconcile lines"
    );

    // A second replica stands by, ready to take over.
    let mut second = Replica::start(&server, &moto, "replica-b");
    until("replica-b answers", &second, || {
        second.get("/readyz").filter(|(c, _)| *c == 200)
    })
    .await;
    assert_eq!(second.metric("chatbot_operator_leader"), Some(0.0));

    // SIGTERM: in-flight work finishes, the Lease is released, the standby leads.
    let released_at = Instant::now();
    assert_eq!(first.terminate(), Some(0), "{}", first.log_text());
    assert!(
        api.get(LEASE).unwrap()["spec"]["holderIdentity"].is_null(),
        "the Lease was released"
    );
    until("replica-b leads", &second, || {
        second
            .metric("chatbot_operator_leader")
            .filter(|v| *v == 1.0)
    })
    .await;
    assert!(
        released_at.elapsed() < Duration::from_secs(10),
        "hand-over took {:?}",
        released_at.elapsed()
    );
    assert_eq!(
        api.get(LEASE).unwrap()["spec"]["holderIdentity"],
        "replica-b"
    );
    until("replica-b keeps it Ready", &second, || {
        second
            .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")
            .filter(|r| *r >= 1.0)
    })
    .await;
    assert_eq!(
        second.metric("chatbot_operator_write_calls_total"),
        Some(0.0),
        "nothing to change: {}\n{}",
        second
            .get("/metrics")
            .map(|(_, text)| text
                .lines()
                .filter(|l| l.starts_with("chatbot_operator_write_calls_total"))
                .collect::<Vec<_>>()
                .join("\n"))
            .unwrap_or_default(),
        second.log_text()
    );
    assert_eq!(second.terminate(), Some(0));
}

/// Runs the binary until it exits (at most 30 s): exit code and log.
async fn run_to_exit(server: &FakeServer) -> (Option<i32>, String) {
    let kubeconfig = server.kubeconfig();
    tokio::task::spawn_blocking(move || {
        let mut process = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .args([
                "run",
                "--no-leader-election",
                "--metrics-address",
                "127.0.0.1:0",
            ])
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the operator");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = process.try_wait() {
                let mut log = String::new();
                process.stderr.take().unwrap().read_to_string(&mut log).ok();
                return (status.code(), log);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = process.kill();
        let _ = process.wait();
        (None, String::new())
    })
    .await
    .unwrap()
}

/// Starts the binary against an API server that answers every list of
/// ChatbotDeployments with `code`; expects exit code 1. The server and the
/// log.
async fn refused_at_start(code: u16) -> (FakeApi, String) {
    let api = FakeApi::default();
    api.fail(
        "GET /apis/chatbot.dev/v1alpha1/chatbotdeployments",
        code,
        1000,
    );
    let server = FakeServer::start(api.clone()).await;
    let (exit, log) = run_to_exit(&server).await;
    assert_eq!(exit, Some(1), "{log}");
    (api, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_crd_the_operator_says_how_to_install_it_and_exits() {
    let (api, log) = refused_at_start(404).await;
    assert!(
        log.contains("the ChatbotDeployment CRD is not installed on http://")
            && log.contains("kubectl apply -k manifests/"),
        "{log}"
    );
    assert!(
        !api.requests().iter().any(|r| r.method != http::Method::GET),
        "nothing written"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_permission_the_operator_names_the_role_to_bind_and_exits() {
    let (_, log) = refused_at_start(403).await;
    assert!(
        log.contains(
            "not allowed to list chatbotdeployments: bind the chatbot-operator ClusterRole"
        ),
        "{log}"
    );
}
