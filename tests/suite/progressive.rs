//! Canary and blue-green rollouts through the real reconciler and kube
//! client against the in-memory API server: the candidate beside the
//! stable pods, the route's weights step by step, a restart that resumes
//! the same step, promotion, and the automatic rollback of a candidate
//! that never becomes ready.

use crate::common;

use chatbot_operator::api::{Analysis, ChatbotDeploymentStatus};
use common::{
    harness::{Harness, path},
    rollouts::*,
};
use serde_json::json;

fn status(harness: &Harness, at: &str) -> ChatbotDeploymentStatus {
    harness.chatbot(at).status.unwrap_or_default()
}

fn writes(harness: &Harness) -> Vec<String> {
    harness
        .take_requests()
        .into_iter()
        .filter(|line| !line.starts_with("GET"))
        .collect()
}

/// What a ChatbotAction writes for the reconciler (under its own manager).
fn command(harness: &mut Harness, at: &str, command: &str, revision: i64, action: &str) {
    harness.api.update(at, |object| {
        object["status"]["rolloutCommand"] = json!({
            "command": command,
            "revision": revision,
            "action": action,
            "reason": "test",
        });
    });
    harness.sync();
}

#[tokio::test]
async fn a_canary_steps_through_its_weights_resumes_after_a_restart_and_is_promoted() {
    let spec = canary();
    let (mut harness, at) = serving_revision_1(&spec).await;

    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    // The candidate starts beside the stable pods, with no traffic yet.
    assert_eq!(
        image_of(&harness, "mindmitra-canary").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.1.0")
    );
    assert_eq!(
        image_of(&harness, "mindmitra").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.0.0"),
        "the stable pods keep their template"
    );
    let candidate = harness
        .api
        .get(&path("deployments", NS, "mindmitra-canary"))
        .unwrap();
    assert_eq!(candidate["spec"]["replicas"], 2, "as many pods as stable");
    assert!(
        harness
            .api
            .get(&path("services", NS, "mindmitra-canary"))
            .is_some()
    );
    assert_eq!(canary_weight(&harness).as_deref(), Some("0"));
    let started = status(&harness, &at);
    assert_eq!(
        (
            started.stable_revision,
            started.canary_revision,
            started.canary_weight
        ),
        (Some(1), Some(2), Some(0))
    );
    assert_eq!(harness.condition(&at, "Progressing").1, "CanaryInProgress");

    // Ready candidate: the first weight; then the pause holds.
    candidate_ready(&mut harness, &at, 1).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("20"));
    harness.reconcile(&at).await;
    let paused = status(&harness, &at);
    assert_eq!(paused.phase.as_deref(), Some("Paused"));
    assert_eq!(paused.canary_weight, Some(20));
    let (_, reason, message) = harness.condition(&at, "Progressing");
    assert_eq!(reason, "RolloutPaused");
    assert!(
        message.contains("waiting for Promote or Resume"),
        "{message}"
    );

    // Resyncs and a restarted operator change nothing: same step, same weight.
    harness.take_requests();
    harness.reconcile_times(&at, 2).await;
    assert_eq!(
        writes(&harness),
        Vec::<String>::new(),
        "a paused canary is quiet"
    );
    let mut restarted = harness.restarted();
    restarted.reconcile(&at).await;
    assert_eq!(
        writes(&restarted),
        Vec::<String>::new(),
        "a restarted operator resumes without a write"
    );
    assert_eq!(canary_weight(&restarted).as_deref(), Some("20"));
    assert_eq!(status(&restarted, &at), paused);

    // Resume: the next weight.
    command(&mut restarted, &at, "Resume", 2, "resume-1");
    restarted.reconcile(&at).await;
    restarted.reconcile(&at).await;
    assert_eq!(canary_weight(&restarted).as_deref(), Some("50"));
    let rollout = status(&restarted, &at).rollout.unwrap();
    assert_eq!(rollout.last_action.as_deref(), Some("resume-1"));

    // Every step passed: promoted. All traffic on the candidate while the
    // stable Deployment takes the new template.
    restarted.reconcile(&at).await;
    assert_eq!(canary_weight(&restarted).as_deref(), Some("100"));
    assert_eq!(
        image_of(&restarted, "mindmitra").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.1.0")
    );
    assert_eq!(harness.condition(&at, "Progressing").1, "Promoting");
    let events: Vec<String> = restarted.events().into_iter().map(|(r, _)| r).collect();
    assert!(events.contains(&"Promoted".to_string()), "{events:?}");

    // The stable pods caught up: traffic back to them, the candidate kept
    // for the scale-down delay, then removed.
    restarted.deployment_ready(NS, "mindmitra", 2);
    restarted.reconcile(&at).await;
    assert_eq!(
        canary_weight(&restarted),
        None,
        "the canary Ingress is gone"
    );
    assert!(
        restarted
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_some()
    );
    let done = status(&restarted, &at);
    assert_eq!(done.phase.as_deref(), Some("Ready"));
    assert_eq!(
        (done.stable_revision, done.canary_revision),
        (Some(2), None)
    );
    let record = done.revisions.iter().find(|r| r.revision == 2).unwrap();
    assert_eq!(record.outcome.as_deref(), Some("Promoted"));

    advance(&mut restarted, 31);
    restarted.reconcile(&at).await;
    assert!(
        restarted
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_none(),
        "the candidate goes after the delay"
    );
    assert!(
        restarted
            .api
            .get(&path("services", NS, "mindmitra-canary"))
            .is_none()
    );
    restarted.take_requests();
    restarted.reconcile_times(&at, 2).await;
    assert_eq!(writes(&restarted), Vec::<String>::new(), "and all is quiet");
}

#[tokio::test]
async fn a_candidate_that_never_becomes_ready_is_rolled_back_and_stays_so_under_re_applies() {
    let mut spec = canary();
    spec.spec
        .rollout
        .as_mut()
        .unwrap()
        .progress_deadline_seconds = Some(120);
    let (mut harness, at) = serving_revision_1(&spec).await;
    let crashing = with_image(&spec, "ghcr.io/mindmitra/support-bot:1.1.0-crash");
    apply_spec(&mut harness, &at, &crashing);
    harness.reconcile(&at).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("0"));

    // CrashLoopBackOff: no pod ever ready. Before the deadline, waiting.
    advance(&mut harness, 119);
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_some()
    );
    advance(&mut harness, 1);
    harness.take_requests();
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_none(),
        "the candidate is scaled away"
    );
    assert_eq!(
        canary_weight(&harness),
        None,
        "all traffic on the stable Service"
    );
    assert_eq!(
        image_of(&harness, "mindmitra").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.0.0")
    );
    let (degraded, reason, message) = harness.condition(&at, "Degraded");
    assert_eq!((degraded.as_str(), reason.as_str()), ("True", "RolledBack"));
    assert!(message.contains("progress deadline (120s)"), "{message}");
    assert!(
        message.contains("revision 1 serves all traffic"),
        "{message}"
    );
    let events = harness.events();
    assert!(
        events.iter().any(|(reason, _)| reason == "RolledBack"),
        "{events:?}"
    );
    let rolled_back = status(&harness, &at);
    assert_eq!(rolled_back.phase.as_deref(), Some("Degraded"));
    let record = rolled_back
        .revisions
        .iter()
        .find(|r| r.revision == 2)
        .unwrap();
    assert_eq!(record.outcome.as_deref(), Some("RolledBack"));

    // Argo CD re-applies the same spec: nothing moves, nothing flaps.
    for _ in 0..3 {
        apply_spec(&mut harness, &at, &crashing);
        advance(&mut harness, 60);
        harness.take_requests();
        harness.reconcile(&at).await;
        let again = status(&harness, &at);
        assert_eq!(again.phase.as_deref(), Some("Degraded"));
        assert_eq!(again.rollout, rolled_back.rollout);
        assert!(
            writes(&harness)
                .iter()
                .all(|line| line.ends_with("/status") || line.contains("/events")),
            "only observedGeneration moves"
        );
        assert!(
            harness
                .api
                .get(&path("deployments", NS, "mindmitra-canary"))
                .is_none()
        );
    }

    // A fixed image is a new revision with a new candidate.
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.1",
    )
    .await;
    assert_eq!(
        image_of(&harness, "mindmitra-canary").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.1.1")
    );
    let next = status(&harness, &at);
    assert_eq!(
        (next.canary_revision, next.stable_revision),
        (Some(3), Some(1))
    );
    assert_eq!(harness.condition(&at, "Degraded").0, "False");
}

#[tokio::test]
async fn a_blue_green_preview_waits_for_promote_and_abort_sends_it_away() {
    // The sample: BlueGreen, autoPromotion false, ingress-nginx.
    let mut spec = common::sample_without_gates("mindmitra");
    spec.spec.rollout.as_mut().unwrap().analysis = Some(Analysis {
        enabled: Some(false),
        ..Default::default()
    });
    let (mut harness, at) = serving_revision_1(&spec).await;
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:2.0.0",
    )
    .await;
    candidate_ready(&mut harness, &at, 3).await;
    // The preview Service reaches the new pods; live traffic does not.
    let preview = harness
        .api
        .get(&path("services", NS, "mindmitra-canary"))
        .unwrap();
    assert_eq!(
        preview["spec"]["selector"]["app.kubernetes.io/component"],
        "canary"
    );
    let stable = harness.api.get(&path("services", NS, "mindmitra")).unwrap();
    assert_eq!(
        stable["spec"]["selector"]["app.kubernetes.io/component"],
        "app"
    );
    assert_eq!(canary_weight(&harness).as_deref(), Some("0"));
    assert_eq!(status(&harness, &at).phase.as_deref(), Some("Paused"));

    command(&mut harness, &at, "Abort", 2, "abort-1");
    harness.reconcile(&at).await;
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_none()
    );
    assert_eq!(canary_weight(&harness), None);
    let aborted = status(&harness, &at).rollout.unwrap();
    assert_eq!(aborted.phase, "RolledBack");
    assert!(
        aborted.message.contains("aborted by an on-call action"),
        "{}",
        aborted.message
    );
    assert_eq!(aborted.last_action.as_deref(), Some("abort-1"));
}

/// Runs the operator's two controllers over the harness until the
/// ChatbotAction the command creates (named `prefix…`) has ended.
async fn operate(harness: &mut Harness, at: &str, prefix: &str) {
    for _ in 0..400 {
        let created = harness
            .api
            .list("/apis/chatbot.dev/v1alpha1/namespaces/")
            .into_iter()
            .find(|o| {
                o["kind"] == "ChatbotAction"
                    && o["metadata"]["name"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(prefix))
            });
        if let Some(action) = created {
            let name = action["metadata"]["name"].as_str().unwrap().to_string();
            let action_path = path("chatbotactions", NS, &name);
            harness.run_action(&action_path).await;
            harness.sync();
            harness.reconcile(at).await;
            let phase = harness.api.get(&action_path).unwrap()["status"]["phase"].clone();
            if phase == "Succeeded" || phase == "Failed" {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the command's ChatbotAction never ended");
}

#[tokio::test]
async fn promote_through_the_cli_skips_the_remaining_steps() {
    let spec = canary();
    let (mut harness, at) = serving_revision_1(&spec).await;
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    candidate_ready(&mut harness, &at, 2).await;
    assert_eq!(status(&harness, &at).phase.as_deref(), Some("Paused"));

    harness.api.grant_oncall("mindmitra");
    let server = common::fake_server::FakeServer::start(harness.api.clone()).await;
    let command = |args: &'static [&'static str]| server.cli(args);
    let cli = command(&[
        "promote",
        "mindmitra",
        "-n",
        NS,
        "--reason",
        "20% looks good",
        "--timeout",
        "30",
    ]);
    let (output, ()) = tokio::join!(cli, operate(&mut harness, &at, "mindmitra-promote-"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("Promote carried out on revision 2"),
        "{stdout}"
    );
    assert_eq!(canary_weight(&harness).as_deref(), Some("100"));
    assert_eq!(
        image_of(&harness, "mindmitra").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.1.0")
    );
    let events: Vec<String> = harness.events().into_iter().map(|(r, _)| r).collect();
    assert!(events.contains(&"Promoted".to_string()), "{events:?}");
    let spec_after = harness.chatbot(&at).spec;
    assert_eq!(
        serde_json::to_value(&spec_after).unwrap(),
        serde_json::to_value(&with_image(&spec, "ghcr.io/mindmitra/support-bot:1.1.0").spec)
            .unwrap(),
        "the spec GitOps owns is untouched"
    );

    // Nothing left to pause: a clear refusal, exit code 1.
    let refused = tokio::join!(
        command(&["pause", "mindmitra", "-n", NS, "--timeout", "30"]),
        operate(&mut harness, &at, "mindmitra-pause-")
    )
    .0;
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("nothing is in flight"), "{stderr}");
}

#[tokio::test]
async fn a_candidate_whose_health_check_fails_never_takes_traffic() {
    let mut spec = canary();
    // Analysis on: smoke checks come first (Prometheus is never reached).
    spec.spec.rollout.as_mut().unwrap().analysis = Some(Analysis {
        enabled: Some(true),
        prometheus_url: Some("http://127.0.0.1:9".into()),
        max_error_rate_percent: Some(1.0),
        smoke_paths: Some(vec!["/api/chat/ping".into()]),
        ..Default::default()
    });
    let (mut harness, at) = serving_revision_1(&spec).await;
    let (candidate, _stop) = common::fake_server::serve_on_loopback(
        axum::Router::new()
            .route("/health", axum::routing::get(|| async { "ok" }))
            .route(
                "/api/chat/ping",
                axum::routing::get(|| async {
                    (http::StatusCode::SERVICE_UNAVAILABLE, "no model")
                }),
            ),
    )
    .await;
    harness.context.smoke_base = Some(format!("http://{candidate}"));
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("0"));
    candidate_ready(&mut harness, &at, 1).await;
    assert_eq!(canary_weight(&harness), None, "it never took traffic");
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_none()
    );
    let (_, reason, message) = harness.condition(&at, "Degraded");
    assert_eq!(reason, "RolledBack");
    assert!(
        message.contains("smoke check failed: GET /api/chat/ping answered 503"),
        "{message}"
    );
}

#[tokio::test]
async fn switching_to_rolling_mid_canary_removes_the_candidate_and_rolls_the_stable_pods() {
    let spec = canary();
    let (mut harness, at) = serving_revision_1(&spec).await;
    let next = with_image(&spec, "ghcr.io/mindmitra/support-bot:1.1.0");
    apply_spec(&mut harness, &at, &next);
    harness.reconcile(&at).await;
    candidate_ready(&mut harness, &at, 2).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("20"));

    let mut rolling = next.clone();
    rolling.spec.rollout.as_mut().unwrap().strategy =
        Some(chatbot_operator::api::Strategy::Rolling);
    apply_spec(&mut harness, &at, &rolling);
    harness.reconcile(&at).await;
    assert_eq!(canary_weight(&harness), None);
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_none()
    );
    assert_eq!(
        image_of(&harness, "mindmitra").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.1.0")
    );
    let now = status(&harness, &at);
    assert_eq!(now.rollout, None, "an unfinished rollout is not kept");
    assert_eq!(harness.condition(&at, "Progressing").1, "RollingOut");
}

#[tokio::test]
async fn with_no_traffic_provider_the_candidates_share_of_the_pods_carries_the_weight() {
    let mut spec = canary();
    spec.spec.traffic.as_mut().unwrap().provider =
        Some(chatbot_operator::api::TrafficProvider::None);
    let mut harness = Harness::new();
    harness.secret(NS, "mindmitra-llm", &["api-key"]);
    harness.secret(NS, "mindmitra-sentry", &["dsn"]);
    let at = harness.create(&spec);
    harness.provision_stores(&at).await;
    harness.reconcile(&at).await;
    harness.deployment_ready(NS, "mindmitra", 4);
    harness.reconcile(&at).await;

    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    let candidate = harness
        .api
        .get(&path("deployments", NS, "mindmitra-canary"))
        .unwrap();
    let labels = &candidate["spec"]["template"]["metadata"]["labels"];
    assert_eq!(
        labels["app.kubernetes.io/component"], "app",
        "behind the stable Service"
    );
    assert_eq!(labels["chatbot.dev/track"], "canary");
    assert_eq!(candidate["spec"]["replicas"], 1, "one pod to be judged");
    harness.deployment_ready(NS, "mindmitra-canary", 1);
    harness.reconcile(&at).await;
    // 20% of traffic: one candidate pod beside four stable ones.
    let rollout = status(&harness, &at).rollout.unwrap();
    assert_eq!(rollout.weight, 20);
    assert!(
        rollout
            .traffic
            .as_deref()
            .is_some_and(|t| t.contains("approximated by pods, 1 of the candidate beside 4 stable")),
        "{rollout:?}"
    );
    let (_, _, message) = harness.condition(&at, "Ready");
    assert!(message.contains("approximated by pods"), "{message}");
    assert_eq!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra"))
            .unwrap()["spec"]["replicas"],
        4,
        "the stable pods are never scaled down before promotion"
    );

    // Resume to 50%: as many candidate pods as stable ones.
    command(&mut harness, &at, "Resume", 2, "resume-1");
    harness.reconcile_times(&at, 2).await;
    let candidate = harness
        .api
        .get(&path("deployments", NS, "mindmitra-canary"))
        .unwrap();
    assert_eq!(candidate["spec"]["replicas"], 4);
}

#[tokio::test]
async fn a_timed_pause_is_looked_at_again_when_it_ends_not_every_half_minute() {
    use chatbot_operator::api::{CanaryStep, Pause};
    use kube::runtime::controller::Action;
    let mut spec = canary();
    spec.spec
        .rollout
        .as_mut()
        .unwrap()
        .canary
        .as_mut()
        .unwrap()
        .steps = vec![
        CanaryStep {
            set_weight: Some(20),
            ..Default::default()
        },
        CanaryStep {
            pause: Some(Pause {
                duration: Some("2m".into()),
            }),
            ..Default::default()
        },
        CanaryStep {
            set_weight: Some(50),
            ..Default::default()
        },
    ];
    let (mut harness, at) = serving_revision_1(&spec).await;
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    candidate_ready(&mut harness, &at, 1).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("20"));
    // The pause starts now: the next look is when it ends.
    assert_eq!(
        harness.reconcile(&at).await,
        Action::requeue(std::time::Duration::from_secs(120))
    );
    advance(&mut harness, 100);
    assert_eq!(
        harness.reconcile(&at).await,
        Action::requeue(std::time::Duration::from_secs(20))
    );
    // The pause ends; the look after moves the weight (one step per look).
    advance(&mut harness, 20);
    harness.reconcile_times(&at, 2).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("50"));
}
