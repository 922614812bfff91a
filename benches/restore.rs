//! The restore time (RTO) of a generated database end to end through the
//! Restore action: from the ChatbotAction existing to it ending
//! `Succeeded`, with the app back on the restored data. The real action
//! controller and reconciler run against the in-memory API server; each
//! Job they create is run as the kubelet would run its pod — the real
//! `backup-agent` with the Job's own arguments and environment (its
//! Secret references resolved), against a real Postgres and moto's S3 —
//! and its outcome handed back as the pod's termination message. Pods
//! come and go the moment their Deployment asks: the cluster's own time
//! (scheduling, image pulls, the app's start) comes on top, and is not
//! measured here.
//!
//! Reported against plain `pg_dump -Fc` + `pg_restore` of the same
//! database in the same run: the least a dump-based restore with a safety
//! backup first can take.
//!
//! `cargo bench --bench restore`; `RESTORE_BENCH_MIB` sets the size of the
//! generated table (default 1024 MiB of incompressible text).

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

#[path = "../tests/common/mod.rs"]
mod common;

use common::{
    harness::{Harness, path},
    postgres::Postgres,
};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use serde_json::{Value, json};

const NS: &str = "mindmitra";
const BUCKET: &str = "mindmitra-backups";

fn now() -> Time {
    Time(Timestamp::now())
}

/// The database a connection URL names.
fn database_of(url: &str) -> &str {
    let path = url.rsplit('/').next().unwrap_or_default();
    path.split('?').next().unwrap_or_default()
}

/// One Job run as its pod would: `backup-agent` with the Job's arguments
/// and environment, database URLs led to the real server, S3 to moto.
/// Returns the agent's time.
fn run_job(harness: &mut Harness, server: &Postgres, job: &Value) -> Duration {
    let name = job["metadata"]["name"].as_str().unwrap().to_string();
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"));
    command
        .arg("backup-agent")
        .args(&args)
        .args(["--termination-log", "/nonexistent/log"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in container["env"].as_array().into_iter().flatten() {
        let key = var["name"].as_str().unwrap();
        let value = match (&var["value"], &var["valueFrom"]["secretKeyRef"]) {
            (Value::String(value), _) => value.clone(),
            (_, Value::Object(reference)) => {
                let secret = reference["name"].as_str().unwrap();
                let field = reference["key"].as_str().unwrap();
                let stored = harness.secret_value(NS, secret, field).unwrap_or_default();
                if key.ends_with("DATABASE_URL") {
                    server.url(database_of(&stored))
                } else {
                    "testing".into()
                }
            }
            _ => continue,
        };
        command.env(key, value);
    }
    command
        .env("AWS_ENDPOINT_URL", harness.moto.url())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
    let ran = Timestamp::now();
    let started = Instant::now();
    let output = command.output().expect("the agent runs");
    let took = started.elapsed();
    let report = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let condition = if output.status.success() {
        "Complete"
    } else {
        "Failed"
    };
    harness.job_ended(NS, &name, condition, &report, (ran, Timestamp::now()));
    took
}

/// Runs every Job not yet run; returns each one's name and agent time.
fn run_jobs(harness: &mut Harness, server: &Postgres) -> Vec<(String, Duration)> {
    let pending: Vec<Value> = harness
        .api
        .list(&format!("/apis/batch/v1/namespaces/{NS}/jobs/"))
        .into_iter()
        .filter(|job| job["status"]["conditions"].is_null())
        .collect();
    pending
        .iter()
        .map(|job| {
            let name = job["metadata"]["name"].as_str().unwrap().to_string();
            (name, run_job(harness, server, job))
        })
        .collect()
}

/// Every Deployment's pods as many, and as ready, as its spec asks.
fn pods_follow(harness: &mut Harness) {
    for deployment in harness
        .api
        .list(&format!("/apis/apps/v1/namespaces/{NS}/deployments/"))
    {
        let name = deployment["metadata"]["name"].as_str().unwrap();
        let replicas = deployment["spec"]["replicas"].as_i64().unwrap_or(1);
        let generation = deployment["metadata"]["generation"].as_i64().unwrap_or(1);
        harness.api.set_status(
            &path("deployments", NS, name),
            json!({ "observedGeneration": generation, "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas }),
        );
    }
    harness.sync();
}

/// Drives the action at `action_path` with the reconciler of `at` until
/// it ends; returns its status, the Jobs run with their agents' time, and
/// the reconciles.
async fn drive(
    harness: &mut Harness,
    server: &Postgres,
    at: &str,
    action_path: &str,
) -> (Value, Vec<(String, Duration)>, usize) {
    let mut agents = Vec::new();
    for reconciles in 1..=200 {
        harness.now = now();
        harness.run_action(action_path).await;
        harness.sync();
        harness.reconcile(at).await;
        agents.extend(run_jobs(harness, server));
        pods_follow(harness);
        let status = harness.api.get(action_path).unwrap()["status"].clone();
        if ["Succeeded", "Failed"].contains(&status["phase"].as_str().unwrap_or_default()) {
            return (status, agents, reconciles);
        }
    }
    panic!("the action did not end in 200 reconciles");
}

fn action(harness: &mut Harness, name: &str, spec: Value) -> String {
    let action_path = path("chatbotactions", NS, name);
    let mut body = json!({ "deployment": "mindmitra", "reason": "RTO bench" });
    body.as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    harness.api.insert(
        &action_path,
        json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotAction",
            "metadata": { "name": name, "namespace": NS,
                "uid": format!("{name}-0000-4000-8000-000000000001"),
                "creationTimestamp": Timestamp::now().to_string() },
            "spec": body
        }),
    );
    harness.sync();
    action_path
}

fn seconds(from: &Value, to: &Value) -> f64 {
    let at = |v: &Value| v.as_str().and_then(|t| t.parse::<Timestamp>().ok());
    match (at(from), at(to)) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => f64::NAN,
    }
}

async fn bench(mib: u64) {
    let server = Postgres::start();
    server.generate("chatbot", mib);

    // References: plain pg_dump and pg_restore of the same database.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.dump");
    let started = Instant::now();
    let dumped = server
        .client("pg_dump")
        .args(["-Fc", "-f"])
        .arg(&file)
        .arg("chatbot")
        .status()
        .unwrap();
    assert!(dumped.success());
    let plain_dump = started.elapsed();
    server.sql("postgres", "CREATE DATABASE plain_restore");
    let started = Instant::now();
    let restored = server
        .client("pg_restore")
        .args(["--no-owner", "--single-transaction", "-d", "plain_restore"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(restored.success());
    let plain_restore = started.elapsed();
    println!(
        "reference: pg_dump -Fc {:.1} s + pg_restore {:.1} s = {:.1} s",
        plain_dump.as_secs_f64(),
        plain_restore.as_secs_f64(),
        (plain_dump + plain_restore).as_secs_f64()
    );

    // MindMitra on its in-cluster Postgres (here: the real server) behind
    // PgBouncer, backing up to S3 (here: moto).
    let mut harness = Harness::new();
    harness.now = now();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    harness.secret(
        NS,
        "mindmitra-backup-keys",
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    harness.moto.create_bucket(BUCKET);
    let mut cbd = common::dev_variant("mindmitra");
    cbd.spec.backup = Some(
        serde_json::from_value(json!({
            "enabled": true,
            "destination": { "s3": { "bucket": BUCKET, "prefix": "prod/",
                "region": common::moto::REGION, "credentialsSecret": "mindmitra-backup-keys" } }
        }))
        .unwrap(),
    );
    let at = harness.create(&cbd);
    for _ in 0..3 {
        harness.reconcile(&at).await;
        pods_follow(&mut harness);
    }

    // The backup to restore, taken by the operator's own Backup action.
    let backup = action(&mut harness, "bench-backup", json!({ "action": "Backup" }));
    let (status, _, _) = drive(&mut harness, &server, &at, &backup).await;
    assert_eq!(status["phase"], "Succeeded", "the backup: {status}");
    let id = harness.api.get(&at).unwrap()["status"]["backups"]["lastSuccessful"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    println!("backup {id} taken");

    let restore = action(
        &mut harness,
        "bench-restore",
        json!({ "action": "Restore", "backup": id }),
    );
    let started = Instant::now();
    let (status, agents, reconciles) = drive(&mut harness, &server, &at, &restore).await;
    let rto = started.elapsed();
    assert_eq!(status["phase"], "Succeeded", "the restore: {status}");

    let restored = harness.api.get(&at).unwrap()["status"]["restore"].clone();
    let database = restored["database"].as_str().unwrap();
    let count = |db: &str| server.sql(db, "SELECT count(*) FROM messages");
    assert_eq!(count(database), count("chatbot"), "every row restored");
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .unwrap();
    assert_eq!(database_of(&url), database, "the app's URL leads to it");

    println!("RTO through the Restore action: {:.1} s", rto.as_secs_f64());
    for step in restored["steps"].as_array().unwrap() {
        println!(
            "  {:<13} {:>7.1} s",
            step["name"].as_str().unwrap(),
            seconds(&step["startedAt"], &step["finishedAt"])
        );
    }
    for (job, took) in &agents {
        println!("  Job {job:<44} {:>7.1} s", took.as_secs_f64());
    }
    let in_agents: Duration = agents.iter().map(|(_, took)| *took).sum();
    println!(
        "  the operator's own share: {:.2} s over {reconciles} reconciles",
        rto.saturating_sub(in_agents).as_secs_f64()
    );
    let reference = plain_dump + plain_restore;
    println!(
        "  RTO / (pg_dump + pg_restore of the same database, {:.1} s) = {:.2}",
        reference.as_secs_f64(),
        rto.as_secs_f64() / reference.as_secs_f64()
    );
}

fn main() {
    let mib: u64 = std::env::var("RESTORE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(mib));
}
