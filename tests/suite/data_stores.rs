//! Managed stores against a real AWS API emulator (moto in server mode),
//! reached through a proxy that records every AWS action and injects
//! AWS's failures. The Kubernetes side is the in-memory API server.

use crate::common;

use chatbot_operator::{
    api::{Cache, ChatbotDeployment, DeletionPolicy, StoreMode},
    data::identity::tags,
};
use common::{
    aws_proxy::{AwsProxy, Fault},
    harness::{Harness, path as object_path},
    moto::clients_for,
};
use serde_json::json;

const NS: &str = "mindmitra";
const DB: &str = "chatbot-mindmitra-mindmitra";

/// The MindMitra sample (managed Postgres and Redis, production) with its
/// Secrets, the harness talking to moto through a proxy.
async fn mindmitra_with(edit: impl FnOnce(&mut ChatbotDeployment)) -> (Harness, AwsProxy, String) {
    let mut harness = Harness::new();
    let proxy = AwsProxy::start(harness.moto.url()).await;
    harness.context.aws = Some(clients_for(&proxy.url()));
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let mut cbd = common::sample_without_gates("mindmitra");
    edit(&mut cbd);
    let path = harness.create(&cbd);
    (harness, proxy, path)
}

fn database_only(cbd: &mut ChatbotDeployment) {
    cbd.spec.cache = Some(Cache {
        mode: Some(StoreMode::None),
        ..Default::default()
    });
}

async fn db_instances(harness: &Harness) -> Vec<String> {
    let clients = harness.moto.clients();
    clients
        .rds
        .describe_db_instances()
        .send()
        .await
        .unwrap()
        .db_instances()
        .iter()
        .filter_map(|d| d.db_instance_identifier().map(str::to_string))
        .collect()
}

fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

#[tokio::test]
async fn a_managed_sample_becomes_ready_and_its_urls_reach_the_app_only_through_secrets() {
    let (mut harness, proxy, path) = mindmitra_with(|_| {}).await;

    // First reconcile: finalizer, credentials, both stores asked for;
    // the app's pods wait for the URLs.
    harness.reconcile(&path).await;
    let cbd = harness.chatbot(&path);
    assert_eq!(
        cbd.metadata.finalizers,
        Some(vec!["chatbot.dev/data-stores".to_string()])
    );
    let actions = proxy.take_actions();
    assert_eq!(count(&actions, "CreateDBInstance"), 1, "{actions:?}");
    assert_eq!(count(&actions, "CreateReplicationGroup"), 1, "{actions:?}");
    assert!(
        harness
            .api
            .get(&object_path("deployments", NS, "mindmitra"))
            .is_none()
    );
    assert_eq!(harness.condition(&path, "DatabaseReady").1, "Creating");

    // Second: moto has them available; the URLs are written.
    harness.reconcile(&path).await;
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .expect("DATABASE_URL");
    let password = harness
        .secret_value(NS, "mindmitra-db", "password")
        .unwrap();
    assert!(url.starts_with("postgresql://chatbot:"), "{url}");
    assert!(url.contains(&format!(":{password}@")));
    assert!(url.ends_with(":5432/chatbot?sslmode=require"));
    let redis = harness
        .secret_value(NS, "mindmitra-cache", "REDIS_URL")
        .expect("REDIS_URL");
    assert!(redis.starts_with("rediss://:"), "{redis}");

    // Third: the Deployment reads both through secretKeyRef.
    harness.reconcile(&path).await;
    let deployment = harness
        .api
        .get(&object_path("deployments", NS, "mindmitra"))
        .expect("Deployment");
    let env = &deployment["spec"]["template"]["spec"]["containers"][0]["env"];
    let database_url = env
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "DATABASE_URL")
        .unwrap();
    assert_eq!(
        database_url["valueFrom"]["secretKeyRef"],
        json!({"name": "mindmitra-db", "key": "DATABASE_URL", "optional": false})
    );
    let (status, reason, message) = harness.condition(&path, "DatabaseReady");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "Available"),
        "{message}"
    );
    assert_eq!(harness.condition(&path, "CacheReady").0, "True");
    let store = harness.chatbot(&path).status.unwrap().database.unwrap();
    assert_eq!(store.identifier.as_deref(), Some(DB));
    assert_eq!(store.connection_secret.as_deref(), Some("mindmitra-db"));
    assert!(store.endpoint.unwrap().ends_with(":5432"));

    // No password anywhere but in the two Secrets.
    let token = harness
        .secret_value(NS, "mindmitra-cache", "password")
        .unwrap();
    for request in harness.api.requests() {
        if request.uri.contains("/secrets") {
            continue;
        }
        let body = request
            .body
            .as_ref()
            .map(|b| b.to_string())
            .unwrap_or_default();
        assert!(
            !body.contains(&password) && !body.contains(&token),
            "{} leaks a password",
            request.line()
        );
    }
    let status = serde_json::to_string(&harness.chatbot(&path).status).unwrap();
    assert!(!status.contains(&password) && !status.contains(&token));

    // Steady state: only describes, no writes anywhere.
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&path).await;
    proxy.take_actions();
    harness.api.clear_requests();
    harness.reconcile_times(&path, 3).await;
    let actions = proxy.take_actions();
    assert!(
        actions
            .iter()
            .all(|a| a.starts_with("Describe") || a == "ListTagsForResource"),
        "{actions:?}"
    );
    assert_eq!(actions.len(), 9, "three reads per reconcile: {actions:?}");
    assert!(
        harness.api.requests().is_empty(),
        "{:#?}",
        harness.take_requests()
    );
}

#[tokio::test]
async fn a_create_whose_response_was_lost_and_a_restart_before_the_status_write_create_once() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    // moto creates the instance, the answer is lost: the SDK retries and
    // meets "already exists".
    proxy.inject("CreateDBInstance", Fault::LoseResponse, 1);
    // The status write fails: the operator "dies" after the create.
    harness.api.fail("/status", 500, 1);
    let cbd = harness.chatbot(&path);
    let result =
        chatbot_operator::reconcile::reconcile_at(&cbd, &harness.context, harness.now.clone())
            .await;
    let error = result.expect_err("the status write fails");
    assert!(
        format!("{error:?}").contains("injected failure"),
        "the reconcile stopped at the status write, not before: {error:?}"
    );
    harness.sync();

    // A new operator: fresh caches and memory, same cluster and AWS.
    let mut restarted = harness.restarted();
    restarted.reconcile_times(&path, 3).await;
    assert_eq!(db_instances(&harness).await, [DB]);
    let actions = proxy.actions();
    assert_eq!(
        count(&actions, "CreateDBInstance"),
        2,
        "one create and the SDK's retry of it, never another: {actions:?}"
    );
    assert_eq!(restarted.condition(&path, "DatabaseReady").0, "True");
    assert!(
        restarted
            .secret_value(NS, "mindmitra-db", "DATABASE_URL")
            .is_some()
    );
}

#[tokio::test]
async fn waiting_for_a_creating_instance_requeues_instead_of_blocking() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    harness.reconcile(&path).await;
    // AWS takes its time: the next describes say `creating`.
    proxy.inject(
        "DescribeDBInstances",
        Fault::Rewrite {
            from: "<DBInstanceStatus>available</DBInstanceStatus>".into(),
            to: "<DBInstanceStatus>creating</DBInstanceStatus>".into(),
        },
        2,
    );
    for _ in 0..2 {
        let action = harness.reconcile(&path).await;
        assert_eq!(
            format!("{action:?}"),
            format!(
                "{:?}",
                kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(30))
            )
        );
        assert_eq!(harness.condition(&path, "DatabaseReady").1, "Creating");
        assert_eq!(harness.condition(&path, "Progressing").1, "Creating");
        assert!(
            harness
                .api
                .get(&object_path("deployments", NS, "mindmitra"))
                .is_none()
        );
    }
    harness.reconcile(&path).await;
    harness.reconcile(&path).await;
    assert_eq!(harness.condition(&path, "DatabaseReady").0, "True");
    assert!(
        harness
            .api
            .get(&object_path("deployments", NS, "mindmitra"))
            .is_some()
    );
    assert_eq!(count(&proxy.actions(), "CreateDBInstance"), 1);
}

#[tokio::test]
async fn throttling_is_retried_and_a_refusal_is_reported_with_awss_message() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    proxy.inject(
        "DescribeDBInstances",
        Fault::Error {
            status: 400,
            code: "Throttling".into(),
            message: "Rate exceeded".into(),
        },
        1,
    );
    proxy.inject(
        "CreateDBInstance",
        Fault::Error {
            status: 400,
            code: "InstanceQuotaExceeded".into(),
            message: "DB Instance quota exceeded".into(),
        },
        1,
    );
    let action = harness.reconcile(&path).await;
    let actions = proxy.take_actions();
    assert_eq!(
        count(&actions, "DescribeDBInstances"),
        2,
        "throttling retried: {actions:?}"
    );
    let (status, reason, message) = harness.condition(&path, "DatabaseReady");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Rejected"));
    assert!(
        message.contains("InstanceQuotaExceeded: DB Instance quota exceeded"),
        "{message}"
    );
    assert_eq!(harness.condition(&path, "Degraded").1, "Rejected");
    assert_eq!(
        format!("{action:?}"),
        format!(
            "{:?}",
            kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(300))
        ),
        "a refusal is looked at again slowly, not in a hot loop"
    );
    // The quota is raised: the next reconcile creates it, no one edits anything.
    harness.reconcile(&path).await;
    harness.reconcile(&path).await;
    assert_eq!(harness.condition(&path, "DatabaseReady").0, "True");
    assert_eq!(harness.condition(&path, "Degraded").0, "False");
}

#[tokio::test]
async fn a_5xx_that_outlasts_the_sdks_retries_fails_the_reconcile_for_backoff() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    proxy.inject(
        "DescribeDBInstances",
        Fault::Error {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "try later".into(),
        },
        3,
    );
    let cbd = harness.chatbot(&path);
    let error =
        chatbot_operator::reconcile::reconcile_at(&cbd, &harness.context, harness.now.clone())
            .await
            .expect_err("AWS is down");
    assert_eq!(error.reason(), "AwsUnavailable");
    harness.sync();
    assert_eq!(count(&proxy.actions(), "CreateDBInstance"), 0);
    harness.reconcile(&path).await;
    assert_eq!(count(&proxy.actions(), "CreateDBInstance"), 1);
}

#[tokio::test]
async fn a_larger_instance_class_is_modified_once() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    harness.reconcile_times(&path, 3).await;
    harness.api.update(&path, |cbd| {
        cbd["spec"]["database"]["instanceClass"] = json!("db.t3.small");
        cbd["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    proxy.take_actions();
    harness.reconcile_times(&path, 3).await;
    let actions = proxy.take_actions();
    assert_eq!(count(&actions, "ModifyDBInstance"), 1, "{actions:?}");
    let clients = harness.moto.clients();
    let described = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(DB)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.db_instances()[0].db_instance_class(),
        Some("db.t3.small")
    );
}

async fn delete(harness: &mut Harness, path: &str) {
    harness.api.update(path, |cbd| {
        cbd["metadata"]["deletionTimestamp"] = json!("2027-01-15T08:00:00Z");
    });
    harness.sync();
}

#[tokio::test]
async fn deleting_takes_a_final_snapshot_by_default_then_lets_the_resource_go() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    harness.reconcile_times(&path, 3).await;
    delete(&mut harness, &path).await;
    harness.api.clear_requests();
    harness.reconcile(&path).await;
    let actions = proxy.actions();
    assert_eq!(count(&actions, "DeleteDBInstance"), 1, "{actions:?}");
    assert_eq!(
        harness.moto.manual_snapshots().await,
        [format!("{DB}-final")]
    );
    // moto deletes at once: the next look finds it gone and the finalizer comes off.
    harness.reconcile(&path).await;
    assert!(harness.finalizers_gone(&path));
    assert_eq!(
        count(&proxy.actions(), "DeleteDBInstance"),
        1,
        "never deleted twice"
    );
    assert!(db_instances(&harness).await.is_empty());
    let events: Vec<String> = harness.events().into_iter().map(|(_, note)| note).collect();
    assert!(
        events
            .iter()
            .any(|e| e.contains(&format!("final snapshot {DB}-final"))),
        "{events:#?}"
    );
}

#[tokio::test]
async fn retain_leaves_the_instance_untagged_and_delete_leaves_no_snapshot() {
    let (mut harness, proxy, path) = mindmitra_with(|cbd| {
        database_only(cbd);
        cbd.spec.database.as_mut().unwrap().deletion_policy = Some(DeletionPolicy::Retain);
    })
    .await;
    harness.reconcile_times(&path, 3).await;
    delete(&mut harness, &path).await;
    harness.reconcile(&path).await;
    assert!(harness.finalizers_gone(&path));
    assert_eq!(db_instances(&harness).await, [DB]);
    let clients = harness.moto.clients();
    let instance = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(DB)
        .send()
        .await
        .unwrap();
    let tag_keys: Vec<_> = instance.db_instances()[0]
        .tag_list()
        .iter()
        .filter_map(|t| t.key())
        .collect();
    assert!(!tag_keys.contains(&tags::UID), "{tag_keys:?}");
    assert!(
        tag_keys.contains(&tags::NAME),
        "where it came from stays: {tag_keys:?}"
    );
    assert_eq!(count(&proxy.actions(), "DeleteDBInstance"), 0);

    let (mut harness, _proxy, path) = mindmitra_with(|cbd| {
        database_only(cbd);
        cbd.spec.database.as_mut().unwrap().deletion_policy = Some(DeletionPolicy::Delete);
    })
    .await;
    harness.reconcile_times(&path, 3).await;
    delete(&mut harness, &path).await;
    harness.reconcile(&path).await;
    harness.reconcile(&path).await;
    assert!(db_instances(&harness).await.is_empty());
    assert!(harness.moto.manual_snapshots().await.is_empty());
}

#[tokio::test]
async fn a_deletion_aws_refuses_keeps_the_finalizer_and_says_why() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    harness.reconcile_times(&path, 3).await;
    proxy.inject(
        "DeleteDBInstance",
        Fault::Error {
            status: 400,
            code: "InvalidDBInstanceState".into(),
            message: "Instance is not in available state".into(),
        },
        1,
    );
    delete(&mut harness, &path).await;
    harness.reconcile(&path).await;
    assert_eq!(
        harness.chatbot(&path).metadata.finalizers,
        Some(vec!["chatbot.dev/data-stores".to_string()])
    );
    let (status, reason, message) = harness.condition(&path, "DatabaseReady");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "DeletionRefused")
    );
    assert!(message.contains("InvalidDBInstanceState"), "{message}");
    assert_eq!(
        harness.chatbot(&path).status.unwrap().phase.as_deref(),
        Some("Deleting")
    );
    // AWS lets go: the next look deletes it.
    harness.reconcile(&path).await;
    harness.reconcile(&path).await;
    assert!(harness.finalizers_gone(&path));
}

#[tokio::test]
async fn an_instance_tagged_for_another_resource_is_never_touched() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    let clients = harness.moto.clients();
    clients
        .rds
        .create_db_instance()
        .db_instance_identifier(DB)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("someone")
        .master_user_password("elsewhere-password")
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key(tags::UID)
                .value("another-uid")
                .build(),
        )
        .send()
        .await
        .unwrap();
    proxy.take_actions();
    harness.reconcile(&path).await;
    let (status, reason, message) = harness.condition(&path, "DatabaseReady");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "OwnedElsewhere"),
        "{message}"
    );
    let actions = proxy.take_actions();
    assert!(
        actions.iter().all(|a| a.starts_with("Describe")),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_store_switched_away_from_managed_stays_in_aws_with_a_warning_and_the_finalizer_goes() {
    let (mut harness, proxy, path) = mindmitra_with(database_only).await;
    harness.reconcile_times(&path, 3).await;
    assert_eq!(harness.condition(&path, "DatabaseReady").0, "True");
    harness.api.update(&path, |cbd| {
        // PgBouncer keeps the connections within an in-cluster Postgres.
        cbd["spec"]["database"] = json!({ "mode": "inCluster", "pooler": { "enabled": true } });
        cbd["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    harness.api.clear_requests();
    proxy.take_actions();
    harness.reconcile(&path).await;
    harness.reconcile(&path).await;

    let actions = proxy.take_actions();
    assert!(
        !actions.iter().any(|a| a.starts_with("Delete")),
        "nothing in AWS is deleted: {actions:?}"
    );
    assert_eq!(db_instances(&harness).await, [DB], "the instance stays");
    assert!(
        harness.finalizers_gone(&path),
        "deleting the resource no longer waits for AWS"
    );
    let warnings: Vec<String> = harness
        .events()
        .into_iter()
        .filter(|(reason, _)| reason == "StoreLeftInAws")
        .map(|(_, note)| note)
        .collect();
    assert_eq!(warnings.len(), 1, "said once: {warnings:?}");
    assert!(warnings[0].contains(DB), "{}", warnings[0]);
    assert!(warnings[0].starts_with("spec.database.mode is no longer managed"));
}

#[tokio::test]
async fn a_lost_connection_secret_is_made_anew_and_the_stores_take_its_credentials() {
    let (mut harness, proxy, path) = mindmitra_with(|_| {}).await;
    harness.provision_stores(&path).await;
    let old_password = harness
        .secret_value(NS, "mindmitra-db", "password")
        .unwrap();
    let old_token = harness
        .secret_value(NS, "mindmitra-cache", "password")
        .unwrap();
    for name in ["mindmitra-db", "mindmitra-cache"] {
        harness.api.remove(&object_path("secrets", NS, name));
    }
    harness.sync();
    proxy.take_actions();
    harness.reconcile_times(&path, 3).await;

    let password = harness
        .secret_value(NS, "mindmitra-db", "password")
        .unwrap();
    let token = harness
        .secret_value(NS, "mindmitra-cache", "password")
        .unwrap();
    assert!(
        password != old_password && token != old_token,
        "new credentials"
    );
    let actions = proxy.take_actions();
    assert_eq!(count(&actions, "ModifyDBInstance"), 1, "{actions:?}");
    assert_eq!(count(&actions, "ModifyReplicationGroup"), 1, "{actions:?}");
    assert!(
        harness
            .secret_value(NS, "mindmitra-db", "DATABASE_URL")
            .unwrap()
            .contains(&password)
    );
    assert!(
        harness
            .secret_value(NS, "mindmitra-cache", "REDIS_URL")
            .unwrap()
            .contains(&token)
    );
    assert_eq!(harness.condition(&path, "DatabaseReady").0, "True");
    let (ready, reason, message) = harness.condition(&path, "CacheReady");
    assert_eq!(ready, "True", "{reason}: {message}");
    let resets = harness
        .events()
        .iter()
        .filter(|(reason, _)| reason == "CredentialsReset")
        .count();
    assert_eq!(resets, 2, "one warning per store");
}
