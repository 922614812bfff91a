//! Rendered children validated against the Kubernetes OpenAPI schemas with
//! `kubernetes-validate` (PyPI), strictly (unknown fields rejected), for
//! the oldest schema it ships (1.25, nearest the 1.24 floor) and a current
//! one. `scripts/test.sh` installs it; without it this test fails and says so.

use std::{path::Path, process::Command};

use chatbot_operator::render;

use crate::common;

const KUBERNETES_VERSIONS: [&str; 2] = ["1.25.0", "1.32.0"];

fn validate(files: &[std::path::PathBuf], version: &str) -> std::process::Output {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(python)
        .args(["-m", "kubernetes_validate", "--strict", "--quiet", "--no-warn", "-k", version])
        .args(files)
        .output()
        .inspect(|output| {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !stderr.contains("No module named kubernetes_validate"),
                "kubernetes-validate is not installed: run scripts/test.sh or `python3 -m pip install kubernetes-validate`"
            );
        })
        .unwrap_or_else(|error| panic!("python3 is needed for kubernetes-validate: {error}"))
}

/// Every file validates against each Kubernetes version's schemas.
fn assert_valid(files: &[std::path::PathBuf]) {
    for version in KUBERNETES_VERSIONS {
        let output = validate(files, version);
        assert!(
            output.status.success(),
            "Kubernetes {version}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn write(dir: &Path, name: &str, yaml: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

#[test]
fn rendered_samples_validate_against_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for name in common::SAMPLES {
        for (index, child) in common::render_sample(name).children.iter().enumerate() {
            let yaml = render::to_yaml(std::slice::from_ref(child)).unwrap();
            files.push(write(dir.path(), &format!("{name}-{index}.yaml"), &yaml));
        }
    }
    // In-cluster Postgres, Redis and PgBouncer.
    for (index, child) in common::render_dev_variant("mindmitra")
        .children
        .iter()
        .enumerate()
    {
        let yaml = render::to_yaml(std::slice::from_ref(child)).unwrap();
        files.push(write(dir.path(), &format!("dev-{index}.yaml"), &yaml));
    }
    assert_valid(&files);
}

/// Proves the validator above can fail: an object it must reject.
#[test]
fn the_validator_rejects_an_invalid_object() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = common::render_sample("mindmitra")
        .children
        .into_iter()
        .find(|c| c.kind() == render::ChildKind::Deployment)
        .unwrap();
    let yaml = render::to_yaml(std::slice::from_mut(&mut child))
        .unwrap()
        .replace("maxUnavailable: 0", "maxUnavailable: [0]");
    let file = write(dir.path(), "broken.yaml", &yaml);
    assert!(!validate(&[file], KUBERNETES_VERSIONS[0]).status.success());
}

/// The Ingresses of a canary split (main and canary), as ingress-nginx
/// gets them.
#[test]
fn canary_ingresses_validate_against_the_kubernetes_schemas() {
    use chatbot_operator::{
        api::Sticky,
        rollout::traffic::{Split, ingresses},
    };
    // Where MindMitra is exposed (ingress-nginx, TLS by cert-manager), as
    // the render pipeline builds it.
    let rendered = common::render_sample("mindmitra");
    let route = rendered.context.network.route.as_ref().expect("a route");
    let exposure = render::exposure(&rendered.context, route);
    let split = Split::one(
        "mindmitra",
        "mindmitra-canary",
        30,
        Some(Sticky {
            header: Some("X-Chatbot-Variant".into()),
            cookie: None,
        }),
    );
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<_> = ingresses(&exposure, &split)
        .iter()
        .enumerate()
        .map(|(index, ingress)| {
            let mut value = serde_json::to_value(ingress).unwrap();
            value["apiVersion"] = "networking.k8s.io/v1".into();
            value["kind"] = "Ingress".into();
            write(
                dir.path(),
                &format!("ingress-{index}.yaml"),
                &serde_yaml_ng::to_string(&value).unwrap(),
            )
        })
        .collect();
    assert_eq!(files.len(), 2);
    assert_valid(&files);
}

/// The HTTPRoute CRD the end-to-end tests install (from the `gateway-api`
/// crate's types) is a well-formed CustomResourceDefinition that an API
/// server admits: approved for its protected group, its rules within the
/// 1.26 cost budget.
#[test]
fn the_http_route_crd_installed_for_end_to_end_tests_is_a_valid_object() {
    let dir = tempfile::tempdir().unwrap();
    let crd = common::e2e::http_route_crd();
    assert_eq!(
        crd["metadata"]["name"],
        "httproutes.gateway.networking.k8s.io"
    );
    let refused = chatbot_operator::api::crd_admission::violations(&crd);
    assert!(refused.is_empty(), "{refused:#?}");
    let yaml = serde_yaml_ng::to_string(&crd).unwrap();
    let file = write(dir.path(), "httproute-crd.yaml", &yaml);
    assert_valid(std::slice::from_ref(&file));
}

/// Validates HTTPRoute files against the HTTPRoute CRD's own
/// `openAPIV3Schema` with `jsonschema` (a dependency of
/// kubernetes-validate), strictly: a field the schema does not declare is
/// an error, as a structural schema would prune it silently.
fn validate_against_crd(
    crd: &serde_json::Value,
    files: &[std::path::PathBuf],
) -> std::process::Output {
    const CHECK: &str = r#"
import json, sys, yaml, jsonschema
crd = json.load(open(sys.argv[1]))
schema = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")["schema"]["openAPIV3Schema"]
def strict(node):
    if isinstance(node, dict):
        if node.get("type") == "object" and isinstance(node.get("properties"), dict):
            node.setdefault("additionalProperties", False)
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
strict(schema["properties"]["spec"])  # apiVersion, kind and metadata are the API server's
failed = False
for path in sys.argv[2:]:
    for error in jsonschema.Draft7Validator(schema).iter_errors(yaml.safe_load(open(path))):
        print(path, "/".join(map(str, error.path)), error.message)
        failed = True
sys.exit(1 if failed else 0)
"#;
    let dir = tempfile::tempdir().unwrap();
    let crd_file = dir.path().join("crd.json");
    std::fs::write(&crd_file, serde_json::to_vec(crd).unwrap()).unwrap();
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    Command::new(python)
        .args(["-c", CHECK])
        .arg(&crd_file)
        .args(files)
        .output()
        .expect("python3 with jsonschema (scripts/test.sh installs kubernetes-validate, which brings it)")
}

/// The HTTPRoute of a sticky canary with the edge's response headers, as
/// the Gateway API's CRD schema admits it; and the check can fail.
#[test]
fn http_routes_with_edge_headers_validate_against_the_gateway_api_crd() {
    use chatbot_operator::{
        api::Sticky,
        rollout::traffic::{Edge, Split, http_route},
    };
    let rendered = common::render_sample("claude-saas");
    let route = rendered.context.network.route.as_ref().expect("a route");
    let mut exposure = render::exposure(&rendered.context, route);
    exposure.edge = Edge {
        response_headers: vec![
            (
                "Strict-Transport-Security".into(),
                "max-age=31536000".into(),
            ),
            (
                "Content-Security-Policy".into(),
                "default-src 'self'".into(),
            ),
        ],
        ..Edge::default()
    };
    let split = Split::one(
        "claude-saas",
        "claude-saas-canary",
        10,
        Some(Sticky {
            header: None,
            cookie: Some("variant".into()),
        }),
    );
    let mut value = serde_json::to_value(http_route(&exposure, &split)).unwrap();
    value["apiVersion"] = "gateway.networking.k8s.io/v1".into();
    value["kind"] = "HTTPRoute".into();
    assert!(value["spec"]["rules"][0]["filters"][0]["responseHeaderModifier"].is_object());
    let dir = tempfile::tempdir().unwrap();
    let good = write(
        dir.path(),
        "route.yaml",
        &serde_yaml_ng::to_string(&value).unwrap(),
    );
    let crd = common::e2e::http_route_crd();
    let output = validate_against_crd(&crd, std::slice::from_ref(&good));
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    value["spec"]["rules"][0]["filters"][0]["type"] = "SetResponseHeaders".into();
    value["spec"]["rules"][1]["filters"][0]["responseHeaderModifier"]["replace"] =
        serde_json::json!([]);
    let bad = write(
        dir.path(),
        "bad.yaml",
        &serde_yaml_ng::to_string(&value).unwrap(),
    );
    let output = validate_against_crd(&crd, std::slice::from_ref(&bad));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{printed}");
    assert!(printed.contains("SetResponseHeaders"), "{printed}");
    assert!(printed.contains("replace"), "{printed}");
}

/// An A/B test's most candidates, seven, give a route the Gateway API's
/// CRD schema admits: a sticky rule per variant and eight weighted
/// backends that each set their variant's cookie.
#[test]
fn an_http_route_of_seven_candidates_validates_against_the_gateway_api_crd() {
    use chatbot_operator::{
        api::Sticky,
        rollout::traffic::{Candidate, Split, http_route},
    };
    let rendered = common::render_sample("claude-saas");
    let route = rendered.context.network.route.as_ref().expect("a route");
    let exposure = render::exposure(&rendered.context, route);
    let split = Split {
        stable_service: "claude-saas".into(),
        candidates: (1..=7)
            .map(|i| Candidate {
                service: format!("claude-saas-canary-{i}"),
                weight: 10,
                sticky_value: format!("prompt-{i}"),
            })
            .collect(),
        sticky: Some(Sticky {
            header: None,
            cookie: Some("variant".into()),
        }),
    };
    let mut value = serde_json::to_value(http_route(&exposure, &split)).unwrap();
    value["apiVersion"] = "gateway.networking.k8s.io/v1".into();
    value["kind"] = "HTTPRoute".into();
    let rules = value["spec"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 9, "seven candidates, never, then by weight");
    assert_eq!(rules[8]["backendRefs"].as_array().unwrap().len(), 8);
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "route.yaml",
        &serde_yaml_ng::to_string(&value).unwrap(),
    );
    let output = validate_against_crd(&common::e2e::http_route_crd(), &[file]);
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
