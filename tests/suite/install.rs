//! `kubectl apply -k manifests/` installs a working operator: the
//! kustomization builds, every object validates against the Kubernetes
//! schemas, the operator's RBAC allows every request it makes and nothing
//! more, and the on-call role can ask for actions but never edit a
//! ChatbotDeployment.

use crate::common;

use std::process::Command;

use common::{harness::Harness, rbac};
use serde_json::Value;

fn kustomize() -> Vec<Value> {
    kustomize_dir("manifests/")
}

fn kustomize_dir(dir: &str) -> Vec<Value> {
    let output = Command::new("kubectl")
        .args(["kustomize", dir])
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

/// `manifests/monitoring/` scrapes the operator's metrics Service with
/// the resource's own `namespace` and `name` labels kept, which every
/// generated PrometheusRule selects the operator's series by.
#[test]
fn the_operator_is_scraped_with_its_resource_labels_kept() {
    let installed = kustomize();
    let service = find(&installed, "Service", "chatbot-operator-metrics");
    let monitoring = kustomize_dir("manifests/monitoring/");
    let monitor = find(&monitoring, "ServiceMonitor", "chatbot-operator");
    assert_eq!(
        monitor["metadata"]["namespace"],
        service["metadata"]["namespace"]
    );
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][key], value, "{key}");
    }
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service["spec"]["ports"][0]["name"]);
    assert_eq!(endpoint["honorLabels"], true);
}

/// Whether RBAC `rules` allow `verb` on `group`/`resource` (named `name`).
fn allows(rules: &Value, group: &str, resource: &str, name: Option<&str>, verb: &str) -> bool {
    let request = rbac::Attributes {
        verb: verb.into(),
        group: group.into(),
        resource: resource.into(),
        namespace: Some("mindmitra".into()),
        name: name.unwrap_or_default().into(),
    };
    rbac::rules_allow(rules, &request)
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
    let path = harness.create(&common::sample_without_gates("mindmitra"));
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
        let mut request =
            rbac::attributes(&method.parse().unwrap(), uri).expect("a resource request");
        let mut verbs = vec![request.verb.clone()];
        // Server-side apply creates (authorised as create too) or patches.
        if method == "PATCH" && uri.contains("fieldManager") && !request.resource.contains('/') {
            verbs.push("create".into());
        }
        for verb in verbs {
            request.verb = verb;
            assert!(
                rbac::rules_allow(cluster_rules, &request),
                "ClusterRole chatbot-operator does not allow {request:?} ({method} {uri})"
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

/// The in-memory API server the suite runs against refuses what a real
/// API server with `manifests/` installed refuses, so CI catches it: a
/// Lease the Role does not name, a verb the ClusterRole lacks, an on-call
/// edit, a protected-group CRD without approval and a CRD over the 1.26
/// CEL cost budget.
#[tokio::test]
async fn the_in_memory_api_server_refuses_what_a_real_one_refuses() {
    use std::sync::Arc;

    use chatbot_operator::{api::ChatbotDeployment, telemetry::Metrics};
    use k8s_openapi::{
        api::{coordination::v1::Lease, core::v1::Secret},
        apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    };
    use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

    let fake = common::fake_api::FakeApi::default();
    let as_who = |identity| fake.client_as(identity, Arc::new(Metrics::new()));
    let code = |error: kube::Error| match error {
        kube::Error::Api(status) => (status.code, status.message),
        other => panic!("{other}"),
    };

    // The operator: only the Lease its Role names, never a Secret deleted.
    let operator = as_who(rbac::Identity::operator());
    let leases: Api<Lease> = Api::namespaced(operator.clone(), "chatbot-operator-system");
    let (status, message) = code(leases.get("e2e-rollback").await.unwrap_err());
    assert_eq!(status, 403, "{message}");
    assert!(
        message.contains("leases.coordination.k8s.io \"e2e-rollback\" is forbidden"),
        "{message}"
    );
    assert_eq!(
        code(leases.get("chatbot-operator").await.unwrap_err()).0,
        404
    );
    let elsewhere: Api<Lease> = Api::namespaced(operator.clone(), "default");
    assert_eq!(
        code(elsewhere.get("chatbot-operator").await.unwrap_err()).0,
        403
    );
    let secrets: Api<Secret> = Api::namespaced(operator, "mindmitra");
    let deleted = secrets.delete("x", &DeleteParams::default()).await;
    assert_eq!(code(deleted.unwrap_err()).0, 403);

    // On-call, bound in its namespace: asks for actions, never edits.
    fake.grant_oncall("mindmitra");
    let oncall = as_who(common::fake_server::oncall());
    let chatbots: Api<ChatbotDeployment> = Api::namespaced(oncall, "mindmitra");
    let edit = serde_json::json!({"spec": {"paused": true}});
    let edited = chatbots
        .patch("x", &PatchParams::default(), &Patch::Merge(&edit))
        .await;
    assert_eq!(code(edited.unwrap_err()).0, 403);
    assert_eq!(code(chatbots.get("x").await.unwrap_err()).0, 404);

    // CRDs, as the cluster's administrator installs them.
    let crds: Api<CustomResourceDefinition> = Api::all(as_who(rbac::Identity::admin()));
    let create = |crd: Value| {
        let crds = crds.clone();
        async move {
            let crd: CustomResourceDefinition = serde_json::from_value(crd).unwrap();
            crds.create(&PostParams::default(), &crd).await
        }
    };
    let mut route = common::e2e::http_route_crd();
    let annotations = route["metadata"]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    let (status, message) = code(create(route.clone()).await.unwrap_err());
    assert_eq!(status, 422);
    assert!(
        message.contains("metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation"),
        "{message}"
    );
    route["metadata"]["annotations"] = annotations.unwrap();
    create(route)
        .await
        .expect("an approved Gateway API CRD installs");

    let mut chatbot_crd = common::crds_on_disk().remove(0);
    let variants = chatbot_crd
        .pointer_mut("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/rollout/properties/abTest/properties/variants")
        .unwrap();
    let committed = variants["x-kubernetes-validations"][0]["rule"].clone();
    variants["x-kubernetes-validations"][0]["rule"] = "self.map(v, v.weight).sum() == 100".into();
    let (status, message) = code(create(chatbot_crd.clone()).await.unwrap_err());
    assert_eq!(status, 422);
    assert!(
        message.contains("estimated rule cost exceeds budget by factor of more than 100x"),
        "{message}"
    );
    chatbot_crd
        .pointer_mut("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/rollout/properties/abTest/properties/variants")
        .unwrap()["x-kubernetes-validations"][0]["rule"] = committed;
    create(chatbot_crd)
        .await
        .expect("the committed CRD installs");
}

/// `manifests/namespaced/` puts the operator in one team's namespace with
/// the ClusterRole's rules as a Role there: nothing cluster-wide, the same
/// rules word for word, bound to the ServiceAccount beside it, and the
/// operator told to watch the namespace it runs in.
#[test]
fn the_namespaced_install_grants_the_same_rules_in_one_namespace_only() {
    let cluster = kustomize();
    let narrow = kustomize_dir("manifests/namespaced/");
    for object in &narrow {
        let kind = object["kind"].as_str().unwrap();
        assert!(
            !kind.starts_with("Cluster")
                && kind != "Namespace"
                && kind != "CustomResourceDefinition",
            "cluster-wide {kind} in the namespaced install"
        );
        assert_eq!(object["metadata"]["namespace"], "mindmitra", "{kind}");
    }
    let role = find(&narrow, "Role", "chatbot-operator");
    assert_eq!(
        role["rules"],
        find(&cluster, "ClusterRole", "chatbot-operator")["rules"],
        "manifests/namespaced/role.yaml must hold the ClusterRole's rules"
    );
    let binding = find(&narrow, "RoleBinding", "chatbot-operator");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{"kind": "ServiceAccount", "name": "chatbot-operator", "namespace": "mindmitra"}])
    );
    let container = &find(&narrow, "Deployment", "chatbot-operator")["spec"]["template"]["spec"]["containers"]
        [0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(args.contains(&"--namespace=$(POD_NAMESPACE)"), "{args:?}");
    let env = container["env"].as_array().unwrap();
    assert!(
        env.iter().any(|e| e["name"] == "POD_NAMESPACE"
            && e["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"),
        "the namespace comes from the pod: {env:?}"
    );
    // Leader election stays in the namespace too.
    let election = find(&narrow, "RoleBinding", "chatbot-operator-leader-election");
    assert_eq!(election["subjects"][0]["namespace"], "mindmitra");
}
