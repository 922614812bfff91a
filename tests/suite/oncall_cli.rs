//! The on-call commands as a user runs them: the binary, with a kubeconfig
//! pointing at the in-memory API server, reading a resource the real
//! reconciler has written status for; and as the kubectl plugin
//! `kubectl-chatbot`.

use crate::common;

use std::process::Output;

use common::{fake_server::FakeServer, revisions::dev_with_stores_up};

const NS: &str = "mindmitra";

async fn run(program: &std::path::Path, args: &[&str], server: &FakeServer) -> Output {
    tokio::process::Command::new(program)
        .args(args)
        .env(
            "KUBECONFIG",
            server.kubeconfig_as(&common::fake_server::oncall()),
        )
        .output()
        .await
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn status_and_history_read_the_resource_from_the_kubeconfigs_cluster() {
    let (mut harness, at) = dev_with_stores_up().await;
    harness.reconcile(&at).await;
    let server = FakeServer::start(harness.api.clone()).await;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_chatbot-operator"));

    // Until a platform team binds the on-call role in the namespace, the
    // API server refuses the on-call engineer, and the command says so.
    let refused = run(binary, &["status", "mindmitra", "-n", NS], &server).await;
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("forbidden") && stderr.contains("oncall-engineer"),
        "{stderr}"
    );
    harness.api.grant_oncall(NS);

    let output = run(binary, &["status", "mindmitra", "-n", NS], &server).await;
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    for expected in [
        "Name:       mindmitra",
        "Namespace:  mindmitra",
        "Revision:   current 1",
        "Pods:       0/",
        "Route:      Ingress mindmitra.example.org (ingressNginx)",
        "Conditions:",
        "DatabaseReady",
        "#1 ",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }

    // The same binary under the kubectl plugin's name.
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("kubectl-chatbot");
    std::os::unix::fs::symlink(binary, &plugin).unwrap();
    let output = run(&plugin, &["history", "mindmitra", "-n", NS], &server).await;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).starts_with("mindmitra: 1 revision(s)"),
        "{}",
        text(&output.stdout)
    );

    let output = run(binary, &["status", "nope", "-n", NS], &server).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        text(&output.stderr).trim(),
        "error: chatbotdeployment nope not found in namespace mindmitra"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_without_confirm_prints_the_plan_exits_1_and_changes_nothing() {
    let (mut harness, at) = dev_with_stores_up().await;
    harness.api.update(&at, |o| {
        o["status"]["backups"] = serde_json::json!({ "recent": [{
            "id": "20261201-040000-r1", "phase": "Succeeded", "reason": "scheduled",
            "revision": 1, "bytes": 48234496, "verified": true,
            "startedAt": "2026-12-01T04:00:00Z", "time": "2026-12-01T04:01:40Z" }] });
    });
    harness.sync();
    harness.api.grant_oncall(NS);
    let server = FakeServer::start(harness.api.clone()).await;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_chatbot-operator"));
    harness.api.clear_requests();

    let args = [
        "restore",
        "mindmitra",
        "-n",
        NS,
        "--backup",
        "20261201-040000-r1",
    ];
    let output = run(binary, &args, &server).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for expected in [
        "restore of mindmitra from backup 20261201-040000-r1:",
        "the backup: 2026-12-01T04:01:40Z, 46.0 MiB, revision 1, verified yes",
        "1. a safety backup of the data as it is now",
        "4. the connection Secret mindmitra-db switched to the new database",
        "kept, untouched, as the undo for 7 days",
        "nothing was changed: run again with --confirm to carry it out",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in:\n{stdout}");
    }
    let writes: Vec<String> = harness
        .take_requests()
        .into_iter()
        .filter(|l| !l.starts_with("GET"))
        .collect();
    assert!(writes.is_empty(), "nothing is written: {writes:?}");

    // Neither a backup nor a revision: a usage error naming both.
    let output = run(binary, &["restore", "mindmitra", "-n", NS], &server).await;
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("--backup <ID>") && stderr.contains("--revision <N>"),
        "{stderr}"
    );
}
