//! The ChatbotAction controller against the in-memory API server: each
//! action is judged once, its status says what happened, and an Event
//! lands on the deployment it names.

mod common;

use std::sync::Arc;

use chatbot_operator::{
    api::{ActionKind, ChatbotAction, ChatbotActionSpec},
    reconcile::action::{self, ActionContext},
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

async fn run(harness: &Harness, action_path: &str) {
    let context = Arc::new(ActionContext {
        client: harness.context.client.clone(),
        metrics: harness.metrics.clone(),
        reporter: Reporter {
            controller: "chatbot-operator".into(),
            instance: Some("test".into()),
        },
        chatbots: harness.stores.chatbots.clone(),
    });
    let object: ChatbotAction =
        serde_json::from_value(harness.api.get(action_path).unwrap()).unwrap();
    action::reconcile(Arc::new(object), context)
        .await
        .expect("action reconcile");
}

#[tokio::test]
async fn an_action_is_recorded_once_with_an_event_on_its_deployment() {
    let mut harness = Harness::new();
    harness.create(&common::sample_deployment("mindmitra"));
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
