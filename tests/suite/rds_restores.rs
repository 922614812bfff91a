//! A restore from a native RDS snapshot against a real AWS API emulator
//! (moto in server mode) behind a proxy that loses responses: the safety
//! snapshot, the app at zero, `RestoreDBInstanceFromDBSnapshot` under a
//! new identifier made once despite a lost response and an operator
//! restart, the connection Secret moved to the new instance, the app
//! back, the replaced instance deleted after a final snapshot once its
//! time as the undo is over, and the restored instance torn down with the
//! resource. Real reconcilers, in-memory API server with the operator's
//! RBAC.

use serde_json::{Value, json};

use crate::backup_jobs::{rds_without_dumps, revision_record, template_revision, time};
use crate::common::{
    aws_proxy::{AwsProxy, Fault},
    harness::{Harness, path},
};
use crate::restores::step_names;

const NS: &str = "mindmitra";
const OLD: &str = "chatbot-mindmitra-mindmitra";
const SNAPSHOT: &str = "chatbot-mindmitra-mindmitra-pre-r2";
const ACTION: &str = "restore-revision-1";
/// The id the action's creation time and uid give the restore.
const ID: &str = "20270115-072000-5a5e01";
const NEW: &str = "chatbot-mindmitra-mindmitra-r20270115-072000-5a5e01";

fn count(actions: &[String], action: &str) -> usize {
    actions.iter().filter(|a| *a == action).count()
}

fn restore_status(harness: &Harness, at: &str) -> Value {
    harness.api.get(at).unwrap()["status"]["restore"].clone()
}

async fn instances(harness: &Harness) -> Vec<(String, Vec<(String, String)>)> {
    let clients = harness.moto.clients();
    let described = clients.rds.describe_db_instances().send().await.unwrap();
    let mut found: Vec<_> = described
        .db_instances()
        .iter()
        .map(|d| {
            let tags = d
                .tag_list()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            (
                d.db_instance_identifier().unwrap_or_default().to_string(),
                tags,
            )
        })
        .collect();
    found.sort();
    found
}

fn app_down(harness: &mut Harness) {
    harness.api.set_status(
        &path("deployments", NS, "mindmitra"),
        json!({ "replicas": 0, "readyReplicas": 0, "availableReplicas": 0 }),
    );
    harness.sync();
}

/// MindMitra on RDS with no dump destination, revision 2 rolled out after
/// its pre-rollout RDS snapshot, and a Restore action for revision 1's
/// data (in that snapshot).
async fn on_revision_2() -> (Harness, AwsProxy, String, String) {
    let (mut harness, proxy, at) = rds_without_dumps(|_| {}).await;
    harness.reconcile_times(&at, 2).await;
    assert_eq!(template_revision(&harness).as_deref(), Some("2"));
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&at).await;
    let status = harness.api.get(&at).unwrap()["status"].clone();
    assert_eq!(
        revision_record(&status, 2)["preRolloutDbSnapshot"],
        SNAPSHOT
    );

    let action_path = path("chatbotactions", NS, ACTION);
    harness.api.insert(
        &action_path,
        json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotAction",
            "metadata": { "name": ACTION, "namespace": NS,
                "uid": "5a5e01aa-0000-4000-8000-000000000001",
                "creationTimestamp": "2027-01-15T07:20:00Z" },
            "spec": { "deployment": "mindmitra", "action": "Restore", "revision": 1,
                "reason": "revision 2's migration dropped a column" }
        }),
    );
    harness.sync();
    harness.run_action(&action_path).await;
    harness.sync();
    (harness, proxy, at, action_path)
}

#[tokio::test]
async fn an_rds_snapshot_is_restored_into_a_new_instance_once_and_the_app_moves_to_it() {
    let (mut first, proxy, at, action_path) = on_revision_2().await;
    let request = first.api.get(&at).unwrap()["status"]["restoreRequest"].clone();
    assert_eq!(request["backup"], SNAPSHOT, "revision 1's data: {request}");
    assert_eq!(request["method"], "rds-snapshot");

    // The safety backup is a native snapshot of the live instance, taken
    // with the app up.
    first.reconcile(&at).await;
    let restore = restore_status(&first, &at);
    assert_eq!(restore["step"], "SafetyBackup", "{restore}");
    assert_eq!(restore["instance"], NEW);
    assert_eq!(restore["previousInstance"], OLD);
    let safety = format!("{OLD}-{ID}-safety");
    assert!(
        first.moto.manual_snapshots().await.contains(&safety),
        "{:?}",
        first.moto.manual_snapshots().await
    );
    first.reconcile(&at).await;
    assert_eq!(restore_status(&first, &at)["step"], "StopWrites");
    let replicas = |h: &Harness| {
        h.api.get(&path("deployments", NS, "mindmitra")).unwrap()["spec"]["replicas"].clone()
    };
    assert_eq!(replicas(&first), 0);

    // The instance is made, its answer lost (the SDK's retry meets
    // "already exists"), and the operator dies before recording the step.
    app_down(&mut first);
    proxy.inject("RestoreDBInstanceFromDBSnapshot", Fault::LoseResponse, 1);
    first.api.fail("/status", 500, 1);
    proxy.take_actions();
    let cbd = first.chatbot(&at);
    let result =
        chatbot_operator::reconcile::reconcile_at(&cbd, &first.context, first.now.clone()).await;
    assert!(result.is_err(), "the status write fails");
    first.sync();
    let actions = proxy.take_actions();
    assert_eq!(
        count(&actions, "RestoreDBInstanceFromDBSnapshot"),
        2,
        "the call and the SDK's retry of it: {actions:?}"
    );
    let made = instances(&first).await;
    let names: Vec<&str> = made.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, [OLD, NEW]);
    let tags = &made[1].1;
    for (key, value) in [
        ("chatbot.dev/restored-from", SNAPSHOT),
        ("chatbot.dev/restore", ID),
        ("chatbot.dev/name", "mindmitra"),
    ] {
        assert!(
            tags.iter().any(|(k, v)| k == key && v == value),
            "{key}={value} in {tags:?}"
        );
    }

    // A new operator finds the instance and never asks for another.
    let mut harness = first.restarted();
    harness.reconcile_times(&at, 2).await;
    let actions = proxy.take_actions();
    assert_eq!(
        count(&actions, "RestoreDBInstanceFromDBSnapshot"),
        0,
        "{actions:?}"
    );
    assert_eq!(instances(&first).await.len(), 2);
    let restore = restore_status(&harness, &at);
    assert!(
        ["Switch", "Resume"].contains(&restore["step"].as_str().unwrap()),
        "{restore}"
    );
    harness.reconcile_times(&at, 2).await;

    // The Secret leads to the new instance with the Secret's password.
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .unwrap();
    assert!(url.contains(&format!("@{NEW}.")), "the new endpoint");
    let status = harness.api.get(&at).unwrap()["status"].clone();
    assert_eq!(status["database"]["identifier"], NEW);
    assert_eq!(restore_status(&harness, &at)["step"], "Resume");
    assert_eq!(replicas(&harness), 2, "back at the autoscaler's floor");
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&at).await;
    let restore = restore_status(&harness, &at);
    assert_eq!(restore["step"], "Succeeded", "{restore}");
    assert!(
        restore["message"]
            .as_str()
            .unwrap()
            .contains(&format!("RDS instance {OLD} is kept as the undo")),
        "{restore}"
    );
    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Succeeded", "{action}");
    assert_eq!(
        step_names(&action),
        ["SafetyBackup", "StopWrites", "Restore", "Switch", "Resume"]
    );
    let actions = proxy.take_actions();
    assert_eq!(
        count(&actions, "CreateDBInstance"),
        0,
        "never an empty instance: {actions:?}"
    );

    // Eight days on, the replaced instance goes, after a final snapshot.
    harness.now = time("2027-01-23T08:00:00Z");
    harness.reconcile_times(&at, 2).await;
    let names: Vec<String> = instances(&first)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, [NEW]);
    assert!(
        first
            .moto
            .manual_snapshots()
            .await
            .contains(&format!("{OLD}-final"))
    );
    assert_eq!(restore_status(&harness, &at)["previousDropped"], true);
    assert!(
        harness
            .events()
            .iter()
            .any(|(reason, message)| reason == "ReplacedDatabaseDropped" && message.contains(OLD))
    );
    proxy.take_actions();
    harness.reconcile(&at).await;
    let actions = proxy.take_actions();
    assert_eq!(count(&actions, "DeleteDBInstance"), 0, "once: {actions:?}");

    // Deleting the resource tears down the instance the app runs on.
    harness.api.update(&at, |cbd| {
        cbd["metadata"]["deletionTimestamp"] = json!("2027-01-23T09:00:00Z");
    });
    harness.sync();
    harness.reconcile(&at).await;
    assert!(
        first
            .moto
            .manual_snapshots()
            .await
            .contains(&format!("{NEW}-final"))
    );
    assert!(instances(&first).await.is_empty());
}
