//! Canary and blue-green fixtures: MindMitra (ingress-nginx) serving its
//! first revision, GitOps-style spec updates, and readers of the candidate
//! and the route.

use chatbot_operator::api::{Analysis, Canary, CanaryStep, ChatbotDeployment, Pause, Strategy};
use serde_json::json;

use super::harness::{Harness, path};

pub const NS: &str = "mindmitra";
pub const WEIGHT: &str = "nginx.ingress.kubernetes.io/canary-weight";

/// MindMitra (ingress-nginx) as a canary: 20%, wait for Promote, 50%.
pub fn canary() -> ChatbotDeployment {
    let mut cbd = super::sample_without_gates("mindmitra");
    let rollout = cbd.spec.rollout.get_or_insert_with(Default::default);
    rollout.strategy = Some(Strategy::Canary);
    rollout.canary = Some(Canary {
        steps: vec![
            CanaryStep {
                set_weight: Some(20),
                ..Default::default()
            },
            CanaryStep {
                pause: Some(Pause { duration: None }),
                ..Default::default()
            },
            CanaryStep {
                set_weight: Some(50),
                ..Default::default()
            },
        ],
    });
    rollout.analysis = Some(Analysis {
        enabled: Some(false),
        ..Default::default()
    });
    cbd
}

/// `cbd` created, its stores available and revision 1 serving on 2 pods.
pub async fn serving_revision_1(cbd: &ChatbotDeployment) -> (Harness, String) {
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let at = harness.create(cbd);
    harness.provision_stores(&at).await;
    harness.reconcile(&at).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&at).await;
    assert_eq!(harness.condition(&at, "Ready").0, "True");
    (harness, at)
}

/// A GitOps-style update of the spec: the generation moves.
pub fn apply_spec(harness: &mut Harness, at: &str, cbd: &ChatbotDeployment) {
    let spec = serde_json::to_value(&cbd.spec).unwrap();
    harness.api.update(at, |object| {
        object["spec"] = spec;
        let generation = object["metadata"]["generation"].as_i64().unwrap() + 1;
        object["metadata"]["generation"] = json!(generation);
    });
    harness.sync();
}

pub fn with_image(cbd: &ChatbotDeployment, image: &str) -> ChatbotDeployment {
    let mut cbd = cbd.clone();
    cbd.spec.image = image.into();
    cbd
}

pub fn image_of(harness: &Harness, deployment: &str) -> Option<String> {
    let object = harness.api.get(&path("deployments", NS, deployment))?;
    object["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .map(str::to_string)
}

/// The canary Ingress's weight; `None` when there is no canary Ingress.
pub fn canary_weight(harness: &Harness) -> Option<String> {
    let ingress = harness
        .api
        .get(&path("ingresses", NS, "mindmitra-canary"))?;
    ingress["metadata"]["annotations"][WEIGHT]
        .as_str()
        .map(str::to_string)
}

/// Ships `image` as the spec's new revision (a GitOps-style update) and
/// looks once: the candidate starts.
pub async fn ship(harness: &mut Harness, at: &str, spec: &ChatbotDeployment, image: &str) {
    apply_spec(harness, at, &with_image(spec, image));
    harness.reconcile(at).await;
}

/// The candidate's 2 pods are ready; the operator then looks `looks` times.
pub async fn candidate_ready(harness: &mut Harness, at: &str, looks: usize) {
    harness.deployment_ready(NS, "mindmitra-canary", 2);
    harness.reconcile_times(at, looks).await;
}

/// Moves the harness's clock on by `seconds`.
pub fn advance(harness: &mut Harness, seconds: i64) {
    harness.now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(harness.now.0.as_second() + seconds)
            .expect("a time"),
    );
}
