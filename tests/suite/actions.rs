//! The ChatbotAction controller against the in-memory API server: each
//! action is judged once, its status says what happened, and an Event
//! lands on the deployment it names.

use crate::common;

use chatbot_operator::{
    api::{ActionKind, ChatbotAction, ChatbotActionSpec},
    reconcile::{SyncGate, action},
};
use common::{
    harness::{Harness, path},
    revisions::{set_image, template_of, two_revisions},
};
use serde_json::json;

fn rollback(deployment: &str) -> ChatbotAction {
    action_of(ActionKind::Rollback, deployment)
}

fn action_of(kind: ActionKind, deployment: &str) -> ChatbotAction {
    let mut action = ChatbotAction::new(
        "rollback-1",
        ChatbotActionSpec {
            deployment: deployment.into(),
            action: kind,
            reason: "p95 doubled after 1.1.0".into(),
            ..Default::default()
        },
    );
    action.metadata.namespace = Some("mindmitra".into());
    action
}

/// One reconcile of the action, with the caches filled.
async fn run(harness: &Harness, action_path: &str) {
    harness.run_action(action_path).await;
}

#[tokio::test]
async fn an_action_is_recorded_once_with_an_event_on_its_deployment() {
    let mut harness = Harness::new();
    harness.create(&common::sample_without_gates("mindmitra"));
    let action_path = path("chatbotactions", "mindmitra", "rollback-1");
    // Never reconciled: no revision to roll back to, it ends at once.
    harness.api.insert(
        &action_path,
        serde_json::to_value(rollback("mindmitra")).unwrap(),
    );

    run(&harness, &action_path).await;
    let lines: Vec<String> = harness.api.requests().iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            format!("PATCH {action_path}/status"),
            "POST /apis/events.k8s.io/v1/namespaces/mindmitra/events".to_string(),
        ]
    );
    let stored = harness.api.get(&action_path).unwrap();
    assert_eq!(stored["status"]["phase"], "Failed");
    assert_eq!(
        stored["status"]["message"],
        "ChatbotDeployment mindmitra has no revision yet, nothing to roll back"
    );
    assert!(stored["status"]["finishedAt"].is_string());
    let event = harness.api.requests()[1].body.clone().unwrap();
    assert_eq!(event["regarding"]["kind"], "ChatbotDeployment");
    assert_eq!(event["related"]["kind"], "ChatbotAction");

    // Judged once: a second look writes nothing.
    harness.api.clear_requests();
    run(&harness, &action_path).await;
    assert!(harness.api.requests().is_empty());
}

#[tokio::test]
async fn an_action_for_a_deployment_that_does_not_exist_fails_with_its_name() {
    let harness = Harness::new();
    let action_path = path("chatbotactions", "mindmitra", "rollback-1");
    harness.api.insert(
        &action_path,
        serde_json::to_value(rollback("mindmitr")).unwrap(),
    );
    run(&harness, &action_path).await;
    let stored = harness.api.get(&action_path).unwrap();
    assert_eq!(stored["status"]["phase"], "Failed");
    assert_eq!(
        stored["status"]["message"],
        "ChatbotDeployment mindmitr not found in namespace mindmitra"
    );
}

#[tokio::test]
async fn an_action_is_not_judged_before_the_caches_are_filled() {
    // On a cold cache every deployment looks absent: judging then would
    // fail a valid action for good.
    let harness = Harness::new();
    let action_path = path("chatbotactions", "mindmitra", "rollback-1");
    harness.api.insert(
        &action_path,
        serde_json::to_value(rollback("mindmitra")).unwrap(),
    );
    let synced = SyncGate::default();
    let pending = tokio::spawn(action::reconcile(
        harness.action(&action_path),
        harness.action_context(synced.clone()),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert!(!pending.is_finished(), "waits for the caches");
    assert!(
        harness.api.requests().is_empty(),
        "nothing written meanwhile"
    );

    // The operator stops before the caches fill: the wait ends, nothing is judged.
    synced.close();
    pending.await.unwrap().expect("no error");
    assert!(harness.api.requests().is_empty());
    assert!(harness.api.get(&action_path).unwrap()["status"].is_null());
}

const NS: &str = "mindmitra";

/// A Rollback of MindMitra, stored; its path.
fn rollback_requested(harness: &Harness) -> String {
    let action_path = path("chatbotactions", NS, "rollback-1");
    harness.api.insert(
        &action_path,
        serde_json::to_value(rollback("mindmitra")).unwrap(),
    );
    action_path
}

/// The requests that wrote since the last look.
fn writes(harness: &mut Harness) -> Vec<String> {
    harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.starts_with("GET"))
        .collect()
}

/// A Rollback of MindMitra carried out from a clean request log: its path
/// and the action as stored, which must have succeeded.
async fn rolled_back(harness: &mut Harness) -> (String, serde_json::Value) {
    let action_path = rollback_requested(harness);
    harness.take_requests();
    run(harness, &action_path).await;
    let action = harness.api.get(&action_path).unwrap();
    assert_eq!(action["status"]["phase"], "Succeeded", "{action:#}");
    (action_path, action)
}

#[tokio::test]
async fn a_rollback_restores_the_previous_revision_and_holds_it_until_the_spec_changes() {
    let (mut harness, at) = two_revisions().await;
    let (action_path, action) = rolled_back(&mut harness).await;
    assert_eq!(
        action["status"]["message"],
        "rolled back to revision 1 (the spec's revision 2 is held back until the spec changes): p95 doubled after 1.1.0"
    );
    assert_eq!(
        template_of(&harness),
        (
            "ghcr.io/mindmitra/support-bot:1.0.0".to_string(),
            "1".to_string()
        ),
        "the pods run revision 1's template again"
    );
    let deployment = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    assert!(
        deployment["spec"]["template"]["metadata"]["labels"]["pod-template-hash"].is_null(),
        "the ReplicaSet's own label is not copied"
    );
    let cbd = harness.api.get(&at).unwrap();
    assert_eq!(
        cbd["spec"]["image"], "ghcr.io/mindmitra/support-bot:1.1.0",
        "the spec is GitOps'"
    );
    assert_eq!(cbd["status"]["rollback"]["revision"], 1);
    assert_eq!(cbd["status"]["rollback"]["insteadOf"], 2);
    let writes = writes(&mut harness);
    assert_eq!(
        writes,
        [
            format!("PATCH {at}/status"),
            "PATCH /apis/apps/v1/namespaces/mindmitra/deployments/mindmitra".to_string(),
            format!("PATCH {action_path}/status"),
            "POST /apis/events.k8s.io/v1/namespaces/mindmitra/events".to_string(),
        ],
        "hold, restore, record, tell"
    );

    // The reconciler leaves the pods at revision 1, and keeps doing so
    // while a GitOps tool re-applies the same spec.
    harness.sync();
    harness.deployment_ready(NS, "mindmitra", 1);
    for _ in 0..3 {
        harness.api.update(&at, |cbd| {
            cbd["metadata"]["annotations"]["argocd.argoproj.io/sync"] = json!("again")
        });
        harness.sync();
        harness.reconcile(&at).await;
    }
    let writes: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| l.contains("/deployments/"))
        .collect();
    assert!(
        writes.is_empty(),
        "the Deployment is not touched: {writes:?}"
    );
    assert_eq!(template_of(&harness).1, "1");
    let status = harness.chatbot(&at).status.unwrap();
    assert_eq!(status.current_revision, Some(1));
    assert_eq!(status.stable_revision, Some(1));
    assert_eq!(status.revisions[1].outcome.as_deref(), Some("RolledBack"));
    assert!(status.rollback.is_some());
    let ready = harness.condition(&at, "Ready");
    assert_eq!(ready.0, "True", "{ready:?}");

    // A new spec ends the hold: it rolls out as revision 3.
    set_image(&mut harness, &at, "ghcr.io/mindmitra/support-bot:1.2.0");
    harness.reconcile(&at).await;
    assert_eq!(
        template_of(&harness),
        (
            "ghcr.io/mindmitra/support-bot:1.2.0".to_string(),
            "3".to_string()
        )
    );
    let status = harness.chatbot(&at).status.unwrap();
    assert!(status.rollback.is_none(), "{:?}", status.rollback);
    assert_eq!(status.current_revision, Some(3));
}

/// MindMitra's app ConfigMap data as stored.
fn app_config(harness: &Harness) -> serde_json::Value {
    harness
        .api
        .get(&path("configmaps", NS, "mindmitra-env"))
        .unwrap()["data"]
        .clone()
}

/// Sets MindMitra's system prompt in its spec, a new generation.
fn set_prompt(harness: &mut Harness, at: &str, prompt: &str) {
    harness.api.update(at, |cbd| {
        cbd["spec"]["config"]["SYSTEM_PROMPT"] = json!(prompt);
        let generation = cbd["metadata"]["generation"].as_i64().unwrap();
        cbd["metadata"]["generation"] = json!(generation + 1);
    });
    harness.sync();
}

#[tokio::test]
async fn a_rollback_of_a_config_change_puts_the_revision_s_config_back_with_its_pods() {
    // Revision 1 runs the kind prompt; revision 2 is the same image with
    // a prompt that went wrong.
    let (mut harness, at) = common::revisions::dev_with_stores_up_as(|cbd| {
        cbd.spec
            .config
            .get_or_insert_with(Default::default)
            .insert("SYSTEM_PROMPT".into(), "You are a kind listener.".into());
    })
    .await;
    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.deployment_ready(NS, "mindmitra", 1);
    harness.reconcile(&at).await;
    common::revisions::keep_replica_set(&harness, 1);
    set_prompt(&mut harness, &at, "Answer in one word.");
    harness.reconcile(&at).await;
    harness.deployment_ready(NS, "mindmitra", 1);
    harness.reconcile(&at).await;
    common::revisions::keep_replica_set(&harness, 2);
    harness.sync();
    assert_eq!(app_config(&harness)["SYSTEM_PROMPT"], "Answer in one word.");
    let history = harness
        .api
        .get(&path("configmaps", NS, "mindmitra-config-history"))
        .expect("each revision's config is kept");
    let data = serde_json::from_value(history["data"].clone()).unwrap();
    let kept = chatbot_operator::render::config_history::parse(&data);
    assert_eq!(kept.keys().collect::<Vec<_>>(), [&1, &2]);
    assert_eq!(kept[&1]["SYSTEM_PROMPT"], "You are a kind listener.");

    rolled_back(&mut harness).await;
    assert_eq!(
        app_config(&harness)["SYSTEM_PROMPT"],
        "You are a kind listener.",
        "revision 1's config is back"
    );
    assert_eq!(template_of(&harness).1, "1");
    let writes = writes(&mut harness);
    assert_eq!(
        writes[..3],
        [
            format!("PATCH {at}/status"),
            format!("PATCH /api/v1/namespaces/{NS}/configmaps/mindmitra-env"),
            "PATCH /apis/apps/v1/namespaces/mindmitra/deployments/mindmitra".to_string(),
        ],
        "hold, config, then the pods that read it"
    );

    // The reconciler keeps revision 1's config while the hold lasts,
    // however often GitOps re-applies the spec.
    harness.sync();
    for _ in 0..2 {
        harness.api.update(&at, |cbd| {
            cbd["metadata"]["annotations"]["argocd.argoproj.io/sync"] = json!("again")
        });
        harness.sync();
        harness.reconcile(&at).await;
    }
    assert_eq!(
        app_config(&harness)["SYSTEM_PROMPT"],
        "You are a kind listener."
    );
    assert_eq!(template_of(&harness).1, "1");
    // Deleted meanwhile, it comes back with the held revision's config.
    harness
        .api
        .remove(&path("configmaps", NS, "mindmitra-env"))
        .expect("there");
    harness.sync();
    harness.reconcile(&at).await;
    assert_eq!(
        app_config(&harness)["SYSTEM_PROMPT"],
        "You are a kind listener."
    );

    // A new spec ends the hold: its config rolls out with revision 3.
    set_prompt(&mut harness, &at, "Listen first, then answer.");
    harness.reconcile(&at).await;
    assert_eq!(
        app_config(&harness)["SYSTEM_PROMPT"],
        "Listen first, then answer."
    );
    assert_eq!(template_of(&harness).1, "3");
}

#[tokio::test]
async fn a_rollback_to_a_revision_kubernetes_no_longer_keeps_fails_and_changes_nothing() {
    let (harness, _) = two_revisions().await;
    harness
        .api
        .remove(&path("replicasets", NS, "mindmitra-hash1"))
        .expect("kept");
    let action_path = rollback_requested(&harness);
    harness.take_requests();
    run(&harness, &action_path).await;
    let action = harness.api.get(&action_path).unwrap();
    assert_eq!(action["status"]["phase"], "Failed");
    assert!(
        action["status"]["message"]
            .as_str()
            .unwrap()
            .contains("no longer kept"),
        "{action:#}"
    );
    assert_eq!(template_of(&harness).1, "2");
    let writes: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.contains("/events"))
        .collect();
    assert_eq!(writes, [format!("PATCH {action_path}/status")]);
}

/// The on-call command as a user runs it: `rollback` creates the action,
/// the operator carries it out, the command prints the outcome; without an
/// operator it gives up after `--timeout` and says so.
#[tokio::test(flavor = "multi_thread")]
async fn the_rollback_command_creates_an_action_and_reports_its_outcome() {
    let (harness, _) = two_revisions().await;
    harness.api.grant_oncall("mindmitra");
    let server = common::fake_server::FakeServer::start(harness.api.clone()).await;
    let command = |args: &'static [&'static str]| server.cli(args);
    let cli = command(&[
        "rollback",
        "mindmitra",
        "-n",
        NS,
        "--reason",
        "p95 doubled",
        "--timeout",
        "30",
    ]);
    // The action controller, as the operator runs it, once the action exists.
    let operator = async {
        for _ in 0..400 {
            let created = harness
                .api
                .list("/apis/chatbot.dev/v1alpha1/namespaces/")
                .into_iter()
                .find(|o| o["kind"] == "ChatbotAction");
            if let Some(action) = created {
                let name = action["metadata"]["name"].as_str().unwrap().to_string();
                assert!(name.starts_with("mindmitra-rollback-"), "{name}");
                assert_eq!(action["spec"]["reason"], "p95 doubled");
                run(&harness, &path("chatbotactions", NS, &name)).await;
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the command created no ChatbotAction");
    };
    let (output, ()) = tokio::join!(cli, operator);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        String::from_utf8_lossy(&output.stdout).starts_with("rolled back to revision 1 "),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    // Nobody carries the next one out.
    let output = command(&[
        "rollback",
        "mindmitra",
        "-n",
        NS,
        "--to",
        "2",
        "--reason",
        "x",
        "--timeout",
        "1",
    ])
    .await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is still Pending after 1s: is the operator running?"),
        "{stderr}"
    );

    let output = command(&["rollback", "nope", "-n", NS, "--reason", "x"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("chatbotdeployment nope not found in namespace mindmitra")
    );
}
