//! A resource with a history: dev MindMitra whose revisions 1 and 2 rolled
//! out, with the ReplicaSets Kubernetes keeps of them, for the rollback
//! tests and bench.

use serde_json::json;

use super::harness::{Harness, path};

pub const NS: &str = "mindmitra";

/// What the Deployment controller keeps of each revision: a ReplicaSet
/// with the pod template it ran, owned by the Deployment.
pub fn keep_replica_set(harness: &Harness, revision: i64) {
    let deployment = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"]["pod-template-hash"] = json!(format!("hash{revision}"));
    let name = format!("mindmitra-hash{revision}");
    harness.api.insert(
        &path("replicasets", NS, &name),
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": NS,
                "labels": template["metadata"]["labels"].clone(),
                "creationTimestamp": format!("2026-11-25T10:0{revision}:00Z"),
                "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment", "name": "mindmitra",
                    "uid": deployment["metadata"]["uid"].clone(), "controller": true
                }]
            },
            "spec": { "selector": deployment["spec"]["selector"].clone(), "template": template }
        }),
    );
}

pub fn template_of(harness: &Harness) -> (String, String) {
    let deployment = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    let template = &deployment["spec"]["template"];
    (
        template["spec"]["containers"][0]["image"]
            .as_str()
            .unwrap()
            .to_string(),
        template["metadata"]["labels"]["chatbot.dev/revision"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

pub fn set_image(harness: &mut Harness, at: &str, image: &str) {
    harness.api.update(at, |cbd| {
        cbd["spec"]["image"] = json!(image);
        let generation = cbd["metadata"]["generation"].as_i64().unwrap();
        cbd["metadata"]["generation"] = json!(generation + 1);
    });
    harness.sync();
}

/// A dev MindMitra whose in-cluster stores are up, reconciled once
/// more: its first revision is made.
pub async fn dev_with_stores_up() -> (Harness, String) {
    dev_with_stores_up_as(|_| {}).await
}

/// [`dev_with_stores_up`] with `edit` applied to the resource first.
pub async fn dev_with_stores_up_as(
    edit: impl FnOnce(&mut chatbot_operator::api::ChatbotDeployment),
) -> (Harness, String) {
    dev_with_stores_up_in(Harness::new(), edit).await
}

/// [`dev_with_stores_up_as`] in `harness` (a cluster set up beforehand).
pub async fn dev_with_stores_up_in(
    mut harness: Harness,
    edit: impl FnOnce(&mut chatbot_operator::api::ChatbotDeployment),
) -> (Harness, String) {
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    // Rolling: the rollback tests are about the app Deployment's own
    // revisions (Canary and BlueGreen run a candidate beside it).
    let mut cbd = super::dev_variant("mindmitra");
    cbd.spec
        .rollout
        .get_or_insert_with(Default::default)
        .strategy = Some(chatbot_operator::api::Strategy::Rolling);
    edit(&mut cbd);
    let at = harness.create(&cbd);
    harness.reconcile(&at).await;
    for store in ["mindmitra-postgres", "mindmitra-redis"] {
        harness.api.set_status(
            &path("statefulsets", NS, store),
            json!({ "replicas": 1, "readyReplicas": 1, "availableReplicas": 1 }),
        );
    }
    harness.sync();
    harness.reconcile(&at).await;
    (harness, at)
}

/// A dev MindMitra whose revisions 1 (1.0.0) and 2 (1.1.0) both rolled
/// out, with the ReplicaSets Kubernetes keeps of them.
pub async fn two_revisions() -> (Harness, String) {
    let (mut harness, at) = dev_with_stores_up().await;
    harness.deployment_ready(NS, "mindmitra-pgbouncer", 1);
    harness.deployment_ready(NS, "mindmitra", 1);
    harness.reconcile(&at).await;
    keep_replica_set(&harness, 1);
    set_image(&mut harness, &at, "ghcr.io/mindmitra/support-bot:1.1.0");
    harness.reconcile(&at).await;
    harness.deployment_ready(NS, "mindmitra", 1);
    harness.reconcile(&at).await;
    keep_replica_set(&harness, 2);
    let status = harness.chatbot(&at).status.unwrap();
    assert_eq!(
        (status.current_revision, status.stable_revision),
        (Some(2), Some(2))
    );
    (harness, at)
}
