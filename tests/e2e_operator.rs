//! End to end against the cluster in `KUBECONFIG`: the control plane
//! `scripts/cluster.sh up` starts (real kube-apiserver and
//! kube-controller-manager, the node stand-in running the project's own
//! images — the backup agent, the maintenance page, the tests' echo-bot —
//! and the official postgres image as real processes), or any cluster of
//! Kubernetes 1.26.1 or newer. The operator binary runs as its own service
//! account, so it has only the RBAC in `manifests/`. Each test has its own
//! namespace and its own operator watching it.
//!
//! Ignored by a plain `cargo test` (it needs a cluster); `scripts/test.sh`
//! runs it on the control planes it starts, and by hand:
//! `scripts/cluster.sh up && source target/cluster/env && cargo test --test e2e_operator -- --ignored`.

mod common;

use std::time::Duration;

use chatbot_operator::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    render::ChildKind,
    secrets,
};
use common::e2e::{
    self, Operator, TestNamespace, condition, eventually, gitops_apply, read_status, template_image,
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{ConfigMap, Secret, Service, ServiceAccount},
    events::v1::Event,
    networking::v1::{Ingress, NetworkPolicy},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use serde_json::json;

const DEADLINE: Duration = Duration::from_secs(120);

/// A small spec that needs no data store and no Secret: it can become
/// Ready wherever pods can.
fn plain(name: &str) -> ChatbotDeployment {
    e2e::plain_chatbot(name, json!({}))
}

/// `render -f FILE --diff` of `cbd` against the cluster in `KUBECONFIG`:
/// its exit code and what it printed.
fn render_diff(cbd: &ChatbotDeployment) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chatbot.yaml");
    let mut document = serde_json::to_value(cbd).unwrap();
    document.as_object_mut().unwrap().remove("status");
    std::fs::write(&file, serde_yaml_ng::to_string(&document).unwrap()).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
        .args(["render", "-f", &file.display().to_string(), "--diff"])
        .output()
        .expect("the binary runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

async fn wait_condition(
    client: &Client,
    namespace: &str,
    name: &str,
    type_: &str,
    expected: &str,
    operator: &Operator,
) -> ChatbotDeploymentStatus {
    eventually(
        &format!("{name}: {type_}={expected}"),
        DEADLINE,
        Some(operator),
        || async {
            let status = read_status(client, namespace, name).await?;
            let (value, _) = condition(&status, type_)?;
            (value == expected).then_some(status)
        },
    )
    .await
}

/// Owner uid of a child of kind `K`, if it exists.
async fn owner_of<K>(client: &Client, namespace: &str, name: &str) -> Option<String>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let object = api.get_opt(name).await.ok().flatten()?;
    object
        .owner_references()
        .iter()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.clone())
}

async fn owners(client: &Client, namespace: &str, name: &str) -> Vec<(ChildKind, Option<String>)> {
    let env = format!("{name}-env");
    vec![
        (
            ChildKind::ServiceAccount,
            owner_of::<ServiceAccount>(client, namespace, name).await,
        ),
        (
            ChildKind::ConfigMap,
            owner_of::<ConfigMap>(client, namespace, &env).await,
        ),
        (
            ChildKind::Service,
            owner_of::<Service>(client, namespace, name).await,
        ),
        (
            ChildKind::Deployment,
            owner_of::<Deployment>(client, namespace, name).await,
        ),
        (
            ChildKind::HorizontalPodAutoscaler,
            owner_of::<HorizontalPodAutoscaler>(client, namespace, name).await,
        ),
        (
            ChildKind::PodDisruptionBudget,
            owner_of::<PodDisruptionBudget>(client, namespace, name).await,
        ),
        (
            ChildKind::NetworkPolicy,
            owner_of::<NetworkPolicy>(client, namespace, name).await,
        ),
        (
            ChildKind::Ingress,
            owner_of::<Ingress>(client, namespace, name).await,
        ),
        (
            ChildKind::HttpRoute,
            owner_of::<gateway_api::apis::standard::httproutes::HttpRoute>(client, namespace, name)
                .await,
        ),
    ]
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn every_sample_applies_and_its_children_appear_owned_by_it() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "samples").await;
    let operator = Operator::start(&namespace.name, "e2e-samples");
    let renderer = chatbot_operator::render::Renderer::embedded().unwrap();
    let mut created_names = std::collections::BTreeSet::new();
    for sample in common::SAMPLES {
        let cbd = common::sample_without_gates(sample);
        // MindMitra's prompt test is a later spec of MindMitra's own
        // resource, not a resource of its own.
        if !created_names.insert(cbd.name_any()) {
            continue;
        }
        let resolved = renderer.environments.resolve(&cbd.spec).unwrap();
        let mut made = std::collections::BTreeMap::<String, Vec<String>>::new();
        for reference in secrets::references(&resolved.spec) {
            made.entry(reference.secret)
                .or_default()
                .push(reference.key);
        }
        for (secret, keys) in made {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            namespace.secret(&secret, &keys).await;
        }
        let created = e2e::create_chatbot(&client, &namespace.name, &cbd).await;
        let uid = created.uid().unwrap();
        let name = created.name_any();
        let rendered = renderer.render(&cbd, 1).unwrap();
        let wanted: Vec<ChildKind> = rendered.children.iter().map(|c| c.kind()).collect();
        eventually(
            &format!("children of {sample}"),
            DEADLINE,
            Some(&operator),
            || async {
                let found = owners(&client, &namespace.name, &name).await;
                found
                    .iter()
                    .filter(|(kind, _)| wanted.contains(kind))
                    .all(|(_, owner)| owner.as_deref() == Some(uid.as_str()))
                    .then_some(())
            },
        )
        .await;
        // Every sample asks for monitoring; a cluster without the
        // Prometheus Operator says so and holds nothing else back.
        let monitoring = client
            .list_api_group_resources("monitoring.coreos.com/v1")
            .await
            .is_ok_and(|list| list.resources.iter().any(|r| r.name == "prometheusrules"));
        let expected = if monitoring { "True" } else { "False" };
        eventually(
            &format!("the Monitored condition of {sample}"),
            DEADLINE,
            Some(&operator),
            || async {
                let status = read_status(&client, &namespace.name, &name).await?;
                let (value, reason) = condition(&status, "Monitored")?;
                (value == expected && (monitoring || reason == "PrometheusOperatorMissing"))
                    .then_some(())
            },
        )
        .await;
        let generated: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
        if cbd
            .spec
            .secrets
            .as_ref()
            .and_then(|s| s.generated.as_ref())
            .is_some()
        {
            let secret = generated
                .get(&format!("{name}-generated"))
                .await
                .expect("generated Secret");
            assert_eq!(secret.owner_references()[0].uid, uid);
        }
    }
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn ready_when_pods_are_ready_a_new_image_rolls_and_steady_state_is_quiet() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "lifecycle").await;
    let operator = Operator::start(&namespace.name, "e2e-lifecycle");
    e2e::create_chatbot(&client, &namespace.name, &plain("echo")).await;

    let status = wait_condition(&client, &namespace.name, "echo", "Ready", "True", &operator).await;
    assert_eq!(status.phase.as_deref(), Some("Ready"));
    assert_eq!(status.current_revision, Some(1));

    // A new image: the Deployment rolls to revision 2 and becomes ready again.
    let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace.name);
    api.patch(
        "echo",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"image": "ghcr.io/chatbot-operator/echo-bot:1.1.0"}})),
    )
    .await
    .unwrap();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace.name);
    eventually(
        "the Deployment runs the new image",
        DEADLINE,
        Some(&operator),
        || async {
            let deployment = deployments.get("echo").await.ok()?;
            let container = &deployment.spec?.template.spec?.containers[0];
            (container.image.as_deref() == Some("ghcr.io/chatbot-operator/echo-bot:1.1.0"))
                .then_some(())
        },
    )
    .await;
    let status = eventually("revision 2 ready", DEADLINE, Some(&operator), || async {
        let status = read_status(&client, &namespace.name, "echo").await?;
        (status.current_revision == Some(2)
            && status.stable_revision == Some(2)
            && condition(&status, "Ready")?.0 == "True")
            .then_some(status)
    })
    .await;
    assert_eq!(status.revisions.len(), 2);

    // Settled: the Deployment has replaced every old pod (until then its
    // readyReplicas still counts old pods, and status follows it), and the
    // resource's status says what the Deployment says.
    eventually(
        "the rollout is complete and status agrees",
        DEADLINE,
        Some(&operator),
        || async {
            let deployment = deployments.get("echo").await.ok()?;
            let wanted = deployment.spec.as_ref()?.replicas?;
            let observed = deployment.status?;
            let complete = observed.observed_generation == deployment.metadata.generation
                && observed.replicas == Some(wanted)
                && observed.updated_replicas == Some(wanted)
                && observed.ready_replicas == Some(wanted)
                && observed.available_replicas == Some(wanted);
            let status = read_status(&client, &namespace.name, "echo").await?;
            (complete && status.ready_replicas == Some(wanted)).then_some(())
        },
    )
    .await;

    // The reconcile that wrote that status publishes its Events after the
    // write. Reconciles of one resource never overlap: once another has
    // started, that one has ended and its Events are counted.
    let reconciles_total =
        || operator.metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}");
    let seen = reconciles_total().unwrap();
    eventually(
        "the next reconcile started",
        Duration::from_secs(60),
        Some(&operator),
        || async { (reconciles_total()? >= seen + 1.0).then_some(()) },
    )
    .await;

    // Steady state: several resyncs (every 5 s here) add no write call,
    // by the operator's own count and, where the API server keeps an
    // audit log of the operator's identity, by the API server's.
    let writes = operator
        .metric("chatbot_operator_write_calls_total")
        .unwrap();
    let audited = e2e::audited_writes(&namespace.name);
    let reconciles = reconciles_total().unwrap();
    eventually(
        "three more reconciles",
        Duration::from_secs(60),
        Some(&operator),
        || async {
            let now = operator
                .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")?;
            (now >= reconciles + 3.0).then_some(())
        },
    )
    .await;
    assert_eq!(
        operator
            .metric("chatbot_operator_write_calls_total")
            .unwrap(),
        writes,
        "a settled resource is reconciled without writes"
    );
    if let Some(before) = audited {
        let after = e2e::audited_writes(&namespace.name).unwrap();
        assert!(
            !before.is_empty() && after.len() == before.len(),
            "the API server saw writes from the operator while it was settled: {:?}",
            &after[before.len().min(after.len())..]
        );
    }

    // `render --diff` of the spec as applied: nothing would change; of a
    // new image: the Deployment's image, and nothing is applied.
    let mut spec = plain("echo");
    spec.metadata.namespace = Some(namespace.name.clone());
    spec.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0".into();
    assert_eq!(
        render_diff(&spec).0,
        Some(0),
        "the applied spec shows no change"
    );
    spec.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.2.0".into();
    let (code, diff) = render_diff(&spec);
    assert_eq!(code, Some(1));
    assert!(
        diff.contains("+        image: ghcr.io/chatbot-operator/echo-bot:1.2.0"),
        "{diff}"
    );
    assert_eq!(
        template_image(&client, &namespace.name, "echo")
            .await
            .as_deref(),
        Some("ghcr.io/chatbot-operator/echo-bot:1.1.0"),
        "a dry run changes nothing"
    );

    // Deleting the resource removes its children.
    api.delete("echo", &DeleteParams::foreground())
        .await
        .unwrap();
    eventually("children removed", DEADLINE, Some(&operator), || async {
        let left = owners(&client, &namespace.name, "echo").await;
        left.iter().all(|(_, owner)| owner.is_none()).then_some(())
    })
    .await;
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn a_missing_secret_is_reported_with_an_event_and_cleared_when_it_appears() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "secrets").await;
    let operator = Operator::start(&namespace.name, "e2e-secrets");
    let mut cbd = plain("keyed");
    cbd.spec.secrets.as_mut().unwrap().required = Some(vec![chatbot_operator::api::SecretEnv {
        env: "OPENAI_API_KEY".into(),
        secret_name: "llm".into(),
        key: "api-key".into(),
    }]);
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    let status = wait_condition(
        &client,
        &namespace.name,
        "keyed",
        "SecretsReady",
        "False",
        &operator,
    )
    .await;
    let message = &status
        .conditions
        .iter()
        .find(|c| c.type_ == "SecretsReady")
        .unwrap()
        .message;
    assert!(
        message.contains("Secret llm not found (spec.secrets.required[0])"),
        "{message}"
    );
    let events: Api<Event> = Api::namespaced(client.clone(), &namespace.name);
    eventually(
        "a SecretsMissing Event",
        DEADLINE,
        Some(&operator),
        || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            list.items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("SecretsMissing")
                        && e.type_.as_deref() == Some("Warning")
                        && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("keyed")
                })
                .then_some(())
        },
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace.name);
    assert!(
        deployments.get_opt("keyed").await.unwrap().is_none(),
        "no pods without their Secret"
    );

    namespace.secret("llm", &["api-key"]).await;
    wait_condition(
        &client,
        &namespace.name,
        "keyed",
        "Ready",
        "True",
        &operator,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn an_operator_killed_mid_reconcile_is_replaced_without_duplicates() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "restart").await;
    let mut first = Operator::leading(&namespace.name, "e2e-restart");
    eventually(
        "the first operator serves metrics",
        DEADLINE,
        Some(&first),
        || async {
            first
                .metric("chatbot_operator_leader")
                .filter(|v| *v == 1.0)
        },
    )
    .await;
    e2e::create_chatbot(&client, &namespace.name, &plain("phoenix")).await;
    eventually("the first write", DEADLINE, Some(&first), || async {
        first
            .metric("chatbot_operator_write_calls_total")
            .filter(|w| *w > 0.0)
    })
    .await;
    first.kill();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
    let before = secrets.get_opt("phoenix-generated").await.unwrap();

    // The replacement waits for the killed replica's Lease to expire.
    let second = Operator::leading(&namespace.name, "e2e-restart");
    wait_condition(
        &client,
        &namespace.name,
        "phoenix",
        "Ready",
        "True",
        &second,
    )
    .await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace.name);
    let all = deployments.list(&ListParams::default()).await.unwrap();
    assert_eq!(all.items.len(), 1, "one Deployment");
    let generated: Vec<_> = secrets
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|s| s.name_any().starts_with("phoenix-generated"))
        .collect();
    assert_eq!(generated.len(), 1, "one generated Secret");
    if let Some(before) = before {
        assert_eq!(
            before.data, generated[0].data,
            "generated values survive the restart"
        );
    }
    drop(first);
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn in_cluster_postgres_and_redis_start_and_their_urls_reach_the_app() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "in-cluster").await;
    let operator = Operator::start(&namespace.name, "e2e-in-cluster");
    let mut cbd = plain("stores");
    cbd.spec.database =
        serde_json::from_value(json!({"mode": "inCluster", "storageGiB": 1})).unwrap();
    cbd.spec.cache = serde_json::from_value(json!({"mode": "inCluster", "memoryMiB": 64})).unwrap();
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;

    // Pulling postgres and redis images can take a while on a fresh node.
    let pulls = Duration::from_secs(300);
    let status = eventually(
        "DatabaseReady and CacheReady",
        pulls,
        Some(&operator),
        || async {
            let status = read_status(&client, &namespace.name, "stores").await?;
            (condition(&status, "DatabaseReady")?.0 == "True"
                && condition(&status, "CacheReady")?.0 == "True")
                .then_some(status)
        },
    )
    .await;
    assert_eq!(
        status.database.as_ref().and_then(|d| d.endpoint.clone()),
        Some(format!("stores-postgres.{}.svc:5432", namespace.name))
    );
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
    let db = secrets.get("stores-db").await.expect("connection Secret");
    let keys: Vec<&String> = db.data.as_ref().unwrap().keys().collect();
    assert!(keys.iter().any(|k| *k == "DATABASE_URL"), "{keys:?}");
    let cache = secrets
        .get("stores-cache")
        .await
        .expect("connection Secret");
    assert!(cache.data.as_ref().unwrap().contains_key("REDIS_URL"));
    // Everything is owned by the resource (deleting it removes them).
    let uid = {
        let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace.name);
        api.get("stores").await.unwrap().uid().unwrap()
    };
    let stateful_sets: Api<k8s_openapi::api::apps::v1::StatefulSet> =
        Api::namespaced(client.clone(), &namespace.name);
    for name in ["stores-postgres", "stores-redis"] {
        let set = stateful_sets.get(name).await.expect("StatefulSet");
        assert_eq!(set.owner_references()[0].uid, uid, "{name}");
    }
    wait_condition(
        &client,
        &namespace.name,
        "stores",
        "Ready",
        "True",
        &operator,
    )
    .await;
}

/// What a GitOps tool does on every sync: server-side apply of the spec it
/// holds, unchanged.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn an_on_call_rollback_through_the_cli_holds_while_gitops_re_applies_the_spec() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "rollback").await;
    let operator = Operator::start(&namespace.name, "e2e-rollback");
    let mut cbd = plain("echo");
    let set_prompt = |cbd: &mut ChatbotDeployment, prompt: &str| {
        cbd.spec
            .config
            .get_or_insert_with(Default::default)
            .insert("SYSTEM_PROMPT".into(), prompt.into());
    };
    set_prompt(&mut cbd, "Be kind.");
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    wait_condition(&client, &namespace.name, "echo", "Ready", "True", &operator).await;

    // GitOps ships 1.1.0 with a new prompt: revision 2 rolls out.
    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0".into();
    set_prompt(&mut cbd, "Answer in one word.");
    gitops_apply(&client, &namespace.name, &cbd).await;
    eventually("revision 2 ready", DEADLINE, Some(&operator), || async {
        let status = read_status(&client, &namespace.name, "echo").await?;
        (status.stable_revision == Some(2) && condition(&status, "Ready")?.0 == "True")
            .then_some(())
    })
    .await;

    // On call rolls back with the CLI, as the user of the kubeconfig.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
        .args([
            "rollback",
            "echo",
            "-n",
            &namespace.name,
            "--reason",
            "e2e: p95 doubled",
            "--timeout",
            "120",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("rolled back to revision 1 "));
    assert_eq!(
        prompt_of(&client, &namespace.name).await.as_deref(),
        Some("Be kind."),
        "revision 1's config is back with its pods"
    );
    eventually(
        "revision 1 back and ready",
        DEADLINE,
        Some(&operator),
        || async {
            let status = read_status(&client, &namespace.name, "echo").await?;
            (status.current_revision == Some(1)
                && status.rollback.is_some()
                && condition(&status, "Ready")?.0 == "True")
                .then_some(())
        },
    )
    .await;

    // GitOps syncs the same spec again and again: the rollback stays.
    let reconciles =
        || operator.metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}");
    for _ in 0..3 {
        gitops_apply(&client, &namespace.name, &cbd).await;
        let before = reconciles().unwrap_or(0.0);
        eventually(
            "a reconcile after the sync",
            Duration::from_secs(60),
            Some(&operator),
            || async { (reconciles()? > before).then_some(()) },
        )
        .await;
        assert_eq!(
            template_image(&client, &namespace.name, "echo")
                .await
                .as_deref(),
            Some("ghcr.io/chatbot-operator/echo-bot:1.0.0"),
            "the pods stay on the rolled-back revision"
        );
        assert_eq!(
            prompt_of(&client, &namespace.name).await.as_deref(),
            Some("Be kind."),
            "and on its config"
        );
        let status = read_status(&client, &namespace.name, "echo").await.unwrap();
        assert_eq!(status.current_revision, Some(1));
        assert_eq!(
            condition(&status, "Ready").unwrap().0,
            "True",
            "no flapping"
        );
    }

    // The next spec change lifts the hold.
    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.2.0".into();
    gitops_apply(&client, &namespace.name, &cbd).await;
    eventually(
        "revision 3 rolls out",
        DEADLINE,
        Some(&operator),
        || async {
            let status = read_status(&client, &namespace.name, "echo").await?;
            let image = template_image(&client, &namespace.name, "echo").await?;
            (status.current_revision == Some(3)
                && status.rollback.is_none()
                && image == "ghcr.io/chatbot-operator/echo-bot:1.2.0")
                .then_some(())
        },
    )
    .await;
    assert_eq!(
        prompt_of(&client, &namespace.name).await.as_deref(),
        Some("Answer in one word."),
        "the spec's config rolls out with it"
    );
}

/// The system prompt in the app ConfigMap of `echo`.
async fn prompt_of(client: &Client, namespace: &str) -> Option<String> {
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let config = config_maps.get_opt("echo-env").await.ok().flatten()?;
    config.data?.get("SYSTEM_PROMPT").cloned()
}

/// A scheduled backup on a real cluster: the operator creates the Job for
/// the first window, owned by the resource, the Job's pod is admitted
/// under the namespace's `restricted` Pod Security Standard, and the
/// agent's own reason for failing (there is no database at the URL) is
/// what status records, without the URL's password.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn a_scheduled_backup_job_is_created_and_admitted_as_restricted() {
    use k8s_openapi::api::{batch::v1::Job, core::v1::Namespace, core::v1::Pod};
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "backups").await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .patch(
            &namespace.name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {
                "pod-security.kubernetes.io/enforce": "restricted"}}})),
        )
        .await
        .expect("label the namespace restricted");
    const PASSWORD: &str = "e2e-Passw0rd";
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
    let url: Secret = serde_json::from_value(json!({
        "metadata": { "name": "external-db" },
        "stringData": { "url": format!("postgres://team:{PASSWORD}@127.0.0.1:9/teamdb") },
    }))
    .unwrap();
    secrets
        .create(&Default::default(), &url)
        .await
        .expect("the database's Secret");
    let operator = Operator::start(&namespace.name, "e2e-backups");
    let mut cbd = plain("nightly");
    cbd.spec.database = serde_json::from_value(json!({
        "mode": "external", "urlSecretRef": { "name": "external-db", "key": "url" }
    }))
    .unwrap();
    cbd.spec.backup = serde_json::from_value(json!({
        "enabled": true, "schedule": "* * * * *",
        "destination": { "s3": { "bucket": "e2e-backups", "region": "us-east-1" } }
    }))
    .unwrap();
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;

    // The first window is at most a minute away.
    let status = eventually("status.backups.last", DEADLINE, Some(&operator), || async {
        let status = read_status(&client, &namespace.name, "nightly").await?;
        status.backups.as_ref()?.last.as_ref()?;
        Some(status)
    })
    .await;
    let last = status.backups.unwrap().last.unwrap();
    assert_eq!(last.reason, "scheduled");
    let job_name = format!("nightly-backup-{}", last.id);
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace.name);
    let job = eventually("the backup Job", DEADLINE, Some(&operator), || async {
        jobs.get_opt(&job_name).await.ok().flatten()
    })
    .await;
    let uid = {
        let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace.name);
        api.get("nightly").await.unwrap().uid().unwrap()
    };
    assert_eq!(job.owner_references()[0].uid, uid);
    let pod_spec = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
    let container = &pod_spec.containers[0];
    assert_eq!(container.args.as_ref().unwrap()[0], "dump");
    let security = container.security_context.as_ref().unwrap();
    assert_eq!(security.allow_privilege_escalation, Some(false));
    assert_eq!(security.read_only_root_filesystem, Some(true));
    let env = serde_json::to_string(&container.env).unwrap();
    assert!(
        !env.contains("value-of-"),
        "secrets by reference only: {env}"
    );
    // The Job controller made its pod: the restricted standard admitted it.
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace.name);
    eventually("the backup pod", DEADLINE, Some(&operator), || async {
        let list = pods
            .list(&ListParams::default().labels(&format!("job-name={job_name}")))
            .await
            .ok()?;
        (!list.items.is_empty()).then_some(())
    })
    .await;
    assert!(
        jobs.list(&ListParams::default().labels("app.kubernetes.io/component=backup"))
            .await
            .unwrap()
            .items
            .iter()
            .filter(|j| j.status.as_ref().and_then(|s| s.active).unwrap_or(0) > 0)
            .count()
            <= 1,
        "one backup at a time"
    );
    let status = eventually(
        "the backup's outcome",
        DEADLINE,
        Some(&operator),
        || async {
            let status = read_status(&client, &namespace.name, "nightly").await?;
            let last = status.backups.as_ref()?.last.clone()?;
            (last.id == job_name.trim_start_matches("nightly-backup-") && last.phase != "Running")
                .then_some(last)
        },
    )
    .await;
    // The agent ran and failed (the database is not there): its own
    // reason is recorded, and the URL's password is not.
    assert_eq!(status.phase, "Failed");
    let message = status.message.unwrap_or_default();
    assert!(
        !message.is_empty() && !message.starts_with("BackoffLimitExceeded"),
        "the agent's reason: {message}"
    );
    assert!(!message.contains(PASSWORD), "{message}");
}

/// `psql -c SQL` against the in-cluster Postgres of `name`, as its own
/// user; the first line of the output.
async fn psql(client: &Client, namespace: &str, name: &str, database: &str, sql: &str) -> String {
    e2e::in_cluster_sql(client, namespace, name, database, sql).await
}

/// A rollback with its data on a real cluster, Brigade's plan: revision 2's
/// pre-rollout backup holds revision 1's data; `rollback --to 1
/// --restore-data` restores it into a new database on the in-cluster
/// Postgres, switches the app to it and runs revision 1's pods again,
/// while the database revision 2 wrote to stays as it was. Needs the
/// agent image (`E2E_AGENT_IMAGE`, else the release's) and a default
/// StorageClass for the backups' volume.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn a_rollback_with_its_data_restores_revision_1s_data_beside_revision_2s() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "restore").await;
    namespace.volume_claim("backups").await;
    let operator = Operator::start(&namespace.name, "e2e-restore");
    let backup = e2e::backup_to_volume("backups", json!({ "beforeRollout": true }));
    let mut cbd = e2e::plain_chatbot(
        "data",
        json!({ "database": { "mode": "inCluster", "storageGiB": 1 }, "backup": backup }),
    );
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    let pulls = Duration::from_secs(300);
    eventually("revision 1 ready", pulls, Some(&operator), || async {
        let status = read_status(&client, &namespace.name, "data").await?;
        (condition(&status, "Ready")?.0 == "True").then_some(())
    })
    .await;
    psql(
        &client,
        &namespace.name,
        "data",
        "chatbot",
        "CREATE TABLE leads (note text); INSERT INTO leads VALUES ('from revision 1')",
    )
    .await;

    // Revision 2 rolls out after its pre-rollout backup, then writes.
    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0".into();
    gitops_apply(&client, &namespace.name, &cbd).await;
    let status = eventually("revision 2 ready", pulls, Some(&operator), || async {
        let status = read_status(&client, &namespace.name, "data").await?;
        (status.stable_revision == Some(2) && condition(&status, "Ready")?.0 == "True")
            .then_some(status)
    })
    .await;
    let record = status.revisions.iter().find(|r| r.revision == 2).unwrap();
    assert!(
        record.pre_rollout_snapshot.is_some(),
        "revision 2 carries its backup"
    );
    psql(
        &client,
        &namespace.name,
        "data",
        "chatbot",
        "INSERT INTO leads VALUES ('from revision 2')",
    )
    .await;

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
        .args(["rollback", "data", "-n", &namespace.name, "--to", "1"])
        .args(["--restore-data", "--reason", "e2e: 1.1.0 broke the leads"])
        .args(["--timeout", "900"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("and the app runs on it at revision 1"),
        "{stdout}"
    );

    let status = read_status(&client, &namespace.name, "data").await.unwrap();
    let restore = status.restore.expect("status.restore");
    assert_eq!(restore.step, "Succeeded");
    assert_eq!(restore.previous_database, "chatbot");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
    let db = secrets.get("data-db").await.unwrap();
    let url = String::from_utf8(db.data.unwrap()["DATABASE_URL"].0.clone()).unwrap();
    assert!(
        url.contains(&format!("/{}?", restore.database)),
        "the app's URL leads to the restored database"
    );
    assert_eq!(
        psql(
            &client,
            &namespace.name,
            "data",
            &restore.database,
            "SELECT string_agg(note, ',') FROM leads"
        )
        .await,
        "from revision 1",
        "revision 1's data"
    );
    assert_eq!(
        psql(
            &client,
            &namespace.name,
            "data",
            "chatbot",
            "SELECT count(*) FROM leads"
        )
        .await,
        "2",
        "the database revision 2 used is kept as the undo"
    );
    eventually(
        "revision 1's pods ready",
        pulls,
        Some(&operator),
        || async {
            let status = read_status(&client, &namespace.name, "data").await?;
            let image = template_image(&client, &namespace.name, "data").await?;
            (image == "ghcr.io/chatbot-operator/echo-bot:1.0.0"
                && condition(&status, "Ready")?.0 == "True")
                .then_some(())
        },
    )
    .await;
}

/// `backups` of the real agent on a real cluster: an on-call `backup
/// --wait` of an in-cluster Postgres to a volume, its restore test (the
/// verify Job's throwaway Postgres), then `restore --confirm` of it into a
/// new database with the app switched over: the rows, the index and the
/// database it replaced are all as they should be.
/// `name` with an in-cluster Postgres and backups to the volume `backups`
/// (with `extra` backup settings), created in `namespace` and Ready.
async fn ready_with_backups(
    client: &Client,
    namespace: &TestNamespace,
    operator: &Operator,
    name: &str,
    extra: serde_json::Value,
) {
    let ns = namespace.name.as_str();
    namespace.volume_claim("backups").await;
    let backup = e2e::backup_to_volume("backups", extra);
    let cbd = e2e::plain_chatbot(
        name,
        json!({ "database": { "mode": "inCluster", "storageGiB": 1 }, "backup": backup }),
    );
    e2e::create_chatbot(client, ns, &cbd).await;
    eventually(
        "Ready",
        Duration::from_secs(300),
        Some(operator),
        || async {
            let status = read_status(client, ns, name).await?;
            (condition(&status, "Ready")?.0 == "True").then_some(())
        },
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn an_on_call_backup_is_verified_and_restored_by_the_real_agent() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "oncall-data").await;
    let ns = namespace.name.as_str();
    let operator = Operator::start(ns, "e2e-oncall-data");
    let pulls = Duration::from_secs(300);
    ready_with_backups(
        &client,
        &namespace,
        &operator,
        "notes",
        json!({ "verify": true }),
    )
    .await;
    psql(
        &client,
        ns,
        "notes",
        "chatbot",
        "CREATE TABLE notes (id serial PRIMARY KEY, body text); \
         CREATE INDEX notes_body ON notes (body); \
         INSERT INTO notes (body) VALUES ('one'), ('two'), ('three')",
    )
    .await;

    let cli = |args: Vec<String>| async move {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .args(&args)
            .output()
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {text}");
        text
    };
    let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    cli(args(&[
        "backup",
        "notes",
        "-n",
        ns,
        "--wait",
        "--timeout",
        "300",
        "--reason",
        "e2e: before the import",
    ]))
    .await;
    let taken = eventually("the backup verified", pulls, Some(&operator), || async {
        let status = read_status(&client, ns, "notes").await?;
        let last = status.backups.as_ref()?.last.clone()?;
        assert_ne!(
            last.verified,
            Some(false),
            "the restore test failed: {last:?}"
        );
        (last.phase == "Succeeded" && last.verified == Some(true)).then_some(last)
    })
    .await;
    assert!(taken.bytes.unwrap_or(0) > 0, "{taken:?}");
    // The verify Job's own report (its restore into a throwaway Postgres
    // and how long it took), not only a Job that ended well.
    assert!(taken.restore_seconds.is_some(), "{taken:?}");
    psql(
        &client,
        ns,
        "notes",
        "chatbot",
        "INSERT INTO notes (body) VALUES ('after the backup')",
    )
    .await;

    let restored = cli(args(&[
        "restore",
        "notes",
        "-n",
        ns,
        "--backup",
        &taken.id,
        "--confirm",
        "--timeout",
        "600",
    ]))
    .await;
    let status = eventually(
        "the restore done and the app back",
        pulls,
        Some(&operator),
        || async {
            let status = read_status(&client, ns, "notes").await?;
            (status.restore.as_ref()?.step == "Succeeded"
                && condition(&status, "Ready")?.0 == "True")
                .then_some(status)
        },
    )
    .await;
    let restore = status.restore.unwrap();
    assert_eq!(restore.previous_database, "chatbot", "{restored}");
    assert_eq!(
        psql(
            &client,
            ns,
            "notes",
            &restore.database,
            "SELECT string_agg(body, ',' ORDER BY id) FROM notes"
        )
        .await,
        "one,two,three",
        "the backup's rows"
    );
    assert_eq!(
        psql(
            &client,
            ns,
            "notes",
            &restore.database,
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'notes_body'"
        )
        .await,
        "1",
        "its index"
    );
    assert_eq!(
        psql(
            &client,
            ns,
            "notes",
            "chatbot",
            "SELECT count(*) FROM notes"
        )
        .await,
        "4",
        "the replaced database is kept as it was"
    );
}

/// An operator killed at each step of a restore it is carrying out: each
/// replacement picks the restore up where the last one left it, and it
/// ends as an uninterrupted one does — the backup's rows in the new
/// database, the app Ready on it, one safety backup and one restore Job.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn an_operator_killed_at_each_restore_step_is_replaced_and_the_restore_finishes() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "restore-kill").await;
    let ns = namespace.name.as_str();
    let test = "e2e-restore-kill";
    let mut operator = Operator::start(ns, test);
    let pulls = Duration::from_secs(300);
    ready_with_backups(&client, &namespace, &operator, "ledger", json!({})).await;
    psql(
        &client,
        ns,
        "ledger",
        "chatbot",
        "CREATE TABLE entries (id serial PRIMARY KEY, body text); \
         INSERT INTO entries (body) VALUES ('one'), ('two'), ('three')",
    )
    .await;
    let cli = |args: &[&str]| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"));
        command.args(args).kill_on_drop(true);
        command
    };
    let output = cli(&[
        "backup",
        "ledger",
        "-n",
        ns,
        "--wait",
        "--timeout",
        "300",
        "--reason",
        "e2e",
    ])
    .output()
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let taken = eventually("the backup", pulls, Some(&operator), || async {
        let status = read_status(&client, ns, "ledger").await?;
        let last = status.backups.as_ref()?.last.clone()?;
        (last.phase == "Succeeded").then_some(last)
    })
    .await;
    psql(
        &client,
        ns,
        "ledger",
        "chatbot",
        "INSERT INTO entries (body) VALUES ('later')",
    )
    .await;

    let restore = cli(&[
        "restore",
        "ledger",
        "-n",
        ns,
        "--backup",
        &taken.id,
        "--confirm",
        "--timeout",
        "600",
    ])
    .output();
    let restore = tokio::spawn(restore);
    let mut killed_at: Vec<String> = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    let restored = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore did not finish in 600 s; operators killed at {killed_at:?}\n{}",
            operator.log_text()
        );
        let status = read_status(&client, ns, "ledger").await;
        if let Some(record) = status.as_ref().and_then(|s| s.restore.clone()) {
            assert_ne!(record.step, "Failed", "{record:?}\n{}", operator.log_text());
            if record.step == "Succeeded" {
                break record;
            }
            if !killed_at.contains(&record.step) {
                operator.kill();
                killed_at.push(record.step.clone());
                operator = Operator::start(ns, test);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = restore.await.unwrap().unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("operators killed at the restore steps {killed_at:?}");
    assert!(
        killed_at.len() >= 3,
        "an operator was killed at {killed_at:?} only"
    );
    eventually(
        "Ready on the restored database",
        pulls,
        Some(&operator),
        || async {
            let status = read_status(&client, ns, "ledger").await?;
            (condition(&status, "Ready")?.0 == "True").then_some(())
        },
    )
    .await;
    assert_eq!(
        psql(
            &client,
            ns,
            "ledger",
            &restored.database,
            "SELECT string_agg(body, ',' ORDER BY id) FROM entries"
        )
        .await,
        "one,two,three",
        "the backup's rows (operators killed at {killed_at:?})"
    );
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = Api::namespaced(client.clone(), ns);
    let count = |selector: &str| {
        let jobs = jobs.clone();
        let selector = selector.to_string();
        async move {
            jobs.list(&ListParams::default().labels(&selector))
                .await
                .unwrap()
                .items
                .len()
        }
    };
    assert_eq!(
        count("app.kubernetes.io/component=restore").await,
        1,
        "one restore Job (operators killed at {killed_at:?})"
    );
    assert_eq!(
        count("chatbot.dev/backup-reason=pre-restore").await,
        1,
        "one safety backup (operators killed at {killed_at:?})"
    );
}

/// `manifests/namespaced/` as `kubectl kustomize` builds it, moved into
/// `namespace`: the objects a team applies with its `namespace:` set.
fn namespaced_install(namespace: &str) -> Vec<serde_json::Value> {
    let mut objects = e2e::kustomize("manifests/namespaced/");
    for object in &mut objects {
        object["metadata"]["namespace"] = json!(namespace);
        let subjects = object.get_mut("subjects").and_then(|s| s.as_array_mut());
        for subject in subjects.into_iter().flatten() {
            subject["namespace"] = json!(namespace);
        }
    }
    objects
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_operator -- --ignored"]
async fn a_namespaced_install_runs_a_chatbot_with_rights_in_its_own_namespace_only() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "namespaced").await;
    let objects = namespaced_install(&namespace.name);
    let kinds: Vec<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert!(
        !kinds
            .iter()
            .any(|k| k.starts_with("Cluster") || *k == "Namespace"),
        "nothing cluster-wide: {kinds:?}"
    );
    // The Deployment, Service and PodDisruptionBudget run the image; the
    // test runs the binary it built, as that Deployment's ServiceAccount.
    for object in &objects {
        let kind = object["kind"].as_str().unwrap();
        if !["Deployment", "Service", "PodDisruptionBudget"].contains(&kind) {
            e2e::apply(&client, object).await;
        }
    }
    let user = format!("system:serviceaccount:{}:chatbot-operator", namespace.name);
    let operator = Operator::as_user(&namespace.name, "e2e-namespaced", &user);
    let cbd = e2e::create_chatbot(&client, &namespace.name, &plain("narrow")).await;
    let uid = cbd.uid().unwrap();
    eventually(
        "the app Deployment, owned",
        DEADLINE,
        Some(&operator),
        || async {
            (owner_of::<Deployment>(&client, &namespace.name, "narrow").await? == uid).then_some(())
        },
    )
    .await;
    eventually(
        "the generated Secret",
        DEADLINE,
        Some(&operator),
        || async {
            let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace.name);
            secrets.get_opt("narrow-generated").await.ok().flatten()
        },
    )
    .await;

    // The same identity reaches no Secret, Deployment or Job elsewhere.
    let mut config = kube::Config::infer().await.unwrap();
    config.auth_info.impersonate = Some(user.clone());
    let narrow = Client::try_from(config).unwrap();
    let forbidden = |result: Result<_, kube::Error>| matches!(result, Err(kube::Error::Api(ref status)) if status.code == 403);
    let everywhere: Api<Secret> = Api::all(narrow.clone());
    assert!(forbidden(
        everywhere.list(&ListParams::default()).await.map(|_| ())
    ));
    let elsewhere: Api<Secret> = Api::namespaced(narrow.clone(), "default");
    assert!(forbidden(
        elsewhere.list(&ListParams::default()).await.map(|_| ())
    ));
    let deployments: Api<Deployment> = Api::namespaced(narrow.clone(), "kube-system");
    assert!(forbidden(
        deployments.list(&ListParams::default()).await.map(|_| ())
    ));
    let own: Api<Secret> = Api::namespaced(narrow, &namespace.name);
    assert!(
        own.list(&ListParams::default()).await.is_ok(),
        "its own namespace"
    );
}
