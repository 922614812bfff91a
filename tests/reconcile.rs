//! Request verification without a cluster: the reconciler with the real
//! kube client against an in-memory API server. Each test states the exact
//! requests a reconcile makes, and what the resource's status and Events
//! say afterwards.

mod common;

use chatbot_operator::api::{ChatbotDeployment, ChatbotDeploymentStatus};
use common::harness::{Harness, path};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::{Value, json};

const NS: &str = "mindmitra";

fn mindmitra() -> ChatbotDeployment {
    common::sample_deployment("mindmitra")
}

/// The mindmitra sample with the Secrets it refers to.
fn ready_to_create() -> (Harness, String) {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let path = harness.create(&mindmitra());
    (harness, path)
}

fn status(harness: &Harness, path: &str) -> ChatbotDeploymentStatus {
    harness.chatbot(path).status.unwrap_or_default()
}

fn condition<'a>(status: &'a ChatbotDeploymentStatus, type_: &str) -> &'a Condition {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("condition {type_} in {:#?}", status.conditions))
}

fn events(harness: &Harness) -> Vec<Value> {
    harness
        .api
        .requests()
        .into_iter()
        .filter(|r| r.uri.contains("/events"))
        .filter_map(|r| r.body)
        .collect()
}

fn event_reasons(harness: &Harness) -> Vec<String> {
    events(harness)
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn children_of(namespace: &str) -> Vec<String> {
    [
        "GET /api/v1/namespaces/{ns}/serviceaccounts/mindmitra",
        "PATCH /api/v1/namespaces/{ns}/serviceaccounts/mindmitra",
        "GET /api/v1/namespaces/{ns}/configmaps/mindmitra-env",
        "PATCH /api/v1/namespaces/{ns}/configmaps/mindmitra-env",
        "GET /api/v1/namespaces/{ns}/services/mindmitra",
        "PATCH /api/v1/namespaces/{ns}/services/mindmitra",
        "GET /apis/apps/v1/namespaces/{ns}/deployments/mindmitra",
        "PATCH /apis/apps/v1/namespaces/{ns}/deployments/mindmitra",
        "GET /apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/mindmitra",
        "PATCH /apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/mindmitra",
        "GET /apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/mindmitra",
        "PATCH /apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/mindmitra",
        "GET /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/mindmitra",
        "PATCH /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/mindmitra",
    ]
    .iter()
    .map(|line| line.replace("{ns}", namespace))
    .collect()
}

#[tokio::test]
async fn the_first_reconcile_generates_secrets_applies_every_child_and_writes_status() {
    let (mut harness, path) = ready_to_create();
    harness.reconcile(&path).await;

    let mut expected = vec![format!("POST /api/v1/namespaces/{NS}/secrets")];
    expected.extend(children_of(NS));
    expected.push(format!(
        "PATCH /apis/chatbot.dev/v1alpha1/namespaces/{NS}/chatbotdeployments/mindmitra/status"
    ));
    expected.push(format!(
        "POST /apis/events.k8s.io/v1/namespaces/{NS}/events"
    ));
    expected.push(format!(
        "POST /apis/events.k8s.io/v1/namespaces/{NS}/events"
    ));
    assert_eq!(
        harness
            .api
            .requests()
            .iter()
            .map(|r| r.line())
            .collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        event_reasons(&harness),
        ["RevisionCreated", "SecretsGenerated"]
    );

    // Every apply is server-side apply under one field manager, forced,
    // and every child is owned by the resource.
    let uid = harness.chatbot(&path).metadata.uid.unwrap();
    for request in harness
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && !r.uri.contains("/status"))
    {
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/apply-patch+yaml")
        );
        assert!(
            request.uri.contains("fieldManager=chatbot-operator"),
            "{}",
            request.uri
        );
        assert!(request.uri.contains("force=true"), "{}", request.uri);
        let owners = &request.body.as_ref().unwrap()["metadata"]["ownerReferences"];
        assert_eq!(owners[0]["uid"], uid, "{}", request.uri);
        assert_eq!(owners[0]["controller"], true);
        assert_eq!(owners[0]["kind"], "ChatbotDeployment");
    }

    let status = status(&harness, &path);
    assert_eq!(status.observed_generation, Some(1));
    // The status describes what this reconcile observed: nothing yet.
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert_eq!(status.current_revision, Some(1));
    assert_eq!(status.revisions.len(), 1);
    assert_eq!(
        status.revisions[0].image,
        "ghcr.io/mindmitra/support-bot:1.0.0"
    );
    assert_eq!(condition(&status, "Ready").status, "False");
    assert_eq!(condition(&status, "Ready").reason, "Creating");
    assert_eq!(condition(&status, "Progressing").status, "True");
    assert_eq!(condition(&status, "Reconciling").status, "True");
    assert_eq!(condition(&status, "SecretsReady").status, "True");
    assert_eq!(condition(&status, "CapacityOK").reason, "WithinCapacity");
    assert_eq!(condition(&status, "WithinBudget").status, "True");
    assert_eq!(harness.metrics.total_writes(), 11);
}

#[tokio::test]
async fn an_unchanged_resource_sends_no_request_at_all() {
    let (mut harness, path) = ready_to_create();
    harness.reconcile(&path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&path).await;
    let status = status(&harness, &path);
    assert_eq!(
        condition(&status, "Ready").status,
        "True",
        "{:#?}",
        status.conditions
    );
    assert_eq!(status.phase.as_deref(), Some("Ready"));
    assert_eq!(status.stable_revision, Some(1));
    assert_eq!(status.ready_replicas, Some(2));

    harness.api.clear_requests();
    let writes = harness.metrics.total_writes();
    for _ in 0..3 {
        harness.reconcile(&path).await;
    }
    assert!(
        harness.api.requests().is_empty(),
        "{:#?}",
        harness.api.requests()
    );
    assert_eq!(harness.metrics.total_writes(), writes);
}

#[tokio::test]
async fn becoming_ready_writes_status_once_and_announces_it() {
    let (mut harness, path) = ready_to_create();
    harness.reconcile(&path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.api.clear_requests();
    harness.reconcile(&path).await;
    assert_eq!(
        harness.take_requests(),
        [
            format!(
                "PATCH /apis/chatbot.dev/v1alpha1/namespaces/{NS}/chatbotdeployments/mindmitra/status"
            ),
            format!("POST /apis/events.k8s.io/v1/namespaces/{NS}/events"),
            format!("POST /apis/events.k8s.io/v1/namespaces/{NS}/events"),
        ]
    );
    let status = status(&harness, &path);
    let ready = condition(&status, "Ready");
    assert_eq!(ready.last_transition_time, harness.now);
    assert_eq!(status.revisions[0].outcome.as_deref(), Some("Promoted"));
}

#[tokio::test]
async fn a_missing_secret_holds_new_pods_and_names_the_secret_and_key() {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["wrong-key"]);
    let cbd_path = harness.create(&mindmitra());
    harness.reconcile(&cbd_path).await;

    let lines = harness.take_requests();
    assert!(
        !lines.iter().any(|l| l.contains("/deployments/")),
        "no Deployment while its Secrets are missing: {lines:#?}"
    );
    let status = status(&harness, &cbd_path);
    let secrets = condition(&status, "SecretsReady");
    assert_eq!(secrets.status, "False");
    assert_eq!(secrets.reason, "SecretsMissing");
    assert!(
        secrets
            .message
            .contains("Secret mindmitra-llm has no key api-key (spec.secrets.required[0])"),
        "{}",
        secrets.message
    );
    assert!(
        secrets
            .message
            .contains("Secret mindmitra-sentry not found (spec.observability.sentryDsnSecretRef)"),
        "{}",
        secrets.message
    );
    assert_eq!(condition(&status, "Ready").status, "False");
    assert_eq!(condition(&status, "Degraded").reason, "SecretsMissing");
    assert_eq!(condition(&status, "Stalled").status, "True");
    assert_eq!(status.phase.as_deref(), Some("Degraded"));

    // The Secrets appear: the next reconcile creates the Deployment and
    // clears the condition without anyone editing the resource.
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;
    let lines = harness.take_requests();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("PATCH") && l.ends_with("/deployments/mindmitra")),
        "{lines:#?}"
    );
    let status = status_of(&harness, &cbd_path);
    assert_eq!(condition(&status, "SecretsReady").status, "True");
    assert_eq!(condition(&status, "Degraded").status, "False");
}

#[tokio::test]
async fn the_missing_secret_event_is_a_warning_on_the_resource() {
    let mut harness = Harness::new();
    let cbd_path = harness.create(&mindmitra());
    harness.reconcile(&cbd_path).await;
    let warning = events(&harness)
        .into_iter()
        .find(|e| e["reason"] == "SecretsMissing")
        .expect("a SecretsMissing Event");
    assert_eq!(warning["type"], "Warning");
    assert_eq!(warning["regarding"]["kind"], "ChatbotDeployment");
    assert_eq!(warning["regarding"]["name"], "mindmitra");
    assert!(warning["note"].as_str().unwrap().contains("mindmitra-llm"));
}

fn status_of(harness: &Harness, path: &str) -> ChatbotDeploymentStatus {
    status(harness, path)
}

#[tokio::test]
async fn pods_that_already_run_are_left_alone_while_a_secret_is_missing() {
    let (mut harness, cbd_path) = ready_to_create();
    harness.reconcile(&cbd_path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&cbd_path).await;
    let deployment_path = path("deployments", NS, "mindmitra");
    let before = harness.api.get(&deployment_path).unwrap();

    // A new image while the LLM key's Secret is gone.
    let mut cbd = harness.chatbot(&cbd_path);
    cbd.spec.image = "ghcr.io/mindmitra/support-bot:1.1.0".into();
    update_spec(&mut harness, &cbd_path, &cbd);
    harness.api.remove(&path("secrets", NS, "mindmitra-llm"));
    harness.sync();
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;

    let after = harness.api.get(&deployment_path).unwrap();
    assert_eq!(
        before["spec"], after["spec"],
        "the running Deployment is untouched"
    );
    let status = status(&harness, &cbd_path);
    assert_eq!(
        status.current_revision,
        Some(1),
        "no new revision is started"
    );
    assert_eq!(status.ready_replicas, Some(2));
    assert_eq!(condition(&status, "SecretsReady").status, "False");
}

fn update_spec(harness: &mut Harness, path: &str, cbd: &ChatbotDeployment) {
    let spec = serde_json::to_value(&cbd.spec).unwrap();
    harness.api.update(path, |object| {
        object["spec"] = spec;
        let generation = object["metadata"]["generation"].as_i64().unwrap() + 1;
        object["metadata"]["generation"] = json!(generation);
    });
    harness.sync();
}

#[tokio::test]
async fn a_new_image_is_a_new_revision_that_reaches_the_pods() {
    let (mut harness, cbd_path) = ready_to_create();
    harness.reconcile(&cbd_path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&cbd_path).await;

    let mut cbd = harness.chatbot(&cbd_path);
    cbd.spec.image = "ghcr.io/mindmitra/support-bot:1.1.0".into();
    update_spec(&mut harness, &cbd_path, &cbd);
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;

    let reasons = event_reasons(&harness);
    assert!(
        reasons.contains(&"RevisionCreated".to_string()),
        "{reasons:?}"
    );
    // The image tag is every child's `app.kubernetes.io/version` label, so
    // every child is applied again; no child is read first (all cached).
    let lines: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.contains("/events"))
        .collect();
    let mut expected: Vec<String> = children_of(NS)
        .into_iter()
        .filter(|l| l.starts_with("PATCH"))
        .collect();
    expected.push(format!(
        "PATCH /apis/chatbot.dev/v1alpha1/namespaces/{NS}/chatbotdeployments/mindmitra/status"
    ));
    assert_eq!(lines, expected);
    let deployment = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "ghcr.io/mindmitra/support-bot:1.1.0");
    let revision = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "CHATBOT_REVISION")
        .unwrap();
    assert_eq!(revision["value"], "2");
    let status = status(&harness, &cbd_path);
    assert_eq!(status.current_revision, Some(2));
    assert_eq!(status.stable_revision, Some(1));
    assert_eq!(status.observed_generation, Some(2));
}
