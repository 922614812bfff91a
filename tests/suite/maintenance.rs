//! The maintenance page through the real reconciler against the in-memory
//! API server: its children, and the route switched to the page when the
//! app has no ready pod and back when one is ready, for each traffic
//! provider, within one reconcile of the readiness change; and on demand
//! through a `Maintenance` ChatbotAction held in status.

use crate::common;

use chatbot_operator::api::{ActionKind, ChatbotAction, ChatbotActionSpec, MaintenanceMode};
use common::harness::{Harness, path};
use serde_json::{Value, json};

const NS: &str = "mindmitra";

/// MindMitra in dev with its stores up and its helplines page on
/// `whenUnavailable`, rolling out plainly; the app has no ready pod yet.
async fn mindmitra(traffic: Value) -> (Harness, String) {
    let (mut harness, at) = common::revisions::dev_with_stores_up_as(|cbd| {
        cbd.spec.traffic = Some(serde_json::from_value(traffic).unwrap());
    })
    .await;
    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.reconcile(&at).await;
    (harness, at)
}

fn ingress_nginx() -> Value {
    json!({ "provider": "ingressNginx", "host": "mindmitra.example.org" })
}

/// Sets the app Deployment's ready pods, as kubelets would.
fn app_pods_ready(harness: &mut Harness, ready: i64) {
    let at = path("deployments", NS, "mindmitra");
    let generation = harness.api.get(&at).unwrap()["metadata"]["generation"]
        .as_i64()
        .unwrap_or(1);
    harness.api.set_status(
        &at,
        json!({ "observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
                "readyReplicas": ready, "availableReplicas": ready }),
    );
    harness.sync();
}

fn ingress_backend(harness: &Harness) -> String {
    let ingress = harness
        .api
        .get(&path("ingresses", NS, "mindmitra"))
        .unwrap();
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        .as_str()
        .unwrap()
        .to_string()
}

fn page_status(harness: &Harness, at: &str) -> Value {
    harness.api.get(at).unwrap()["status"]["maintenance"].clone()
}

/// The page's Events since the requests were last taken.
fn page_events(harness: &Harness) -> Vec<String> {
    harness
        .events()
        .into_iter()
        .map(|(reason, _)| reason)
        .filter(|reason| reason.starts_with("MaintenancePage"))
        .collect()
}

/// Writes, Events and status patches aside.
fn child_writes(harness: &Harness) -> Vec<String> {
    harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.contains("/events") && !l.ends_with("/status"))
        .collect()
}

#[tokio::test]
async fn the_page_runs_beside_the_app_with_the_helplines() {
    let (harness, _) = mindmitra(ingress_nginx()).await;
    let page = harness
        .api
        .get(&path("configmaps", NS, "mindmitra-maintenance"))
        .expect("the page's ConfigMap");
    let html = page["data"]["index.html"].as_str().unwrap();
    assert!(
        html.contains(r#"<a class="phone" href="tel:18005990019">1800-599-0019</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"href="tel:02227546669""#), "{html}");
    let headers: Value =
        serde_json::from_str(page["data"]["headers.json"].as_str().unwrap()).unwrap();
    assert_eq!(headers["X-Frame-Options"], "DENY");

    let server = harness
        .api
        .get(&path("deployments", NS, "mindmitra-maintenance"))
        .expect("the page server");
    assert_eq!(server["spec"]["replicas"], 2);
    let pod = &server["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["args"].as_array().unwrap()[0..2],
        [json!("maintenance"), json!("serve")]
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"],
        true
    );
    assert_eq!(
        server["metadata"]["ownerReferences"][0]["kind"],
        "ChatbotDeployment"
    );
    for kind in ["services", "poddisruptionbudgets"] {
        assert!(
            harness
                .api
                .get(&path(kind, NS, "mindmitra-maintenance"))
                .is_some(),
            "{kind}"
        );
    }
    let ingress = harness
        .api
        .get(&path("ingresses", NS, "mindmitra"))
        .unwrap();
    let annotations = &ingress["metadata"]["annotations"];
    assert_eq!(
        annotations["nginx.ingress.kubernetes.io/default-backend"], "mindmitra-maintenance",
        "ingress-nginx shows the page for 502/503/504 before the operator switches"
    );
    assert_eq!(
        annotations["nginx.ingress.kubernetes.io/custom-http-errors"],
        "502,503,504"
    );
}

#[tokio::test]
async fn ingress_nginx_sends_users_to_the_page_when_no_pod_is_ready_and_back() {
    let (mut harness, at) = mindmitra(ingress_nginx()).await;
    // A first launch whose pods are not ready yet shows the page.
    assert_eq!(ingress_backend(&harness), "mindmitra-maintenance");
    assert_eq!(page_status(&harness, &at)["cause"], "Unavailable");

    app_pods_ready(&mut harness, 2);
    harness.take_requests();
    harness.reconcile(&at).await;
    assert_eq!(ingress_backend(&harness), "mindmitra", "back on the app");
    assert_eq!(page_events(&harness), ["MaintenancePageOff"]);
    assert_eq!(
        child_writes(&harness),
        [format!("PATCH {}?", path("ingresses", NS, "mindmitra"))
            .trim_end_matches('?')
            .to_string()],
        "one write: the Ingress"
    );
    let status = page_status(&harness, &at);
    assert_eq!(status["serving"], false);
    assert!(status["since"].is_string());

    // Every pod goes unready: one reconcile puts the page on the route.
    app_pods_ready(&mut harness, 0);
    harness.reconcile(&at).await;
    assert_eq!(ingress_backend(&harness), "mindmitra-maintenance");
    let status = page_status(&harness, &at);
    assert_eq!(
        (status["serving"].clone(), status["cause"].clone()),
        (json!(true), json!("Unavailable"))
    );
    assert_eq!(page_events(&harness), ["MaintenancePageOn"]);

    // Still down: no further write.
    harness.take_requests();
    harness.reconcile(&at).await;
    assert!(child_writes(&harness).is_empty());
}

#[tokio::test]
async fn the_gateway_api_route_and_a_bare_service_switch_too() {
    let (mut harness, at) = mindmitra(json!({
        "provider": "gatewayAPI", "host": "mindmitra.example.org", "gateway": { "name": "public" },
    }))
    .await;
    let route = harness
        .api
        .get(&path("httproutes", NS, "mindmitra"))
        .unwrap();
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"],
        json!([{ "name": "mindmitra-maintenance", "port": 80, "weight": 100 }])
    );
    app_pods_ready(&mut harness, 1);
    harness.reconcile(&at).await;
    let route = harness
        .api
        .get(&path("httproutes", NS, "mindmitra"))
        .unwrap();
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"][0]["name"],
        "mindmitra"
    );

    // No provider: the app Service selects the page's pods instead.
    harness.api.update(&at, |cbd| {
        cbd["spec"]["traffic"] = json!({ "provider": "none" });
        cbd["metadata"]["generation"] =
            json!(cbd["metadata"]["generation"].as_i64().unwrap_or(1) + 1);
    });
    harness.sync();
    harness.reconcile(&at).await;
    let selector = |harness: &Harness| {
        harness.api.get(&path("services", NS, "mindmitra")).unwrap()["spec"]["selector"]
            ["app.kubernetes.io/component"]
            .clone()
    };
    assert_eq!(selector(&harness), "app");
    app_pods_ready(&mut harness, 0);
    harness.reconcile(&at).await;
    assert_eq!(selector(&harness), "maintenance");
    app_pods_ready(&mut harness, 2);
    harness.reconcile(&at).await;
    assert_eq!(selector(&harness), "app");
}

fn maintenance_action(name: &str, mode: MaintenanceMode) -> Value {
    let mut action = ChatbotAction::new(
        name,
        ChatbotActionSpec {
            deployment: "mindmitra".into(),
            action: ActionKind::Maintenance,
            maintenance: Some(mode),
            reason: "moving the database to a bigger instance".into(),
            ..Default::default()
        },
    );
    action.metadata.namespace = Some(NS.into());
    serde_json::to_value(action).unwrap()
}

#[tokio::test]
async fn on_call_turns_the_page_on_and_off_without_touching_the_spec() {
    let (mut harness, at) = mindmitra(ingress_nginx()).await;
    app_pods_ready(&mut harness, 2);
    harness.reconcile(&at).await;
    assert_eq!(ingress_backend(&harness), "mindmitra");
    let spec_before = harness.api.get(&at).unwrap()["spec"].clone();

    let on = path("chatbotactions", NS, "page-on");
    harness
        .api
        .insert(&on, maintenance_action("page-on", MaintenanceMode::On));
    harness.run_action(&on).await;
    harness.sync();
    let hold = harness.api.get(&at).unwrap()["status"]["maintenanceHold"].clone();
    assert_eq!(hold["action"], "page-on");
    harness.reconcile(&at).await;
    assert_eq!(
        ingress_backend(&harness),
        "mindmitra-maintenance",
        "on with every pod ready"
    );
    let status = page_status(&harness, &at);
    assert_eq!(status["cause"], "OnCall");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("bigger instance"),
        "{status}"
    );
    harness.run_action(&on).await;
    assert_eq!(
        harness.api.get(&on).unwrap()["status"]["phase"],
        "Succeeded"
    );

    // A GitOps sync of the same spec keeps the page on.
    harness.api.update(&at, |cbd| {
        cbd["metadata"]["annotations"]["argocd.argoproj.io/sync"] = json!("again")
    });
    harness.sync();
    harness.reconcile(&at).await;
    assert_eq!(ingress_backend(&harness), "mindmitra-maintenance");

    let off = path("chatbotactions", NS, "page-off");
    harness
        .api
        .insert(&off, maintenance_action("page-off", MaintenanceMode::Off));
    harness.run_action(&off).await;
    harness.sync();
    assert!(harness.api.get(&at).unwrap()["status"]["maintenanceHold"].is_null());
    harness.reconcile(&at).await;
    assert_eq!(ingress_backend(&harness), "mindmitra");
    harness.run_action(&off).await;
    let done = harness.api.get(&off).unwrap();
    assert_eq!(done["status"]["phase"], "Succeeded", "{done}");
    assert_eq!(
        harness.api.get(&at).unwrap()["spec"],
        spec_before,
        "the spec is never edited"
    );
}
