//! The maintenance page, measured: `cargo bench --bench maintenance`.
//!
//! 1. **Failover.** The operator binary runs against the in-memory API
//!    server on a loopback port, with `MAINTENANCE_BENCH_RESOURCES`
//!    (default 20) MindMitra deployments (ingress-nginx, the helplines
//!    page on `whenUnavailable`), every pod ready. One at a time, every app
//!    pod of one resource is made unready, as kubelets would report it;
//!    timed until its Ingress points at the page, then the pods are made
//!    ready again and timed until it points back. The resync is 300 s and
//!    a waiting resource is looked at every 30 s, so a switch in well under
//!    a second is the Deployment's watch event, not a timer; the reconciles
//!    per switch come from the operator's own counter.
//! 2. **Serving.** `chatbot-operator maintenance serve` (the binary, as
//!    the page's pods run it) with MindMitra's page, driven at 1,000
//!    requests per second for 10 s over 16 keep-alive connections by an
//!    open-loop client (each request is sent on its schedule, late or
//!    not, so a slow server shows in the latencies rather than hiding in a
//!    lower rate): p50/p99/max latency and the server's peak RSS, beside
//!    its `/healthz` at the same rate as the reference.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::harness::{Harness, path, status_default};
use serde_json::{Value, json};

const RATE: u64 = 1_000;
const SECONDS: u64 = 10;
const CONNECTIONS: u64 = 16;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        samples.len()
    )
}

/// The in-cluster MindMitra of namespace `team-{index}`, its Secrets and
/// stores in place.
fn populate(harness: &mut Harness, count: usize) -> Vec<(String, String)> {
    let mut resources = Vec::new();
    for index in 0..count {
        let namespace = format!("team-{index}");
        let mut cbd = common::dev_variant("mindmitra");
        cbd.metadata.namespace = Some(namespace.clone());
        cbd.spec
            .rollout
            .get_or_insert_with(Default::default)
            .strategy = Some(chatbot_operator::api::Strategy::Rolling);
        for secret in ["mindmitra-llm", "mindmitra-sentry"] {
            harness.api.insert(
                &path("secrets", &namespace, secret),
                json!({"apiVersion": "v1", "kind": "Secret",
                       "metadata": {"name": secret, "namespace": namespace},
                       "data": {"api-key": "eA==", "dsn": "eA=="}}),
            );
        }
        let mut object = serde_json::to_value(&cbd).unwrap();
        object["status"] = status_default();
        let at = path("chatbotdeployments", &namespace, "mindmitra");
        harness.api.insert(&at, object);
        resources.push((namespace, at));
    }
    harness.sync();
    resources
}

/// Sets the ready pods of a Deployment, as its controller and kubelets would.
fn set_ready(api: &common::fake_api::FakeApi, deployment: &str, ready: i64) {
    let Some(object) = api.get(deployment) else {
        return;
    };
    let generation = object["metadata"]["generation"].clone();
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(2).max(1);
    let ready = ready.min(replicas);
    if object["status"]["readyReplicas"] == ready
        && object["status"]["observedGeneration"] == generation
    {
        return;
    }
    api.set_status(
        deployment,
        json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
               "readyReplicas": ready, "availableReplicas": ready}),
    );
}

fn everything_ready(api: &common::fake_api::FakeApi, namespace: &str) {
    for deployment in ["mindmitra", "mindmitra-pgbouncer", "mindmitra-maintenance"] {
        set_ready(api, &path("deployments", namespace, deployment), i64::MAX);
    }
    for store in ["mindmitra-postgres", "mindmitra-redis"] {
        let set = path("statefulsets", namespace, store);
        if api
            .get(&set)
            .is_some_and(|s| s["status"]["readyReplicas"] != 1)
        {
            api.set_status(&set, json!({"replicas": 1, "readyReplicas": 1}));
        }
    }
}

fn backend(api: &common::fake_api::FakeApi, namespace: &str) -> Option<String> {
    let ingress = api.get(&path("ingresses", namespace, "mindmitra"))?;
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        .as_str()
        .map(str::to_string)
}

fn ready(object: &Value) -> bool {
    object["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Polls `done` every millisecond until it holds; the time it took.
async fn until(deadline: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < deadline, "no switch within {deadline:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

async fn failover(count: usize) {
    let mut harness = Harness::new();
    let resources = populate(&mut harness, count);
    let api = harness.api.clone();
    drop(harness);
    let server = common::fake_server::FakeServer::start(api.clone()).await;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    let mut process = server.spawn_operator(
        metrics,
        "warn",
        &common::root().join("target/bench-maintenance.log"),
    );
    until(Duration::from_secs(300), || {
        resources.iter().all(|(namespace, at)| {
            everything_ready(&api, namespace);
            api.get(at).is_some_and(|o| ready(&o))
                && backend(&api, namespace).as_deref() == Some("mindmitra")
        })
    })
    .await;
    let reconciles = || {
        common::e2e::scrape(metrics).map_or(0.0, |text| {
            common::e2e::metric_sum(
                &text,
                "chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}",
            )
        })
    };
    let before = reconciles();
    let (mut on, mut off, mut until_switch) = (Vec::new(), Vec::new(), Vec::new());
    for (namespace, _) in &resources {
        let app = path("deployments", namespace, "mindmitra");
        for (ready, page, times) in [
            (0, "mindmitra-maintenance", &mut on),
            (i64::MAX, "mindmitra", &mut off),
        ] {
            // Settle first: no reconcile of an earlier switch still running.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let at_change = reconciles();
            set_ready(&api, &app, ready);
            times.push(
                until(Duration::from_secs(60), || {
                    backend(&api, namespace).as_deref() == Some(page)
                })
                .await,
            );
            until_switch.push(reconciles() - at_change);
        }
    }
    let per_switch = (reconciles() - before) / (2 * resources.len()) as f64;
    let most_until_switch = until_switch.iter().copied().fold(0.0, f64::max);
    let _ = process.kill();
    let _ = process.wait();
    println!("failover: the operator binary against the in-memory API server, {count} resources");
    println!(
        "  all app pods unready → Ingress on the page: {}",
        summary(on)
    );
    println!(
        "  a pod ready again    → Ingress on the app:  {}",
        summary(off)
    );
    println!(
        "  reconciles from the readiness change to the switch: at most {most_until_switch:.0}; {per_switch:.2} per switch in all, the echo of the operator's own writes included (resync 300 s, waiting requeue 30 s)"
    );
}

/// `maintenance serve` on a free port with MindMitra's page.
fn start_server(dir: &std::path::Path) -> (std::process::Child, std::net::SocketAddr) {
    let rendered = common::render_sample("mindmitra");
    let page = rendered
        .children
        .iter()
        .find(|c| c.kind() == chatbot_operator::render::ChildKind::MaintenancePage)
        .unwrap();
    let chatbot_operator::render::Object::ConfigMap(config_map) = page.object() else {
        unreachable!("the page is a ConfigMap")
    };
    for (name, text) in config_map.data.as_ref().unwrap() {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    let process = std::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
        .args([
            "maintenance",
            "serve",
            "--listen",
            &address.to_string(),
            "--dir",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (process, address)
}

/// `RATE` requests per second for `SECONDS` to `url`, open loop over
/// `CONNECTIONS` keep-alive connections; the latency of each, and how many
/// answered with `status`.
async fn load(url: String, status: u16) -> (Vec<Duration>, usize) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS as usize)
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let interval = Duration::from_nanos(1_000_000_000 * CONNECTIONS / RATE);
    let mut workers = Vec::new();
    for worker in 0..CONNECTIONS {
        let (client, url) = (client.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut expected = 0;
            let offset = interval * worker as u32 / CONNECTIONS as u32;
            let requests = RATE * SECONDS / CONNECTIONS;
            for n in 0..requests {
                let due = start + offset + interval * n as u32;
                tokio::time::sleep_until(due).await;
                let response = client.get(&url).send().await.unwrap();
                let ok = response.status().as_u16() == status;
                response.bytes().await.unwrap();
                // From when the request was due: queueing counts.
                latencies.push(due.elapsed());
                expected += usize::from(ok);
            }
            (latencies, expected)
        }));
    }
    let mut all = Vec::new();
    let mut answered = 0;
    for worker in workers {
        let (latencies, ok) = worker.await.unwrap();
        all.extend(latencies);
        answered += ok;
    }
    (all, answered)
}

async fn serving() {
    let dir = tempfile::tempdir().unwrap();
    let (mut process, address) = start_server(dir.path());
    let health = format!("http://{address}/healthz");
    until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(address).is_ok()
    })
    .await;
    let (reference, healthy) = load(health, 200).await;
    let (page, pages) = load(format!("http://{address}/chat"), 503).await;
    let rss = common::e2e::peak_rss_kib(process.id()).unwrap_or(0);
    let _ = process.kill();
    let _ = process.wait();
    let total = (RATE * SECONDS) as usize;
    println!(
        "serving: `maintenance serve`, {RATE} requests/s for {SECONDS} s over {CONNECTIONS} connections"
    );
    println!(
        "  reference /healthz: {} ({healthy} of {total} answered 200)",
        summary(reference.clone())
    );
    println!(
        "  the page:           {} ({pages} of {total} answered 503)",
        summary(page.clone())
    );
    let p99 = |mut s: Vec<Duration>| {
        s.sort();
        percentile(&s, 0.99).as_secs_f64()
    };
    println!(
        "  page p99 / reference p99 = {:.2}",
        p99(page) / p99(reference).max(1e-9)
    );
    println!("  server peak RSS {:.1} MiB", rss as f64 / 1024.0);
}

fn main() {
    let count = std::env::var("MAINTENANCE_BENCH_RESOURCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        failover(count).await;
        serving().await;
    });
}
