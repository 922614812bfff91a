//! `render --diff` against the in-memory API server on a loopback port
//! (the binary itself, from a kubeconfig): nothing to show after the
//! operator applied the same spec, a reviewed change as a unified diff, a
//! child the spec no longer asks for shown going away, and an error as
//! exit code 2. The dry run changes nothing.

use crate::common;
use common::{
    fake_server::{FakeServer, oncall},
    harness::{Harness, path},
    rbac::Identity,
};

const NS: &str = "mindmitra";

/// Dev MindMitra as the operator applied it, the API server on a port,
/// and the resource's file.
async fn applied() -> (Harness, FakeServer, tempfile::TempDir, serde_json::Value) {
    let (harness, at) = common::revisions::dev_with_stores_up_as(|cbd| {
        // The page would hold the route while no pod is ready; this is
        // about the spec's own children.
        cbd.spec.maintenance = None;
    })
    .await;
    let server = FakeServer::start(harness.api.clone()).await;
    let mut resource = harness.api.get(&at).unwrap();
    for key in ["status", "metadata"] {
        resource.as_object_mut().unwrap().remove(key);
    }
    resource["metadata"] = serde_json::json!({"name": "mindmitra", "namespace": NS});
    (harness, server, tempfile::tempdir().unwrap(), resource)
}

fn write(dir: &tempfile::TempDir, resource: &serde_json::Value) -> String {
    let file = dir.path().join("mindmitra.yaml");
    std::fs::write(&file, serde_yaml_ng::to_string(resource).unwrap()).unwrap();
    file.display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn the_applied_spec_shows_no_change_and_a_new_image_shows_exactly_where() {
    let (harness, server, dir, mut resource) = applied().await;
    let admin = Identity::admin();
    let file = write(&dir, &resource);
    let same = server
        .cli_as(&admin, &["render", "-f", &file, "--diff"])
        .await;
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}{}",
        text(&same.stdout),
        text(&same.stderr)
    );
    assert_eq!(text(&same.stdout), "");

    resource["spec"]["image"] = "ghcr.io/mindmitra/support-bot:1.1.0".into();
    let file = write(&dir, &resource);
    let changed = server
        .cli_as(&admin, &["render", "-f", &file, "--diff"])
        .await;
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed.stderr));
    let diff = text(&changed.stdout);
    assert!(diff.contains("--- live/apps.v1.Deployment.mindmitra.mindmitra\n+++ merged/apps.v1.Deployment.mindmitra.mindmitra\n"), "{diff}");
    assert!(
        diff.contains("-        image: ghcr.io/mindmitra/support-bot:1.0.0\n"),
        "{diff}"
    );
    assert!(
        diff.contains("+        image: ghcr.io/mindmitra/support-bot:1.1.0\n"),
        "{diff}"
    );
    // A dry run: the cluster is as it was.
    let live = harness
        .api
        .get(&path("deployments", NS, "mindmitra"))
        .unwrap();
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["image"],
        "ghcr.io/mindmitra/support-bot:1.0.0"
    );
}

#[tokio::test]
async fn a_child_the_spec_no_longer_asks_for_is_shown_going_away() {
    let (_harness, server, dir, mut resource) = applied().await;
    resource["spec"]["traffic"] = serde_json::json!({"provider": "none"});
    let file = write(&dir, &resource);
    let output = server
        .cli_as(&Identity::admin(), &["render", "-f", &file, "--diff"])
        .await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let diff = text(&output.stdout);
    let ingress = diff
        .split("--- live/")
        .find(|part| part.starts_with("networking.k8s.io.v1.Ingress.mindmitra.mindmitra"))
        .unwrap_or_else(|| panic!("the Ingress goes: {diff}"));
    assert!(
        ingress.lines().skip(3).all(|l| l.starts_with('-')),
        "every line of it is removed: {ingress}"
    );
}

#[tokio::test]
async fn a_refused_dry_run_is_an_error_with_exit_code_2() {
    let (_harness, server, dir, resource) = applied().await;
    let file = write(&dir, &resource);
    // On-call engineers may not change Deployments, not even in a dry run.
    let output = server
        .cli_as(&oncall(), &["render", "-f", &file, "--diff"])
        .await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("mindmitra"), "{stderr}");
    assert_eq!(text(&output.stdout), "");
}
