//! Scheduled backups driven by the reconciler: one Job per window of the
//! schedule (in its time zone), never two at a time, a missed window run
//! once, the agent's report read from the Job's termination message into
//! `status.backups` and the BackupHealthy / BackupStale conditions, and a
//! failed run that never blocks the next. Real reconciler, in-memory API
//! server with the operator's RBAC.

use crate::common;

use common::{
    aws_proxy::{AwsProxy, Fault},
    harness::{Harness, path},
    moto::clients_for,
};
use k8s_openapi::{apimachinery::pkg::apis::meta::v1::Time, jiff::Timestamp};
use serde_json::{Value, json};

const NS: &str = "mindmitra";

pub(crate) fn time(text: &str) -> Time {
    Time(text.parse::<Timestamp>().unwrap())
}

/// MindMitra in dev, with daily backups at 13:00 India time (07:30 UTC)
/// to S3, created the day before the harness's clock.
pub(crate) async fn with_backups() -> (Harness, String) {
    let mut harness = Harness::new();
    harness.now = time("2027-01-15T08:00:00Z");
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    harness.secret(
        NS,
        "mindmitra-backup-keys",
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    let mut cbd = common::dev_variant("mindmitra");
    cbd.metadata.creation_timestamp = Some(time("2027-01-14T09:00:00Z"));
    cbd.spec.backup = Some(
        serde_json::from_value(json!({
            "enabled": true,
            "schedule": "0 13 * * *",
            "timeZone": "Asia/Kolkata",
            "destination": { "s3": {
                "bucket": "mindmitra-backups", "prefix": "prod/", "region": "ap-south-1",
                "credentialsSecret": "mindmitra-backup-keys" } }
        }))
        .unwrap(),
    );
    let at = harness.create(&cbd);
    (harness, at)
}

pub(crate) fn backup_jobs(harness: &Harness) -> Vec<Value> {
    harness
        .api
        .list(&format!("/apis/batch/v1/namespaces/{NS}/jobs/"))
        .into_iter()
        .filter(|job| job["metadata"]["labels"]["app.kubernetes.io/component"] == "backup")
        .collect()
}

/// Ends Job `name` as the Job controller would, with its pod's
/// termination message `report`.
pub(crate) fn job_ended(harness: &mut Harness, name: &str, condition: &str, report: Value) {
    let started = harness.now.0;
    let ended = started + k8s_openapi::jiff::SignedDuration::from_secs(100);
    harness.job_ended(NS, name, condition, &report.to_string(), (started, ended));
}

/// Revision `number`'s record in `status.revisions`.
pub(crate) fn revision_record(status: &Value, number: i64) -> Value {
    status["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["revision"] == number)
        .cloned()
        .unwrap()
}

fn backups_status(harness: &Harness, at: &str) -> Value {
    harness.api.get(at).unwrap()["status"]["backups"].clone()
}

#[tokio::test]
async fn a_due_window_starts_one_backup_job_with_secrets_only_by_reference() {
    let (mut harness, at) = with_backups().await;
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let jobs = backup_jobs(&harness);
    assert_eq!(jobs.len(), 1, "one Job for today's 07:30 UTC window");
    let job = &jobs[0];
    let id = job["metadata"]["labels"]["chatbot.dev/backup-id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(id.starts_with("20270115-073000"), "{id}");
    assert_eq!(job["metadata"]["name"], format!("mindmitra-backup-{id}"));
    assert_eq!(
        job["metadata"]["ownerReferences"][0]["kind"],
        "ChatbotDeployment"
    );
    let pod = &job["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(&args[..3], ["dump", "--s3-bucket", "mindmitra-backups"]);
    assert!(
        args.windows(2).any(|w| w == ["--id", id.as_str()]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|w| w == ["--reason", "scheduled"]),
        "{args:?}"
    );
    assert!(
        args.windows(2).any(|w| w == ["--prefix", "prod"]),
        "{args:?}"
    );
    let env = container["env"].as_array().unwrap();
    assert!(
        env.iter().all(|e| e.get("value").is_none()),
        "secrets by reference only: {env:?}"
    );
    assert_eq!(env[0]["valueFrom"]["secretKeyRef"]["name"], "mindmitra-db");
    assert_eq!(
        env[0]["valueFrom"]["secretKeyRef"]["key"],
        "DIRECT_DATABASE_URL"
    );
    assert!(
        env.iter()
            .any(|e| e["valueFrom"]["secretKeyRef"]["name"] == "mindmitra-backup-keys")
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["activeDeadlineSeconds"], 7200);
    assert!(
        !job.to_string().contains("value-of-"),
        "no secret value in the Job"
    );

    let status = backups_status(&harness, &at);
    assert_eq!(status["last"]["phase"], "Running");
    assert_eq!(status["lastWindow"], "2027-01-15T07:30:00Z");
    assert_eq!(status["nextWindow"], "2027-01-16T07:30:00Z");

    // Running: the next reconciles start nothing, and status.backups
    // stays as it is.
    harness.take_requests();
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let job_writes: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|r| r.contains("/jobs") && !r.starts_with("GET") && !r.starts_with("LIST"))
        .collect();
    assert!(job_writes.is_empty(), "{job_writes:?}");
    assert_eq!(backups_status(&harness, &at), status);
    assert_eq!(backup_jobs(&harness).len(), 1);
}

#[tokio::test]
async fn a_failed_run_is_reported_once_and_the_next_window_clears_it() {
    let (mut harness, at) = with_backups().await;
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let first = backup_jobs(&harness)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    job_ended(
        &mut harness,
        &first,
        "Failed",
        json!({ "kind": "backup", "id": "x", "outcome": "Failed",
                "message": "pg_dump exited with status 1: connection to server failed" }),
    );
    harness.reconcile(&at).await;
    let status = backups_status(&harness, &at);
    assert_eq!(status["last"]["phase"], "Failed");
    assert_eq!(
        status["last"]["message"],
        "pg_dump exited with status 1: connection to server failed"
    );
    let (healthy, reason, message) = harness.condition(&at, "BackupHealthy");
    assert_eq!(
        (healthy.as_str(), reason.as_str()),
        ("False", "BackupFailed"),
        "{message}"
    );
    let (stale, reason, _) = harness.condition(&at, "BackupStale");
    assert_eq!((stale.as_str(), reason.as_str()), ("True", "NoGoodBackup"));
    let failures = |harness: &Harness| {
        harness
            .events()
            .iter()
            .filter(|(reason, _)| reason == "BackupFailed")
            .count()
    };
    assert_eq!(failures(&harness), 1);
    harness.reconcile(&at).await;
    assert_eq!(
        failures(&harness),
        1,
        "one Event per failure, not per reconcile"
    );
    assert_eq!(
        backup_jobs(&harness).len(),
        1,
        "the failed window is not retried in a loop"
    );

    // The operator was down for three days: the missed windows run once.
    harness.now = time("2027-01-18T09:00:00Z");
    harness.reconcile(&at).await;
    let jobs = backup_jobs(&harness);
    assert_eq!(jobs.len(), 2, "one more Job, not one per missed window");
    let second = jobs
        .iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .find(|n| *n != first)
        .unwrap();
    assert!(second.contains("20270118-073000"), "{second}");
    job_ended(
        &mut harness,
        &second,
        "Complete",
        json!({ "kind": "backup", "id": "y", "outcome": "Succeeded", "bytes": 48213977,
                "sha256": "9f2c", "tocEntries": 41, "finishedAt": "2027-01-18T09:01:40Z" }),
    );
    harness.reconcile(&at).await;
    let status = backups_status(&harness, &at);
    assert_eq!(status["lastSuccessful"]["bytes"], 48213977);
    assert_eq!(status["lastSuccessful"]["sha256"], "9f2c");
    assert_eq!(status["recent"].as_array().unwrap().len(), 2);
    let (healthy, reason, _) = harness.condition(&at, "BackupHealthy");
    assert_eq!((healthy.as_str(), reason.as_str()), ("True", "Succeeded"));
    let (stale, _, _) = harness.condition(&at, "BackupStale");
    assert_eq!(
        stale, "False",
        "a fixed cause clears both without editing the resource"
    );
    let scrape = harness.context.metrics.encode();
    assert!(
        scrape.contains(
            "chatbot_operator_backup_bytes{namespace=\"mindmitra\",name=\"mindmitra\"} 48213977"
        ),
        "{scrape}"
    );
    assert!(scrape.contains(
        "chatbot_operator_backup_failures_total{namespace=\"mindmitra\",name=\"mindmitra\"} 1"
    ));
}

#[tokio::test]
async fn an_unknown_time_zone_is_refused_naming_the_field() {
    let (mut harness, at) = with_backups().await;
    harness.api.update(&at, |o| {
        o["spec"]["backup"]["timeZone"] = json!("Mars/Olympus_Mons");
    });
    harness.sync();
    harness.reconcile(&at).await;
    let (ready, reason, message) = harness.condition(&at, "Ready");
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", "InvalidSpec"),
        "{message}"
    );
    assert!(
        message.starts_with("spec.backup.timeZone: \"Mars/Olympus_Mons\""),
        "{message}"
    );
    assert!(backup_jobs(&harness).is_empty());
}

#[tokio::test]
async fn an_on_call_backup_action_runs_one_backup_and_ends_with_its_outcome() {
    let (mut harness, at) = with_backups().await;
    // Today's window has run already: only the action's backup is due.
    harness.now = time("2027-01-15T07:45:00Z");
    harness.api.update(&at, |o| {
        o["status"]["backups"] = json!({ "lastWindow": "2027-01-15T07:30:00Z" });
    });
    harness.sync();
    harness.reconcile(&at).await;
    assert!(backup_jobs(&harness).is_empty());
    let action_path = path("chatbotactions", NS, "backup-before-import");
    harness.api.insert(
        &action_path,
        json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotAction",
            "metadata": { "name": "backup-before-import", "namespace": NS,
                "uid": "5be1c0de-0000-4000-8000-000000000001",
                "creationTimestamp": "2027-01-15T07:45:00Z" },
            "spec": { "deployment": "mindmitra", "action": "Backup",
                "reason": "before the bulk import", "expectShrink": true }
        }),
    );
    harness.sync();
    harness.run_action(&action_path).await;
    let request = &harness.api.get(&at).unwrap()["status"]["backupRequest"];
    assert_eq!(request["id"], "20270115-074500-5be1c0");
    assert_eq!(request["action"], "backup-before-import");
    let action_status =
        |harness: &Harness| harness.api.get(&action_path).unwrap()["status"].clone();
    assert_eq!(action_status(&harness)["phase"], "Running");

    harness.sync();
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let jobs = backup_jobs(&harness);
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(
        job["metadata"]["name"],
        "mindmitra-backup-20270115-074500-5be1c0"
    );
    assert_eq!(
        job["metadata"]["labels"]["chatbot.dev/backup-reason"],
        "on-demand"
    );
    assert_eq!(
        job["metadata"]["annotations"]["chatbot.dev/action"],
        "backup-before-import"
    );
    let args = job["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("\"--expect-shrink\""), "{args}");
    harness.run_action(&action_path).await;
    assert_eq!(action_status(&harness)["phase"], "Running");

    let name = job["metadata"]["name"].as_str().unwrap().to_string();
    job_ended(
        &mut harness,
        &name,
        "Complete",
        json!({ "kind": "backup", "id": "20270115-074500-5be1c0", "outcome": "Succeeded", "bytes": 2097152 }),
    );
    harness.reconcile(&at).await;
    harness.run_action(&action_path).await;
    let ended = action_status(&harness);
    assert_eq!(ended["phase"], "Succeeded");
    assert_eq!(
        ended["message"],
        "backup 20270115-074500-5be1c0 succeeded (2.0 MiB)"
    );
    harness.reconcile(&at).await;
    assert_eq!(
        backup_jobs(&harness).len(),
        1,
        "the request is not run twice"
    );
}

pub(crate) fn template_revision(harness: &Harness) -> Option<String> {
    revision_of(harness, "mindmitra")
}

fn candidate_revision(harness: &Harness) -> Option<String> {
    revision_of(harness, "mindmitra-canary")
}

fn revision_of(harness: &Harness, deployment: &str) -> Option<String> {
    let deployment = harness.api.get(&path("deployments", NS, deployment))?;
    deployment["spec"]["template"]["metadata"]["labels"]["chatbot.dev/revision"]
        .as_str()
        .map(str::to_string)
}

#[tokio::test]
async fn a_new_revision_waits_for_its_pre_rollout_backup_which_is_recorded_with_it() {
    let (mut harness, at) = with_backups().await;
    // No scheduled window in this test: only the gate asks for backups.
    harness.api.update(&at, |o| {
        o["spec"]["backup"]["beforeRollout"] = json!(true);
        o["status"]["backups"] = json!({ "lastWindow": "2027-01-15T07:30:00Z" });
    });
    harness.sync();
    harness.reconcile_times(&at, 3).await;
    assert_eq!(template_revision(&harness).as_deref(), Some("1"));
    assert!(
        backup_jobs(&harness).is_empty(),
        "the first revision has no data to protect"
    );
    harness.deployment_ready(NS, "mindmitra", 1);
    for store in ["mindmitra-postgres", "mindmitra-redis"] {
        harness.api.set_status(
            &path("statefulsets", NS, store),
            json!({ "replicas": 1, "readyReplicas": 1 }),
        );
    }
    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.sync();
    harness.reconcile(&at).await;

    harness.api.update(&at, |o| {
        o["spec"]["image"] = json!("ghcr.io/mindmitra/support-bot:1.1.0");
        o["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    harness.reconcile(&at).await;
    let jobs = backup_jobs(&harness);
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0]["metadata"]["labels"]["chatbot.dev/backup-reason"],
        "pre-rollout"
    );
    assert_eq!(jobs[0]["metadata"]["labels"]["chatbot.dev/revision"], "2");
    harness.reconcile(&at).await;
    assert_eq!(
        template_revision(&harness).as_deref(),
        Some("1"),
        "revision 1 keeps serving"
    );
    let (_, reason, message) = harness.condition(&at, "Progressing");
    assert_eq!(reason, "BackingUp", "{message}");

    let first = jobs[0]["metadata"]["name"].as_str().unwrap().to_string();
    job_ended(
        &mut harness,
        &first,
        "Failed",
        json!({ "kind": "backup", "outcome": "Failed", "message": "S3 upload: AccessDenied" }),
    );
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let (degraded, reason, message) = harness.condition(&at, "Degraded");
    assert_eq!(
        (degraded.as_str(), reason.as_str()),
        ("True", "PreRolloutBackupFailed")
    );
    assert!(message.contains("S3 upload: AccessDenied"), "{message}");
    assert_eq!(template_revision(&harness).as_deref(), Some("1"));
    assert_eq!(candidate_revision(&harness), None);
    assert_eq!(backup_jobs(&harness).len(), 1, "not retried at once");

    // The bucket policy is fixed; after the pause the backup runs again.
    harness.now = time("2027-01-15T08:15:00Z");
    harness.reconcile(&at).await;
    let retry = backup_jobs(&harness)
        .into_iter()
        .map(|j| j["metadata"]["name"].as_str().unwrap().to_string())
        .find(|n| *n != first)
        .expect("a second attempt");
    job_ended(
        &mut harness,
        &retry,
        "Complete",
        json!({ "kind": "backup", "outcome": "Succeeded", "bytes": 1024 }),
    );
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    // MindMitra rolls out blue-green: revision 2 now starts beside 1.
    let (_, reason, message) = harness.condition(&at, "Progressing");
    assert_eq!(reason, "BlueGreenInProgress", "{message}");
    assert_eq!(
        candidate_revision(&harness).as_deref(),
        Some("2"),
        "revision 2 rolls out"
    );
    let status = harness.api.get(&at).unwrap()["status"].clone();
    let revision_2 = revision_record(&status, 2);
    let id = retry.trim_start_matches("mindmitra-backup-");
    assert_eq!(revision_2["preRolloutSnapshot"], id);
    let (degraded, _, _) = harness.condition(&at, "Degraded");
    assert_eq!(degraded, "False");
}

#[tokio::test]
async fn a_good_backup_is_restore_tested_by_a_verify_job_that_never_sees_the_database() {
    let (mut harness, at) = with_backups().await;
    harness.api.update(&at, |o| {
        o["spec"]["backup"]["verify"] = json!(true);
    });
    harness.sync();
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let dump = backup_jobs(&harness)[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let id = dump.trim_start_matches("mindmitra-backup-").to_string();
    job_ended(
        &mut harness,
        &dump,
        "Complete",
        json!({ "kind": "backup", "outcome": "Succeeded", "bytes": 4096 }),
    );
    harness.reconcile(&at).await;
    let verify_path = path("jobs", NS, &format!("mindmitra-verify-{id}"));
    let verify = harness
        .api
        .get(&verify_path)
        .expect("a verify Job for the new backup");
    let container = &verify["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["args"][0], "verify");
    assert!(
        container["args"]
            .to_string()
            .contains(&format!("\"--id\",\"{id}\""))
    );
    let env = container["env"].to_string();
    assert!(
        !env.contains("DIRECT_DATABASE_URL") && !env.contains("mindmitra-db"),
        "{env}"
    );
    let (healthy, reason, message) = harness.condition(&at, "BackupHealthy");
    assert_eq!(
        healthy,
        "True",
        "{reason} {message} {:#}",
        backups_status(&harness, &at)
    );

    job_ended(
        &mut harness,
        &format!("mindmitra-verify-{id}"),
        "Failed",
        json!({ "kind": "verify", "outcome": "Failed",
                "message": "the restored database does not match backup: table public.leads: 0 rows, the manifest says 90000" }),
    );
    harness.reconcile(&at).await;
    let last = &backups_status(&harness, &at)["last"];
    assert_eq!(last["phase"], "Succeeded", "the dump itself stands");
    assert_eq!(last["verified"], false);
    let (healthy, reason, message) = harness.condition(&at, "BackupHealthy");
    assert_eq!(
        (healthy.as_str(), reason.as_str()),
        ("False", "VerificationFailed"),
        "{message}"
    );
    assert!(message.contains("0 rows"), "{message}");
    assert!(
        harness
            .events()
            .iter()
            .any(|(reason, _)| reason == "BackupVerificationFailed")
    );
    harness.reconcile(&at).await;
    assert_eq!(
        backup_jobs(&harness).len(),
        1,
        "the backup Job only; verified once"
    );
}

/// MindMitra on RDS with no dump destination (the native snapshot is the
/// backup before each rollout), changed by `edit`, talking to moto through
/// a proxy, revision 1 running and revision 2 pushed.
pub(crate) async fn rds_without_dumps(
    edit: impl FnOnce(&mut chatbot_operator::api::ChatbotDeployment),
) -> (Harness, AwsProxy, String) {
    use chatbot_operator::api::Strategy;
    let mut harness = Harness::new();
    let proxy = AwsProxy::start(harness.moto.url()).await;
    harness.context.aws = Some(clients_for(&proxy.url()));
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let mut cbd = common::sample_without_gates("mindmitra");
    let backup = cbd.spec.backup.as_mut().unwrap();
    backup.before_rollout = Some(true);
    backup.destination = None;
    backup.verify = Some(false);
    cbd.spec.rollout.as_mut().unwrap().strategy = Some(Strategy::Rolling);
    edit(&mut cbd);
    let at = harness.create(&cbd);
    harness.provision_stores(&at).await;
    harness.reconcile(&at).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&at).await;
    assert_eq!(template_revision(&harness).as_deref(), Some("1"));
    assert!(
        harness.moto.manual_snapshots().await.is_empty(),
        "none for the first revision"
    );
    harness.api.update(&at, |o| {
        o["spec"]["image"] = json!("ghcr.io/mindmitra/support-bot:1.1.0");
        o["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    (harness, proxy, at)
}

#[tokio::test]
async fn a_managed_database_gets_one_rds_snapshot_before_a_rollout_despite_a_lost_answer() {
    let (mut harness, proxy, at) = rds_without_dumps(|_| {}).await;
    // RDS makes the snapshot, but its answer is lost: the retried call
    // finds it made (DBSnapshotAlreadyExists) and takes it for the same one.
    proxy.inject("CreateDBSnapshot", Fault::LoseResponse, 1);
    proxy.take_actions();
    harness.reconcile(&at).await;
    assert_eq!(
        template_revision(&harness).as_deref(),
        Some("1"),
        "revision 1 keeps serving"
    );
    let snapshot = "chatbot-mindmitra-mindmitra-pre-r2";
    assert_eq!(
        harness.moto.manual_snapshots().await,
        [snapshot],
        "one snapshot"
    );
    // A restarted operator looks the snapshot up; it never makes another.
    let first = harness;
    let mut harness = first.restarted();
    proxy.take_actions();
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let actions = proxy.take_actions();
    assert!(
        !actions.iter().any(|a| a == "CreateDBSnapshot"),
        "{actions:?}"
    );
    // The first harness's emulator is the one both operators talk to.
    assert_eq!(first.moto.manual_snapshots().await, [snapshot]);
    assert_eq!(
        template_revision(&harness).as_deref(),
        Some("2"),
        "revision 2 rolls out"
    );
    let status = harness.api.get(&at).unwrap()["status"].clone();
    let revision_2 = revision_record(&status, 2);
    assert_eq!(revision_2["preRolloutDbSnapshot"], snapshot);
    let record = status["backups"]["recent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == snapshot)
        .unwrap()
        .clone();
    assert_eq!(record["method"], "rds-snapshot");
    assert_eq!(record["phase"], "Succeeded");
    assert!(
        harness
            .events()
            .iter()
            .any(|(reason, message)| reason == "BackupSucceeded" && message.contains(snapshot))
    );
}

#[tokio::test]
async fn a_volume_destination_gets_its_claim_once_owned_by_nothing() {
    let (mut harness, at) = with_backups().await;
    harness.api.update(&at, |o| {
        o["spec"]["backup"]["destination"] =
            json!({ "pvc": { "claimName": "mindmitra-backups", "sizeGiB": 40 } });
    });
    harness.sync();
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let claim_path = format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/mindmitra-backups");
    let claim = harness.api.get(&claim_path).expect("the claim is made");
    assert!(
        claim["metadata"]["ownerReferences"].is_null(),
        "backups outlive the resource: {claim}"
    );
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "40Gi");
    let jobs = backup_jobs(&harness);
    assert_eq!(jobs.len(), 1);
    let volumes = &jobs[0]["spec"]["template"]["spec"]["volumes"];
    assert!(
        volumes
            .to_string()
            .contains("\"claimName\":\"mindmitra-backups\""),
        "{volumes}"
    );

    // The next day's backup finds the claim: one look, no second create.
    let name = jobs[0]["metadata"]["name"].as_str().unwrap().to_string();
    let id = jobs[0]["metadata"]["labels"]["chatbot.dev/backup-id"]
        .as_str()
        .unwrap()
        .to_string();
    job_ended(
        &mut harness,
        &name,
        "Complete",
        json!({ "kind": "backup", "id": id, "outcome": "Succeeded", "bytes": 4096 }),
    );
    harness.reconcile(&at).await;
    harness.now = time("2027-01-16T08:00:00Z");
    harness.take_requests();
    harness.reconcile(&at).await;
    assert_eq!(backup_jobs(&harness).len(), 2, "the next window's Job");
    let claims: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|r| r.contains("persistentvolumeclaims"))
        .collect();
    assert_eq!(claims.len(), 1, "{claims:?}");
    assert!(claims[0].starts_with("GET"), "{claims:?}");
}

#[tokio::test]
async fn a_failed_rds_snapshot_holds_the_rollout_and_is_tried_again_under_a_new_name() {
    let (mut harness, proxy, at) = rds_without_dumps(|_| {}).await;
    // RDS reports the snapshot failed.
    proxy.inject(
        "CreateDBSnapshot",
        Fault::Rewrite {
            from: "<Status>available</Status>".into(),
            to: "<Status>failed</Status>".into(),
        },
        1,
    );
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let first = "chatbot-mindmitra-mindmitra-pre-r2";
    assert_eq!(
        harness.condition(&at, "Degraded").1,
        "PreRolloutBackupFailed"
    );
    assert_eq!(template_revision(&harness).as_deref(), Some("1"), "held");
    proxy.take_actions();
    harness.now = time("2027-01-15T08:05:00Z");
    harness.reconcile(&at).await;
    assert!(
        !proxy.take_actions().iter().any(|a| a == "CreateDBSnapshot"),
        "not during the pause"
    );

    // After the pause, a second snapshot under a name of its own.
    harness.now = time("2027-01-15T08:11:00Z");
    harness.reconcile(&at).await;
    harness.reconcile(&at).await;
    let second = format!("{first}-2");
    let mut made = harness.moto.manual_snapshots().await;
    made.sort();
    assert_eq!(made, [first.to_string(), second.clone()]);
    assert_eq!(template_revision(&harness).as_deref(), Some("2"));
    let status = harness.api.get(&at).unwrap()["status"].clone();
    assert_eq!(
        revision_record(&status, 2)["preRolloutDbSnapshot"],
        second.as_str()
    );
}
