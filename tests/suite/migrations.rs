//! Schema migrations: a Job per revision, run to completion before the
//! revision's pods replace the running ones; a failure stops the rollout
//! with the Job's last log lines (credentials redacted) while the running
//! revision keeps serving. Real reconciler, in-memory API server.

use crate::common;

use chatbot_operator::api::Migrations;
use common::harness::{Harness, path};
use serde_json::json;

const NS: &str = "mindmitra";

fn deployment_revision(harness: &Harness) -> Option<String> {
    revision_of(harness, "mindmitra")
}

fn revision_of(harness: &Harness, deployment: &str) -> Option<String> {
    let deployment = harness.api.get(&path("deployments", NS, deployment))?;
    deployment["spec"]["template"]["metadata"]["labels"]["chatbot.dev/revision"]
        .as_str()
        .map(str::to_string)
}

fn job_finished(harness: &mut Harness, name: &str, condition: &str) {
    harness.api.set_status(
        &path("jobs", NS, name),
        json!({ "conditions": [{ "type": condition, "status": "True" }] }),
    );
    harness.sync();
}

async fn with_migrations() -> (Harness, String) {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let mut cbd = common::dev_variant("mindmitra");
    cbd.spec.database.as_mut().unwrap().migrations = Some(Migrations {
        command: vec!["alembic".into(), "upgrade".into(), "head".into()],
        timeout_seconds: Some(300),
    });
    let at = harness.create(&cbd);
    // Connection Secrets first (the pods wait for their URLs).
    harness.reconcile(&at).await;
    (harness, at)
}

async fn new_image(harness: &mut Harness, at: &str, image: &str) {
    let image = image.to_string();
    harness.api.update(at, |o| {
        o["spec"]["image"] = json!(image);
        o["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    harness.reconcile(at).await;
}

/// Marks the in-cluster Postgres ready, as the StatefulSet controller would.
fn postgres_ready(harness: &mut Harness) {
    harness.api.set_status(
        &path("statefulsets", NS, "mindmitra-postgres"),
        json!({ "replicas": 1, "readyReplicas": 1 }),
    );
    harness.sync();
}

#[tokio::test]
async fn each_revision_migrates_before_its_pods_start() {
    let (mut harness, at) = with_migrations().await;
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("jobs", NS, "mindmitra-migrate-1"))
            .is_none(),
        "no migration against a Postgres that is still starting"
    );
    assert_eq!(deployment_revision(&harness), None);
    postgres_ready(&mut harness);
    harness.reconcile(&at).await;

    let job = harness
        .api
        .get(&path("jobs", NS, "mindmitra-migrate-1"))
        .expect("the first revision's migration Job");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["command"],
        json!(["alembic", "upgrade", "head"])
    );
    assert_eq!(
        pod["containers"][0]["image"],
        harness.chatbot(&at).spec.image.as_str()
    );
    let database_url = pod["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DATABASE_URL")
        .unwrap();
    assert_eq!(
        database_url["valueFrom"]["secretKeyRef"]["key"], "DIRECT_DATABASE_URL",
        "past PgBouncer: transaction pooling breaks migration locks"
    );
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 300);
    assert_eq!(
        deployment_revision(&harness),
        None,
        "no pods before the migration"
    );
    let (_, reason, message) = harness.condition(&at, "Progressing");
    assert_eq!(
        reason, "PoolerStarting",
        "PgBouncer has no pod yet: {message}"
    );

    // Running: nothing is applied again.
    harness.take_requests();
    harness.reconcile(&at).await;
    assert!(
        harness.take_requests().iter().all(|l| !l.contains("/jobs")),
        "a running Job is left alone"
    );

    job_finished(&mut harness, "mindmitra-migrate-1", "Complete");
    harness.reconcile(&at).await;
    assert_eq!(deployment_revision(&harness).as_deref(), Some("1"));

    // The next revision migrates with its own image while revision 1 serves.
    harness.deployment_ready(NS, "mindmitra", 2);
    new_image(&mut harness, &at, "ghcr.io/mindmitra/support-bot:2.0.0").await;
    let job = harness
        .api
        .get(&path("jobs", NS, "mindmitra-migrate-2"))
        .expect("revision 2's Job");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/mindmitra/support-bot:2.0.0"
    );
    assert_eq!(deployment_revision(&harness).as_deref(), Some("1"));
    assert_eq!(
        revision_of(&harness, "mindmitra-canary"),
        None,
        "no candidate before its migration"
    );
    job_finished(&mut harness, "mindmitra-migrate-2", "Complete");
    harness.reconcile(&at).await;
    // The sample is BlueGreen: revision 2's pods start as the candidate,
    // beside revision 1's.
    assert_eq!(
        revision_of(&harness, "mindmitra-canary").as_deref(),
        Some("2")
    );
    assert_eq!(deployment_revision(&harness).as_deref(), Some("1"));
}

#[tokio::test]
async fn a_failed_migration_stops_the_rollout_with_its_log_and_no_secret() {
    let (mut harness, at) = with_migrations().await;
    postgres_ready(&mut harness);
    harness.reconcile(&at).await;
    job_finished(&mut harness, "mindmitra-migrate-1", "Complete");
    harness.reconcile(&at).await;
    harness.deployment_ready(NS, "mindmitra", 2);

    new_image(&mut harness, &at, "ghcr.io/mindmitra/support-bot:2.0.0").await;
    job_finished(&mut harness, "mindmitra-migrate-2", "Failed");
    let password = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    harness.api.insert(
        &format!("/api/v1/namespaces/{NS}/pods/mindmitra-migrate-2-x7k2p"),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {
                "name": "mindmitra-migrate-2-x7k2p", "namespace": NS,
                "labels": { "job-name": "mindmitra-migrate-2" },
                "creationTimestamp": "2026-11-25T10:00:00Z",
            },
            "log": format!(
                "INFO  [alembic] Running upgrade a1 -> b2\nconnecting to postgresql://chatbot:{password}@mindmitra-postgres:5432/chatbot\nsqlalchemy.exc.ProgrammingError: column \"tier\" already exists\n"
            ),
        }),
    );
    harness.reconcile(&at).await;

    let (degraded, reason, message) = harness.condition(&at, "Degraded");
    assert_eq!(
        (degraded.as_str(), reason.as_str()),
        ("True", "MigrationFailed")
    );
    assert!(message.contains("mindmitra-migrate-2 failed"), "{message}");
    assert!(message.contains("revision 1 keeps serving"), "{message}");
    assert!(
        message.contains(r#"column "tier" already exists"#),
        "the last log lines: {message}"
    );
    assert!(!message.contains(password), "{message}");
    assert!(message.contains("postgresql://[redacted]@"), "{message}");
    assert_eq!(
        deployment_revision(&harness).as_deref(),
        Some("1"),
        "the running revision's pods are untouched"
    );

    // Steady: the next look gives the same status (no flapping).
    let before = harness.chatbot(&at).status;
    harness.reconcile(&at).await;
    assert_eq!(harness.chatbot(&at).status, before);

    // A fixed image is a new revision with a new Job.
    new_image(&mut harness, &at, "ghcr.io/mindmitra/support-bot:2.0.1").await;
    assert!(
        harness
            .api
            .get(&path("jobs", NS, "mindmitra-migrate-3"))
            .is_some()
    );
    assert_eq!(harness.condition(&at, "Degraded").0, "False");
}
