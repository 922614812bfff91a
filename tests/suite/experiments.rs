//! A/B tests decided by the sequential test against a real Prometheus
//! (Debian package) scraping small servers that speak the app contract's
//! chatbot series, one per variant: a candidate better liked with its
//! guardrails holding is promoted before the duration ends, a split of
//! conversations that is off holds every decision and says so, and a
//! candidate that breaks a guardrail is rolled back however well liked.

use crate::common;

use chatbot_operator::{
    analysis::prometheus::Prometheus,
    api::{
        AbDecision, AbTest, Analysis, ChatbotDeployment, Guardrail, GuardrailSource, PrimaryMetric,
        Sticky, Strategy, Variant,
    },
};
use common::{
    prometheus::{Chat, PrometheusServer, Target, chat_app},
    rollouts::*,
};

/// Per scrape: 2,000 conversations of ten requests, 35 % rated up, 1 %
/// errors, 95 % of first tokens under 2 s, 1 % provider 429s (10,000
/// conversations over the test).
const BASELINE: Chat = Chat {
    conversations: 2_000,
    rated_up: 700,
    requests: 20_000,
    errors: 200,
    first_token_under_2s: 19_000,
    provider_calls: 20_000,
    provider_429: 200,
};

/// Waits until Prometheus holds the variant's counters grown and then flat
/// for a while, so its increase over the test is all of it.
async fn wait_until_flat(prometheus: &Prometheus, revision: i64) {
    let query = format!(
        r#"count_over_time(chatbot_conversations_total{{namespace="{NS}",app_kubernetes_io_instance="mindmitra",chatbot_dev_revision="{revision}"}}[5m])"#
    );
    let wanted = (common::prometheus::CHAT_SCRAPES + 10) as f64;
    for _ in 0..200 {
        if let chatbot_operator::analysis::QueryResult::Value(samples) =
            prometheus.query(&query).await
            && samples >= wanted
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("Prometheus never scraped revision {revision} {wanted} times");
}

/// The labels the PodMonitor gives the series of revision `revision`'s
/// pods: revision 2 is the candidate, whose pods carry their variant.
fn labels(revision: i64) -> Vec<(&'static str, String)> {
    variant_labels(revision, (revision == 2).then_some("listen-first"))
}

/// The labels of the series of `revision`'s pods that run `variant` (a
/// candidate's; the baseline's pods carry none).
fn variant_labels(revision: i64, variant: Option<&str>) -> Vec<(&'static str, String)> {
    let mut labels = vec![
        ("namespace", NS.to_string()),
        ("app_kubernetes_io_instance", "mindmitra".to_string()),
        ("chatbot_dev_revision", revision.to_string()),
    ];
    if let Some(variant) = variant {
        labels.push(("chatbot_dev_variant", variant.to_string()));
    }
    labels
}

/// MindMitra's prompt test: thumbs-up rate (35 % expected, +10 % worth
/// finding), error rate within 0.5 points, first tokens over 2 s within 2.
fn prompt_test(prometheus: &str) -> ChatbotDeployment {
    let mut spec = canary();
    let rollout = spec.spec.rollout.as_mut().unwrap();
    rollout.strategy = Some(Strategy::AbTest);
    rollout.ab_test = Some(AbTest {
        variants: vec![
            Variant {
                name: "current-prompt".into(),
                weight: 50,
                baseline: Some(true),
                ..Default::default()
            },
            Variant {
                name: "listen-first".into(),
                weight: 50,
                ..Default::default()
            },
        ],
        sticky: Some(Sticky {
            header: None,
            cookie: Some("mindmitra-variant".into()),
        }),
        duration: Some("14d".into()),
        decision: Some(AbDecision::Sequential),
        primary: Some(PrimaryMetric {
            baseline_rate_percent: 35.0,
            minimum_detectable_effect_percent: 10.0,
            ..Default::default()
        }),
        guardrails: Some(vec![
            Guardrail {
                metric: GuardrailSource::ErrorRate,
                margin_percent: 0.5,
                ..Default::default()
            },
            Guardrail {
                metric: GuardrailSource::SlowFirstToken,
                threshold_ms: Some(2000),
                margin_percent: 2.0,
                ..Default::default()
            },
        ]),
        ..Default::default()
    });
    rollout.analysis = Some(Analysis {
        enabled: Some(false),
        prometheus_url: Some(prometheus.into()),
        ..Default::default()
    });
    spec
}

/// Revision 1 serving `baseline`, revision 2 shipped as the candidate
/// serving `candidate`, split 50/50, both scraped; then an hour of the
/// test, and the rollout's status and Events after its next looks.
async fn run(
    baseline: Chat,
    candidate: Chat,
) -> (chatbot_operator::api::RolloutStatus, Vec<(String, String)>) {
    run_with(baseline, candidate, false).await
}

/// [`run`], with Prometheus gone before the test's hour is measured when
/// `outage`.
async fn run_with(
    baseline: Chat,
    candidate: Chat,
    outage: bool,
) -> (chatbot_operator::api::RolloutStatus, Vec<(String, String)>) {
    let mut server = PrometheusServer::start(&[
        Target {
            address: chat_app(baseline).await,
            labels: labels(1),
        },
        Target {
            address: chat_app(candidate).await,
            labels: labels(2),
        },
    ])
    .await;
    let prometheus = Prometheus::new(&server.url()).unwrap();
    let spec = prompt_test(&server.url());
    let (mut harness, at) = serving_revision_1(&spec).await;
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    candidate_ready(&mut harness, &at, 2).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("50"));
    wait_until_flat(&prometheus, 1).await;
    wait_until_flat(&prometheus, 2).await;
    if outage {
        server.stop();
    }
    advance(&mut harness, 3_600);
    harness.reconcile_times(&at, 2).await;
    let rollout = harness.chatbot(&at).status.unwrap().rollout.unwrap();
    (rollout, harness.events())
}

fn verdicts(rollout: &chatbot_operator::api::RolloutStatus) -> Vec<(String, String)> {
    rollout
        .report
        .iter()
        .flat_map(|r| &r.signals)
        .map(|s| (s.name.clone(), s.verdict.clone()))
        .collect()
}

#[tokio::test]
async fn a_better_liked_prompt_with_its_guardrails_holding_is_promoted_early() {
    let candidate = Chat {
        rated_up: 900,
        ..BASELINE
    };
    let (rollout, _) = run(BASELINE, candidate).await;
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    let report = rollout.report.clone().unwrap();
    assert!(
        report
            .decision
            .contains("the candidate wins on thumbs-up-rate"),
        "{}",
        report.decision
    );
    assert_eq!(
        verdicts(&rollout),
        [
            ("thumbs-up-rate".to_string(), "Better".to_string()),
            ("error-rate".into(), "Holds".into()),
            ("first-token-over-2000ms".into(), "Holds".into()),
        ]
    );
    let primary = &report.signals[0];
    assert!(
        (primary.baseline_percent.unwrap() - 35.0).abs() < 0.5,
        "{primary:?}"
    );
    assert!(
        (primary.candidate_percent.unwrap() - 45.0).abs() < 0.5,
        "{primary:?}"
    );
    // The slow-first-token share came from the bucket written `2.0`.
    let slow = &report.signals[2];
    assert!(
        (slow.baseline_percent.unwrap() - 5.0).abs() < 0.5,
        "{slow:?}"
    );
    let srm = report.sample_ratio.unwrap();
    assert!(!srm.mismatch, "{srm:?}");
    let candidate = &report.variants[1];
    assert!(candidate.conversations.unwrap() >= 9_000.0, "{candidate:?}");
}

#[tokio::test]
async fn a_split_that_is_off_holds_the_test_and_says_so() {
    // The candidate wins clearly, but gets 47 % of conversations under
    // 50/50 weights.
    let candidate = Chat {
        conversations: 1_774,
        rated_up: 800,
        requests: 17_740,
        errors: 177,
        first_token_under_2s: 16_853,
        provider_calls: 17_740,
        provider_429: 177,
    };
    let (rollout, events) = run(BASELINE, candidate).await;
    assert_eq!(
        rollout.phase, "Progressing",
        "never won: {}",
        rollout.message
    );
    assert!(
        rollout
            .message
            .contains("untrustworthy: conversations split"),
        "{}",
        rollout.message
    );
    assert!(rollout.report.unwrap().sample_ratio.unwrap().mismatch);
    assert!(
        events
            .iter()
            .any(|(reason, _)| reason == "SampleRatioMismatch"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_winner_that_breaks_a_guardrail_is_rolled_back() {
    let candidate = Chat {
        rated_up: 900,
        errors: 800,
        ..BASELINE
    };
    let (rollout, _) = run(BASELINE, candidate).await;
    assert_eq!(rollout.phase, "RolledBack", "{}", rollout.message);
    assert!(
        rollout.message.contains("guardrail error-rate breached"),
        "{}",
        rollout.message
    );
    assert_eq!(rollout.weight, 0, "all traffic back on the baseline");
}

#[tokio::test]
async fn a_round_prometheus_cannot_answer_is_inconclusive_never_a_win() {
    let candidate = Chat {
        rated_up: 900,
        ..BASELINE
    };
    let (rollout, _) = run_with(BASELINE, candidate, true).await;
    assert_eq!(rollout.phase, "Progressing", "{}", rollout.message);
    assert!(
        rollout
            .message
            .contains("round inconclusive: no data for thumbs-up-rate"),
        "{}",
        rollout.message
    );
    assert_eq!(rollout.weight, 50, "the split stands");
}

/// `key` of the ConfigMap `name`.
fn config_value(harness: &common::harness::Harness, name: &str, key: &str) -> Option<String> {
    let config = harness
        .api
        .get(&common::harness::path("configmaps", NS, name))?;
    config["data"][key].as_str().map(str::to_string)
}

#[tokio::test]
async fn a_prompt_overlay_runs_as_its_own_revision_and_its_promotion_leaves_the_spec_patch() {
    let better = Chat {
        rated_up: 900,
        ..BASELINE
    };
    let server = PrometheusServer::start(&[
        Target {
            address: chat_app(BASELINE).await,
            labels: labels(1),
        },
        Target {
            address: chat_app(better).await,
            labels: labels(2),
        },
    ])
    .await;
    let prometheus = Prometheus::new(&server.url()).unwrap();
    let running = prompt_test(&server.url());
    let (mut harness, at) = serving_revision_1(&running).await;

    // The test's candidate sets a new prompt over the running spec: it
    // rolls out as revision 2 on the same image, with its own ConfigMap.
    let mut spec = running.clone();
    let prompt = "Listen first; answer in two sentences.";
    let variants = &mut spec
        .spec
        .rollout
        .as_mut()
        .unwrap()
        .ab_test
        .as_mut()
        .unwrap()
        .variants;
    variants[1].config = Some([("SYSTEM_PROMPT".to_string(), prompt.to_string())].into());
    apply_spec(&mut harness, &at, &spec);
    harness.reconcile(&at).await;
    let status = harness.chatbot(&at).status.unwrap();
    assert_eq!(status.current_revision, Some(2));
    assert_eq!(status.rollout.as_ref().unwrap().stable_revision, 1);
    assert_eq!(
        image_of(&harness, "mindmitra-canary"),
        image_of(&harness, "mindmitra")
    );
    assert_eq!(
        config_value(&harness, "mindmitra-canary", "SYSTEM_PROMPT").as_deref(),
        Some(prompt)
    );
    assert_eq!(
        config_value(&harness, "mindmitra-env", "SYSTEM_PROMPT"),
        None,
        "the stable pods keep their config while the candidate runs"
    );
    candidate_ready(&mut harness, &at, 2).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("50"));
    wait_until_flat(&prometheus, 1).await;
    wait_until_flat(&prometheus, 2).await;
    advance(&mut harness, 3_600);
    harness.reconcile_times(&at, 2).await;
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile_times(&at, 2).await;

    // Promoted: the stable pods run the winner, and the report carries the
    // patch that makes the spec say so.
    let status = harness.chatbot(&at).status.unwrap();
    let rollout = status.rollout.clone().unwrap();
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    assert_eq!(
        config_value(&harness, "mindmitra-env", "SYSTEM_PROMPT").as_deref(),
        Some(prompt)
    );
    let patch: serde_json::Value =
        serde_json::from_str(rollout.report.unwrap().promotion_patch.as_deref().unwrap()).unwrap();
    assert_eq!(patch["spec"]["config"]["SYSTEM_PROMPT"], prompt);

    // A GitOps re-apply of the same spec leaves the winner running.
    apply_spec(&mut harness, &at, &spec);
    harness.reconcile_times(&at, 2).await;
    let again = harness.chatbot(&at).status.unwrap();
    assert_eq!(again.current_revision, Some(2));
    assert_eq!(
        config_value(&harness, "mindmitra-env", "SYSTEM_PROMPT").as_deref(),
        Some(prompt)
    );

    // The patch committed: the same revision, no new rollout, no patch left.
    let mut document = serde_json::to_value(&spec).unwrap();
    json_patch::merge(&mut document, &patch);
    let committed: ChatbotDeployment = serde_json::from_value(document).unwrap();
    apply_spec(&mut harness, &at, &committed);
    harness.reconcile_times(&at, 2).await;
    let after = harness.chatbot(&at).status.unwrap();
    assert_eq!(after.current_revision, Some(2));
    assert_eq!(after.revisions.len(), 2, "{:?}", after.revisions);
    let report = after.rollout.unwrap().report;
    assert_eq!(report.and_then(|r| r.promotion_patch), None);

    // Once the candidate is scaled down its ConfigMap goes with it.
    advance(&mut harness, 3_600);
    harness.reconcile_times(&at, 2).await;
    assert_eq!(
        config_value(&harness, "mindmitra-canary", "SYSTEM_PROMPT"),
        None
    );
    assert!(
        harness
            .api
            .get(&common::harness::path("configmaps", NS, "mindmitra-canary"))
            .is_none()
    );
}

/// The HTTPRoute's weighted backends: Service and weight.
fn route_weights(harness: &common::harness::Harness) -> Vec<(String, i64)> {
    let route = harness
        .api
        .get(&common::harness::path("httproutes", NS, "mindmitra"))
        .expect("an HTTPRoute");
    let rules = route["spec"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    rules
        .last()
        .and_then(|rule| rule["backendRefs"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap_or_default().to_string(),
                b["weight"].as_i64().unwrap_or(1),
            )
        })
        .collect()
}

/// Per scrape, a candidate on a quarter of the traffic: 1,000
/// conversations, 35 % rated up, the baseline's error and latency shares.
const QUARTER: Chat = Chat {
    conversations: 1_000,
    rated_up: 350,
    requests: 10_000,
    errors: 100,
    first_token_under_2s: 9_500,
    provider_calls: 10_000,
    provider_429: 100,
};

#[tokio::test]
async fn of_two_prompts_the_better_liked_one_is_promoted_though_it_does_not_lead() {
    // listen-first (revision 2) is liked as the baseline is; terse
    // (revision 3) is liked far better, with its guardrails holding.
    let terse = Chat {
        rated_up: 500,
        ..QUARTER
    };
    let server = PrometheusServer::start(&[
        Target {
            address: chat_app(BASELINE).await,
            labels: variant_labels(1, None),
        },
        Target {
            address: chat_app(QUARTER).await,
            labels: variant_labels(2, Some("listen-first")),
        },
        Target {
            address: chat_app(terse).await,
            labels: variant_labels(3, Some("terse")),
        },
    ])
    .await;
    let prometheus = Prometheus::new(&server.url()).unwrap();
    let mut running = prompt_test(&server.url());
    running.spec.traffic = Some(chatbot_operator::api::Traffic {
        provider: Some(chatbot_operator::api::TrafficProvider::GatewayApi),
        host: Some("mindmitra.example.org".into()),
        gateway: Some(chatbot_operator::api::GatewayRef {
            name: "public".into(),
            namespace: Some("gateways".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let test = running
        .spec
        .rollout
        .as_mut()
        .unwrap()
        .ab_test
        .as_mut()
        .unwrap();
    test.variants[1].weight = 25;
    test.variants.push(Variant {
        name: "terse".into(),
        weight: 25,
        ..Default::default()
    });
    let (mut harness, at) = serving_revision_1(&running).await;

    // Both prompts laid over the running spec: revisions 2 and 3.
    let mut spec = running.clone();
    let variants = &mut spec
        .spec
        .rollout
        .as_mut()
        .unwrap()
        .ab_test
        .as_mut()
        .unwrap()
        .variants;
    for (at_index, prompt) in [(1, "Listen first."), (2, "Answer in two sentences.")] {
        variants[at_index].config =
            Some([("SYSTEM_PROMPT".to_string(), prompt.to_string())].into());
    }
    apply_spec(&mut harness, &at, &spec);
    harness.reconcile(&at).await;
    let status = harness.chatbot(&at).status.unwrap();
    assert_eq!(status.current_revision, Some(2));
    let numbers: Vec<i64> = status.revisions.iter().map(|r| r.revision).collect();
    assert_eq!(numbers, [1, 2, 3]);
    assert_eq!(
        config_value(&harness, "mindmitra-canary-2", "SYSTEM_PROMPT").as_deref(),
        Some("Answer in two sentences.")
    );
    harness.deployment_ready(NS, "mindmitra-canary", 2);
    harness.deployment_ready(NS, "mindmitra-canary-2", 2);
    harness.reconcile_times(&at, 2).await;
    assert_eq!(
        route_weights(&harness),
        [
            ("mindmitra".to_string(), 50),
            ("mindmitra-canary".to_string(), 25),
            ("mindmitra-canary-2".to_string(), 25)
        ]
    );
    for revision in [1, 2, 3] {
        wait_until_flat(&prometheus, revision).await;
    }
    advance(&mut harness, 3_600);
    harness.reconcile_times(&at, 2).await;

    // terse wins, and is handed the rollout: its revision is the spec's.
    let status = harness.chatbot(&at).status.unwrap();
    let rollout = status.rollout.clone().unwrap();
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    let report = rollout.report.clone().unwrap();
    assert_eq!(
        report.winner.as_deref(),
        Some("terse"),
        "{}",
        report.decision
    );
    let srm = report.sample_ratio.unwrap();
    assert_eq!(srm.expected, "50/25/25");
    assert!(!srm.mismatch, "{srm:?}");
    let primaries: Vec<(Option<String>, String)> = report
        .signals
        .iter()
        .filter(|s| s.role == "Primary")
        .map(|s| (s.variant.clone(), s.verdict.clone()))
        .collect();
    assert_eq!(
        primaries,
        [
            (Some("listen-first".to_string()), "NotYet".to_string()),
            (Some("terse".to_string()), "Better".to_string())
        ]
    );
    assert_eq!(rollout.revision, 3);
    assert_eq!(status.current_revision, Some(3));
    assert_eq!(
        route_weights(&harness),
        [
            ("mindmitra".to_string(), 0),
            ("mindmitra-canary-2".to_string(), 100)
        ]
    );
    assert!(
        harness
            .api
            .get(&common::harness::path(
                "deployments",
                NS,
                "mindmitra-canary"
            ))
            .is_none(),
        "the candidate that lost is gone"
    );

    // The stable pods take terse's prompt; the history says who won.
    harness.deployment_ready(NS, "mindmitra", 2);
    harness.reconcile_times(&at, 2).await;
    assert_eq!(
        config_value(&harness, "mindmitra-env", "SYSTEM_PROMPT").as_deref(),
        Some("Answer in two sentences.")
    );
    let status = harness.chatbot(&at).status.unwrap();
    assert_eq!(status.stable_revision, Some(3));
    assert_eq!(
        common::revision_outcomes(&status),
        [
            (1, "Promoted".to_string()),
            (2, "Superseded".to_string()),
            (3, "Promoted".to_string())
        ]
    );
    let patch: serde_json::Value =
        serde_json::from_str(report.promotion_patch.as_deref().unwrap()).unwrap();
    assert_eq!(
        patch["spec"]["config"]["SYSTEM_PROMPT"],
        "Answer in two sentences."
    );
}
