//! No secret value reaches a status, an Event, a request other than the
//! one that creates the generated Secret, or a log line. Its own test
//! binary: the log capture is per thread, and nothing else runs beside it.

mod common;

use common::harness::{Harness, path};

const NS: &str = "mindmitra";

#[tokio::test]
async fn no_secret_value_reaches_status_events_requests_or_logs() {
    use base64::Engine;
    let logs = common::logs::capture();
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    harness.secret(
        NS,
        "mindmitra-backup-keys",
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    let mut cbd = common::sample_without_gates("mindmitra");
    // Created the day before: the 02:00 backup window is due, so a backup
    // Job (with the database URL and the S3 keys by reference) is made.
    cbd.metadata.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        harness.now.0 - k8s_openapi::jiff::SignedDuration::from_hours(24),
    ));
    let backup = cbd.spec.backup.as_mut().unwrap();
    backup
        .destination
        .as_mut()
        .unwrap()
        .s3
        .as_mut()
        .unwrap()
        .credentials_secret = Some("mindmitra-backup-keys".into());
    let cbd_path = harness.create(&cbd);
    // Credentials and stores (in the AWS emulator), URLs, then the app.
    for _ in 0..3 {
        harness.reconcile(&cbd_path).await;
    }
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&cbd_path).await;
    // A new generated name and a missing Secret: more Events, more logs.
    let mut cbd = harness.chatbot(&cbd_path);
    cbd.spec.secrets.as_mut().unwrap().generated =
        Some(vec!["SECRET_KEY".into(), "JWT_SECRET".into()]);
    cbd.spec.image = "ghcr.io/mindmitra/support-bot:1.0.1".into();
    let spec = serde_json::to_value(&cbd.spec).unwrap();
    harness.api.update(&cbd_path, |o| {
        o["spec"] = spec;
        o["metadata"]["generation"] = serde_json::json!(2);
    });
    harness.sync();
    harness.reconcile(&cbd_path).await;
    // A restore: its Job (the database URL by reference), then the
    // connection Secret's URLs switched to the restored database.
    let started = serde_json::to_value(&harness.now).unwrap();
    harness.api.update(&cbd_path, |o| {
        o["status"]["restore"] = serde_json::json!({
            "id": "r1", "action": "restore-1", "backup": "20261201-020000-r1",
            "step": "Restore", "database": "chatbot_r1", "previousDatabase": "chatbot",
            "steps": [{ "name": "Restore", "phase": "Running", "startedAt": started }]
        });
    });
    harness.sync();
    harness.reconcile(&cbd_path).await;
    harness.api.update(&cbd_path, |o| {
        o["status"]["restore"]["step"] = serde_json::json!("Switch");
    });
    harness.sync();
    harness.reconcile(&cbd_path).await;
    assert!(
        harness
            .secret_value(NS, "mindmitra-db", "DATABASE_URL")
            .unwrap()
            .contains("/chatbot_r1?"),
        "the URLs were rewritten (and are checked below)"
    );
    harness.api.remove(&path("secrets", NS, "mindmitra-sentry"));
    harness.sync();
    harness.reconcile(&cbd_path).await;

    // Generated values, the database password and cache auth token, and
    // the URLs that carry them.
    let mut values: Vec<String> = Vec::new();
    for (secret, keys) in [
        ("mindmitra-generated", 2),
        ("mindmitra-db", 4),
        ("mindmitra-cache", 2),
    ] {
        let object = harness.api.get(&path("secrets", NS, secret)).unwrap();
        let data = object["data"].as_object().unwrap();
        assert_eq!(
            data.len(),
            keys,
            "{secret}: {:?}",
            data.keys().collect::<Vec<_>>()
        );
        values.extend(
            data.iter()
                .filter(|(key, _)| *key != "username")
                .map(|(_, v)| {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v.as_str().unwrap())
                        .unwrap();
                    String::from_utf8(bytes).unwrap()
                }),
        );
    }
    values.push("value-of-api-key".into());
    values.push("value-of-dsn".into());
    values.push("value-of-AWS_ACCESS_KEY_ID".into());
    values.push("value-of-AWS_SECRET_ACCESS_KEY".into());
    assert_eq!(values.len(), 11);
    let backup_jobs = harness
        .api
        .requests()
        .iter()
        .filter(|r| r.uri.contains("/jobs/mindmitra-backup-"))
        .count();
    assert!(
        backup_jobs >= 1,
        "a backup Job was created and checked below"
    );
    assert!(
        harness
            .api
            .requests()
            .iter()
            .any(|r| r.uri.contains("/jobs/mindmitra-restore-r1")),
        "a restore Job was created and checked below"
    );

    let status = serde_json::to_string(&harness.chatbot(&cbd_path).status).unwrap();
    let log_text = logs.text();
    assert!(
        log_text.contains(r#""namespace":"mindmitra""#) && log_text.contains("SecretsMissing"),
        "logs were captured with the object reference: {log_text}"
    );
    let mut events = 0;
    for request in harness.api.requests() {
        events += usize::from(request.uri.contains("/events"));
        if request.uri.contains("/secrets") {
            continue;
        }
        let body = request.body.map(|b| b.to_string()).unwrap_or_default();
        for value in &values {
            let encoded = base64::engine::general_purpose::STANDARD.encode(value);
            assert!(
                !body.contains(value.as_str()) && !body.contains(&encoded),
                "{} leaks a value",
                request.uri
            );
        }
    }
    assert!(events >= 3, "Events were published: {events}");
    for value in &values {
        assert!(!status.contains(value.as_str()), "status leaks a value");
        assert!(!log_text.contains(value.as_str()), "logs leak a value");
    }
    // The watch holds metadata only (its type has no room for data), and
    // the Secrets read by name are kept with their key names only.
    let cached = harness
        .stores
        .secret(&harness.context.client, NS, "mindmitra-llm")
        .await
        .unwrap()
        .unwrap();
    assert!(
        cached
            .data
            .as_ref()
            .unwrap()
            .values()
            .all(|v| v.0.is_empty())
    );
}
