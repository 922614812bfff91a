//! In-cluster Postgres and Redis (`mode: inCluster`, the dev default) and
//! PgBouncer, through the real reconciler against the in-memory API
//! server: the connection Secrets, the StatefulSets, readiness from their
//! status, and the URLs when the pooler is switched.

use crate::common;

use chatbot_operator::api::ChatbotDeployment;
use common::harness::{Harness, path};
use serde::Deserialize;
use serde_json::json;

const NS: &str = "mindmitra";

fn dev_mindmitra() -> (Harness, String, ChatbotDeployment) {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let cbd = common::dev_variant("mindmitra");
    let at = harness.create(&cbd);
    (harness, at, cbd)
}

/// Marks a StatefulSet's pod ready, as the StatefulSet controller would.
fn stateful_set_ready(harness: &mut Harness, name: &str) {
    harness.api.set_status(
        &path("statefulsets", NS, name),
        json!({ "replicas": 1, "readyReplicas": 1, "availableReplicas": 1 }),
    );
    harness.sync();
}

#[tokio::test]
async fn dev_stores_get_a_password_and_urls_at_once_and_become_ready_with_their_pods() {
    let (mut harness, at, _) = dev_mindmitra();
    harness.reconcile(&at).await;
    let first_requests = harness.api.requests();

    for (object, name) in [
        ("statefulsets", "mindmitra-postgres"),
        ("statefulsets", "mindmitra-redis"),
        ("services", "mindmitra-postgres"),
        ("services", "mindmitra-redis"),
        ("deployments", "mindmitra-pgbouncer"),
        ("services", "mindmitra-pgbouncer"),
        ("networkpolicies", "mindmitra-stores"),
    ] {
        assert!(
            harness.api.get(&path(object, NS, name)).is_some(),
            "{object}/{name} applied"
        );
    }
    // One Secret per store, written whole in one create: the password and
    // the URLs that carry it.
    let password = harness
        .secret_value(NS, "mindmitra-db", "password")
        .expect("password");
    assert_eq!(password.len(), 64, "256 random bits, hex");
    assert_eq!(
        harness
            .secret_value(NS, "mindmitra-db", "DIRECT_DATABASE_URL")
            .unwrap(),
        format!(
            "postgresql://chatbot:{password}@mindmitra-postgres.mindmitra.svc:5432/chatbot?sslmode=disable"
        )
    );
    assert_eq!(
        harness
            .secret_value(NS, "mindmitra-db", "DATABASE_URL")
            .unwrap(),
        format!(
            "postgresql://chatbot:{password}@mindmitra-pgbouncer.mindmitra.svc:5432/chatbot?sslmode=disable"
        ),
        "the app goes through PgBouncer"
    );
    let cache_password = harness
        .secret_value(NS, "mindmitra-cache", "password")
        .unwrap();
    assert_ne!(cache_password, password);
    assert_eq!(
        harness
            .secret_value(NS, "mindmitra-cache", "REDIS_URL")
            .unwrap(),
        format!("redis://:{cache_password}@mindmitra-redis.mindmitra.svc:6379/0")
    );

    // Only the Secrets' own requests carry the passwords.
    for request in first_requests {
        let body = request.body.map(|b| b.to_string()).unwrap_or_default();
        if !request.uri.contains("/secrets") {
            assert!(
                !body.contains(&password) && !body.contains(&cache_password),
                "{} carries a password",
                request.uri
            );
        }
    }

    let (ready, reason, message) = harness.condition(&at, "DatabaseReady");
    assert_eq!((ready.as_str(), reason.as_str()), ("False", "Creating"));
    assert!(message.contains("mindmitra-postgres"), "{message}");

    // The app's pods start once the URLs exist (the next reconcile); the
    // stores' pods are starting.
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra"))
            .is_some()
    );
    assert_eq!(harness.condition(&at, "DatabaseReady").1, "Starting");
    assert_eq!(harness.condition(&at, "CacheReady").1, "Starting");

    stateful_set_ready(&mut harness, "mindmitra-postgres");
    stateful_set_ready(&mut harness, "mindmitra-redis");
    harness.reconcile(&at).await;
    let (ready, reason, message) = harness.condition(&at, "DatabaseReady");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "PoolerStarting"),
        "{message}"
    );
    assert_eq!(harness.condition(&at, "CacheReady").0, "True");

    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.reconcile(&at).await;
    let (ready, reason, message) = harness.condition(&at, "DatabaseReady");
    assert_eq!((ready.as_str(), reason.as_str()), ("True", "Available"));
    assert!(
        message.contains("PgBouncer mindmitra-pgbouncer"),
        "{message}"
    );
    let status = harness.chatbot(&at).status.unwrap();
    let database = status.database.unwrap();
    assert_eq!(
        database.endpoint.as_deref(),
        Some("mindmitra-postgres.mindmitra.svc:5432")
    );
    assert_eq!(database.connection_secret.as_deref(), Some("mindmitra-db"));

    // Settled: no Secret is written again, the password never changes.
    harness.take_requests();
    harness.reconcile(&at).await;
    let writes: Vec<_> = harness
        .take_requests()
        .into_iter()
        .filter(|line| line.contains("/secrets") && !line.starts_with("GET"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(
        harness
            .secret_value(NS, "mindmitra-db", "password")
            .unwrap(),
        password
    );
}

#[tokio::test]
async fn switching_the_pooler_off_points_the_app_at_postgres_with_the_same_password() {
    let (mut harness, at, mut cbd) = dev_mindmitra();
    harness.reconcile(&at).await;
    let password = harness
        .secret_value(NS, "mindmitra-db", "password")
        .unwrap();

    cbd.spec.database.as_mut().unwrap().pooler = None;
    let mut object = harness.api.get(&at).unwrap();
    object["spec"] = serde_json::to_value(&cbd.spec).unwrap();
    object["metadata"]["generation"] = json!(2);
    harness.api.insert(&at, object);
    harness.sync();
    harness.reconcile(&at).await;

    assert_eq!(
        harness
            .secret_value(NS, "mindmitra-db", "DATABASE_URL")
            .unwrap(),
        format!(
            "postgresql://chatbot:{password}@mindmitra-postgres.mindmitra.svc:5432/chatbot?sslmode=disable"
        )
    );
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-pgbouncer"))
            .is_none(),
        "the pooler is pruned"
    );
}

#[tokio::test]
async fn a_connection_secret_that_is_not_ours_is_never_written() {
    let (mut harness, at, _) = dev_mindmitra();
    harness.secret(NS, "mindmitra-db", &["DATABASE_URL"]);
    harness.reconcile(&at).await;
    assert_eq!(
        harness
            .secret_value(NS, "mindmitra-db", "DATABASE_URL")
            .as_deref(),
        Some("value-of-DATABASE_URL"),
        "left as it was"
    );
    let (ready, reason, message) = harness.condition(&at, "DatabaseReady");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "ChildConflict")
    );
    assert!(message.contains("Secret mindmitra-db"), "{message}");
}

/// The in-cluster Redis's command line as rendered, run by a real
/// `redis-server` (Debian's, which `scripts/test.sh` installs): the
/// password is its configuration, never an argument of any process.
#[test]
fn the_redis_password_never_reaches_an_argv() {
    let rendered = common::render_dev_variant("mindmitra");
    let yaml = chatbot_operator::render::to_yaml(&rendered.children).unwrap();
    let redis = serde_yaml_ng::Deserializer::from_str(&yaml)
        .map(|doc| serde_json::Value::deserialize(doc).unwrap())
        .find(|o| o["kind"] == "StatefulSet" && o["metadata"]["name"] == "mindmitra-redis")
        .expect("the in-cluster Redis");
    let container = &redis["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["command"], json!(["sh", "-c"]));
    let script = container["args"][0].as_str().unwrap();
    assert!(!script.contains("--requirepass"), "{script}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let script = script
        .replace("--port 6379", &format!("--port {port} --bind 127.0.0.1"))
        .replace("--dir /data", &format!("--dir {}", data.path().display()));
    let password = "a-generated-Passw0rd-4f1c9e";
    let mut server = std::process::Command::new("sh")
        .args(["-c", &script])
        .env("REDISCLI_AUTH", password)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let ping = |auth: &str| {
        let output = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "ping"])
            .env("REDISCLI_AUTH", auth)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while ping(password) != "PONG" {
        assert!(
            std::time::Instant::now() < deadline,
            "redis-server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_ne!(ping("wrong"), "PONG", "the password is required");
    // `exec` leaves redis-server as the process started: the one a
    // SIGTERM reaches.
    let argv = std::fs::read(format!("/proc/{}/cmdline", server.id())).unwrap();
    let argv = String::from_utf8_lossy(&argv);
    assert!(argv.starts_with("redis-server"), "{argv}");
    assert!(!argv.contains(password), "{argv}");
    let _ = server.kill();
    let _ = server.wait();
}
