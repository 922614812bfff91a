//! A restore driven by the reconciler and the action controller, request
//! by request: the safety backup first, the app and the pooler scaled to
//! zero, the restore Job into a new database, the connection Secret
//! switched, the app back; an operator restarted at each step carries on
//! without doing a step twice, and a failed restore leaves the app on its
//! old database. Real reconcilers, in-memory API server with the
//! operator's RBAC.

use serde_json::{Value, json};

use crate::backup_jobs::{backup_jobs, job_ended, time, with_backups};
use crate::common::harness::{Harness, path};

const NS: &str = "mindmitra";
const ACTION: &str = "restore-before-bad-import";
/// The id the action's creation time and uid give the restore.
const ID: &str = "20270115-072000-7e57ab";
const BACKUP: &str = "20270114-073000-r1";
/// The app's replica count outside a restore: the sample's `replicas.min`,
/// the floor of its autoscaler.
const APP_REPLICAS: i64 = 2;
const NEW_DATABASE: &str = "chatbot_20270115_072000_7e57ab";

fn restore_jobs(harness: &Harness) -> Vec<Value> {
    harness
        .api
        .list(&format!("/apis/batch/v1/namespaces/{NS}/jobs/"))
        .into_iter()
        .filter(|job| job["metadata"]["labels"]["app.kubernetes.io/component"] == "restore")
        .collect()
}

fn replicas(harness: &Harness, name: &str) -> Value {
    harness.api.get(&path("deployments", NS, name)).unwrap()["spec"]["replicas"].clone()
}

/// The pods of Deployment `name` are gone (scaled to zero).
fn pods_gone(harness: &mut Harness, name: &str) {
    harness.api.set_status(
        &path("deployments", NS, name),
        json!({ "replicas": 0, "readyReplicas": 0, "availableReplicas": 0 }),
    );
    harness.sync();
}

fn restore_status(harness: &Harness, at: &str) -> Value {
    harness.api.get(at).unwrap()["status"]["restore"].clone()
}

/// The names of the steps an action's status (`action`) records.
pub(crate) fn step_names(action: &Value) -> Vec<String> {
    action["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// The restore was refused before its first step, saying `why`: no
/// backup or restore Job, the app at its count, the action Failed.
async fn assert_refused(harness: &mut Harness, at: &str, action_path: &str, why: &str) {
    let refused = restore_status(harness, at);
    assert_eq!(refused["step"], "Failed", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().starts_with(why),
        "{refused}"
    );
    assert!(backup_jobs(harness).is_empty() && restore_jobs(harness).is_empty());
    assert_eq!(replicas(harness, "mindmitra"), APP_REPLICAS);
    harness.run_action(action_path).await;
    assert_eq!(
        harness.api.get(action_path).unwrap()["status"]["phase"],
        "Failed"
    );
}

/// MindMitra running on its in-cluster Postgres behind PgBouncer, with
/// one good scheduled backup, and a Restore action for it.
async fn running_with_a_backup(kind: Value) -> (Harness, String, String) {
    let (mut harness, at) = with_backups().await;
    // Before today's window (13:00 India time): no scheduled backup is due.
    harness.now = time("2027-01-15T07:20:00Z");
    harness.reconcile_times(&at, 3).await;
    // The autoscaler keeps the app at its floor.
    harness.deployment_ready(NS, "mindmitra", APP_REPLICAS);
    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.api.update(&at, |o| {
        o["status"]["backups"] = json!({
            "recent": [{ "id": BACKUP, "phase": "Succeeded", "reason": "scheduled",
                "revision": 1, "bytes": 4096 }]
        });
    });
    harness.sync();
    harness.reconcile(&at).await;
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .unwrap();
    assert!(url.contains("/chatbot?"), "{url}");
    let action_path = path("chatbotactions", NS, ACTION);
    let mut spec = json!({ "deployment": "mindmitra", "reason": "the import corrupted leads" });
    spec.as_object_mut()
        .unwrap()
        .extend(kind.as_object().unwrap().clone());
    harness.api.insert(
        &action_path,
        json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotAction",
            "metadata": { "name": ACTION, "namespace": NS,
                "uid": "7e57ab1e-0000-4000-8000-000000000001",
                "creationTimestamp": "2027-01-15T07:20:00Z" },
            "spec": spec
        }),
    );
    harness.sync();
    harness.run_action(&action_path).await;
    harness.sync();
    (harness, at, action_path)
}

/// Takes the safety backup the restore asked for, as the agent would.
async fn safety_backup_done(harness: &mut Harness, at: &str) {
    let safety = format!("{ID}-safety");
    let jobs = backup_jobs(harness);
    assert_eq!(jobs.len(), 1, "one safety backup");
    assert_eq!(
        jobs[0]["metadata"]["labels"]["chatbot.dev/backup-reason"],
        "pre-restore"
    );
    let name = jobs[0]["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(name, format!("mindmitra-backup-{safety}"));
    job_ended(
        harness,
        &name,
        "Complete",
        json!({ "kind": "backup", "id": safety, "outcome": "Succeeded", "bytes": 4200 }),
    );
    harness.reconcile(at).await;
}

#[tokio::test]
async fn a_restore_switches_the_app_to_a_new_database_step_by_step_across_restarts() {
    let (mut harness, at, action_path) = running_with_a_backup(json!({
        "action": "Restore", "backup": BACKUP
    }))
    .await;
    let request = &harness.api.get(&at).unwrap()["status"]["restoreRequest"];
    assert_eq!(request["id"], ID);
    assert_eq!(request["backup"], BACKUP);

    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["step"], "SafetyBackup");
    assert_eq!(restore_status(&harness, &at)["database"], NEW_DATABASE);
    assert_eq!(
        replicas(&harness, "mindmitra"),
        APP_REPLICAS,
        "up while backing up"
    );
    // A restarted operator does not take the safety backup twice.
    let mut harness = harness.restarted();
    harness.reconcile(&at).await;
    safety_backup_done(&mut harness, &at).await;

    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["step"], "StopWrites");
    assert_eq!(replicas(&harness, "mindmitra"), 0);
    assert_eq!(replicas(&harness, "mindmitra-pgbouncer"), 0);
    assert!(
        restore_jobs(&harness).is_empty(),
        "not while pods may write"
    );

    // A GitOps push while the app is down leaves it down.
    harness.api.update(&at, |o| {
        o["spec"]["image"] = json!("ghcr.io/mindmitra/chat:1.5.0");
        o["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    pods_gone(&mut harness, "mindmitra");
    pods_gone(&mut harness, "mindmitra-pgbouncer");
    harness.reconcile(&at).await;
    assert_eq!(replicas(&harness, "mindmitra"), 0);
    assert_eq!(restore_status(&harness, &at)["step"], "Restore");
    let jobs = restore_jobs(&harness);
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    let name = job["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(name, format!("mindmitra-restore-{ID}"));
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "restore");
    assert!(
        args.windows(4)
            .any(|w| w == ["--id", BACKUP, "--create-database", NEW_DATABASE]),
        "{args:?}"
    );
    let env = container["env"].to_string();
    assert!(env.contains("\"secretKeyRef\""), "{env}");
    assert!(!env.contains("postgresql://"), "the URL only by reference");
    assert_eq!(
        job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"], "restore",
        "the stores' NetworkPolicy admits it by this label"
    );

    // A restart mid-restore neither creates a second Job nor brings the app back.
    let mut harness = harness.restarted();
    harness.reconcile(&at).await;
    assert_eq!(restore_jobs(&harness).len(), 1);
    assert_eq!(replicas(&harness, "mindmitra"), 0);
    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Running");
    assert_eq!(action["steps"].as_array().unwrap().len(), 3, "{action}");

    job_ended(
        &mut harness,
        &name,
        "Complete",
        json!({ "kind": "restore", "id": BACKUP, "outcome": "Succeeded", "restoreSeconds": 12.5 }),
    );
    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["step"], "Switch");
    assert_eq!(
        replicas(&harness, "mindmitra"),
        0,
        "no pod before the switch"
    );
    let mut harness = harness.restarted();
    harness.reconcile(&at).await;
    for key in ["DATABASE_URL", "DIRECT_DATABASE_URL"] {
        let url = harness.secret_value(NS, "mindmitra-db", key).unwrap();
        assert!(url.contains(&format!("/{NEW_DATABASE}?")), "{key}: {url}");
    }
    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["step"], "Resume");
    assert_eq!(replicas(&harness, "mindmitra"), APP_REPLICAS);
    assert_eq!(replicas(&harness, "mindmitra-pgbouncer"), 1);

    harness.deployment_ready(NS, "mindmitra", APP_REPLICAS);
    harness.reconcile(&at).await;
    let done = restore_status(&harness, &at);
    assert_eq!(done["step"], "Succeeded", "{done}");
    assert_eq!(done["previousDatabase"], "chatbot");
    assert_eq!(done["restoreSeconds"], 12.5);
    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Succeeded", "{action}");
    let steps = step_names(&action);
    assert_eq!(
        steps,
        ["SafetyBackup", "StopWrites", "Restore", "Switch", "Resume"]
    );
    let reasons: Vec<String> = harness.events().into_iter().map(|(r, _)| r).collect();
    for reason in ["RestoreStarted", "DatabaseSwitched", "RestoreSucceeded"] {
        assert!(reasons.iter().any(|r| r == reason), "{reason}: {reasons:?}");
    }

    // Over: the Secret stays switched, nothing runs again, the app stays up.
    harness.reconcile_times(&at, 2).await;
    assert_eq!(restore_jobs(&harness).len(), 1);
    assert_eq!(replicas(&harness, "mindmitra"), APP_REPLICAS);
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .unwrap();
    assert!(url.contains(&format!("/{NEW_DATABASE}?")), "{url}");

    // Seven days on, the replaced database is dropped by a Job, once.
    harness.now = time("2027-01-22T08:00:00Z");
    harness.reconcile(&at).await;
    // Until then retention keeps the safety backup: the day's scheduled
    // backup pins it.
    let scheduled = backup_jobs(&harness)
        .into_iter()
        .find(|j| j["metadata"]["labels"]["chatbot.dev/backup-reason"] == "scheduled")
        .expect("the day's backup");
    let args = scheduled["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(
        args.contains(&format!("\"--pin\",\"{ID}-safety\"")),
        "{args}"
    );
    let drop_job = format!("mindmitra-restore-{ID}-drop");
    let job = harness
        .api
        .get(&path("jobs", NS, &drop_job))
        .expect("the drop Job");
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["args"],
        json!(["drop-database", "--database", "chatbot"])
    );
    assert!(container["env"].to_string().contains("\"secretKeyRef\""));
    job_ended(
        &mut harness,
        &drop_job,
        "Complete",
        json!({ "kind": "drop", "id": "chatbot", "outcome": "Succeeded" }),
    );
    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["previousDropped"], true);
    harness.reconcile_times(&at, 2).await;
    assert_eq!(
        restore_jobs(&harness).len(),
        2,
        "the restore's Job and the drop's"
    );
}

/// A Restore of `BACKUP` at its Restore step: the safety backup taken,
/// the app and the pooler gone.
async fn at_the_restore_step() -> (Harness, String, String) {
    let (mut harness, at, action_path) = running_with_a_backup(json!({
        "action": "Restore", "backup": BACKUP
    }))
    .await;
    harness.reconcile(&at).await;
    safety_backup_done(&mut harness, &at).await;
    harness.reconcile(&at).await;
    pods_gone(&mut harness, "mindmitra");
    pods_gone(&mut harness, "mindmitra-pgbouncer");
    harness.reconcile(&at).await;
    (harness, at, action_path)
}

#[tokio::test]
async fn a_restore_that_fails_its_check_leaves_the_app_on_its_old_database() {
    let (mut harness, at, action_path) = at_the_restore_step().await;
    let name = format!("mindmitra-restore-{ID}");
    job_ended(
        &mut harness,
        &name,
        "Failed",
        json!({ "kind": "restore", "id": BACKUP, "outcome": "Failed",
            "message": "the restored database does not match backup 20270114-073000-r1: public.leads has 10 rows, the manifest says 12" }),
    );
    harness.reconcile(&at).await;
    let failed = restore_status(&harness, &at);
    assert_eq!(failed["step"], "Failed");
    assert_eq!(
        replicas(&harness, "mindmitra"),
        APP_REPLICAS,
        "the app comes back"
    );
    assert_eq!(replicas(&harness, "mindmitra-pgbouncer"), 1);
    harness.reconcile(&at).await;
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .unwrap();
    assert!(url.contains("/chatbot?"), "never switched: {url}");
    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Failed");
    let message = action["message"].as_str().unwrap();
    assert!(message.contains("public.leads has 10 rows"), "{message}");
    assert!(message.ends_with("the app is back on chatbot"), "{message}");
}

#[tokio::test]
async fn a_spec_broken_in_the_middle_of_a_restore_never_leaves_the_app_stopped() {
    let (mut harness, at, _) = at_the_restore_step().await;
    assert_eq!(restore_status(&harness, &at)["step"], "Restore");
    assert_eq!(replicas(&harness, "mindmitra"), 0);
    // Ready says what keeps the app stopped.
    let conditions = harness.api.get(&at).unwrap()["status"]["conditions"].clone();
    let ready = conditions
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert_eq!(
        (&ready["status"], &ready["reason"]),
        (&json!("False"), &json!("Restoring")),
        "{ready}"
    );
    assert!(
        ready["message"].as_str().unwrap().starts_with(&format!(
            "restore {ID} of backup {BACKUP}, at Restore: restoring backup"
        )),
        "{ready}"
    );

    // GitOps applies a spec the operator cannot apply, mid-restore.
    harness.api.update(&at, |o| {
        o["spec"]["environment"] = json!("nowhere");
    });
    harness.sync();
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let ended = restore_status(&harness, &at);
    assert_eq!(ended["step"], "Failed", "{ended}");
    let message = ended["message"].as_str().unwrap();
    assert!(
        message.contains("nowhere") && message.ends_with("the app is back on chatbot"),
        "{message}"
    );
    assert_eq!(replicas(&harness, "mindmitra"), APP_REPLICAS);
    assert_eq!(replicas(&harness, "mindmitra-pgbouncer"), 1);
    let url = harness
        .secret_value(NS, "mindmitra-db", "DATABASE_URL")
        .unwrap();
    assert!(url.contains("/chatbot?"), "never switched: {url}");
}

#[tokio::test]
async fn a_restore_handed_over_is_not_called_lost_while_the_cache_lags_behind() {
    // The action is woken by its own status write before the deployment's
    // cache has seen the request it wrote a moment earlier: the cache holds
    // the deployment without it, the API server with it.
    let (mut harness, at, action_path) = running_with_a_backup(json!({
        "action": "Restore", "backup": BACKUP
    }))
    .await;
    let request = harness.api.get(&at).unwrap()["status"]["restoreRequest"].clone();
    assert_eq!(request["id"], ID);
    harness.api.update(&at, |o| {
        o["status"]["restoreRequest"] = Value::Null;
    });
    harness.sync();
    harness.api.update(&at, |o| {
        o["status"]["restoreRequest"] = request.clone();
    });

    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Running", "{action}");
    assert_eq!(
        action["message"],
        format!("restore {ID} was handed to the reconciler")
    );

    // The restore goes on, and the action follows it.
    harness.sync();
    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["step"], "SafetyBackup");
    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Running", "{action}");
}

#[tokio::test]
async fn a_restore_of_an_unknown_revision_ends_before_anything_changes() {
    let (mut harness, at, action_path) = running_with_a_backup(json!({
        "action": "Restore", "revision": 9
    }))
    .await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Failed");
    assert!(
        action["message"]
            .as_str()
            .unwrap()
            .starts_with("revision 9 is not in the history (known: 1)"),
        "{action}"
    );
    harness.reconcile(&at).await;
    assert!(harness.api.get(&at).unwrap()["status"]["restoreRequest"].is_null());
    assert!(backup_jobs(&harness).is_empty());
    assert_eq!(replicas(&harness, "mindmitra"), APP_REPLICAS);
}

#[tokio::test]
async fn a_rollback_with_its_data_restores_it_and_brings_the_pods_of_the_revision_back() {
    use crate::common::revisions::{template_of, two_revisions};
    let (mut harness, at) = two_revisions().await;
    // Backups to S3 (the pod's identity), and revision 2's pre-rollout
    // backup: revision 1's data as it was when 2 replaced it.
    harness.api.update(&at, |o| {
        o["spec"]["backup"] = json!({ "enabled": true,
            "destination": { "s3": { "bucket": "mindmitra-backups" } } });
        let generation = o["metadata"]["generation"].as_i64().unwrap();
        o["metadata"]["generation"] = json!(generation + 1);
        o["status"]["revisions"][1]["preRolloutSnapshot"] = json!("20261125-100200-r2-pre");
        o["status"]["backups"] = json!({ "recent": [{ "id": "20261125-100200-r2-pre",
            "phase": "Succeeded", "reason": "pre-rollout", "revision": 2 }] });
    });
    harness.sync();
    harness.reconcile(&at).await;
    let action_path = path("chatbotactions", NS, "rollback-with-data");
    harness.api.insert(
        &action_path,
        json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotAction",
            "metadata": { "name": "rollback-with-data", "namespace": NS,
                "uid": "da7a0000-0000-4000-8000-000000000001",
                "creationTimestamp": "2027-01-15T08:00:00Z" },
            "spec": { "deployment": "mindmitra", "action": "Rollback", "restoreData": true,
                "reason": "1.1.0's migration dropped a column" }
        }),
    );
    harness.sync();
    harness.run_action(&action_path).await;
    let request = harness.api.get(&at).unwrap()["status"]["restoreRequest"].clone();
    assert_eq!(request["backup"], "20261125-100200-r2-pre", "{request}");
    assert_eq!(request["rollbackTo"], 1);
    let id = request["id"].as_str().unwrap().to_string();

    harness.sync();
    harness.reconcile(&at).await;
    let safety = format!("{id}-safety");
    job_ended(
        &mut harness,
        &format!("mindmitra-backup-{safety}"),
        "Complete",
        json!({ "kind": "backup", "id": safety, "outcome": "Succeeded", "bytes": 4200 }),
    );
    harness.reconcile_times(&at, 2).await;
    assert_eq!(replicas(&harness, "mindmitra"), 0);
    pods_gone(&mut harness, "mindmitra");
    pods_gone(&mut harness, "mindmitra-pgbouncer");
    harness.reconcile(&at).await;
    job_ended(
        &mut harness,
        &format!("mindmitra-restore-{id}"),
        "Complete",
        json!({ "kind": "restore", "id": "20261125-100200-r2-pre", "outcome": "Succeeded" }),
    );
    harness.reconcile_times(&at, 3).await;
    assert_eq!(restore_status(&harness, &at)["step"], "RollBackPods");
    assert_eq!(
        replicas(&harness, "mindmitra"),
        0,
        "no 1.1.0 pod meets 1.0.0's data"
    );

    harness.run_action(&action_path).await;
    harness.sync();
    assert_eq!(
        harness.api.get(&at).unwrap()["status"]["rollback"]["revision"],
        1
    );
    harness.reconcile(&at).await;
    assert_eq!(restore_status(&harness, &at)["step"], "Resume");
    assert_eq!(template_of(&harness).1, "1", "the pods of revision 1");
    assert_eq!(replicas(&harness, "mindmitra"), APP_REPLICAS);
    harness.deployment_ready(NS, "mindmitra", APP_REPLICAS);
    harness.reconcile(&at).await;
    harness.run_action(&action_path).await;
    let action = harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action["phase"], "Succeeded", "{action}");
    assert!(
        action["message"]
            .as_str()
            .unwrap()
            .contains("at revision 1"),
        "{action}"
    );
    let steps = step_names(&action);
    assert!(steps.iter().any(|s| s == "RollBackPods"), "{steps:?}");
    // The pods stay at revision 1 until the spec changes, as after any rollback.
    harness.reconcile_times(&at, 2).await;
    assert_eq!(template_of(&harness).1, "1");
}

#[tokio::test]
async fn a_restore_of_a_paused_resource_is_refused_with_nothing_changed() {
    let (mut harness, at, action_path) = running_with_a_backup(json!({
        "action": "Restore", "backup": BACKUP
    }))
    .await;
    harness.api.update(&at, |o| {
        o["spec"]["paused"] = json!(true);
        o["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    harness.reconcile(&at).await;
    assert_refused(&mut harness, &at, &action_path, "spec.paused is true").await;
}

#[tokio::test]
async fn a_restore_while_a_migration_job_runs_is_refused_with_nothing_changed() {
    let (mut harness, at, action_path) = running_with_a_backup(json!({
        "action": "Restore", "backup": BACKUP
    }))
    .await;
    // A migration Job of the running revision, still running: it writes
    // to the database the restore would replace.
    let uid = harness.api.get(&at).unwrap()["metadata"]["uid"].clone();
    harness.api.insert(
        &format!("/apis/batch/v1/namespaces/{NS}/jobs/mindmitra-migrate-1"),
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": { "name": "mindmitra-migrate-1", "namespace": NS,
                "labels": { "app.kubernetes.io/instance": "mindmitra",
                    "app.kubernetes.io/managed-by": "chatbot-operator",
                    "app.kubernetes.io/component": "migration", "chatbot.dev/revision": "1" },
                "ownerReferences": [{ "apiVersion": "chatbot.dev/v1alpha1",
                    "kind": "ChatbotDeployment", "name": "mindmitra", "uid": uid,
                    "controller": true }] },
            "spec": { "template": { "spec": { "restartPolicy": "Never",
                "containers": [{ "name": "migrate", "image": "migrate" }] } } }
        }),
    );
    harness.sync();
    harness.reconcile(&at).await;
    let why = "the migration Job of revision 1 is running";
    assert_refused(&mut harness, &at, &action_path, why).await;
}
