//! The render pipeline on the five team samples: what each child must hold
//! for a platform team to trust it.

use std::collections::BTreeMap;

use chatbot_operator::render::{self, Child, ChildKind, Object, RenderError, Renderer, Templates};
use k8s_openapi::api::apps::v1::Deployment;

use crate::common;

fn deployment(rendered: &render::Rendered) -> &Deployment {
    rendered
        .children
        .iter()
        .find_map(Child::app_deployment)
        .expect("a Deployment is rendered")
}

/// Secret name and key an environment variable refers to.
fn secret_ref(var: &k8s_openapi::api::core::v1::EnvVar) -> (&str, &str) {
    let reference = var
        .value_from
        .as_ref()
        .and_then(|from| from.secret_key_ref.as_ref())
        .unwrap_or_else(|| panic!("{} comes from a Secret", var.name));
    (reference.name.as_str(), reference.key.as_str())
}

fn kinds(rendered: &render::Rendered) -> Vec<ChildKind> {
    rendered.children.iter().map(Child::kind).collect()
}

#[test]
fn samples_render_to_the_reviewed_snapshots() {
    for name in common::SAMPLES {
        let yaml = render::to_yaml(&common::render_sample(name).children).unwrap();
        insta::assert_snapshot!(format!("render_{name}"), yaml);
    }
}

#[test]
fn render_is_byte_identical_across_runs_and_renderers() {
    for name in common::SAMPLES {
        let first = render::to_yaml(&common::render_sample(name).children).unwrap();
        let second = render::to_yaml(&common::render_sample(name).children).unwrap();
        assert_eq!(first, second, "{name}");
    }
}

/// Every pod template a rendering holds: the app's, and those of the data
/// services run in the cluster, with whether it is the app's.
fn pod_specs(
    rendered: &render::Rendered,
) -> Vec<(String, bool, k8s_openapi::api::core::v1::PodSpec)> {
    rendered
        .children
        .iter()
        .filter_map(|child| {
            let spec = match child.object() {
                Object::Deployment(d) => d.spec.as_ref()?.template.spec.clone()?,
                Object::StatefulSet(s) => s.spec.as_ref()?.template.spec.clone()?,
                _ => return None,
            };
            Some((
                child.name().to_string(),
                child.kind() == ChildKind::Deployment,
                spec,
            ))
        })
        .collect()
}

#[test]
fn every_pod_meets_the_restricted_pod_security_standard() {
    let renderings = common::SAMPLES
        .iter()
        .map(|name| common::render_sample(name))
        .chain(
            common::SAMPLES
                .iter()
                .map(|name| common::render_dev_variant(name)),
        );
    let mut data_services = 0;
    for rendered in renderings {
        for (name, app, pod) in pod_specs(&rendered) {
            data_services += usize::from(!app);
            let pod_security = pod.security_context.as_ref().unwrap();
            assert_eq!(pod_security.run_as_non_root, Some(true), "{name}");
            assert_eq!(
                pod_security
                    .seccomp_profile
                    .as_ref()
                    .map(|p| p.type_.as_str()),
                Some("RuntimeDefault"),
                "{name}"
            );
            assert_eq!(pod.automount_service_account_token, Some(false), "{name}");
            for container in &pod.containers {
                let security = container.security_context.as_ref().unwrap();
                assert_eq!(security.allow_privilege_escalation, Some(false), "{name}");
                assert_eq!(security.read_only_root_filesystem, Some(true), "{name}");
                assert_eq!(security.run_as_non_root, Some(true), "{name}");
                assert_eq!(
                    security.capabilities.as_ref().and_then(|c| c.drop.clone()),
                    Some(vec!["ALL".to_string()]),
                    "{name}"
                );
                assert!(security.privileged.is_none(), "{name}");
                let mounts = container.volume_mounts.as_ref().unwrap();
                assert!(
                    mounts.iter().any(|m| m.mount_path == "/tmp"),
                    "{name}: /tmp is writable"
                );
                let resources = container.resources.as_ref().unwrap();
                for map in [&resources.requests, &resources.limits] {
                    let map = map.as_ref().unwrap();
                    assert!(
                        map.contains_key("cpu") && map.contains_key("memory"),
                        "{name}"
                    );
                }
                assert!(container.readiness_probe.is_some(), "{name}");
                assert!(container.liveness_probe.is_some(), "{name}");
                if app {
                    assert!(container.startup_probe.is_some(), "{name}");
                }
            }
            assert!(pod.host_network.is_none() && pod.host_pid.is_none() && pod.host_ipc.is_none());
            assert!(
                pod.volumes
                    .as_ref()
                    .unwrap()
                    .iter()
                    .all(|v| v.host_path.is_none())
            );
        }
    }
    assert!(
        data_services >= 15,
        "Postgres, Redis and PgBouncer of each dev variant"
    );
}

#[test]
fn dev_stores_run_in_the_cluster_behind_their_own_network_policy() {
    let rendered = common::render_dev_variant("mindmitra");
    assert_eq!(
        kinds(&rendered),
        [
            ChildKind::ServiceAccount,
            ChildKind::ConfigMap,
            ChildKind::StoreNetworkPolicy,
            ChildKind::DatabaseService,
            ChildKind::Database,
            ChildKind::CacheService,
            ChildKind::Cache,
            ChildKind::PoolerService,
            ChildKind::Pooler,
            ChildKind::Service,
            ChildKind::Deployment,
            ChildKind::HorizontalPodAutoscaler,
            ChildKind::PodDisruptionBudget,
            ChildKind::NetworkPolicy,
            ChildKind::MaintenancePage,
            ChildKind::MaintenanceService,
            ChildKind::Maintenance,
            ChildKind::MaintenanceDisruptionBudget,
            // Not scraped in dev, but alerted on: MindMitra sets an objective.
            ChildKind::AlertRules,
            ChildKind::Ingress,
        ]
    );
    let postgres = rendered
        .children
        .iter()
        .find_map(|c| match (c.kind(), c.object()) {
            (ChildKind::Database, Object::StatefulSet(s)) => Some(s.as_ref()),
            _ => None,
        })
        .expect("the Postgres StatefulSet");
    let spec = postgres.spec.as_ref().unwrap();
    assert_eq!(
        postgres.metadata.name.as_deref(),
        Some("mindmitra-postgres")
    );
    assert_eq!(spec.service_name.as_deref(), Some("mindmitra-postgres"));
    let claim = &spec.volume_claim_templates.as_ref().unwrap()[0];
    assert_eq!(
        claim
            .spec
            .as_ref()
            .unwrap()
            .resources
            .as_ref()
            .unwrap()
            .requests
            .as_ref()
            .unwrap()["storage"]
            .0,
        "5Gi",
        "the dev environment's storageGiB"
    );
    assert_eq!(
        spec.persistent_volume_claim_retention_policy
            .as_ref()
            .unwrap()
            .when_deleted
            .as_deref(),
        Some("Delete"),
        "dev's deletionPolicy is Delete"
    );
    let container = &spec.template.spec.as_ref().unwrap().containers[0];
    let password = container
        .env
        .as_ref()
        .unwrap()
        .iter()
        .find(|e| e.name == "POSTGRES_PASSWORD")
        .unwrap();
    assert_eq!(secret_ref(password), ("mindmitra-db", "password"));
    assert!(password.value.is_none(), "the password only by reference");
    let probe = container
        .readiness_probe
        .as_ref()
        .unwrap()
        .exec
        .as_ref()
        .unwrap();
    assert_eq!(probe.command.as_ref().unwrap()[0], "pg_isready");

    // The app's Service and budget select only the app: the store pods'
    // labels differ in name and component.
    let app_selector = deployment(&rendered)
        .spec
        .as_ref()
        .unwrap()
        .selector
        .match_labels
        .clone()
        .unwrap();
    let store_labels = spec
        .template
        .metadata
        .as_ref()
        .unwrap()
        .labels
        .clone()
        .unwrap();
    assert!(
        app_selector
            .iter()
            .any(|(k, v)| store_labels.get(k) != Some(v))
    );

    let policy = rendered
        .children
        .iter()
        .find_map(|c| match (c.kind(), c.object()) {
            (ChildKind::StoreNetworkPolicy, Object::NetworkPolicy(p)) => Some(p),
            _ => None,
        })
        .unwrap();
    let rule = &policy.spec.as_ref().unwrap().ingress.as_ref().unwrap()[0];
    let peers: Vec<_> = rule
        .from
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| {
            p.pod_selector
                .as_ref()
                .unwrap()
                .match_labels
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(peers[0], app_selector, "the app may connect");
    assert_eq!(
        peers[1],
        BTreeMap::from([
            (
                "app.kubernetes.io/instance".to_string(),
                "mindmitra".to_string()
            ),
            ("chatbot.dev/track".to_string(), "canary".to_string()),
        ]),
        "and a rollout's candidate pods"
    );
    assert_eq!(
        peers[2]["app.kubernetes.io/component"], "pooler",
        "and PgBouncer to Postgres"
    );
    assert_eq!(peers.len(), 3, "nobody else");
    let ports: Vec<_> = rule
        .ports
        .as_ref()
        .unwrap()
        .iter()
        .map(|p| p.port.clone())
        .collect();
    assert_eq!(ports.len(), 2, "5432 and 6379 only: {ports:?}");
}

#[test]
fn rolling_updates_never_take_a_serving_pod_away_first() {
    for name in common::SAMPLES {
        let rendered = common::render_sample(name);
        let strategy = deployment(&rendered)
            .spec
            .as_ref()
            .unwrap()
            .strategy
            .as_ref()
            .unwrap();
        let rolling = strategy.rolling_update.as_ref().unwrap();
        assert_eq!(
            rolling.max_unavailable,
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(0)),
            "{name}"
        );
    }
}

#[test]
fn an_autoscaled_deployment_leaves_replicas_to_the_autoscaler() {
    for name in common::SAMPLES {
        let rendered = common::render_sample(name);
        let has_hpa = kinds(&rendered).contains(&ChildKind::HorizontalPodAutoscaler);
        let replicas = deployment(&rendered).spec.as_ref().unwrap().replicas;
        assert_eq!(
            has_hpa,
            replicas.is_none(),
            "{name}: HPA and a fixed replica count exclude each other"
        );
    }
    // Production defaults: 2..10 with an HPA and a PodDisruptionBudget.
    let brigade = common::render_sample("brigade-sales");
    assert!(kinds(&brigade).contains(&ChildKind::HorizontalPodAutoscaler));
    assert!(kinds(&brigade).contains(&ChildKind::PodDisruptionBudget));
}

#[test]
fn a_fixed_replica_count_has_no_autoscaler() {
    let mut cbd = common::sample_deployment("mindmitra");
    cbd.spec.replicas = Some(chatbot_operator::api::Replicas {
        min: Some(3),
        max: Some(3),
        target_cpu_utilization: None,
    });
    let rendered = Renderer::embedded().unwrap().render(&cbd, 1).unwrap();
    assert!(!kinds(&rendered).contains(&ChildKind::HorizontalPodAutoscaler));
    assert_eq!(
        deployment(&rendered).spec.as_ref().unwrap().replicas,
        Some(3)
    );
}

#[test]
fn the_app_contract_reaches_the_container() {
    let rendered = common::render_sample("mindmitra");
    let config = rendered
        .children
        .iter()
        .find_map(|c| match c.object() {
            Object::ConfigMap(map) => map.data.clone(),
            _ => None,
        })
        .unwrap();
    for key in [
        "PORT",
        "ENVIRONMENT",
        "DB_POOL_SIZE",
        "CORS_ALLOWED_ORIGINS",
        "LOG_LEVEL",
        "RATE_LIMIT_USER_PER_HOUR",
    ] {
        assert!(config.contains_key(key), "ConfigMap lacks {key}");
    }
    assert_eq!(config["RATE_LIMIT_USER_PER_HOUR"], "200");
    assert_eq!(config["DB_POOL_SIZE"], "5");
    let pod = deployment(&rendered)
        .spec
        .clone()
        .unwrap()
        .template
        .spec
        .unwrap();
    let env = pod.containers[0].env.clone().unwrap();
    let by_name = |name: &str| {
        env.iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    assert_eq!(by_name("CHATBOT_REVISION").value.as_deref(), Some("1"));
    for (name, secret, key) in [
        ("DATABASE_URL", "mindmitra-db", "DATABASE_URL"),
        ("REDIS_URL", "mindmitra-cache", "REDIS_URL"),
        ("SENTRY_DSN", "mindmitra-sentry", "dsn"),
        ("OPENAI_API_KEY", "mindmitra-llm", "api-key"),
        ("SECRET_KEY", "mindmitra-generated", "SECRET_KEY"),
    ] {
        let var = by_name(name);
        assert!(var.value.is_none(), "{name} must never carry a value");
        assert_eq!(secret_ref(var), (secret, key));
    }
    let env_from = pod.containers[0].env_from.clone().unwrap();
    assert_eq!(
        env_from[0].config_map_ref.as_ref().unwrap().name,
        "mindmitra-env"
    );
}

#[test]
fn websocket_apps_get_long_grace_and_timeouts() {
    let finance = common::render_sample("finance-assistant");
    let pod = deployment(&finance)
        .spec
        .clone()
        .unwrap()
        .template
        .spec
        .unwrap();
    assert_eq!(pod.termination_grace_period_seconds, Some(2400));
    assert_eq!(finance.context.network.idle_timeout_seconds, 2400);
    let brigade = common::render_sample("brigade-sales");
    let pod = deployment(&brigade)
        .spec
        .clone()
        .unwrap()
        .template
        .spec
        .unwrap();
    assert_eq!(pod.termination_grace_period_seconds, Some(30));
}

#[test]
fn every_child_carries_labels_a_spec_hash_and_a_stable_name() {
    for sample in common::SAMPLES {
        // MindMitra's prompt test is MindMitra's resource, with a test.
        let name = sample.trim_end_matches("-prompt-test");
        for child in &common::render_sample(sample).children {
            let metadata = child.metadata();
            let labels = metadata.labels.as_ref().unwrap();
            assert_eq!(labels["app.kubernetes.io/managed-by"], "chatbot-operator");
            assert_eq!(labels["app.kubernetes.io/instance"], name);
            let hash = &metadata.annotations.as_ref().unwrap()["chatbot.dev/spec-hash"];
            assert_eq!(hash.len(), 16);
            assert!(child.name().starts_with(name), "{name}: {}", child.name());
            assert!(child.name().len() <= 63);
        }
    }
}

#[test]
fn a_changed_spec_changes_only_the_hashes_it_should() {
    let before = common::render_sample("brigade-sales");
    let mut cbd = common::sample_deployment("brigade-sales");
    cbd.spec.image = "ghcr.io/brigade/sales-bot:3.2.0".into();
    let after = Renderer::embedded().unwrap().render(&cbd, 2).unwrap();
    let hash = |child: &Child| {
        child.metadata().annotations.as_ref().unwrap()["chatbot.dev/spec-hash"].clone()
    };
    let deployment_before = before
        .children
        .iter()
        .find(|c| c.kind() == ChildKind::Deployment)
        .unwrap();
    let deployment_after = after
        .children
        .iter()
        .find(|c| c.kind() == ChildKind::Deployment)
        .unwrap();
    assert_ne!(hash(deployment_before), hash(deployment_after));
}

/// The embedded templates, copied into a directory a test may break.
/// Renders mindmitra with the embedded templates, one of them edited by
/// replacing `from` with `to`; returns the error.
fn error_with_edited_template(template: &str, from: &str, to: &str) -> String {
    let dir = common::edited_templates(template, from, to);
    render_with(dir.path()).unwrap_err().to_string()
}

fn render_with(dir: &std::path::Path) -> Result<render::Rendered, RenderError> {
    let renderer = Renderer {
        environments: chatbot_operator::environment::Environments::embedded().unwrap(),
        templates: Templates::from_dir(dir)?,
    };
    renderer.render(&common::sample_deployment("mindmitra"), 1)
}

#[test]
fn a_template_syntax_error_names_the_template_and_line() {
    let error = error_with_edited_template(
        "service.yaml",
        "{{ selector_labels | json }}",
        "{{ selector_labels | json ",
    );
    assert!(error.starts_with("template service.yaml:"), "{error}");
    assert!(error.contains("service.yaml:8"), "names the line: {error}");
}

#[test]
fn a_template_typo_is_an_error_not_a_silently_dropped_field() {
    let error =
        error_with_edited_template("deployment.yaml", "imagePullPolicy:", "imagePulPolicy:");
    assert_eq!(
        error,
        "template deployment.yaml rendered an invalid Deployment: spec.template.spec.containers[0].imagePulPolicy: unknown field"
    );
}

#[test]
fn a_template_of_the_wrong_type_is_rejected() {
    let error = error_with_edited_template(
        "hpa.yaml",
        "minReplicas: {{ autoscaling.min }}",
        "minReplicas: two",
    );
    assert!(
        error.starts_with(
            "template hpa.yaml rendered an invalid HorizontalPodAutoscaler: spec.minReplicas:"
        ),
        "{error}"
    );
}

#[test]
fn a_missing_template_is_named() {
    let dir = common::template_dir();
    std::fs::remove_file(dir.path().join("pdb.yaml")).unwrap();
    let error = render_with(dir.path()).unwrap_err().to_string();
    assert!(error.starts_with("template pdb.yaml: "), "{error}");
}

#[test]
fn contract_variables_cannot_be_set_by_hand() {
    let mut cbd = common::sample_deployment("stock-consultant");
    cbd.spec
        .config
        .get_or_insert_with(Default::default)
        .insert("PORT".into(), "9000".into());
    let error = Renderer::embedded()
        .unwrap()
        .render(&cbd, 1)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "spec.config.PORT: PORT is part of the app contract and is set from spec.port; set that field instead"
    );
}

#[test]
fn the_template_hash_ignores_the_revision_number_but_not_the_image() {
    let renderer = Renderer::embedded().unwrap();
    let mut cbd = common::sample_deployment("mindmitra");
    let first = renderer.render(&cbd, 1).unwrap();
    let later = renderer.render(&cbd, 7).unwrap();
    assert_eq!(first.template_hash, later.template_hash);
    assert_ne!(
        deployment(&first).metadata.annotations,
        deployment(&later).metadata.annotations,
        "the revision still reaches the pods, so the Deployment itself differs"
    );
    let recorded = deployment(&first)
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get("chatbot.dev/template-hash"))
        .cloned();
    assert_eq!(recorded.as_deref(), Some(first.template_hash.as_str()));

    cbd.spec.image = "ghcr.io/mindmitra/support-bot:1.0.1".into();
    assert_ne!(
        renderer.render(&cbd, 1).unwrap().template_hash,
        first.template_hash
    );
    let mut scaled = common::sample_deployment("mindmitra");
    scaled.spec.replicas.as_mut().unwrap().max = Some(6);
    assert_eq!(
        renderer.render(&scaled, 1).unwrap().template_hash,
        first.template_hash,
        "autoscaler bounds do not make a new revision"
    );
}

/// MindMitra's maintenance page as users see it: the HTML the page server
/// sends, every value escaped, the helplines dialable.
#[test]
fn the_maintenance_page_of_mindmitra() {
    let rendered = common::render_sample("mindmitra");
    let page = rendered
        .children
        .iter()
        .find(|c| c.kind() == render::ChildKind::MaintenancePage)
        .expect("MindMitra asks for a maintenance page");
    let render::Object::ConfigMap(config_map) = page.object() else {
        panic!("the page is a ConfigMap");
    };
    let html = &config_map.data.as_ref().unwrap()["index.html"];
    insta::assert_snapshot!("maintenance_page_mindmitra", html);
}

/// Markup in the spec's text reaches the page as text, never as markup.
#[test]
fn the_maintenance_page_escapes_what_the_spec_says() {
    let mut cbd = common::sample_deployment("mindmitra");
    let maintenance = cbd.spec.maintenance.as_mut().unwrap();
    maintenance.title = Some("<script>alert('x')</script>".into());
    maintenance.contacts.as_mut().unwrap()[0].name = "A & B \"quoted\"".into();
    let rendered = render::Renderer::embedded()
        .unwrap()
        .render(&cbd, 1)
        .unwrap();
    let page = rendered
        .children
        .iter()
        .find(|c| c.kind() == render::ChildKind::MaintenancePage)
        .unwrap();
    let render::Object::ConfigMap(config_map) = page.object() else {
        panic!("the page is a ConfigMap");
    };
    let html = &config_map.data.as_ref().unwrap()["index.html"];
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(html.contains("A &amp; B &quot;quoted&quot;"), "{html}");
}

/// Whether a NetworkPolicy's `podSelector` (JSON) selects a pod with `labels`.
fn selects(selector: &serde_json::Value, labels: &serde_json::Value) -> bool {
    let by_labels = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(key, value)| &labels[key] == value);
    let by_expressions = selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|expression| {
            let value = &labels[expression["key"].as_str().unwrap()];
            let values = expression["values"].as_array().cloned().unwrap_or_default();
            match expression["operator"].as_str().unwrap() {
                "In" => values.contains(value),
                "NotIn" => !values.contains(value),
                "Exists" => !value.is_null(),
                _ => false,
            }
        });
    by_labels && by_expressions
}

/// The migration, backup, verify and restore pods hold the database's
/// credentials and serve nothing: every one runs as a high, non-root user
/// id no host account shares, and a NetworkPolicy admits no connection
/// to it.
#[test]
fn data_operation_pods_run_as_a_high_uid_behind_a_policy_that_admits_nothing() {
    let mut jobs_seen = 0;
    for name in common::SAMPLES {
        let rendered = common::render_sample(name);
        let objects: Vec<serde_json::Value> = rendered
            .children
            .iter()
            .map(|child| serde_json::to_value(child.object()).unwrap())
            .collect();
        let policies: Vec<&serde_json::Value> = objects
            .iter()
            .filter(|o| o["kind"] == "NetworkPolicy")
            .collect();
        for job in objects.iter().filter(|o| o["kind"] == "Job") {
            jobs_seen += 1;
            let job_name = job["metadata"]["name"].as_str().unwrap();
            let pod = &job["spec"]["template"];
            let uid = pod["spec"]["securityContext"]["runAsUser"]
                .as_i64()
                .unwrap();
            assert!(uid >= 10000, "{name}: {job_name} runs as uid {uid}");
            let guarding: Vec<&&serde_json::Value> = policies
                .iter()
                .filter(|p| selects(&p["spec"]["podSelector"], &pod["metadata"]["labels"]))
                .collect();
            assert!(
                !guarding.is_empty(),
                "{name}: no NetworkPolicy selects {job_name}'s pods"
            );
            for policy in guarding {
                let types = policy["spec"]["policyTypes"].as_array().unwrap();
                assert!(types.contains(&serde_json::json!("Ingress")));
                let ingress = policy["spec"]["ingress"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                assert!(
                    ingress.is_empty(),
                    "{name}: {} admits {ingress:?} to {job_name}",
                    policy["metadata"]["name"]
                );
            }
        }
    }
    assert!(
        jobs_seen >= 10,
        "the samples render their Jobs: {jobs_seen}"
    );
}

/// Found by the `spec` fuzz target: a long namespace of more than ASCII
/// made the dashboard's uid cut inside a character and panic. A manifest
/// read offline refuses such a namespace with its path, as the API server
/// would; a resource rendered from its typed form still never panics.
#[test]
fn a_namespace_that_is_no_dns_label_is_refused_and_never_panics_the_render() {
    let text = common::sample_text("mindmitra").replace(
        "namespace: mindmitra",
        "namespace: fi# MindMitra — mental-health support and more",
    );
    let error = chatbot_operator::manifest::parse_deployments("m.yaml", &text).unwrap_err();
    assert_eq!(error.path, "metadata.namespace", "{error}");
    assert!(
        error.to_string().contains("not a namespace name"),
        "{error}"
    );

    let mut cbd = common::sample_deployment("mindmitra");
    cbd.metadata.namespace = Some("fi# MindMitra — mental-henance".into());
    let rendered = Renderer::embedded().unwrap().render(&cbd, 1);
    assert!(rendered.is_ok(), "{:?}", rendered.err());
}
