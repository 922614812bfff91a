//! `kubectl apply -k manifests/` installs a working operator: the
//! kustomization builds, every object validates against the Kubernetes
//! schemas, the operator's RBAC allows every request it makes and nothing
//! more, and the on-call role can ask for actions but never edit a
//! ChatbotDeployment.

mod common;

use std::process::Command;

use common::harness::Harness;
use serde_json::Value;

fn kustomize() -> Vec<Value> {
    let output = Command::new("kubectl")
        .args(["kustomize", "manifests/"])
        .current_dir(common::root())
        .output()
        .expect("kubectl is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    chatbot_operator::document::documents(&String::from_utf8(output.stdout).unwrap()).unwrap()
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} in the kustomization"))
}

/// Whether RBAC `rules` allow `verb` on `group`/`resource` (named `name`).
fn allows(rules: &Value, group: &str, resource: &str, name: Option<&str>, verb: &str) -> bool {
    rules.as_array().unwrap().iter().any(|rule| {
        let has = |key: &str, value: &str| {
            rule[key]
                .as_array()
                .is_some_and(|items| items.iter().any(|i| i == value))
        };
        let names_ok = match (rule["resourceNames"].as_array(), name) {
            (None, _) => true,
            (Some(names), Some(name)) => names.iter().any(|n| n == name),
            (Some(_), None) => false,
        };
        has("apiGroups", group) && has("resources", resource) && has("verbs", verb) && names_ok
    })
}

/// (group, resource with subresource, name, verbs) of a request path.
fn request_rbac(method: &str, uri: &str) -> (String, String, Option<String>, Vec<&'static str>) {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = if segments[0] == "api" {
        (String::new(), &segments[2..])
    } else {
        (segments[1].to_string(), &segments[3..])
    };
    let rest = if rest.first() == Some(&"namespaces") && rest.len() > 2 {
        &rest[2..]
    } else {
        rest
    };
    let resource = match rest {
        [resource, _, sub, ..] => format!("{resource}/{sub}"),
        [resource, ..] => resource.to_string(),
        [] => unreachable!(),
    };
    let name = rest.get(1).map(|s| s.to_string());
    let verbs = match method {
        "GET" if query.contains("watch=true") => vec!["watch"],
        "GET" if name.is_some() => vec!["get"],
        "GET" => vec!["list"],
        "POST" => vec!["create"],
        "PUT" => vec!["update"],
        "DELETE" => vec!["delete"],
        // Server-side apply creates (authorised as create) or patches.
        "PATCH" if query.contains("fieldManager") && !resource.contains('/') => {
            vec!["create", "patch"]
        }
        "PATCH" => vec!["patch"],
        other => panic!("unexpected method {other}"),
    };
    (group, resource, name, verbs)
}

#[test]
fn the_kustomization_installs_crds_rbac_and_a_restricted_operator() {
    let objects = kustomize();
    let kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "CustomResourceDefinition/chatbotdeployments.chatbot.dev",
        "CustomResourceDefinition/chatbotactions.chatbot.dev",
        "Namespace/chatbot-operator-system",
        "ServiceAccount/chatbot-operator",
        "ClusterRole/chatbot-operator",
        "ClusterRoleBinding/chatbot-operator",
        "Role/chatbot-operator-leader-election",
        "RoleBinding/chatbot-operator-leader-election",
        "ClusterRole/chatbot-operator-oncall",
        "Deployment/chatbot-operator",
        "PodDisruptionBudget/chatbot-operator",
    ] {
        assert!(
            kinds.contains(&expected.to_string()),
            "{expected} missing from {kinds:?}"
        );
    }
    let text = serde_json::to_string(&objects).unwrap();
    assert!(!text.contains("\"*\""), "no wildcard anywhere in the RBAC");

    let deployment = find(&objects, "Deployment", "chatbot-operator");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "chatbot-operator");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    assert_eq!(container["args"][0], "run");
    assert_eq!(
        container["securityContext"]["allowPrivilegeEscalation"],
        false
    );
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["securityContext"]["capabilities"]["drop"][0],
        "ALL"
    );
    assert!(container["resources"]["limits"]["memory"].is_string());
    assert!(container["resources"]["requests"]["cpu"].is_string());
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"POD_NAMESPACE") && env.contains(&"POD_NAME"));
    assert_eq!(
        find(&objects, "Namespace", "chatbot-operator-system")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "restricted"
    );
}

#[test]
fn the_installed_objects_validate_against_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (index, object) in kustomize().iter().enumerate() {
        if object["kind"] == "CustomResourceDefinition" {
            continue; // checked by tests/crds.rs and the e2e suite
        }
        let path = dir.path().join(format!("{index}.yaml"));
        std::fs::write(&path, serde_yaml_ng::to_string(object).unwrap()).unwrap();
        files.push(path);
    }
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(python)
        .args([
            "-m",
            "kubernetes_validate",
            "--strict",
            "--quiet",
            "--no-warn",
            "-k",
            "1.25.0",
        ])
        .args(&files)
        .output()
        .expect("python3 with kubernetes-validate (scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_operator_role_allows_every_request_the_operator_makes() {
    let objects = kustomize();
    let cluster_rules = &find(&objects, "ClusterRole", "chatbot-operator")["rules"];
    let lease_rules = &find(&objects, "Role", "chatbot-operator-leader-election")["rules"];

    // The requests of a creation, a rollout, pruning, generated values, an
    // action and the watches the caches run.
    let mut harness = Harness::new();
    harness.secret("mindmitra", "mindmitra-llm", &["api-key"]);
    harness.secret("mindmitra", "mindmitra-sentry", &["dsn"]);
    let path = harness.create(&common::sample_without_migrations("mindmitra"));
    harness.reconcile(&path).await;
    let mut cbd = harness.chatbot(&path);
    cbd.spec.replicas.as_mut().unwrap().max = Some(2);
    cbd.spec.secrets.as_mut().unwrap().generated =
        Some(vec!["SECRET_KEY".into(), "JWT_SECRET".into()]);
    let spec = serde_json::to_value(&cbd.spec).unwrap();
    harness.api.update(&path, |o| o["spec"] = spec);
    harness.sync();
    harness.reconcile(&path).await;
    let mut requests: Vec<(String, String)> = harness
        .api
        .requests()
        .iter()
        .map(|r| (r.method.to_string(), r.uri.clone()))
        .collect();
    for resource in [
        "/apis/chatbot.dev/v1alpha1/chatbotdeployments",
        "/apis/chatbot.dev/v1alpha1/chatbotactions",
        "/api/v1/serviceaccounts",
        "/api/v1/configmaps",
        "/api/v1/services",
        "/api/v1/secrets",
        "/apis/apps/v1/deployments",
        "/apis/autoscaling/v2/horizontalpodautoscalers",
        "/apis/policy/v1/poddisruptionbudgets",
        "/apis/networking.k8s.io/v1/networkpolicies",
        "/apis/networking.k8s.io/v1/ingresses",
        "/apis/gateway.networking.k8s.io/v1/httproutes",
    ] {
        requests.push(("GET".into(), resource.into()));
        requests.push(("GET".into(), format!("{resource}?watch=true")));
    }
    requests.push((
        "PATCH".into(),
        "/apis/chatbot.dev/v1alpha1/namespaces/mindmitra/chatbotactions/x/status?fieldManager=chatbot-operator".into(),
    ));
    let verbs_seen: Vec<String> = requests.iter().map(|(m, _)| m.clone()).collect();
    assert!(
        verbs_seen.contains(&"DELETE".to_string()),
        "the scenario prunes"
    );

    for (method, uri) in &requests {
        let (group, resource, name, verbs) = request_rbac(method, uri);
        for verb in verbs {
            assert!(
                allows(cluster_rules, &group, &resource, name.as_deref(), verb),
                "ClusterRole chatbot-operator does not allow {verb} {group}/{resource} ({method} {uri})"
            );
        }
    }
    // Leader election.
    for verb in ["get", "update"] {
        assert!(allows(
            lease_rules,
            "coordination.k8s.io",
            "leases",
            Some("chatbot-operator"),
            verb
        ));
    }
    assert!(allows(
        lease_rules,
        "coordination.k8s.io",
        "leases",
        None,
        "create"
    ));
    assert!(!allows(
        lease_rules,
        "coordination.k8s.io",
        "leases",
        Some("another-lease"),
        "update"
    ));
    // Least privilege: what it never does, it may not do.
    assert!(!allows(cluster_rules, "", "secrets", Some("x"), "delete"));
    assert!(!allows(cluster_rules, "", "secrets", Some("x"), "update"));
    // `patch` on the resources is for its finalizer only: it never
    // updates (replaces) a spec GitOps owns.
    assert!(!allows(
        cluster_rules,
        "chatbot.dev",
        "chatbotdeployments",
        Some("x"),
        "update"
    ));
    assert!(!allows(cluster_rules, "", "pods", Some("x"), "get"));
}

#[test]
fn the_oncall_role_asks_for_actions_and_never_edits_a_deployment() {
    let objects = kustomize();
    let rules = &find(&objects, "ClusterRole", "chatbot-operator-oncall")["rules"];
    assert!(allows(
        rules,
        "chatbot.dev",
        "chatbotactions",
        None,
        "create"
    ));
    for verb in ["get", "list", "watch"] {
        assert!(allows(
            rules,
            "chatbot.dev",
            "chatbotdeployments",
            Some("x"),
            verb
        ));
        assert!(allows(
            rules,
            "chatbot.dev",
            "chatbotactions",
            Some("x"),
            verb
        ));
    }
    for verb in ["create", "update", "patch", "delete"] {
        assert!(
            !allows(rules, "chatbot.dev", "chatbotdeployments", Some("x"), verb),
            "{verb}"
        );
    }
    assert!(!allows(
        rules,
        "chatbot.dev",
        "chatbotdeployments/status",
        Some("x"),
        "patch"
    ));
    assert!(!allows(
        rules,
        "chatbot.dev",
        "chatbotactions",
        Some("x"),
        "delete"
    ));
    assert!(!allows(rules, "", "secrets", Some("x"), "get"));
}
