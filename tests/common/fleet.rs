//! A fleet of ChatbotDeployments for the benches: the five team samples,
//! any number of generated ones (every sample, renamed and re-tagged), and
//! the same fleet set up in the in-memory API server, settled as the
//! cluster's controllers would settle it.

use chatbot_operator::{api::ChatbotDeployment, manifest};
use serde_json::json;

use super::harness::{Harness, path, status_default};

const SAMPLES: [&str; 5] = [
    "brigade-sales",
    "claude-saas",
    "finance-assistant",
    "mindmitra",
    "stock-consultant",
];

pub fn samples() -> Vec<ChatbotDeployment> {
    SAMPLES
        .iter()
        .flat_map(|name| {
            let path = format!(
                "{}/manifests/samples/{name}.yaml",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(&path).expect("sample");
            manifest::parse_deployments(&path, &text).expect("sample parses")
        })
        .collect()
}

/// `count` deployments cycling through the samples, each with its own name,
/// image tag and autoscaling ceiling.
pub fn generated(count: usize) -> Vec<ChatbotDeployment> {
    let samples = samples();
    (0..count)
        .map(|index| {
            let mut deployment = samples[index % samples.len()].clone();
            let name = format!(
                "{}-{index}",
                deployment.metadata.name.as_deref().unwrap_or("bot")
            );
            deployment.metadata.name = Some(name);
            let image = deployment
                .spec
                .image
                .rsplit_once(':')
                .map_or(deployment.spec.image.clone(), |(repo, _)| repo.to_string());
            deployment.spec.image = format!("{image}:1.0.{index}");
            if let Some(replicas) = deployment.spec.replicas.as_mut() {
                replicas.max = Some(replicas.min.unwrap_or(2) + (index % 8) as i32);
            }
            deployment
        })
        .collect()
}

/// `count` generated resources spread over ten namespaces, with the
/// Secrets they refer to.
pub fn populate(harness: &mut Harness, count: usize) -> Vec<String> {
    let renderer = chatbot_operator::render::Renderer::embedded().unwrap();
    let mut paths = Vec::new();
    for (index, mut cbd) in generated(count).into_iter().enumerate() {
        // The operator's own cost: stores in the cluster, so no AWS call
        // is timed here (`managed_sample` times those against moto).
        for mode in [
            cbd.spec.database.get_or_insert_default().mode.as_mut(),
            cbd.spec.cache.get_or_insert_default().mode.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if *mode == chatbot_operator::api::StoreMode::Managed {
                *mode = chatbot_operator::api::StoreMode::InCluster;
            }
        }
        if cbd.spec.environment == "production" || cbd.spec.environment == "staging" {
            cbd.spec.database.get_or_insert_default().mode =
                Some(chatbot_operator::api::StoreMode::InCluster);
            cbd.spec.cache.get_or_insert_default().mode =
                Some(chatbot_operator::api::StoreMode::InCluster);
        }
        // Migration Jobs need a Job controller, which the in-memory API
        // server is not (tests/suite/migrations.rs covers them).
        if let Some(database) = cbd.spec.database.as_mut() {
            database.migrations = None;
        }
        let namespace = format!("team-{}", index % 10);
        cbd.metadata.namespace = Some(namespace.clone());
        let resolved = renderer.environments.resolve(&cbd.spec).unwrap();
        for reference in chatbot_operator::secrets::references(&resolved.spec) {
            let secret = path("secrets", &namespace, &reference.secret);
            if harness.api.get(&secret).is_none() {
                harness.api.insert(
                    &secret,
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": reference.secret, "namespace": namespace}, "data": {}}),
                );
            }
            // Several references may share a Secret: each adds its key.
            harness.api.update(&secret, |s| {
                s["data"][reference.key.as_str()] = json!("eA==");
            });
        }
        let mut object = serde_json::to_value(&cbd).unwrap();
        object["status"] = status_default();
        let name = cbd.metadata.name.clone().unwrap();
        let path = path("chatbotdeployments", &namespace, &name);
        harness.api.insert(&path, object);
        paths.push(path);
    }
    harness.sync();
    paths
}

/// The path of the app Deployment of the ChatbotDeployment at `path`.
pub fn deployment_of(path: &str) -> String {
    path.replace("/apis/chatbot.dev/v1alpha1/", "/apis/apps/v1/")
        .replace("/chatbotdeployments/", "/deployments/")
}

pub fn mark_ready(api: &super::fake_api::FakeApi, deployment: &str) {
    let Some(object) = api.get(deployment) else {
        return;
    };
    if object["status"]["readyReplicas"].is_number()
        && object["status"]["observedGeneration"] == object["metadata"]["generation"]
    {
        return;
    }
    let generation = object["metadata"]["generation"].clone();
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
    api.update(deployment, |d| {
        d["status"] = json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas});
    });
}

/// Marks the app, PgBouncer and the in-cluster stores of the resource at
/// `path` ready, as their controllers and kubelets would.
pub fn mark_everything_ready(api: &super::fake_api::FakeApi, path: &str) {
    let app = deployment_of(path);
    mark_ready(api, &app);
    mark_ready(api, &format!("{app}-pgbouncer"));
    let stateful_sets = app.replace("/deployments/", "/statefulsets/");
    for store in ["postgres", "redis"] {
        let set = format!("{stateful_sets}-{store}");
        if api
            .get(&set)
            .is_some_and(|object| object["status"]["readyReplicas"] != 1)
        {
            api.set_status(&set, json!({"replicas": 1, "readyReplicas": 1}));
        }
    }
}

/// Reconciles every resource at `paths` until it is settled: the first
/// reconcile applies its children, then its pods and stores become ready
/// (three rounds: the app waits for its connection URLs) and what waited
/// for them is applied. The API server's request log is cleared after.
pub async fn settle(harness: &mut Harness, paths: &[String]) {
    for path in paths {
        harness.reconcile_unsynced(path).await;
    }
    harness.sync();
    for _ in 0..3 {
        for path in paths {
            mark_everything_ready(&harness.api, path);
        }
        harness.sync();
        for path in paths {
            harness.reconcile_unsynced(path).await;
        }
        harness.sync();
    }
    harness.api.clear_requests();
}
