//! Analysis against a real Prometheus (Debian package) scraping small
//! HTTP servers whose metrics the test controls: a good candidate passes,
//! a bad one fails with the value and threshold that failed it, a revision
//! without series is inconclusive, and a Prometheus that is gone gives
//! errors that never add up to a pass.

use crate::common;

use std::{net::SocketAddr, time::Duration};

use chatbot_operator::{
    analysis::{
        self, Measurement, RunPolicy, RunVerdict, Selector, Verdict, prometheus::Prometheus,
    },
    api::Analysis,
};
use common::prometheus::{
    BAD, GOOD, PrometheusServer, Target, metrics_app as app, wait_for_samples_of,
};

fn selector(revision: i64) -> Selector {
    Selector {
        namespace: "sales".into(),
        instance: "brigade".into(),
        revision,
        variant: None,
    }
}

fn target(address: SocketAddr, revision: i64) -> Target {
    Target {
        address,
        labels: vec![
            ("namespace", "sales".into()),
            ("app_kubernetes_io_instance", "brigade".into()),
            ("chatbot_dev_revision", revision.to_string()),
        ],
    }
}

fn thresholds() -> Analysis {
    Analysis {
        min_success_rate_percent: Some(99.0),
        max_error_rate_percent: Some(1.0),
        max_p95_latency_ms: Some(500),
        ..Default::default()
    }
}

const POLICY: RunPolicy = RunPolicy {
    count: 3,
    failure_limit: 1,
    consecutive_error_limit: 2,
};

/// Measures every check of revision `revision` in `POLICY.count` rounds.
async fn run(prometheus: &Prometheus, revision: i64) -> (RunVerdict, Vec<Vec<Measurement>>) {
    let checks = analysis::checks(&thresholds(), &selector(revision), 1).unwrap();
    let mut rounds = Vec::new();
    loop {
        let mut round = Vec::new();
        for check in &checks {
            round.push(analysis::judge(
                check,
                &prometheus.query(&check.query).await,
            ));
        }
        rounds.push(round);
        let verdict = analysis::run_verdict(&rounds, POLICY);
        if !matches!(verdict, RunVerdict::Running { .. }) {
            return (verdict, rounds);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until Prometheus holds enough samples of `revision` for a rate.
async fn wait_for_samples(prometheus: &Prometheus, revision: i64) {
    let selector = selector(revision);
    wait_for_samples_of(
        prometheus,
        &selector.namespace,
        &selector.instance,
        revision,
    )
    .await;
}

#[tokio::test]
async fn good_and_bad_candidates_missing_data_and_a_lost_prometheus() {
    let good = app(GOOD).await;
    let bad = app(BAD).await;
    let server = PrometheusServer::start(&[target(good, 1), target(bad, 2)]).await;
    let prometheus = Prometheus::new(&server.url()).unwrap();
    wait_for_samples(&prometheus, 1).await;
    wait_for_samples(&prometheus, 2).await;

    let (verdict, rounds) = run(&prometheus, 1).await;
    assert_eq!(verdict, RunVerdict::Passed, "{rounds:#?}");
    let first = &rounds[0];
    let success = first.iter().find(|m| m.name == "success-rate").unwrap();
    let rate = success.value.expect("a success rate");
    assert!(
        (rate - 100.0).abs() < 1e-6,
        "every request succeeded: {rate}"
    );
    let p95 = first.iter().find(|m| m.name == "p95-latency").unwrap();
    let value = p95.value.unwrap();
    assert!(
        (150.0..=250.0).contains(&value),
        "p95 between the 0.1 s and 0.25 s buckets: {value}"
    );
    assert!(
        p95.query.contains(r#"chatbot_dev_revision="1""#),
        "{}",
        p95.query
    );

    let (verdict, rounds) = run(&prometheus, 2).await;
    let RunVerdict::Failed { reason } = verdict else {
        panic!("the bad candidate fails: {verdict:?} {rounds:#?}");
    };
    assert!(reason.contains("error-rate = 10"), "{reason}");
    assert!(reason.contains("(wants <= 1)"), "{reason}");
    assert!(reason.contains("p95-latency = "), "{reason}");
    let errors = rounds[0].iter().find(|m| m.name == "error-rate").unwrap();
    assert_eq!(
        (errors.verdict, errors.threshold.as_str()),
        (Verdict::Failed, "<= 1")
    );

    // A revision no pod reports for: no series, never a pass.
    let (verdict, rounds) = run(&prometheus, 3).await;
    let RunVerdict::Inconclusive { reason } = verdict else {
        panic!("no data is inconclusive: {verdict:?}");
    };
    assert_eq!(rounds.len(), 1, "it stops at the first empty round");
    assert!(reason.contains("no series"), "{reason}");

    // A PromQL mistake is an error that names Prometheus's complaint.
    let refused = prometheus.query("sum(rate(http_requests_total[1m]").await;
    let analysis::QueryResult::Failed(message) = refused else {
        panic!("a syntax error is refused: {refused:?}");
    };
    assert!(message.contains("bad_data"), "{message}");

    // Prometheus gone: every measurement errors; the run never passes,
    // and pauses once more rounds in a row than the limit errored.
    drop(server);
    let (verdict, rounds) = run(&prometheus, 1).await;
    assert!(
        rounds.iter().flatten().all(|m| m.verdict == Verdict::Error),
        "{rounds:#?}"
    );
    assert_eq!(rounds.len(), 3, "the limit is 2 in a row");
    let RunVerdict::Inconclusive { reason } = verdict else {
        panic!("only errors is not a pass: {verdict:?}");
    };
    assert!(
        reason.starts_with("3 rounds in a row could not be measured (limit 2)")
            && reason.ends_with("0 of 3 rounds measured"),
        "{reason}"
    );
}

/// The operator's own analysis: a canary of MindMitra whose revision 2
/// answers 10% errors is measured against the real Prometheus by the
/// reconciler, fails, and all traffic goes back to revision 1 at once.
#[tokio::test]
async fn a_canary_whose_analysis_fails_is_rolled_back_by_the_reconciler() {
    use chatbot_operator::api::{CanaryStep, Strategy};
    use common::{harness::path, rollouts::*};

    let bad = app(BAD).await;
    let server = PrometheusServer::start(&[Target {
        address: bad,
        labels: vec![
            ("namespace", NS.into()),
            ("app_kubernetes_io_instance", "mindmitra".into()),
            ("chatbot_dev_revision", "2".into()),
        ],
    }])
    .await;
    let prometheus = Prometheus::new(&server.url()).unwrap();

    let mut spec = canary();
    let rollout = spec.spec.rollout.as_mut().unwrap();
    rollout.strategy = Some(Strategy::Canary);
    rollout.canary.as_mut().unwrap().steps = vec![
        CanaryStep {
            set_weight: Some(20),
            ..Default::default()
        },
        CanaryStep {
            analysis: Some(true),
            ..Default::default()
        },
        CanaryStep {
            set_weight: Some(100),
            ..Default::default()
        },
    ];
    rollout.analysis = Some(Analysis {
        enabled: Some(true),
        prometheus_url: Some(server.url()),
        interval: Some("1s".into()),
        count: Some(3),
        failure_limit: Some(0),
        ..thresholds()
    });
    let (mut harness, at) = serving_revision_1(&spec).await;
    // The candidate's Service, as the smoke checks reach it.
    let (healthy, _stop) = common::fake_server::serve_on_loopback(
        axum::Router::new().route("/health", axum::routing::get(|| async { "ok" })),
    )
    .await;
    harness.context.smoke_base = Some(format!("http://{healthy}"));
    ship(
        &mut harness,
        &at,
        &spec,
        "ghcr.io/mindmitra/support-bot:1.1.0",
    )
    .await;
    harness.deployment_ready(NS, "mindmitra-canary", 2);
    // Smoke checks pass, then 20%.
    harness.reconcile_times(&at, 2).await;
    assert_eq!(canary_weight(&harness).as_deref(), Some("20"));

    // Revision 2's pods report; the next look measures them.
    wait_for_samples_of(&prometheus, NS, "mindmitra", 2).await;
    harness.reconcile(&at).await;

    assert_eq!(canary_weight(&harness), None, "all traffic on revision 1");
    assert!(
        harness
            .api
            .get(&path("deployments", NS, "mindmitra-canary"))
            .is_none()
    );
    let (degraded, reason, message) = harness.condition(&at, "Degraded");
    assert_eq!((degraded.as_str(), reason.as_str()), ("True", "RolledBack"));
    assert!(
        message.contains("error-rate = 10 (wants <= 1)"),
        "{message}"
    );
    let rollout = harness.chatbot(&at).status.unwrap().rollout.unwrap();
    let round = &rollout.analysis[0];
    let errors = round
        .measurements
        .iter()
        .find(|m| m.name == "error-rate")
        .unwrap();
    assert_eq!(
        (errors.verdict.as_str(), errors.threshold.as_str()),
        ("Failed", "<= 1")
    );
    assert!((errors.value.unwrap() - 10.0).abs() < 1e-6, "{errors:?}");
    assert!(
        errors
            .query
            .as_deref()
            .is_some_and(|q| q.contains(r#"chatbot_dev_revision="2""#)),
        "the resolved query is recorded: {errors:?}"
    );
}

/// An A/B test decided by its rule: MindMitra's candidate (revision 2)
/// answers every request, the baseline (revision 1) 10% errors; after the
/// test's duration the reconciler measures both against the real
/// Prometheus and BestSuccessRate promotes the candidate.
#[tokio::test]
async fn an_a_b_test_whose_candidate_is_significantly_better_is_promoted() {
    use chatbot_operator::api::{AbDecision, AbTest, Sticky, Strategy, Variant};
    use common::rollouts::*;

    let good = app(GOOD).await;
    let bad = app(BAD).await;
    // The candidate's pods carry their variant (the PodMonitor keeps it).
    let labels = |revision: i64| {
        let mut labels = vec![
            ("namespace", NS.to_string()),
            ("app_kubernetes_io_instance", "mindmitra".to_string()),
            ("chatbot_dev_revision", revision.to_string()),
        ];
        if revision == 2 {
            labels.push(("chatbot_dev_variant", "new-prompt".to_string()));
        }
        labels
    };
    let server = PrometheusServer::start(&[
        Target {
            address: bad,
            labels: labels(1),
        },
        Target {
            address: good,
            labels: labels(2),
        },
    ])
    .await;
    let prometheus = Prometheus::new(&server.url()).unwrap();

    let mut spec = canary();
    let rollout = spec.spec.rollout.as_mut().unwrap();
    rollout.strategy = Some(Strategy::AbTest);
    rollout.ab_test = Some(AbTest {
        variants: vec![
            Variant {
                name: "baseline".into(),
                weight: 50,
                baseline: Some(true),
                ..Default::default()
            },
            Variant {
                name: "new-prompt".into(),
                weight: 50,
                ..Default::default()
            },
        ],
        sticky: Some(Sticky {
            header: None,
            cookie: Some("mindmitra-variant".into()),
        }),
        duration: Some("1h".into()),
        decision: Some(AbDecision::BestSuccessRate),
        ..Default::default()
    });
    rollout.analysis = Some(Analysis {
        enabled: Some(false),
        prometheus_url: Some(server.url()),
        ..Default::default()
    });
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
    let ingress = harness
        .api
        .get(&common::harness::path("ingresses", NS, "mindmitra-canary"))
        .unwrap();
    assert_eq!(
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-cookie"],
        "mindmitra-variant"
    );

    wait_for_samples_of(&prometheus, NS, "mindmitra", 1).await;
    wait_for_samples_of(&prometheus, NS, "mindmitra", 2).await;
    // An hour later the test is over: the next looks measure and decide.
    advance(&mut harness, 3_600);
    harness.reconcile_times(&at, 2).await;

    let status = harness.chatbot(&at).status.unwrap();
    let rollout = status.rollout.unwrap();
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    let report = rollout.report.expect("the report is kept");
    assert!(
        report.decision.starts_with("A/B test: new-prompt wins"),
        "{}",
        report.decision
    );
    let [baseline, candidate] = report.variants.as_slice() else {
        panic!("two variants: {report:?}");
    };
    assert_eq!((baseline.revision, candidate.revision), (1, 2));
    assert!((baseline.success_rate_percent.unwrap() - 90.0).abs() < 1e-6);
    assert!((candidate.success_rate_percent.unwrap() - 100.0).abs() < 1e-6);
    assert!(candidate.requests.unwrap() > 0.0 && candidate.p95_latency_ms.is_some());
    assert_eq!(canary_weight(&harness).as_deref(), Some("100"));
    assert_eq!(
        image_of(&harness, "mindmitra").as_deref(),
        Some("ghcr.io/mindmitra/support-bot:1.1.0"),
        "the stable Deployment takes the winner"
    );
}
