//! The maintenance page end to end against the cluster in `KUBECONFIG`,
//! with the operator binary running as its own service account (only the
//! RBAC in `manifests/`): when every app pod fails the Ingress goes to the
//! page, and back once a pod is ready again. The failure is a bad release
//! made by hand: the app Deployment set to `Recreate` with a CPU request no
//! node can meet, so its old pods go and its new ones stay Pending on any
//! cluster (kwok included). The Ingress is read, not exercised: no ingress
//! controller is needed. The page server runs `E2E_OPERATOR_IMAGE` when
//! set (the release's image otherwise); its pods need not be ready for the
//! route to switch. Where the control plane offers a proxy into its
//! Services (`E2E_SERVICE_PROXY`, from `scripts/cluster.sh`), the page is
//! fetched from its Service as a user would get it.
//!
//! Ignored by a plain `cargo test` (it needs a cluster); run by
//! `scripts/test.sh`, or by hand:
//! `cargo test --test e2e_maintenance -- --ignored --nocapture`.

mod common;

use std::time::Duration;

use common::e2e::{self, Operator, TestNamespace, eventually, read_status};
use k8s_openapi::api::{apps::v1::Deployment, networking::v1::Ingress};
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(180);

async fn backend(client: &Client, namespace: &str) -> Option<String> {
    let api: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    let ingress = api.get_opt("helpline").await.ok().flatten()?;
    let path = ingress
        .spec?
        .rules?
        .first()?
        .http
        .clone()?
        .paths
        .first()?
        .clone();
    path.backend.service.map(|s| s.name)
}

/// Strategic-merge patches the app container's CPU and the strategy, as a
/// bad release or a hand edit would.
async fn set_cpu(client: &Client, namespace: &str, cpu: &Value, strategy: Value) {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let patch = json!({
        "spec": {
            "strategy": strategy,
            "template": { "spec": { "containers": [{
                "name": "app",
                "resources": { "requests": { "cpu": cpu }, "limits": { "cpu": cpu } },
            }]}},
        },
    });
    api.patch(
        "helpline",
        &PatchParams::default(),
        &Patch::Strategic(patch),
    )
    .await
    .expect("patch the app Deployment");
}

async fn serving(client: &Client, namespace: &str) -> Option<bool> {
    Some(
        read_status(client, namespace, "helpline")
            .await?
            .maintenance?
            .serving,
    )
}

/// Waits until the Ingress points at `service` and the status agrees on
/// whether the page serves.
async fn routed(client: &Client, namespace: &str, service: &str, operator: &Operator) {
    let page = service.ends_with("-maintenance");
    eventually(
        &format!("the Ingress on {service}"),
        DEADLINE,
        Some(operator),
        || async {
            (backend(client, namespace).await? == service
                && serving(client, namespace).await == Some(page))
            .then_some(())
        },
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_maintenance -- --ignored"]
async fn the_page_takes_over_when_every_pod_fails_and_hands_back_when_one_recovers() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "maintenance").await;
    let operator = Operator::start(&namespace.name, "e2e-maintenance");
    let mut maintenance = json!({
        "whenUnavailable": true,
        "title": "Helpline is briefly unavailable",
        "contacts": [{ "name": "Kiran", "phone": "1800-599-0019" }],
    });
    if let Ok(image) = std::env::var("E2E_OPERATOR_IMAGE") {
        maintenance["image"] = json!(image);
    }
    let cbd = e2e::plain_chatbot(
        "helpline",
        json!({
            "traffic": { "provider": "ingressNginx", "host": "helpline.e2e.example" },
            "maintenance": maintenance,
        }),
    );
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    let ns = namespace.name.as_str();

    // Once the app's pods are ready, users reach the app.
    routed(&client, ns, "helpline", &operator).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let app = deployments.get("helpline").await.unwrap();
    let container = &app.spec.unwrap().template.spec.unwrap().containers[0];
    let cpu = serde_json::to_value(
        &container
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["cpu"],
    )
    .unwrap();
    let page = deployments.get_opt("helpline-maintenance").await.unwrap();
    assert!(page.is_some(), "the page server runs beside the app");

    // Every pod fails: the page takes the route.
    set_cpu(
        &client,
        ns,
        &json!("100000"),
        json!({ "type": "Recreate", "rollingUpdate": null }),
    )
    .await;
    routed(&client, ns, "helpline-maintenance", &operator).await;
    let status = read_status(&client, ns, "helpline").await.unwrap();
    let page = status.maintenance.unwrap();
    assert!(
        page.message.contains("no app pod is ready"),
        "{}",
        page.message
    );
    // What users get from the page's Service: the helpline, with 503 and
    // Retry-After, served by the real page server (where the control
    // plane offers a proxy into its Services).
    if let Ok(proxy) = std::env::var("E2E_SERVICE_PROXY") {
        let client = reqwest::Client::builder()
            .proxy(reqwest::Proxy::http(&proxy).unwrap())
            .build()
            .unwrap();
        let url = format!("http://helpline-maintenance.{ns}.svc/chat");
        let (status, retry_after, body) =
            eventually("the page served", DEADLINE, Some(&operator), || async {
                let response = client.get(&url).send().await.ok()?;
                let status = response.status().as_u16();
                let retry = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap_or_default().to_string());
                let body = response.text().await.ok()?;
                (status != 502).then_some((status, retry, body))
            })
            .await;
        assert_eq!(status, 503, "{body}");
        assert!(retry_after.is_some());
        assert!(
            body.contains("Helpline is briefly unavailable") && body.contains("1800-599-0019"),
            "{body}"
        );
    }

    // The fix: the pods schedule again and the route hands back.
    set_cpu(&client, ns, &cpu, json!({})).await;
    routed(&client, ns, "helpline", &operator).await;
}
