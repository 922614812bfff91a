//! What the cluster is and serves, looked at once at start: the API
//! server answers and the operator may read its resources (preflight), and
//! which optional kinds it serves (discovery).

use std::time::Duration;

use kube::{Api, Client, api::ListParams};
use tracing::{info, warn};

use super::settings::{RunError, Settings, api};
use crate::api::ChatbotDeployment;

/// How long the first look at the API server keeps retrying a server that
/// does not answer before giving up (the pod is then restarted).
const PREFLIGHT_PATIENCE: Duration = Duration::from_secs(30);

/// The first call: one list of ChatbotDeployments, which proves the API
/// server answers, the CRD is installed and the operator may read it. A
/// missing CRD or permission is a clear error at once, instead of watches
/// that fail in the background forever.
pub(super) async fn preflight(
    client: &Client,
    settings: &Settings,
    server: &str,
) -> Result<(), RunError> {
    let api: Api<ChatbotDeployment> = api(client, settings.namespace.as_deref());
    let started = std::time::Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match api.list_metadata(&ListParams::default().limit(1)).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => {
                return Err(RunError::CrdMissing {
                    server: server.to_string(),
                });
            }
            Err(kube::Error::Api(status)) if status.code == 403 => {
                return Err(RunError::Forbidden {
                    scope: settings
                        .namespace
                        .as_ref()
                        .map(|n| format!(" in namespace {n}"))
                        .unwrap_or_default(),
                    message: status.message.clone(),
                });
            }
            Err(source) if started.elapsed() >= PREFLIGHT_PATIENCE => {
                return Err(RunError::Unreachable {
                    server: server.to_string(),
                    source: Box::new(source),
                });
            }
            Err(error) => {
                warn!(%error, server, retry_in = ?delay, "the API server did not answer");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Whether the cluster serves Gateway API HTTPRoutes. Without the CRD the
/// operator does not watch them, and a resource asking for
/// `traffic.provider: gatewayAPI` is told so in its status.
pub(super) async fn http_routes_served(client: &Client) -> bool {
    served(
        client,
        "gateway.networking.k8s.io/v1",
        &["httproutes"],
        "the Gateway API",
    )
    .await
}

/// Whether the cluster serves the Prometheus Operator's PodMonitors and
/// PrometheusRules. Without them the operator neither watches nor applies
/// them, and a resource asking for monitoring is told so in its status.
pub(super) async fn monitoring_served(client: &Client) -> bool {
    served(
        client,
        crate::monitoring::GROUP_VERSION,
        &["podmonitors", "prometheusrules"],
        "the Prometheus Operator (monitoring.coreos.com)",
    )
    .await
}

/// Whether `group_version` serves every one of `resources`, by discovery.
pub async fn served(client: &Client, group_version: &str, resources: &[&str], what: &str) -> bool {
    match client.list_api_group_resources(group_version).await {
        Ok(list) => resources
            .iter()
            .all(|wanted| list.resources.iter().any(|r| r.name == *wanted)),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            info!("{what} is not installed: its kinds are not watched");
            false
        }
        Err(error) => {
            warn!(%error, "could not tell whether {what} is installed; its kinds are not watched until the operator restarts");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{Request, Response};
    use kube::client::Body;

    /// A client whose API server answers discovery of `group_version` with
    /// `status` and `body`.
    fn answering(status: u16, body: serde_json::Value) -> Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        tokio::spawn(async move {
            let (request, send) = handle.next_request().await.expect("one request");
            assert_eq!(request.uri().path(), "/apis/monitoring.coreos.com/v1");
            send.send_response(
                Response::builder()
                    .status(status)
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            );
        });
        Client::new(service, "default")
    }

    fn resources(names: &[&str]) -> serde_json::Value {
        serde_json::json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "monitoring.coreos.com/v1",
            "resources": names.iter().map(|n| serde_json::json!({
                "name": n, "singularName": "", "namespaced": true, "kind": "X", "verbs": ["get"]
            })).collect::<Vec<_>>(),
        })
    }

    #[tokio::test]
    async fn the_prometheus_operator_is_served_only_with_both_kinds() {
        let both = answering(
            200,
            resources(&["podmonitors", "prometheusrules", "servicemonitors"]),
        );
        assert!(monitoring_served(&both).await);
        let one = answering(200, resources(&["servicemonitors", "prometheusrules"]));
        assert!(!monitoring_served(&one).await);
    }

    #[tokio::test]
    async fn a_cluster_without_the_group_is_not_an_error() {
        let missing = answering(
            404,
            serde_json::json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}),
        );
        assert!(!monitoring_served(&missing).await);
    }
}
