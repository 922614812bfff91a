//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod aws_proxy;
pub mod cases;
pub mod e2e;
pub mod fake_api;
pub mod fake_server;
pub mod fleet;
pub mod harness;
pub mod logs;
pub mod moto;
pub mod postgres;
pub mod prometheus;
pub mod rbac;
pub mod revisions;
pub mod rollouts;

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The team samples under `manifests/samples/`: the five teams, and
/// MindMitra's prompt test.
pub const SAMPLES: [&str; 6] = [
    "brigade-sales",
    "claude-saas",
    "finance-assistant",
    "mindmitra",
    "mindmitra-prompt-test",
    "stock-consultant",
];

/// Each revision in a status's history with its outcome, oldest first:
/// `[(1, "Promoted"), (2, "Superseded"), …]`.
pub fn revision_outcomes(
    status: &chatbot_operator::api::ChatbotDeploymentStatus,
) -> Vec<(i64, String)> {
    status
        .revisions
        .iter()
        .map(|r| (r.revision, r.outcome.clone().unwrap_or_default()))
        .collect()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_path(name: &str) -> PathBuf {
    root()
        .join("manifests/samples")
        .join(format!("{name}.yaml"))
}

pub fn sample_text(name: &str) -> String {
    std::fs::read_to_string(sample_path(name)).expect("sample exists")
}

/// A sample as JSON, the way the API server receives it.
pub fn sample_json(name: &str) -> Value {
    serde_yaml_ng::from_str(&sample_text(name)).expect("sample is YAML")
}

/// The CRDs as committed under `manifests/crds/`.
pub fn crds_on_disk() -> Vec<Value> {
    let text =
        std::fs::read_to_string(root().join("manifests/crds/chatbot.dev.yaml")).expect("CRD file");
    chatbot_operator::document::documents(&text).expect("CRD YAML")
}

/// Parses a sample the way `render -f` does.
pub fn sample_deployment(name: &str) -> chatbot_operator::api::ChatbotDeployment {
    let path = sample_path(name);
    chatbot_operator::manifest::parse_deployments(&path.display().to_string(), &sample_text(name))
        .expect("sample parses")
        .remove(0)
}

/// A sample without the gates before a new revision's pods (its
/// `database.migrations` and `backup.beforeRollout`): for tests of
/// everything else, whose pods would otherwise wait for Jobs no Job
/// controller runs here (tests/suite/migrations.rs and backup_jobs.rs
/// cover the gates).
pub fn sample_without_gates(name: &str) -> chatbot_operator::api::ChatbotDeployment {
    let mut cbd = sample_deployment(name);
    if let Some(database) = cbd.spec.database.as_mut() {
        database.migrations = None;
    }
    cbd.spec
        .backup
        .get_or_insert_with(Default::default)
        .before_rollout = Some(false);
    cbd
}

/// Renders a sample with the embedded environments and templates.
pub fn render_sample(name: &str) -> chatbot_operator::render::Rendered {
    chatbot_operator::render::Renderer::embedded()
        .expect("embedded renderer")
        .render(&sample_deployment(name), 1)
        .expect("sample renders")
}

/// A sample moved to `environment: dev` with the environment's stores
/// (Postgres and Redis in the cluster) and PgBouncer in front of Postgres.
pub fn dev_variant(name: &str) -> chatbot_operator::api::ChatbotDeployment {
    let mut sample = sample_json(name);
    let spec = sample["spec"].as_object_mut().expect("spec");
    spec.insert("environment".into(), "dev".into());
    spec.remove("database");
    spec.remove("cache");
    spec.remove("backup");
    spec.insert(
        "database".into(),
        serde_json::json!({ "pooler": { "enabled": true, "defaultPoolSize": 20 } }),
    );
    serde_json::from_value(sample).expect("dev variant parses")
}

/// Renders [`dev_variant`] with the embedded environments and templates.
pub fn render_dev_variant(name: &str) -> chatbot_operator::render::Rendered {
    chatbot_operator::render::Renderer::embedded()
        .expect("embedded renderer")
        .render(&dev_variant(name), 1)
        .expect("dev variant renders")
}

/// A copy of `templates/` in a temporary directory.
pub fn template_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("templates")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}

/// A copy of `templates/` with `template` edited: `from` replaced by `to`.
pub fn edited_templates(template: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = template_dir();
    let path = dir.path().join(template);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{template} no longer holds {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
    dir
}
