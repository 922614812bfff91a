//! GitOps tools read a ChatbotDeployment's health right: Argo CD through
//! the Lua health check in `manifests/gitops/` (run here by a real Lua 5.1,
//! the language version of Argo CD's interpreter), Flux and `kubectl wait`
//! through kstatus' rules (observedGeneration, then the abnormal-true
//! `Reconciling` and `Stalled` conditions). The statuses come from real
//! reconciles against the in-memory API server.

use crate::common;

use std::process::Command;

use common::harness::Harness;
use serde_json::{Value, json};

const NS: &str = "mindmitra";

fn lua_literal(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => format!(
            "{{{}}}",
            items.iter().map(lua_literal).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("[{k:?}] = {}", lua_literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn health_script() -> String {
    std::fs::read_to_string(common::root().join("manifests/gitops/chatbotdeployment-health.lua"))
        .unwrap()
}

/// Argo CD's verdict on `object`: (status, message).
fn argocd_health(object: &Value) -> (String, String) {
    let program = format!(
        "obj = {}\nlocal hs = (function()\n{}\nend)()\nio.write(hs.status, \"\\n\", hs.message or \"\")\n",
        lua_literal(object),
        health_script()
    );
    let output = Command::new("lua5.1")
        .args(["-e", &program])
        .output()
        .expect("lua5.1 is installed (scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (status, message) = text.split_once('\n').unwrap_or((&text, ""));
    (status.to_string(), message.to_string())
}

/// kstatus' verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status, generic rules).
fn kstatus(object: &Value) -> &'static str {
    if !object["metadata"]["deletionTimestamp"].is_null() {
        return "Terminating";
    }
    if let (Some(generation), Some(observed)) = (
        object["metadata"]["generation"].as_i64(),
        object["status"]["observedGeneration"].as_i64(),
    ) && generation != observed
    {
        return "InProgress";
    }
    let conditions = object["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let is_true = |type_: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == type_ && c["status"] == "True")
    };
    if is_true("Reconciling") {
        "InProgress"
    } else if is_true("Stalled") {
        "Failed"
    } else {
        "Current"
    }
}

async fn states() -> Vec<(&'static str, Value)> {
    let mut states = Vec::new();
    let mut harness = Harness::new();
    let path = harness.create(&common::sample_without_gates("mindmitra"));
    states.push(("new, never reconciled", harness.api.get(&path).unwrap()));
    harness.reconcile(&path).await;
    states.push(("missing secrets", harness.api.get(&path).unwrap()));
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    harness.reconcile(&path).await;
    harness.reconcile(&path).await;
    states.push(("rolling out", harness.api.get(&path).unwrap()));
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile(&path).await;
    states.push(("ready", harness.api.get(&path).unwrap()));
    harness
        .api
        .update(&path, |o| o["metadata"]["generation"] = json!(2));
    states.push((
        "spec changed, not yet observed",
        harness.api.get(&path).unwrap(),
    ));
    harness
        .api
        .update(&path, |o| o["spec"]["paused"] = json!(true));
    harness.sync();
    harness.reconcile(&path).await;
    states.push(("paused", harness.api.get(&path).unwrap()));
    states
}

#[tokio::test]
async fn argo_cd_and_kstatus_read_each_state_right() {
    let expected = [
        ("new, never reconciled", "Progressing", "InProgress"),
        ("missing secrets", "Degraded", "Failed"),
        ("rolling out", "Progressing", "InProgress"),
        ("ready", "Healthy", "Current"),
        (
            "spec changed, not yet observed",
            "Progressing",
            "InProgress",
        ),
        ("paused", "Suspended", "Current"),
    ];
    let states = states().await;
    assert_eq!(states.len(), expected.len());
    for ((name, object), (expected_name, argo, flux)) in states.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        let (status, message) = argocd_health(object);
        assert_eq!(status, argo, "Argo CD on {name}: {message}");
        assert_eq!(kstatus(object), flux, "kstatus on {name}");
        if argo == "Degraded" {
            assert!(
                message.starts_with("SecretsMissing: missing: Secret mindmitra-llm"),
                "{message}"
            );
        }
    }
}

/// A canary's states: in progress, paused for Promote, rolled back.
async fn rollout_states() -> Vec<(&'static str, Value)> {
    use common::rollouts::*;
    let mut spec = canary();
    spec.spec
        .rollout
        .as_mut()
        .unwrap()
        .progress_deadline_seconds = Some(60);
    let (mut harness, at) = serving_revision_1(&spec).await;
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    let mut states = vec![("canary starting", harness.api.get(&at).unwrap())];
    candidate_ready(&mut harness, &at, 2).await;
    states.push(("canary paused for Promote", harness.api.get(&at).unwrap()));
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.2.0-crash",
    )
    .await;
    advance(&mut harness, 61);
    harness.reconcile(&at).await;
    states.push(("canary rolled back", harness.api.get(&at).unwrap()));
    states
}

#[tokio::test]
async fn argo_cd_and_kstatus_read_each_rollout_state_right() {
    let expected = [
        ("canary starting", "Progressing", "InProgress"),
        ("canary paused for Promote", "Suspended", "Current"),
        ("canary rolled back", "Degraded", "Failed"),
    ];
    let states = rollout_states().await;
    for ((name, object), (expected_name, argo, flux)) in states.iter().zip(expected) {
        assert_eq!(*name, expected_name);
        let (status, message) = argocd_health(object);
        assert_eq!(status, argo, "Argo CD on {name}: {message}");
        assert_eq!(kstatus(object), flux, "kstatus on {name}");
        match argo {
            "Suspended" => assert!(
                message.starts_with("RolloutPaused: revision 2 has 20% of traffic"),
                "{message}"
            ),
            "Degraded" => assert!(
                message.starts_with("RolledBack: revision 3 was rolled back"),
                "{message}"
            ),
            _ => {}
        }
    }
}

#[test]
fn the_argo_cd_config_patch_carries_the_same_script() {
    let patch: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(common::root().join("manifests/gitops/argocd-cm-patch.yaml"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        patch["data"]["resource.customizations.health.chatbot.dev_ChatbotDeployment"],
        json!(health_script())
    );
}
