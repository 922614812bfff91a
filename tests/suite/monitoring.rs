//! The PodMonitor and PrometheusRule through the real reconciler against
//! the strict in-memory API server (with `manifests/` RBAC): applied where
//! the cluster serves `monitoring.coreos.com`, quiet once applied, pruned
//! when the spec stops asking, and said missing, never a failure, where it
//! is not served.

use crate::common;
use common::harness::{Harness, path};
use serde_json::json;

const NS: &str = "mindmitra";

/// Dev MindMitra with its stores up and the app scraped, on a cluster
/// that does or does not serve the Prometheus Operator's kinds.
async fn monitored_mindmitra(served: bool) -> (Harness, String) {
    let harness = Harness::new();
    harness.context.stores.set_monitoring(served);
    common::revisions::dev_with_stores_up_in(harness, |cbd| {
        let observability = cbd.spec.observability.get_or_insert_with(Default::default);
        observability.service_monitor = Some(true);
        // What kube-prometheus-stack's Prometheus selects by default.
        observability.monitor_labels = Some([("release".into(), "monitoring".into())].into());
    })
    .await
}

fn writes(requests: Vec<String>) -> Vec<String> {
    requests
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.contains("/events"))
        .collect()
}

#[tokio::test]
async fn the_monitor_and_rules_are_applied_once_and_pruned_when_no_longer_asked_for() {
    let (mut harness, at) = monitored_mindmitra(true).await;

    let monitor = harness
        .api
        .get(&path("podmonitors", NS, "mindmitra"))
        .expect("a PodMonitor");
    assert_eq!(
        monitor["spec"]["podMetricsEndpoints"][0],
        json!({"port": "http", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"})
    );
    assert_eq!(
        monitor["spec"]["podTargetLabels"],
        json!([
            "app.kubernetes.io/instance",
            "chatbot.dev/revision",
            "chatbot.dev/variant"
        ])
    );
    assert_eq!(
        monitor["metadata"]["ownerReferences"][0]["kind"],
        "ChatbotDeployment"
    );
    assert_eq!(monitor["metadata"]["labels"]["release"], "monitoring");
    let rule = harness
        .api
        .get(&path("prometheusrules", NS, "mindmitra"))
        .expect("a PrometheusRule");
    assert_eq!(rule["metadata"]["labels"]["release"], "monitoring");
    let alerts: Vec<&str> = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .filter_map(|r| r["alert"].as_str())
        .collect();
    // MindMitra: 99.9% availability, an alert when it is down.
    assert!(alerts.contains(&"ChatbotErrorBudgetBurn"), "{alerts:?}");
    assert!(alerts.contains(&"ChatbotDown"), "{alerts:?}");
    let (status, reason, _) = harness.condition(&at, "Monitored");
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Monitored"));

    // The pooler comes up; then the next look at the same state is quiet.
    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.reconcile(&at).await;
    harness.take_requests();
    harness.reconcile(&at).await;
    let again = writes(harness.take_requests());
    assert!(
        again.is_empty(),
        "an unchanged resource writes nothing: {again:?}"
    );

    harness.api.update(&at, |cbd| {
        cbd["spec"]["observability"] = json!({"serviceMonitor": false});
        cbd["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    harness.reconcile(&at).await;
    let pruned = writes(harness.take_requests());
    assert!(
        pruned
            .iter()
            .any(|l| l.starts_with("DELETE") && l.contains("/podmonitors/mindmitra")),
        "{pruned:?}"
    );
    assert!(
        pruned
            .iter()
            .any(|l| l.starts_with("DELETE") && l.contains("/prometheusrules/mindmitra")),
        "{pruned:?}"
    );
    assert!(
        harness
            .api
            .get(&path("podmonitors", NS, "mindmitra"))
            .is_none()
    );
}

#[tokio::test]
async fn without_the_prometheus_operator_the_rest_is_applied_and_status_says_what_is_missing() {
    let (mut harness, at) = monitored_mindmitra(false).await;

    let requests = harness.take_requests();
    assert!(
        !requests.iter().any(|l| l.contains("monitoring.coreos.com")),
        "no request for a kind the cluster does not serve: {requests:?}"
    );
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra"))
            .is_some()
    );
    let (status, reason, message) = harness.condition(&at, "Monitored");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "PrometheusOperatorMissing")
    );
    assert!(message.contains("monitoring.coreos.com"), "{message}");
    let (_, degraded, _) = harness.condition(&at, "Degraded");
    assert_ne!(degraded, "PrometheusOperatorMissing");

    // A new image is a new revision, rendered again: it leaves the
    // Prometheus Operator's kinds out too, and rolls out.
    harness.api.update(&at, |cbd| {
        cbd["spec"]["image"] = json!("ghcr.io/mindmitra/app:2.0.0");
        cbd["metadata"]["generation"] = json!(2);
    });
    harness.sync();
    harness.reconcile(&at).await;
    let requests = harness.take_requests();
    assert!(
        !requests.iter().any(|l| l.contains("monitoring.coreos.com")),
        "no request for a kind the cluster does not serve: {requests:?}"
    );
    let deployment = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/mindmitra/app:2.0.0"
    );
    let status = harness.chatbot(&at).status.unwrap();
    assert_eq!(status.observed_generation, Some(2));
    assert_eq!(status.current_revision, Some(2));
}
