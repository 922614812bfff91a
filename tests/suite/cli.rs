//! The offline CLI as a user runs it: good input prints YAML, bad input
//! prints one clear error naming the file and the field, exits 2, and never
//! leaves partial output on stdout or panics.

use std::{
    io::Write,
    process::{Command, Output, Stdio},
};

use crate::common;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
        .args(args)
        .current_dir(common::root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn render_prints_every_child_of_a_sample() {
    let output = run(&["render", "-f", "manifests/samples/mindmitra.yaml"], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let docs = chatbot_operator::document::documents(&text(&output.stdout)).unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount",
            "ConfigMap",
            // No connection to the migration, backup, verify and restore pods.
            "NetworkPolicy",
            // The migration, and the backup, verify and restore templates.
            "Job",
            "Job",
            "Job",
            "Job",
            "Service",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "NetworkPolicy",
            // The maintenance page: its page, Service, server and budget.
            "ConfigMap",
            "Service",
            "Deployment",
            "PodDisruptionBudget",
            // Production: the app scraped, alerted on, and its dashboard.
            "PodMonitor",
            "PrometheusRule",
            "ConfigMap",
            "Ingress"
        ]
    );
}

#[test]
fn render_json_is_one_list_of_the_same_objects() {
    let yaml = run(&["render", "-f", "manifests/samples/mindmitra.yaml"], None);
    let json = run(
        &[
            "render",
            "-f",
            "manifests/samples/mindmitra.yaml",
            "-o",
            "json",
        ],
        None,
    );
    assert!(json.status.success(), "{}", text(&json.stderr));
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let docs = chatbot_operator::document::documents(&text(&yaml.stdout)).unwrap();
    assert_eq!(
        list["items"].as_array().unwrap(),
        &docs,
        "the objects YAML prints"
    );
}

#[test]
fn render_reads_several_documents_from_standard_input() {
    let stream = format!(
        "{}\n---\n{}",
        common::sample_text("mindmitra"),
        common::sample_text("brigade-sales")
    );
    let output = run(&["render", "-f", "-"], Some(&stream));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("name: mindmitra\n") && stdout.contains("name: brigade-sales\n"));
}

#[test]
fn render_env_flag_resolves_against_another_environment() {
    let output = run(
        &[
            "render",
            "-f",
            "manifests/samples/finance-assistant.yaml",
            "--env",
            "production",
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("ENVIRONMENT: production"));
}

#[test]
fn crd_prints_the_committed_crds() {
    let output = run(&["crd"], None);
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(common::root().join("manifests/crds/chatbot.dev.yaml")).unwrap();
    assert_eq!(text(&output.stdout), committed);
}

#[test]
fn plan_shows_origins_capacity_cost_and_warnings() {
    let output = run(&["plan", "-f", "manifests/samples/mindmitra.yaml"], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("replicas.max                                 4"),
        "{stdout}"
    );
    assert!(stdout.contains("(environment production)"));
    assert!(stdout.contains("needed = 8 pods × (5 pool + 2 overflow) = 56"));
    assert!(
        stdout.contains("messages/month = 50 users/day × 20 messages/user/day × 30 days = 30000")
    );
    assert!(stdout.contains("within the $145.00 budget"));
    // Its 99.9% objective's pages, and the alert when it is down.
    assert!(
        stdout.contains("\nAlerts:\n  ChatbotErrorBudgetBurn (critical over 1h and 5m, for 2m)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  ChatbotDown (critical, for 1m)\n"),
        "{stdout}"
    );
}

/// MindMitra's prompt test: what its candidate sets over the spec, and how
/// long the test takes at its traffic.
#[test]
fn plan_says_what_an_overlay_candidate_runs_and_how_long_its_test_takes() {
    let output = run(
        &["plan", "-f", "manifests/samples/mindmitra-prompt-test.yaml"],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("\nA/B candidate:\n  listen-first runs the spec with config SYSTEM_PROMPT, SYSTEM_PROMPT_VERSION set over it on the same image, as its own revision beside the stable one; once promoted, `kubectl chatbot ab mindmitra --patch` prints the spec change to commit\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("needs 1276 conversations per variant under the sequential test"),
        "{stdout}"
    );
}

#[test]
fn plan_json_is_machine_readable() {
    let output = run(
        &[
            "plan",
            "-f",
            "manifests/samples/claude-saas.yaml",
            "-o",
            "json",
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let plans: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plans[0]["name"], "claude-saas");
    assert_eq!(plans[0]["cost"]["llm"]["totalUsd"], 180.0);
    let yaml = run(
        &[
            "plan",
            "-f",
            "manifests/samples/claude-saas.yaml",
            "-o",
            "yaml",
        ],
        None,
    );
    assert!(yaml.status.success());
    let from_yaml: serde_json::Value = serde_yaml_ng::from_slice(&yaml.stdout).unwrap();
    assert_eq!(from_yaml, plans);
}

/// (what is wrong, the input, what stderr must say)
fn bad_inputs() -> Vec<(&'static str, String, &'static str)> {
    let sample = common::sample_text("brigade-sales");
    vec![
        (
            "malformed YAML",
            format!("{sample}\n  : [oops"),
            "malformed YAML",
        ),
        (
            "unknown field",
            sample.replace(
                "  replicas: { min: 2, max: 10 }",
                "  replicas: { min: 2, maximum: 10 }",
            ),
            "(brigade-sales): spec.replicas.maximum: unknown field",
        ),
        (
            "wrong type",
            sample.replace(
                "  replicas: { min: 2, max: 10 }",
                "  replicas: { min: two, max: 10 }",
            ),
            "(brigade-sales): spec.replicas.min: invalid type: string \"two\", expected i32",
        ),
        (
            "failed rule",
            sample.replace(
                "  replicas: { min: 2, max: 10 }",
                "  replicas: { min: 12, max: 10 }",
            ),
            "(brigade-sales): spec.replicas: spec.replicas.min must be less than or equal to spec.replicas.max",
        ),
        (
            "unknown environment",
            sample.replace("environment: production", "environment: prod"),
            "spec.environment: spec.environment must be one of dev, staging, production",
        ),
        (
            "missing name",
            sample.replace("  name: brigade-sales\n", ""),
            "metadata.name: required",
        ),
        (
            "other kind",
            sample.replace("kind: ChatbotDeployment", "kind: Deployment"),
            "apiVersion/kind: expected chatbot.dev/v1alpha1 ChatbotDeployment",
        ),
        ("empty input", String::new(), "no ChatbotDeployment found"),
        (
            "a contract variable set by hand",
            sample.replace(
                "  health: { path: /health }",
                "  health: { path: /health }\n  config: { LOG_LEVEL: debug }",
            ),
            "(brigade-sales): spec.config.LOG_LEVEL: LOG_LEVEL is part of the app contract",
        ),
        (
            "a second candidate named as the route's stable value",
            sample.replace(
                "        - { name: candidate, weight: 50 }",
                "        - { name: candidate, weight: 25 }\n        - { name: never, weight: 25 }",
            ),
            "(brigade-sales): spec.rollout.abTest.variants: spec.rollout.abTest.variants names always and never are the route's sticky values of a lone candidate and of the stable revision; beside other candidates each variant is reached by its name",
        ),
    ]
}

#[test]
fn bad_input_exits_2_with_one_clear_error_and_no_output() {
    for (what, input, expected) in bad_inputs() {
        for command in ["render", "plan"] {
            let output = run(&[command, "-f", "-"], Some(&input));
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(2), "{command} {what}: {stderr}");
            assert!(
                output.stdout.is_empty(),
                "{command} {what}: partial output on stdout"
            );
            assert!(
                stderr.starts_with("error: <stdin>"),
                "{command} {what}: {stderr}"
            );
            assert!(
                stderr.contains(expected),
                "{command} {what}: expected {expected:?} in {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{command} {what}: {stderr}");
            assert_eq!(
                stderr.lines().count(),
                1,
                "{command} {what}: one line: {stderr}"
            );
        }
    }
}

#[test]
fn one_bad_document_rejects_the_whole_stream() {
    let stream = format!(
        "{}\n---\n{}",
        common::sample_text("mindmitra"),
        common::sample_text("brigade-sales").replace("weight: 50 }", "weight: 40 }")
    );
    let output = run(&["render", "-f", "-"], Some(&stream));
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(text(&output.stderr).contains("(document 2, brigade-sales): spec.rollout.abTest.variants: spec.rollout.abTest.variants weights must add up to 100"));
}

#[test]
fn unknown_env_flag_and_missing_files_name_the_problem() {
    let output = run(
        &[
            "render",
            "-f",
            "manifests/samples/mindmitra.yaml",
            "--env",
            "qa",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(
        text(&output.stderr).contains("spec.environment: unknown environment \"qa\""),
        "{}",
        text(&output.stderr)
    );

    let output = run(&["render", "-f", "manifests/samples/nope.yaml"], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).starts_with("error: manifests/samples/nope.yaml: "));

    let empty = tempfile::tempdir().unwrap();
    let output = run(
        &[
            "render",
            "-f",
            "manifests/samples/mindmitra.yaml",
            "--templates",
            empty.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(
        text(&output.stderr).starts_with("error: template serviceaccount.yaml: "),
        "{}",
        text(&output.stderr)
    );
}
