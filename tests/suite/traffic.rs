//! The public route through the real reconciler against the in-memory API
//! server: an Ingress for ingress-nginx, an HTTPRoute for the Gateway API,
//! the one the provider no longer asks for pruned, and a clear refusal
//! when the cluster does not serve HTTPRoutes.

use crate::common;

use common::harness::{Harness, path};
use serde_json::json;

const NS: &str = "mindmitra";

fn dev_mindmitra() -> (Harness, String) {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    // The maintenance page (tests/suite/maintenance.rs) would hold the
    // route while no app pod is ready: these tests are about the route.
    let mut cbd = common::dev_variant("mindmitra");
    cbd.spec.maintenance = None;
    let at = harness.create(&cbd);
    (harness, at)
}

fn change_traffic(harness: &mut Harness, at: &str, traffic: serde_json::Value) {
    harness.api.update(at, |cbd| {
        cbd["spec"]["traffic"] = traffic;
        let generation = cbd["metadata"]["generation"].as_i64().unwrap_or(1);
        cbd["metadata"]["generation"] = json!(generation + 1);
    });
    harness.sync();
}

#[tokio::test]
async fn the_public_route_follows_the_provider_and_the_old_one_is_pruned() {
    let (mut harness, at) = dev_mindmitra();
    harness.reconcile(&at).await;

    let ingress = harness
        .api
        .get(&path("ingresses", NS, "mindmitra"))
        .expect("an Ingress for ingressNginx");
    let rule = &ingress["spec"]["rules"][0];
    assert_eq!(rule["host"], "mindmitra.example.org");
    let backend = &rule["http"]["paths"][0]["backend"]["service"];
    assert_eq!(
        backend["name"], "mindmitra",
        "all traffic to the app's Service"
    );
    assert_eq!(backend["port"]["number"], 80);
    assert_eq!(
        ingress["metadata"]["ownerReferences"][0]["kind"],
        "ChatbotDeployment"
    );
    let timeout =
        &ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/proxy-read-timeout"];
    assert!(
        timeout.as_str().is_some_and(|t| t.parse::<i32>().is_ok()),
        "{timeout}"
    );

    change_traffic(
        &mut harness,
        &at,
        json!({
            "provider": "gatewayAPI",
            "host": "mindmitra.example.org",
            "gateway": { "name": "public", "namespace": "gateway-system" },
        }),
    );
    harness.reconcile(&at).await;
    let route = harness
        .api
        .get(&path("httproutes", NS, "mindmitra"))
        .expect("an HTTPRoute for gatewayAPI");
    assert_eq!(route["spec"]["hostnames"], json!(["mindmitra.example.org"]));
    assert_eq!(
        route["spec"]["parentRefs"],
        json!([{ "name": "public", "namespace": "gateway-system" }])
    );
    assert_eq!(
        route["spec"]["rules"][0]["backendRefs"],
        json!([{ "name": "mindmitra", "port": 80, "weight": 100 }])
    );
    assert!(
        harness
            .api
            .get(&path("ingresses", NS, "mindmitra"))
            .is_none(),
        "the Ingress went with the provider that asked for it"
    );

    change_traffic(&mut harness, &at, json!({ "provider": "none" }));
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("httproutes", NS, "mindmitra"))
            .is_none()
    );
    assert!(
        harness
            .api
            .get(&path("services", NS, "mindmitra"))
            .is_some()
    );
}

#[tokio::test]
async fn a_gateway_api_route_on_a_cluster_without_its_crds_is_refused_in_status() {
    let (mut harness, at) = dev_mindmitra();
    harness.reconcile(&at).await;
    harness.context.stores.set_gateway_api(false);
    change_traffic(
        &mut harness,
        &at,
        json!({
            "provider": "gatewayAPI",
            "host": "mindmitra.example.org",
            "gateway": { "name": "public" },
        }),
    );
    harness.take_requests();
    harness.reconcile(&at).await;

    let (status, reason, message) = harness.condition(&at, "Degraded");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "GatewayApiMissing")
    );
    assert!(message.contains("spec.traffic.provider"), "{message}");
    assert!(message.contains("HTTPRoute"), "{message}");
    let writes: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.contains("/events") && !l.ends_with("/status"))
        .collect();
    assert!(
        writes.is_empty(),
        "nothing is applied or pruned, the Ingress keeps serving: {writes:?}"
    );
    assert!(
        harness
            .api
            .get(&path("ingresses", NS, "mindmitra"))
            .is_some()
    );
}

/// The finance team's edge checklist (one CORS origin, HSTS, CSP, the
/// standard headers, a per-IP limit) as ingress-nginx gets it, then under
/// the Gateway API, with status saying what the edge leaves undone.
#[tokio::test]
async fn the_edge_policy_follows_the_provider_and_status_says_what_it_cannot_enforce() {
    let (mut harness, at) = dev_mindmitra();
    harness.api.update(&at, |cbd| {
        cbd["spec"]["rateLimits"]["edgePerIPPerMinute"] = json!(120);
    });
    let edge = json!({
        "corsAllowedOrigins": ["https://app.finpal.example.com"],
        "securityHeaders": {
            "hstsMaxAgeSeconds": 31536000,
            "contentSecurityPolicy": "default-src 'self'",
            "standard": true,
        },
        "tls": { "secretName": "mindmitra-tls" },
    });
    let mut traffic = edge.clone();
    traffic["provider"] = json!("ingressNginx");
    traffic["host"] = json!("mindmitra.example.org");
    change_traffic(&mut harness, &at, traffic);
    harness.reconcile(&at).await;

    let headers = harness
        .api
        .get(&path("configmaps", NS, "mindmitra-edge-headers"))
        .expect("the response headers' ConfigMap");
    assert_eq!(
        headers["data"]["Strict-Transport-Security"],
        "max-age=31536000"
    );
    assert_eq!(headers["data"]["X-Frame-Options"], "DENY");
    assert_eq!(
        headers["metadata"]["ownerReferences"][0]["kind"],
        "ChatbotDeployment"
    );
    let ingress = harness
        .api
        .get(&path("ingresses", NS, "mindmitra"))
        .unwrap();
    let annotations = &ingress["metadata"]["annotations"];
    let nginx = |key: &str| annotations[format!("nginx.ingress.kubernetes.io/{key}")].clone();
    assert_eq!(nginx("cors-allow-origin"), "https://app.finpal.example.com");
    assert_eq!(nginx("custom-headers"), "mindmitra/mindmitra-edge-headers");
    assert_eq!(nginx("limit-rpm"), "120");
    assert_eq!(nginx("ssl-redirect"), "true");
    let (status, reason, _) = harness.condition(&at, "EdgeEnforced");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "EnforcedAtEdge")
    );

    let mut traffic = edge;
    traffic["provider"] = json!("gatewayAPI");
    traffic["host"] = json!("mindmitra.example.org");
    traffic["gateway"] = json!({ "name": "public" });
    change_traffic(&mut harness, &at, traffic);
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("configmaps", NS, "mindmitra-edge-headers"))
            .is_none(),
        "the ConfigMap went with ingress-nginx"
    );
    let route = harness
        .api
        .get(&path("httproutes", NS, "mindmitra"))
        .unwrap();
    let set = &route["spec"]["rules"][0]["filters"][0]["responseHeaderModifier"]["set"];
    assert_eq!(
        set[0],
        json!({ "name": "Strict-Transport-Security", "value": "max-age=31536000" })
    );
    assert_eq!(set.as_array().map(Vec::len), Some(5));
    let (status, reason, message) = harness.condition(&at, "EdgeEnforced");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "NotEnforcedAtEdge")
    );
    assert!(message.contains("120 requests per minute"), "{message}");
    assert!(message.contains("BackendTrafficPolicy"), "{message}");

    // Once applied, another look rewrites no child (the status still
    // follows the app's pods coming up).
    harness.take_requests();
    harness.reconcile(&at).await;
    let writes: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.ends_with("/status") && !l.contains("/events"))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}
