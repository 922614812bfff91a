//! Canary, blue-green and A/B rollouts end to end against the cluster in
//! `KUBECONFIG` (see `tests/e2e_operator.rs`), with the operator binary
//! running as its own service account (only the RBAC in `manifests/`).
//! The candidate that must never become ready asks for more CPU than any
//! node has, so it stays Pending on any cluster. The routes are read, not
//! exercised: no Gateway or ingress controller is needed; a candidate's
//! smoke checks reach its pods through the control plane's Service proxy
//! (`E2E_SERVICE_PROXY`), and analysis queries a real Prometheus the test
//! starts.
//!
//! Ignored by a plain `cargo test` (it needs a cluster); run by
//! `scripts/test.sh`, or by hand:
//! `cargo test --test e2e_rollouts -- --ignored --nocapture`.

mod common;

use std::time::Duration;

use chatbot_operator::api::{ChatbotDeployment, ChatbotDeploymentStatus};
use common::e2e::{
    self, Operator, TestNamespace, condition, eventually, gitops_apply, read_status as status,
    template_image as image,
};
use gateway_api::apis::standard::httproutes::HttpRoute;
use kube::{Api, Client};
use serde_json::{Value, json};

const DEADLINE: Duration = Duration::from_secs(180);

/// An app with no data store or Secret and a rollout of `rollout`, behind
/// a Gateway API HTTPRoute (the CRD is installed by `e2e::install`).
fn app(name: &str, rollout: Value) -> ChatbotDeployment {
    e2e::plain_chatbot(
        name,
        json!({
            "rollout": rollout,
            "traffic": {
                "provider": "gatewayAPI",
                "host": format!("{name}.e2e.example"),
                "gateway": {"name": "public", "namespace": "gateway-system"},
            },
        }),
    )
}

/// The HTTPRoute's weights by backend Service.
async fn weights(client: &Client, namespace: &str, name: &str) -> Vec<(String, i32)> {
    let api: Api<HttpRoute> = Api::namespaced(client.clone(), namespace);
    let Ok(Some(route)) = api.get_opt(name).await else {
        return Vec::new();
    };
    route
        .spec
        .rules
        .unwrap_or_default()
        .last()
        .and_then(|rule| rule.backend_refs.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|b| (b.name, b.weight.unwrap_or(1)))
        .collect()
}

/// The HTTPRoute's sticky rules: the header or cookie value each matches
/// and the Service it sends to.
async fn sticky_rules(client: &Client, namespace: &str, name: &str) -> Vec<(String, String)> {
    let api: Api<HttpRoute> = Api::namespaced(client.clone(), namespace);
    let rules = api.get(name).await.unwrap().spec.rules.unwrap_or_default();
    rules
        .iter()
        .filter_map(|rule| {
            let header = rule.matches.as_ref()?[0].headers.as_ref()?[0].value.clone();
            Some((header, rule.backend_refs.as_ref()?[0].name.clone()))
        })
        .collect()
}

/// The promotion patch of `echo` committed, as `kubectl patch --type
/// merge` would: its status once the operator has seen the new generation
/// and no patch is left in it.
async fn commit_patch(
    client: &Client,
    namespace: &str,
    patch: &Value,
    operator: &Operator,
) -> ChatbotDeploymentStatus {
    let chatbots: Api<ChatbotDeployment> = Api::namespaced(client.clone(), namespace);
    chatbots
        .patch(
            "echo",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(patch),
        )
        .await
        .unwrap();
    eventually("the patch leaves", DEADLINE, Some(operator), || async {
        let status = status(client, namespace, "echo").await?;
        let generation = chatbots.get("echo").await.ok()?.metadata.generation;
        let caught_up = status.observed_generation == generation;
        let rollout = status.rollout.clone()?;
        (caught_up && rollout.report.and_then(|r| r.promotion_patch).is_none()).then_some(status)
    })
    .await
}

async fn ready(client: &Client, namespace: &str, name: &str, operator: &Operator) {
    eventually(
        &format!("{name} Ready"),
        DEADLINE,
        Some(operator),
        || async {
            let status = status(client, namespace, name).await?;
            (condition(&status, "Ready")?.0 == "True").then_some(())
        },
    )
    .await;
}

/// Runs the CLI as the kubeconfig's user; (success, stdout, stderr).
async fn cli(args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
        .args(args)
        .output()
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `kubectl chatbot promote echo` in `namespace`, which must carry out
/// the promotion of revision 2.
async fn promote_revision_2(namespace: &str, reason: &str) {
    let (ok, stdout, stderr) = cli(&["promote", "echo", "-n", namespace, "--reason", reason]).await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("Promote carried out on revision 2"),
        "{stdout}"
    );
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_canary_survives_an_operator_restart_and_is_promoted() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "canary").await;
    let mut operator = Operator::start(&namespace.name, "e2e-canary");
    let mut cbd = app(
        "echo",
        json!({
            "strategy": "Canary",
            "canary": {"steps": [
                {"setWeight": 25},
                {"pause": {}},
                {"setWeight": 50},
                {"pause": {"duration": "15s"}},
            ]},
            "analysis": {"enabled": false},
        }),
    );
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    ready(&client, &namespace.name, "echo", &operator).await;

    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0".into();
    gitops_apply(&client, &namespace.name, &cbd).await;
    let paused = eventually("paused at 25%", DEADLINE, Some(&operator), || async {
        let weights = weights(&client, &namespace.name, "echo").await;
        let status = status(&client, &namespace.name, "echo").await?;
        (weights == [("echo".to_string(), 75), ("echo-canary".to_string(), 25)]
            && status.phase.as_deref() == Some("Paused"))
        .then_some(status)
    })
    .await;
    assert_eq!(
        image(&client, &namespace.name, "echo").await.as_deref(),
        Some("ghcr.io/chatbot-operator/echo-bot:1.0.0"),
        "the stable pods keep revision 1 while the candidate is judged"
    );
    assert_eq!(
        image(&client, &namespace.name, "echo-canary")
            .await
            .as_deref(),
        Some("ghcr.io/chatbot-operator/echo-bot:1.1.0")
    );

    // The operator dies mid-canary; its successor resumes the same step
    // with the same weights.
    operator.kill();
    let operator = Operator::start(&namespace.name, "e2e-canary");
    eventually(
        "the new operator reconciled",
        DEADLINE,
        Some(&operator),
        || async {
            let reconciles = operator
                .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")?;
            (reconciles >= 2.0).then_some(())
        },
    )
    .await;
    assert_eq!(
        weights(&client, &namespace.name, "echo").await,
        [("echo".to_string(), 75), ("echo-canary".to_string(), 25)],
        "no traffic jump"
    );
    assert_eq!(
        status(&client, &namespace.name, "echo")
            .await
            .unwrap()
            .rollout,
        paused.rollout
    );

    let (ok, stdout, stderr) = cli(&[
        "resume",
        "echo",
        "-n",
        &namespace.name,
        "--reason",
        "e2e: 25% looks fine",
    ])
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("Resume carried out on revision 2"),
        "{stdout}"
    );

    // 50%, a 15 s pause, then promoted: the stable Deployment takes 1.1.0,
    // traffic returns to it and the candidate goes.
    let promoted = eventually("revision 2 stable", DEADLINE, Some(&operator), || async {
        let status = status(&client, &namespace.name, "echo").await?;
        let image = image(&client, &namespace.name, "echo").await?;
        (status.stable_revision == Some(2)
            && image == "ghcr.io/chatbot-operator/echo-bot:1.1.0"
            && condition(&status, "Ready")?.0 == "True")
            .then_some(status)
    })
    .await;
    assert_eq!(promoted.rollout.unwrap().phase, "Promoted");
    eventually(
        "the candidate removed",
        DEADLINE,
        Some(&operator),
        || async {
            let gone = image(&client, &namespace.name, "echo-canary")
                .await
                .is_none();
            let weights = weights(&client, &namespace.name, "echo").await;
            (gone && weights == [("echo".to_string(), 100)]).then_some(())
        },
    )
    .await;
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_candidate_that_never_becomes_ready_is_rolled_back_and_stays_so() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "crash").await;
    let operator = Operator::start(&namespace.name, "e2e-crash");
    let mut cbd = app(
        "echo",
        json!({
            "strategy": "Canary",
            "canary": {"steps": [{"setWeight": 20}, {"pause": {}}]},
            "analysis": {"enabled": false},
            "progressDeadlineSeconds": 30,
            // The spec is `environment: dev`, whose default pauses a
            // rollout that missed its deadline instead of rolling it back.
            "autoRollback": true,
        }),
    );
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    ready(&client, &namespace.name, "echo", &operator).await;

    // More CPU than any node has: the candidate's pods never start.
    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0-broken".into();
    cbd.spec.resources = Some(
        serde_json::from_value(json!({
            "requests": {"cpu": "10000", "memory": "256Mi"},
            "limits": {"cpu": "10000", "memory": "512Mi"},
        }))
        .unwrap(),
    );
    gitops_apply(&client, &namespace.name, &cbd).await;
    let rolled_back = eventually("rolled back", DEADLINE, Some(&operator), || async {
        let status = status(&client, &namespace.name, "echo").await?;
        (condition(&status, "Degraded")? == ("True".into(), "RolledBack".into())).then_some(status)
    })
    .await;
    assert_eq!(rolled_back.stable_revision, Some(1));
    assert_eq!(
        weights(&client, &namespace.name, "echo").await,
        [("echo".to_string(), 100)]
    );
    eventually(
        "the candidate removed",
        DEADLINE,
        Some(&operator),
        || async {
            image(&client, &namespace.name, "echo-canary")
                .await
                .is_none()
                .then_some(())
        },
    )
    .await;

    // GitOps re-applies the same spec: it stays rolled back, the stable
    // pods keep serving revision 1.
    for _ in 0..3 {
        gitops_apply(&client, &namespace.name, &cbd).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = status(&client, &namespace.name, "echo").await.unwrap();
        assert_eq!(now.phase.as_deref(), Some("Degraded"), "no flapping");
        assert_eq!(now.rollout, rolled_back.rollout);
        assert_eq!(
            image(&client, &namespace.name, "echo").await.as_deref(),
            Some("ghcr.io/chatbot-operator/echo-bot:1.0.0")
        );
    }
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_blue_green_waits_for_promote_through_the_cli() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "bluegreen").await;
    let operator = Operator::start(&namespace.name, "e2e-bluegreen");
    let mut cbd = app(
        "echo",
        json!({
            "strategy": "BlueGreen",
            "blueGreen": {"autoPromotion": false, "scaleDownDelaySeconds": 5},
            "analysis": {"enabled": false},
        }),
    );
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    ready(&client, &namespace.name, "echo", &operator).await;
    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:2.0.0".into();
    gitops_apply(&client, &namespace.name, &cbd).await;
    eventually("the preview waits", DEADLINE, Some(&operator), || async {
        let status = status(&client, &namespace.name, "echo").await?;
        (status.phase.as_deref() == Some("Paused")).then_some(())
    })
    .await;
    assert_eq!(
        weights(&client, &namespace.name, "echo").await,
        [("echo".to_string(), 100), ("echo-canary".to_string(), 0)]
    );

    promote_revision_2(&namespace.name, "e2e: preview checked").await;
    eventually("green is stable", DEADLINE, Some(&operator), || async {
        let status = status(&client, &namespace.name, "echo").await?;
        let image = image(&client, &namespace.name, "echo").await?;
        (status.stable_revision == Some(2) && image == "ghcr.io/chatbot-operator/echo-bot:2.0.0")
            .then_some(())
    })
    .await;
}

/// `echo` running the baseline of an A/B test split 50/50 by a cookie,
/// decided by a person, with the candidate variant `candidate`; then a
/// new system prompt laid over the spec by that variant (configuration
/// only, the same image), applied GitOps-style, with the split in place.
/// The spec as applied.
async fn prompt_overlay_split(
    client: &Client,
    namespace: &str,
    operator: &Operator,
    candidate: &str,
    duration: &str,
) -> ChatbotDeployment {
    let mut cbd = app(
        "echo",
        json!({
            "strategy": "ABTest",
            "abTest": {
                "variants": [
                    {"name": "baseline", "weight": 50, "baseline": true},
                    {"name": candidate, "weight": 50},
                ],
                "sticky": {"cookie": "echo-variant"},
                "duration": duration,
                "decision": "Manual",
            },
            "analysis": {"enabled": false},
        }),
    );
    e2e::create_chatbot(client, namespace, &cbd).await;
    ready(client, namespace, "echo", operator).await;
    let test = cbd.spec.rollout.as_mut().and_then(|r| r.ab_test.as_mut());
    test.unwrap().variants[1].config = Some(
        [("SYSTEM_PROMPT".to_string(), "Listen first.".to_string())]
            .into_iter()
            .collect(),
    );
    gitops_apply(client, namespace, &cbd).await;
    eventually("50/50", DEADLINE, Some(operator), || async {
        let weights = weights(client, namespace, "echo").await;
        (weights == [("echo".to_string(), 50), ("echo-canary".to_string(), 50)]).then_some(())
    })
    .await;
    cbd
}

#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_short_a_b_test_reports_and_waits_for_a_person() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "abtest").await;
    let operator = Operator::start(&namespace.name, "e2e-abtest");
    prompt_overlay_split(&client, &namespace.name, &operator, "new-prompt", "20s").await;

    // The candidate runs as its own revision, knowing its variant.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), &namespace.name);
    let candidate = deployments.get("echo-canary").await.unwrap();
    let template = candidate.spec.unwrap().template;
    let labels = template.metadata.unwrap().labels.unwrap();
    assert_eq!(labels["chatbot.dev/variant"], "new-prompt");
    assert_eq!(labels["chatbot.dev/revision"], "2");
    let env = template.spec.unwrap().containers[0].env.clone().unwrap();
    assert!(
        env.iter()
            .any(|v| v.name == "CHATBOT_VARIANT" && v.value.as_deref() == Some("new-prompt")),
        "{env:?}"
    );
    // Its config is its own; the stable pods keep theirs.
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), &namespace.name);
    let prompt = |name: &'static str| {
        let config_maps = config_maps.clone();
        async move {
            config_maps
                .get(name)
                .await
                .unwrap()
                .data
                .unwrap_or_default()
                .get("SYSTEM_PROMPT")
                .cloned()
        }
    };
    assert_eq!(
        prompt("echo-canary").await.as_deref(),
        Some("Listen first.")
    );
    assert_eq!(prompt("echo-env").await, None);
    // The route, as the real API server admitted it: a conversation's
    // cookie keeps it on its variant either way, and the weighted answers
    // set that cookie.
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), &namespace.name);
    let rules = routes.get("echo").await.unwrap().spec.rules.unwrap();
    assert_eq!(
        sticky_rules(&client, &namespace.name, "echo").await,
        [
            (
                r"(^|;\s*)echo-variant=always(;|$)".to_string(),
                "echo-canary".to_string()
            ),
            (
                r"(^|;\s*)echo-variant=never(;|$)".to_string(),
                "echo".to_string()
            ),
        ]
    );
    let assigned: Vec<String> = rules
        .last()
        .and_then(|r| r.backend_refs.clone())
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            let filter = b.filters.as_ref()?.first()?;
            Some(
                filter.response_header_modifier.as_ref()?.add.as_ref()?[0]
                    .value
                    .clone(),
            )
        })
        .collect();
    assert_eq!(
        assigned,
        [
            "echo-variant=never; Path=/; HttpOnly; SameSite=Lax",
            "echo-variant=always; Path=/; HttpOnly; SameSite=Lax"
        ]
    );

    // The duration ends: a report (no Prometheus here, so no numbers) and a
    // pause for the on-call decision; traffic stays split meanwhile.
    let reported = eventually("the report", DEADLINE, Some(&operator), || async {
        let status = status(&client, &namespace.name, "echo").await?;
        let rollout = status.rollout?;
        (rollout.phase == "Paused" && rollout.report.is_some()).then_some(rollout)
    })
    .await;
    assert_eq!(reported.report.unwrap().variants.len(), 2);

    let (ok, stdout, stderr) = cli(&[
        "abort",
        "echo",
        "-n",
        &namespace.name,
        "--reason",
        "e2e: keep the baseline",
    ])
    .await;
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("Abort carried out"), "{stdout}");
    eventually(
        "all traffic on the baseline",
        DEADLINE,
        Some(&operator),
        || async {
            let weights = weights(&client, &namespace.name, "echo").await;
            (weights == [("echo".to_string(), 100)]).then_some(())
        },
    )
    .await;
}

/// A new prompt laid over the spec by the candidate variant, promoted by a
/// person: the winner runs what Git does not say, so its report carries
/// the spec patch; a GitOps re-apply of the same spec keeps the winner,
/// and the committed patch makes no new revision and leaves no patch.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_promoted_prompt_overlay_leaves_the_spec_patch_to_commit() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "overlay").await;
    let operator = Operator::start(&namespace.name, "e2e-overlay");
    let cbd = prompt_overlay_split(&client, &namespace.name, &operator, "listen-first", "1h").await;

    promote_revision_2(&namespace.name, "e2e: the new prompt reads better").await;
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), &namespace.name);
    let stable_prompt = || async {
        let config = config_maps.get("echo-env").await.ok()?;
        config.data?.get("SYSTEM_PROMPT").cloned()
    };
    let patch = eventually(
        "the winner is stable",
        DEADLINE,
        Some(&operator),
        || async {
            let status = status(&client, &namespace.name, "echo").await?;
            let patch = status.rollout?.report?.promotion_patch?;
            (status.stable_revision == Some(2)
                && stable_prompt().await.as_deref() == Some("Listen first."))
            .then_some(patch)
        },
    )
    .await;
    let patch: Value = serde_json::from_str(&patch).unwrap();
    assert_eq!(patch["spec"]["config"]["SYSTEM_PROMPT"], "Listen first.");
    let (ok, stdout, stderr) = cli(&["ab", "echo", "-n", &namespace.name, "--patch"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("SYSTEM_PROMPT: Listen first."), "{stdout}");

    // A GitOps re-apply of the same spec keeps the winner.
    gitops_apply(&client, &namespace.name, &cbd).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let status_now = status(&client, &namespace.name, "echo").await.unwrap();
    assert_eq!(status_now.current_revision, Some(2));
    assert_eq!(stable_prompt().await.as_deref(), Some("Listen first."));

    // The patch committed (as `kubectl patch --type merge` would): the same
    // revision, nothing rolls out, no patch left in status.
    let committed = commit_patch(&client, &namespace.name, &patch, &operator).await;
    assert_eq!(committed.current_revision, Some(2));
    assert_eq!(committed.revisions.len(), 2, "{:?}", committed.revisions);
    assert_eq!(stable_prompt().await.as_deref(), Some("Listen first."));
}

/// Two new system prompts tested at once against the running one, 50/25/25
/// on the Gateway API route, judged by a person: each candidate runs as
/// its own revision with its own pods, config, Service and sticky value;
/// a promote must name one, and the named one (not the first) becomes the
/// stable revision, leaving the spec patch to commit.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_test_of_two_prompts_promotes_the_one_a_person_names() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "prompts").await;
    let ns = namespace.name.as_str();
    let operator = Operator::start(ns, "e2e-prompts");
    let mut cbd = app(
        "echo",
        json!({
            "strategy": "ABTest",
            "abTest": {
                "variants": [
                    {"name": "current", "weight": 50, "baseline": true},
                    {"name": "listen-first", "weight": 25},
                    {"name": "short", "weight": 25},
                ],
                "sticky": {"cookie": "echo-variant"},
                "duration": "1h",
                "decision": "Manual",
                "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 35,
                            "minimumDetectableEffectPercent": 10},
            },
            // Nothing answers here: every round is inconclusive, never a pass.
            "analysis": {"enabled": false, "prometheusURL": "http://127.0.0.1:9"},
        }),
    );
    e2e::create_chatbot(&client, ns, &cbd).await;
    ready(&client, ns, "echo", &operator).await;
    let test = cbd.spec.rollout.as_mut().and_then(|r| r.ab_test.as_mut());
    let variants = &mut test.unwrap().variants;
    for (variant, prompt) in [(1, "Listen first."), (2, "Answer in two sentences.")] {
        variants[variant].config = Some(
            [("SYSTEM_PROMPT".to_string(), prompt.to_string())]
                .into_iter()
                .collect(),
        );
    }
    gitops_apply(&client, ns, &cbd).await;
    eventually("50/25/25", DEADLINE, Some(&operator), || async {
        let weights = weights(&client, ns, "echo").await;
        (weights
            == [
                ("echo".to_string(), 50),
                ("echo-canary".to_string(), 25),
                ("echo-canary-2".to_string(), 25),
            ])
        .then_some(())
    })
    .await;

    // Each candidate: its own revision, variant and prompt.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), ns);
    let config_maps: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), ns);
    for (name, revision, variant, prompt) in [
        ("echo-canary", "2", "listen-first", "Listen first."),
        ("echo-canary-2", "3", "short", "Answer in two sentences."),
    ] {
        let template = deployments.get(name).await.unwrap().spec.unwrap().template;
        let labels = template.metadata.unwrap().labels.unwrap();
        assert_eq!(labels["chatbot.dev/revision"], revision, "{name}");
        assert_eq!(labels["chatbot.dev/variant"], variant, "{name}");
        let config = config_maps.get(name).await.unwrap().data.unwrap();
        assert_eq!(config["SYSTEM_PROMPT"], prompt, "{name}");
    }
    // A conversation's cookie names its variant; `never` keeps the stable.
    assert_eq!(
        sticky_rules(&client, ns, "echo").await,
        [
            (
                r"(^|;\s*)echo-variant=listen-first(;|$)".to_string(),
                "echo-canary".to_string()
            ),
            (
                r"(^|;\s*)echo-variant=short(;|$)".to_string(),
                "echo-canary-2".to_string()
            ),
            (
                r"(^|;\s*)echo-variant=never(;|$)".to_string(),
                "echo".to_string()
            ),
        ]
    );
    let running = status(&client, ns, "echo").await.unwrap();
    let candidates: Vec<(String, i64)> = running
        .rollout
        .unwrap()
        .candidates
        .into_iter()
        .map(|c| (c.variant, c.revision))
        .collect();
    assert_eq!(
        candidates,
        [("listen-first".to_string(), 2), ("short".to_string(), 3)]
    );

    // A promote must say which.
    let (ok, _, stderr) = cli(&["promote", "echo", "-n", ns, "--reason", "e2e"]).await;
    assert!(!ok);
    assert!(
        stderr.contains(
            "2 candidates run (listen-first, short): name the one to promote with --variant"
        ),
        "{stderr}"
    );
    let (ok, stdout, stderr) = cli(&[
        "promote",
        "echo",
        "-n",
        ns,
        "--variant",
        "short",
        "--reason",
        "e2e: shorter reads better",
    ])
    .await;
    assert!(ok, "{stderr}");
    assert!(
        stdout.starts_with("Promote carried out on revision 3"),
        "{stdout}"
    );
    let stable_prompt = || async {
        let config = config_maps.get("echo-env").await.ok()?;
        config.data?.get("SYSTEM_PROMPT").cloned()
    };
    let patch = eventually("short is stable", DEADLINE, Some(&operator), || async {
        let status = status(&client, ns, "echo").await?;
        let patch = status.rollout?.report?.promotion_patch?;
        (status.stable_revision == Some(3)
            && stable_prompt().await.as_deref() == Some("Answer in two sentences."))
        .then_some(patch)
    })
    .await;
    assert!(
        deployments.get_opt("echo-canary").await.unwrap().is_none(),
        "the candidate that lost is gone"
    );
    let patch: Value = serde_json::from_str(&patch).unwrap();
    assert_eq!(
        patch["spec"]["config"]["SYSTEM_PROMPT"],
        "Answer in two sentences."
    );

    // The patch committed: no new revision, the history as the test left it.
    let committed = commit_patch(&client, ns, &patch, &operator).await;
    assert_eq!(committed.current_revision, Some(3));
    assert_eq!(
        common::revision_outcomes(&committed),
        [
            (1, "Promoted".to_string()),
            (2, "Superseded".to_string()),
            (3, "Promoted".to_string())
        ]
    );
    assert_eq!(
        stable_prompt().await.as_deref(),
        Some("Answer in two sentences.")
    );
}

/// Whether the cluster serves the Prometheus Operator's PodMonitors and
/// PrometheusRules.
async fn monitoring_served(client: &Client) -> bool {
    client
        .list_api_group_resources("monitoring.coreos.com/v1")
        .await
        .is_ok_and(|list| {
            ["podmonitors", "prometheusrules"]
                .iter()
                .all(|kind| list.resources.iter().any(|r| r.name == *kind))
        })
}

/// Staging and production scrape the app by default: a new image rolls
/// out with every strategy, whether or not the cluster serves the
/// Prometheus Operator's kinds (where it does not, the PodMonitor is left
/// out for every revision, not only the first; where it does, the
/// PodMonitor is there, owned by the resource).
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_new_image_rolls_out_in_staging_and_production_with_every_strategy() {
    let client = e2e::client().await;
    e2e::install(&client).await;
    let monitoring = monitoring_served(&client).await;
    let namespace = TestNamespace::new(&client, "strategies").await;
    let operator = Operator::start(&namespace.name, "e2e-strategies");
    let strategies = [
        ("rolling", json!({"strategy": "Rolling"})),
        (
            "bluegreen",
            json!({"strategy": "BlueGreen", "blueGreen": {"autoPromote": true},
                "analysis": {"enabled": false}}),
        ),
        (
            "canary",
            json!({"strategy": "Canary", "canary": {"steps": [{"setWeight": 50}]},
                "analysis": {"enabled": false}}),
        ),
    ];
    let mut apps = Vec::new();
    for environment in ["staging", "production"] {
        for (strategy, rollout) in &strategies {
            let name = format!("{environment}-{strategy}");
            let mut cbd = app(&name, rollout.clone());
            cbd.spec.environment = serde_json::from_value(json!(environment)).unwrap();
            e2e::create_chatbot(&client, &namespace.name, &cbd).await;
            apps.push((name, cbd));
        }
    }
    for (name, _) in &apps {
        ready(&client, &namespace.name, name, &operator).await;
    }
    for (_, cbd) in &mut apps {
        cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0".into();
        gitops_apply(&client, &namespace.name, cbd).await;
    }
    let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace.name);
    for (name, _) in &apps {
        eventually(
            &format!("{name}: revision 2 rolled out"),
            DEADLINE,
            Some(&operator),
            || async {
                let cbd = api.get(name).await.ok()?;
                let status = cbd.status.clone()?;
                let image = image(&client, &namespace.name, name).await?;
                (status.observed_generation == cbd.metadata.generation
                    && status.current_revision == Some(2)
                    && status.stable_revision == Some(2)
                    && image == "ghcr.io/chatbot-operator/echo-bot:1.1.0"
                    && condition(&status, "Ready")?.0 == "True")
                    .then_some(())
            },
        )
        .await;
        let status = status(&client, &namespace.name, name).await.unwrap();
        let (monitored, reason) = condition(&status, "Monitored").unwrap();
        let pod_monitors: Api<kube::api::DynamicObject> = Api::namespaced_with(
            client.clone(),
            &namespace.name,
            &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
                "monitoring.coreos.com",
                "v1",
                "PodMonitor",
            )),
        );
        if monitoring {
            assert_eq!(monitored, "True", "{name}: {reason}");
            let monitor = pod_monitors.get(name).await.expect("the PodMonitor");
            assert_eq!(
                monitor.metadata.owner_references.unwrap()[0].name,
                *name,
                "owned by the resource"
            );
        } else {
            assert_eq!(
                (monitored.as_str(), reason.as_str()),
                ("False", "PrometheusOperatorMissing"),
                "{name}"
            );
        }
    }
}

/// Rounds of a rollout's analysis whose every check passed.
fn passed_rounds(status: &chatbot_operator::api::ChatbotDeploymentStatus) -> usize {
    status.rollout.as_ref().map_or(0, |r| {
        r.analysis
            .iter()
            .filter(|round| {
                !round.measurements.is_empty()
                    && round.measurements.iter().all(|m| m.verdict == "Passed")
            })
            .count()
    })
}

/// A canary at 20% is analysed every 5 s, six rounds, against a real
/// Prometheus scraping the candidate's metrics; Prometheus goes away
/// after three rounds. Rounds it cannot answer are measured again, not
/// counted: after more than the default four in a row the rollout pauses
/// as inconclusive, saying how many rounds were measured, with the
/// candidate neither promoted nor rolled back. Once Prometheus is back,
/// on-call resumes and a full run promotes it.
#[tokio::test]
#[ignore = "needs a cluster in KUBECONFIG: cargo test --test e2e_rollouts -- --ignored"]
async fn a_canary_is_never_promoted_on_rounds_prometheus_could_not_answer() {
    use common::prometheus::{GOOD, PrometheusServer, Target, metrics_app, wait_for_samples_of};
    let client = e2e::client().await;
    e2e::install(&client).await;
    let namespace = TestNamespace::new(&client, "unmeasured").await;
    // The candidate's series, labelled as its PodMonitor labels them.
    let metrics = metrics_app(GOOD).await;
    let mut prometheus = PrometheusServer::start(&[Target {
        address: metrics,
        labels: vec![
            ("namespace", namespace.name.clone()),
            ("app_kubernetes_io_instance", "echo".into()),
            ("chatbot_dev_revision", "2".into()),
        ],
    }])
    .await;
    let query = chatbot_operator::analysis::prometheus::Prometheus::new(&prometheus.url()).unwrap();
    wait_for_samples_of(&query, &namespace.name, "echo", 2).await;
    let operator = Operator::start(&namespace.name, "e2e-unmeasured");
    let mut cbd = app(
        "echo",
        json!({
            "strategy": "Canary",
            "canary": {"steps": [{"setWeight": 20}, {"analysis": true}]},
            "analysis": {
                "enabled": true,
                "prometheusURL": prometheus.url(),
                "interval": "5s",
                "count": 6,
                "minSuccessRatePercent": 99,
                "maxErrorRatePercent": 1,
            },
        }),
    );
    e2e::create_chatbot(&client, &namespace.name, &cbd).await;
    ready(&client, &namespace.name, "echo", &operator).await;
    cbd.spec.image = "ghcr.io/chatbot-operator/echo-bot:1.1.0".into();
    gitops_apply(&client, &namespace.name, &cbd).await;

    eventually(
        "three rounds measured",
        DEADLINE,
        Some(&operator),
        || async {
            let status = status(&client, &namespace.name, "echo").await?;
            (passed_rounds(&status) >= 3).then_some(())
        },
    )
    .await;
    prometheus.stop();

    let paused = eventually(
        "the analysis paused as inconclusive",
        DEADLINE,
        Some(&operator),
        || async {
            let status = status(&client, &namespace.name, "echo").await?;
            let rollout = status.rollout.clone()?;
            assert_ne!(
                rollout.phase, "Promoted",
                "promoted unmeasured: {rollout:#?}"
            );
            (rollout.phase == "Inconclusive").then_some(status)
        },
    )
    .await;
    let rollout = paused.rollout.clone().unwrap();
    let measured = passed_rounds(&paused);
    assert!(measured < 6, "{rollout:#?}");
    assert!(
        rollout
            .message
            .contains("5 rounds in a row could not be measured (limit 4)")
            && rollout
                .message
                .contains(&format!("{measured} of 6 rounds measured")),
        "{}",
        rollout.message
    );
    assert_eq!(paused.stable_revision, Some(1), "not promoted");
    assert_eq!(
        weights(&client, &namespace.name, "echo").await,
        [("echo".to_string(), 80), ("echo-canary".to_string(), 20)],
        "not rolled back either: the candidate was not shown bad"
    );
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), &namespace.name);
    eventually(
        "a Warning Event says why",
        DEADLINE,
        Some(&operator),
        || async {
            let list = events.list(&Default::default()).await.ok()?;
            list.items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("AnalysisInconclusive")
                        && e.type_.as_deref() == Some("Warning")
                        && e.note
                            .as_deref()
                            .is_some_and(|n| n.contains("could not be measured"))
                })
                .then_some(())
        },
    )
    .await;

    prometheus.restart().await;
    let (ok, _, stderr) = cli(&[
        "resume",
        "echo",
        "-n",
        &namespace.name,
        "--reason",
        "e2e: Prometheus is back",
    ])
    .await;
    assert!(ok, "{stderr}");
    eventually(
        "revision 2 promoted on six measured rounds",
        DEADLINE,
        Some(&operator),
        || async {
            let status = status(&client, &namespace.name, "echo").await?;
            (status.stable_revision == Some(2)).then_some(())
        },
    )
    .await;
}
