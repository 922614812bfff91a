//! The ChatbotAction controller against the in-memory API server: each
//! action is judged once, its status says what happened, and an Event
//! lands on the deployment it names.

mod common;

use std::sync::Arc;

use chatbot_operator::{
    api::{ActionKind, ChatbotAction, ChatbotActionSpec},
    reconcile::{
        SyncGate,
        action::{self, ActionContext},
    },
};
use common::harness::{Harness, path};
use kube::runtime::events::Reporter;

fn rollback(deployment: &str) -> ChatbotAction {
    let mut action = ChatbotAction::new(
        "rollback-1",
        ChatbotActionSpec {
            deployment: deployment.into(),
            action: ActionKind::Rollback,
            reason: "p95 doubled after 1.1.0".into(),
            ..Default::default()
        },
    );
    action.metadata.namespace = Some("mindmitra".into());
    action
}

fn context(harness: &Harness, synced: SyncGate) -> Arc<ActionContext> {
    Arc::new(ActionContext {
        client: harness.context.client.clone(),
        metrics: harness.metrics.clone(),
        reporter: Reporter {
            controller: "chatbot-operator".into(),
            instance: Some("test".into()),
        },
        chatbots: harness.stores.chatbots.clone(),
        synced,
    })
}

fn action_at(harness: &Harness, action_path: &str) -> Arc<ChatbotAction> {
    Arc::new(serde_json::from_value(harness.api.get(action_path).unwrap()).unwrap())
}

/// One reconcile of the action, with the caches filled.
async fn run(harness: &Harness, action_path: &str) {
    let synced = SyncGate::default();
    synced.open();
    action::reconcile(action_at(harness, action_path), context(harness, synced))
        .await
        .expect("action reconcile");
}

#[tokio::test]
async fn an_action_is_recorded_once_with_an_event_on_its_deployment() {
    let mut harness = Harness::new();
    harness.create(&common::sample_without_migrations("mindmitra"));
    let action_path = path("chatbotactions", "mindmitra", "rollback-1");
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
    assert_eq!(stored["status"]["phase"], "Unsupported");
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
        action_at(&harness, &action_path),
        context(&harness, synced.clone()),
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
