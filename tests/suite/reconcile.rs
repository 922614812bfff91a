//! Request verification without a cluster: the reconciler with the real
//! kube client against an in-memory API server. Each test states the exact
//! requests a reconcile makes, and what the resource's status and Events
//! say afterwards.

use crate::common;

use chatbot_operator::api::{ChatbotDeployment, ChatbotDeploymentStatus, Strategy};
use common::harness::{Harness, path};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::{Value, json};

const NS: &str = "mindmitra";

fn mindmitra() -> ChatbotDeployment {
    common::sample_without_gates("mindmitra")
}

/// The mindmitra sample with the Secrets it refers to.
fn ready_to_create() -> (Harness, String) {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let path = harness.create(&mindmitra());
    (harness, path)
}

/// `ready_to_create` with the managed database and cache available.
async fn stores_ready() -> (Harness, String) {
    let (mut harness, path) = ready_to_create();
    harness.provision_stores(&path).await;
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
        // Revision 1's config, kept for a rollback to put back.
        "GET /api/v1/namespaces/{ns}/configmaps/mindmitra-config-history",
        "PATCH /api/v1/namespaces/{ns}/configmaps/mindmitra-config-history",
        "GET /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/mindmitra-data-operations",
        "PATCH /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/mindmitra-data-operations",
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
        "GET /api/v1/namespaces/{ns}/configmaps/mindmitra-maintenance",
        "PATCH /api/v1/namespaces/{ns}/configmaps/mindmitra-maintenance",
        "GET /api/v1/namespaces/{ns}/services/mindmitra-maintenance",
        "PATCH /api/v1/namespaces/{ns}/services/mindmitra-maintenance",
        "GET /apis/apps/v1/namespaces/{ns}/deployments/mindmitra-maintenance",
        "PATCH /apis/apps/v1/namespaces/{ns}/deployments/mindmitra-maintenance",
        "GET /apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/mindmitra-maintenance",
        "PATCH /apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/mindmitra-maintenance",
        // Production scrapes the app and alerts on its 99.9% objective.
        "GET /apis/monitoring.coreos.com/v1/namespaces/{ns}/podmonitors/mindmitra",
        "PATCH /apis/monitoring.coreos.com/v1/namespaces/{ns}/podmonitors/mindmitra",
        "GET /apis/monitoring.coreos.com/v1/namespaces/{ns}/prometheusrules/mindmitra",
        "PATCH /apis/monitoring.coreos.com/v1/namespaces/{ns}/prometheusrules/mindmitra",
        "GET /api/v1/namespaces/{ns}/configmaps/mindmitra-dashboard",
        "PATCH /api/v1/namespaces/{ns}/configmaps/mindmitra-dashboard",
        "GET /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/mindmitra",
        "PATCH /apis/networking.k8s.io/v1/namespaces/{ns}/ingresses/mindmitra",
    ]
    .iter()
    .map(|line| line.replace("{ns}", namespace))
    .collect()
}

#[tokio::test]
async fn the_first_reconcile_generates_secrets_applies_every_child_and_writes_status() {
    let (mut harness, path) = stores_ready().await;
    let writes_before = harness.metrics.total_writes();
    harness.reconcile(&path).await;

    // The Secrets the spec refers to are read by name, once: the watch
    // carries Secrets' metadata only, and their key names are kept until
    // they change.
    let mut expected = vec![
        format!("GET /api/v1/namespaces/{NS}/secrets/mindmitra-llm"),
        format!("GET /api/v1/namespaces/{NS}/secrets/mindmitra-sentry"),
        format!("POST /api/v1/namespaces/{NS}/secrets"),
    ];
    expected.extend(children_of(NS));
    expected.push(format!(
        "PATCH /apis/chatbot.dev/v1alpha1/namespaces/{NS}/chatbotdeployments/mindmitra/status"
    ));
    for _ in 0..3 {
        expected.push(format!(
            "POST /apis/events.k8s.io/v1/namespaces/{NS}/events"
        ));
    }
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
        // No app pod is ready yet: the helplines page has the route.
        ["RevisionCreated", "MaintenancePageOn", "SecretsGenerated"]
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
    assert_eq!(condition(&status, "Monitored").reason, "Monitored");
    // Every child (the config history among them), the generated
    // Secret, the status.
    assert_eq!(harness.metrics.total_writes() - writes_before, 22);
}

#[tokio::test]
async fn an_unchanged_resource_sends_no_request_at_all() {
    let (mut harness, path) = stores_ready().await;
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
    let (mut harness, path) = stores_ready().await;
    harness.reconcile(&path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.api.clear_requests();
    harness.reconcile(&path).await;
    // The route hands back from the maintenance page to the app.
    assert_eq!(
        harness.take_requests(),
        [
            format!("PATCH /apis/networking.k8s.io/v1/namespaces/{NS}/ingresses/mindmitra"),
            format!(
                "PATCH /apis/chatbot.dev/v1alpha1/namespaces/{NS}/chatbotdeployments/mindmitra/status"
            ),
            format!("POST /apis/events.k8s.io/v1/namespaces/{NS}/events"),
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
    harness.provision_stores(&cbd_path).await;
    harness.reconcile(&cbd_path).await;

    let lines = harness.take_requests();
    assert!(
        !lines.iter().any(|l| l.ends_with("/deployments/mindmitra")),
        "no app Deployment while its Secrets are missing: {lines:#?}"
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

/// Events aside, the reconcile wrote the status of `mindmitra` and nothing
/// else (an operator that has not read a Secret's key names yet reads them
/// by name).
fn assert_only_status_written(lines: Vec<String>) {
    let writes: Vec<&String> = lines
        .iter()
        .filter(|l| !l.contains("/events"))
        .filter(|l| !(l.starts_with("GET ") && l.contains("/secrets/")))
        .collect();
    assert_eq!(
        writes,
        [&format!(
            "PATCH /apis/chatbot.dev/v1alpha1/namespaces/{NS}/chatbotdeployments/mindmitra/status"
        )],
        "only the status is written"
    );
}

fn status_of(harness: &Harness, path: &str) -> ChatbotDeploymentStatus {
    status(harness, path)
}

#[tokio::test]
async fn pods_that_already_run_are_left_alone_while_a_secret_is_missing() {
    let (mut harness, cbd_path) = stores_ready().await;
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
    let (mut harness, cbd_path) = stores_ready().await;
    harness.reconcile(&cbd_path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&cbd_path).await;

    // A plain rolling update (the sample's BlueGreen is covered in
    // tests/progressive.rs).
    let mut cbd = harness.chatbot(&cbd_path);
    cbd.spec.image = "ghcr.io/mindmitra/support-bot:1.1.0".into();
    cbd.spec
        .rollout
        .get_or_insert_with(Default::default)
        .strategy = Some(Strategy::Rolling);
    update_spec(&mut harness, &cbd_path, &cbd);
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;

    let reasons = event_reasons(&harness);
    assert!(
        reasons.contains(&"RevisionCreated".to_string()),
        "{reasons:?}"
    );
    // The image tag is every app child's `app.kubernetes.io/version`
    // label, so each is applied again; no child is read first (all
    // cached). The maintenance page and the data operations' policy run
    // or guard no app code, and the monitor, its rules and the dashboard
    // only watch it: they are left alone.
    let lines: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.contains("/events"))
        .collect();
    let mut expected: Vec<String> = children_of(NS)
        .into_iter()
        .filter(|l| {
            l.starts_with("PATCH")
                && !l.contains("-maintenance")
                && !l.contains("-data-operations")
                && !l.contains("monitoring.coreos.com")
                && !l.contains("-dashboard")
        })
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

fn spec_change(harness: &mut Harness, path: &str, change: impl FnOnce(&mut ChatbotDeployment)) {
    let mut cbd = harness.chatbot(path);
    change(&mut cbd);
    update_spec(harness, path, &cbd);
    harness.api.clear_requests();
}

#[tokio::test]
async fn children_the_spec_no_longer_asks_for_are_pruned() {
    let (mut harness, cbd_path) = stores_ready().await;
    harness.reconcile(&cbd_path).await;
    spec_change(&mut harness, &cbd_path, |cbd| {
        cbd.spec.replicas.as_mut().unwrap().max = Some(2);
    });
    harness.reconcile(&cbd_path).await;
    let lines = harness.take_requests();
    assert!(
        lines.contains(&format!(
            "DELETE /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/mindmitra"
        )),
        "{lines:#?}"
    );
    assert!(
        harness
            .api
            .get(&path("horizontalpodautoscalers", NS, "mindmitra"))
            .is_none()
    );
    let deployment = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    assert_eq!(
        deployment["spec"]["replicas"], 2,
        "a fixed count is sent once no autoscaler owns it"
    );
    let delete = harness
        .api
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE");
    assert!(delete.is_none(), "requests were taken above");
}

#[tokio::test]
async fn the_replica_count_is_handed_to_the_autoscaler_before_the_operator_lets_go() {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let mut fixed = mindmitra();
    fixed.spec.replicas.as_mut().unwrap().max = Some(2);
    let cbd_path = harness.create(&fixed);
    harness.provision_stores(&cbd_path).await;
    harness.reconcile(&cbd_path).await;
    // The API server records that the operator's manager owns spec.replicas.
    let deployment_path = path("deployments", NS, "mindmitra");
    harness.api.update(&deployment_path, |deployment| {
        deployment["metadata"]["managedFields"] = json!([{
            "manager": "chatbot-operator",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}},
        }]);
    });
    harness.sync();

    spec_change(&mut harness, &cbd_path, |cbd| {
        cbd.spec.replicas.as_mut().unwrap().max = Some(6);
    });
    harness.reconcile(&cbd_path).await;
    let requests = harness.api.requests();
    let handover = requests
        .iter()
        .position(|r| r.uri.contains("fieldManager=chatbot-operator-handover"))
        .expect("a handover apply");
    let main_apply = requests
        .iter()
        .position(|r| {
            r.line() == format!("PATCH /apis/apps/v1/namespaces/{NS}/deployments/mindmitra")
                && !r.uri.contains("handover")
        })
        .expect("the Deployment apply");
    assert!(handover < main_apply, "handover first");
    assert_eq!(
        requests[handover].body.as_ref().unwrap()["spec"],
        json!({"replicas": 2})
    );
    assert!(
        requests[main_apply].body.as_ref().unwrap()["spec"]
            .get("replicas")
            .is_none()
    );
}

#[tokio::test]
async fn a_capacity_violation_leaves_every_child_as_it_was() {
    let (mut harness, cbd_path) = stores_ready().await;
    harness.reconcile(&cbd_path).await;
    let before = harness.api.list("/apis/apps/v1/");
    spec_change(&mut harness, &cbd_path, |cbd| {
        let replicas = cbd.spec.replicas.as_mut().unwrap();
        replicas.max = Some(10);
        cbd.spec
            .database
            .as_mut()
            .unwrap()
            .pool
            .as_mut()
            .unwrap()
            .size = Some(40);
    });
    let action = harness.reconcile(&cbd_path).await;
    let reasons = event_reasons(&harness);
    assert_only_status_written(harness.take_requests());
    assert_eq!(harness.api.list("/apis/apps/v1/"), before);
    let status = status(&harness, &cbd_path);
    let ready = condition(&status, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "CapacityExceeded")
    );
    assert!(
        ready
            .message
            .starts_with("spec.database.pool: database connections needs 840"),
        "{}",
        ready.message
    );
    assert_eq!(condition(&status, "CapacityOK").status, "False");
    assert_eq!(condition(&status, "Stalled").status, "True");
    assert_eq!(status.observed_generation, Some(2));
    assert!(
        reasons.contains(&"CapacityExceeded".to_string()),
        "{reasons:?}"
    );
    assert_eq!(
        action,
        kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(300)),
        "a spec that cannot be applied is looked at again slowly, not in a hot loop"
    );

    // Looking again changes nothing and writes nothing.
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;
    assert!(harness.api.requests().is_empty());
}

#[tokio::test]
async fn an_object_of_someone_else_under_a_childs_name_is_never_taken_over() {
    let (mut harness, cbd_path) = stores_ready().await;
    let service_path = path("services", NS, "mindmitra");
    let theirs = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "mindmitra", "namespace": NS, "labels": {"team": "web"}},
        "spec": {"ports": [{"port": 8080}]},
    });
    harness.api.insert(&service_path, theirs.clone());
    harness.sync();
    harness.reconcile(&cbd_path).await;
    let lines = harness.take_requests();
    assert!(lines.contains(&format!("GET /api/v1/namespaces/{NS}/services/mindmitra")));
    assert!(!lines.contains(&format!("PATCH /api/v1/namespaces/{NS}/services/mindmitra")));
    assert_eq!(
        harness.api.get(&service_path).unwrap()["spec"],
        theirs["spec"]
    );
    let status = status(&harness, &cbd_path);
    let degraded = condition(&status, "Degraded");
    assert_eq!(degraded.reason, "ChildConflict");
    assert!(
        degraded
            .message
            .contains("Service/mindmitra exists and is not managed"),
        "{}",
        degraded.message
    );
}

#[tokio::test]
async fn an_orphaned_child_of_the_same_name_is_adopted() {
    let (mut harness, cbd_path) = stores_ready().await;
    harness.reconcile(&cbd_path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&cbd_path).await;
    // `kubectl delete cbd --cascade=orphan` and re-create: a new uid.
    let config_map = path("configmaps", NS, "mindmitra-env");
    harness.api.update(&config_map, |object| {
        object["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("ownerReferences");
    });
    harness.sync();
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;
    assert_eq!(
        harness.take_requests(),
        [format!(
            "PATCH /api/v1/namespaces/{NS}/configmaps/mindmitra-env"
        )]
    );
    let adopted = harness.api.get(&config_map).unwrap();
    assert_eq!(
        adopted["metadata"]["ownerReferences"][0]["uid"],
        json!(harness.chatbot(&cbd_path).metadata.uid.unwrap())
    );
}

#[tokio::test]
async fn generated_values_are_created_once_and_never_overwritten() {
    use base64::Engine;
    let (mut harness, cbd_path) = stores_ready().await;
    harness.reconcile(&cbd_path).await;
    let secret_path = path("secrets", NS, "mindmitra-generated");
    let first = harness.api.get(&secret_path).unwrap();
    let secret_key = first["data"]["SECRET_KEY"].as_str().unwrap().to_string();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&secret_key)
        .unwrap();
    assert_eq!(decoded.len(), 64, "32 random bytes, hex");
    assert_eq!(
        first["metadata"]["ownerReferences"][0]["kind"],
        "ChatbotDeployment"
    );

    spec_change(&mut harness, &cbd_path, |cbd| {
        cbd.spec.secrets.as_mut().unwrap().generated =
            Some(vec!["SECRET_KEY".into(), "JWT_SECRET".into()]);
    });
    harness.reconcile(&cbd_path).await;
    let patch = harness
        .api
        .requests()
        .into_iter()
        .find(|r| r.line() == format!("PATCH /api/v1/namespaces/{NS}/secrets/mindmitra-generated"))
        .expect("the generated Secret is patched");
    assert_eq!(
        patch.content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    let keys: Vec<_> = patch.body.as_ref().unwrap()["data"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(keys, ["JWT_SECRET"], "only the new name is sent");
    let after = harness.api.get(&secret_path).unwrap();
    assert_eq!(after["data"]["SECRET_KEY"], json!(secret_key));

    // Removing a name from the spec never deletes its value either.
    spec_change(&mut harness, &cbd_path, |cbd| {
        cbd.spec.secrets.as_mut().unwrap().generated = Some(vec!["JWT_SECRET".into()]);
    });
    harness.reconcile(&cbd_path).await;
    assert!(
        !harness
            .take_requests()
            .iter()
            .any(|l| l.contains("/secrets"))
    );
    assert_eq!(
        harness.api.get(&secret_path).unwrap()["data"]["SECRET_KEY"],
        json!(secret_key)
    );
}

#[tokio::test]
async fn a_generated_secret_that_belongs_to_someone_else_is_left_alone() {
    let (mut harness, cbd_path) = stores_ready().await;
    harness.secret(NS, "mindmitra-generated", &["SECRET_KEY"]);
    harness.reconcile(&cbd_path).await;
    // Its key names are read; nothing is written to it.
    let lines = harness.take_requests();
    assert!(
        !lines
            .iter()
            .any(|l| l.contains("/secrets") && !l.starts_with("GET ")),
        "{lines:#?}"
    );
    let status = status(&harness, &cbd_path);
    assert_eq!(condition(&status, "Degraded").reason, "ChildConflict");
}

#[tokio::test]
async fn a_paused_resource_is_reported_and_left_alone() {
    let (mut harness, cbd_path) = stores_ready().await;
    harness.reconcile(&cbd_path).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&cbd_path).await;
    spec_change(&mut harness, &cbd_path, |cbd| {
        cbd.spec.paused = Some(true);
        cbd.spec.image = "ghcr.io/mindmitra/support-bot:2.0.0".into();
    });
    harness.reconcile(&cbd_path).await;
    assert_only_status_written(harness.take_requests());
    let status = status(&harness, &cbd_path);
    assert_eq!(status.phase.as_deref(), Some("Paused"));
    assert_eq!(condition(&status, "Progressing").reason, "Paused");
    assert_eq!(status.current_revision, Some(1));
}

#[tokio::test]
async fn a_resource_without_stores_in_aws_being_deleted_is_left_to_the_garbage_collector() {
    let mut harness = Harness::new();
    let mut in_cluster = mindmitra();
    in_cluster.spec.environment = "dev".into();
    in_cluster.spec.database = None;
    in_cluster.spec.cache = None;
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let cbd_path = harness.create(&in_cluster);
    harness.reconcile(&cbd_path).await;
    assert!(
        harness.chatbot(&cbd_path).metadata.finalizers.is_none(),
        "no finalizer without stores in AWS"
    );
    harness.api.update(&cbd_path, |object| {
        object["metadata"]["deletionTimestamp"] = json!("2027-01-15T08:00:00Z");
    });
    harness.sync();
    harness.api.clear_requests();
    harness.reconcile(&cbd_path).await;
    assert!(harness.api.requests().is_empty());
}

#[tokio::test]
async fn a_failed_write_is_an_error_with_a_stable_reason_and_backs_off() {
    let (harness, cbd_path) = stores_ready().await;
    harness.api.fail(
        "PATCH /apis/apps/v1/namespaces/mindmitra/deployments/mindmitra",
        503,
        1,
    );
    let cbd = harness.chatbot(&cbd_path);
    let error =
        chatbot_operator::reconcile::reconcile_at(&cbd, &harness.context, harness.now.clone())
            .await
            .unwrap_err();
    assert_eq!(error.reason(), "ServerError");
    assert!(
        error.to_string().starts_with("apply Deployment mindmitra:"),
        "{error}"
    );
    assert!(
        harness
            .chatbot(&cbd_path)
            .status
            .unwrap()
            .conditions
            .is_empty(),
        "no status is written from a half-applied reconcile"
    );
}

#[tokio::test]
async fn an_unknown_environment_is_reported_with_its_field_and_nothing_is_applied() {
    use chatbot_operator::{
        environment::Environments,
        render::{Renderer, Templates},
    };
    let renderer = Renderer {
        environments: Environments::from_sources([(
            "dev".to_string(),
            std::fs::read_to_string(common::root().join("environments/dev.yaml")).unwrap(),
        )])
        .unwrap(),
        templates: Templates::embedded().unwrap(),
    };
    let mut harness = Harness::with_renderer(renderer);
    let cbd_path = harness.create(&mindmitra());
    harness.reconcile(&cbd_path).await;
    let reasons = event_reasons(&harness);
    assert_only_status_written(harness.take_requests());
    let status = status(&harness, &cbd_path);
    let ready = condition(&status, "Ready");
    assert_eq!(ready.reason, "UnknownEnvironment");
    assert_eq!(
        ready.message,
        "spec.environment: unknown environment \"production\"; known: dev"
    );
    assert_eq!(reasons, ["UnknownEnvironment"]);
}

#[tokio::test]
async fn a_template_that_renders_an_invalid_object_keeps_the_last_good_children() {
    use chatbot_operator::{
        environment::Environments,
        render::{Renderer, Templates},
    };
    // First the good templates create everything.
    let (mut good, cbd_path) = stores_ready().await;
    good.reconcile(&cbd_path).await;
    good.deployment_ready(NS, "mindmitra", 2);
    good.reconcile(&cbd_path).await;
    let before: Vec<Value> = good
        .api
        .list("/")
        .into_iter()
        .filter(|o| o["kind"] != "Event")
        .collect();

    // Then an operator with a broken template looks at the same cluster.
    let dir = common::edited_templates("deployment.yaml", "imagePullPolicy", "imagePulPolicy");
    let renderer = Renderer {
        environments: Environments::embedded().unwrap(),
        templates: Templates::from_dir(dir.path()).unwrap(),
    };
    let mut broken = Harness::with_renderer(renderer);
    for object in before.iter() {
        let path = object_path(object);
        broken.api.insert(&path, object.clone());
    }
    broken.sync();
    broken.reconcile(&cbd_path).await;
    assert_only_status_written(broken.take_requests());
    let status = status(&broken, &cbd_path);
    let ready = condition(&status, "Ready");
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "InvalidObject")
    );
    assert!(
        ready.message.starts_with("template deployment.yaml rendered an invalid Deployment: spec.template.spec.containers[0].imagePulPolicy: unknown field"),
        "{}",
        ready.message
    );
    assert_eq!(
        status.ready_replicas,
        Some(2),
        "the running pods are reported as they are"
    );
}

fn object_path(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap();
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or(NS);
    let name = object["metadata"]["name"].as_str().unwrap();
    let resource = match kind {
        "ChatbotDeployment" => "chatbotdeployments",
        "ServiceAccount" => "serviceaccounts",
        "ConfigMap" => "configmaps",
        "Service" => "services",
        "Secret" => "secrets",
        "Deployment" => "deployments",
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers",
        "PodDisruptionBudget" => "poddisruptionbudgets",
        "NetworkPolicy" => "networkpolicies",
        "Ingress" => "ingresses",
        "HTTPRoute" => "httproutes",
        "PodMonitor" => "podmonitors",
        "PrometheusRule" => "prometheusrules",
        other => panic!("unexpected kind {other}"),
    };
    path(resource, namespace, name)
}

#[tokio::test]
async fn a_reconcile_from_caches_that_have_not_seen_its_writes_repeats_none_of_them() {
    let (harness, cbd_path) = stores_ready().await;
    let stale = harness.chatbot(&cbd_path);
    let reconcile =
        || chatbot_operator::reconcile::reconcile_at(&stale, &harness.context, harness.now.clone());
    reconcile().await.unwrap();
    // A watch event triggers the next reconcile before any write of the
    // first has reached the caches.
    harness.api.clear_requests();
    reconcile().await.unwrap();
    let lines = harness.take_requests();
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("GET") || l == &format!("POST /api/v1/namespaces/{NS}/secrets")),
        "only reads (and a refused re-create of the generated Secret): {lines:#?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("/events")),
        "no Event is repeated"
    );
    let secret = harness
        .api
        .get(&path("secrets", NS, "mindmitra-generated"))
        .unwrap();
    assert_eq!(
        secret["data"].as_object().unwrap().len(),
        1,
        "nothing regenerated"
    );
}

#[tokio::test]
async fn statuses_of_deleted_resources_are_not_remembered_for_ever() {
    let mut harness = Harness::new();
    let plain = |name: &str| -> ChatbotDeployment {
        serde_json::from_value(json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotDeployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"environment": "dev", "image": "ghcr.io/example/bot:1.0.0",
                     "database": {"mode": "none"}, "cache": {"mode": "none"}},
        }))
        .unwrap()
    };
    let paths: Vec<String> = (0..64)
        .map(|index| {
            let name = format!("bot-{index}");
            let cbd_path = path("chatbotdeployments", NS, &name);
            let mut object = serde_json::to_value(plain(&name)).unwrap();
            object["status"] = common::harness::status_default();
            harness.api.insert(&cbd_path, object);
            cbd_path
        })
        .collect();
    harness.sync();
    for cbd_path in &paths {
        harness.reconcile(cbd_path).await;
    }
    assert_eq!(harness.context.remembered_statuses(), 64);
    for cbd_path in &paths {
        harness.api.remove(cbd_path);
    }
    harness.sync();
    let survivor = harness.create(&plain("survivor"));
    harness.reconcile(&survivor).await;
    assert_eq!(harness.context.remembered_statuses(), 1);
}

/// Secrets are watched by their metadata only: the key names of one the
/// spec refers to are read by name when a reconcile needs them, once per
/// change of the Secret, and a key added later is seen by the next
/// reconcile.
#[tokio::test]
async fn a_secrets_key_names_are_read_by_name_once_per_change() {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["apikey"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let path = harness.create(&mindmitra());
    harness.provision_stores(&path).await;
    harness.api.clear_requests();
    let reads = |lines: Vec<String>| {
        lines
            .iter()
            .filter(|l| *l == &format!("GET /api/v1/namespaces/{NS}/secrets/mindmitra-llm"))
            .count()
    };

    harness.reconcile(&path).await;
    assert_eq!(reads(harness.take_requests()), 1);
    let missing = status(&harness, &path);
    assert_eq!(condition(&missing, "SecretsReady").status, "False");

    harness.reconcile(&path).await;
    assert_eq!(
        reads(harness.take_requests()),
        0,
        "an unchanged Secret's key names are remembered"
    );

    harness.secret(NS, "mindmitra-llm", &["apikey", "api-key"]);
    harness.reconcile(&path).await;
    assert_eq!(reads(harness.take_requests()), 1);
    let found = status(&harness, &path);
    assert_eq!(condition(&found, "SecretsReady").status, "True");
}
