use k8s_openapi::jiff::Timestamp;

use super::*;
use crate::{
    api::{AnalysisRound, ChatbotDeployment, MeasurementStatus, VariantReport},
    reconcile::observe::Workload,
    render::{ChildKind, Object, Renderer},
};

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap())
}

/// The claude-saas sample: Canary 10% → analysis → 50% → pause 10m →
/// analysis → 100%, Gateway API, analysis from the production defaults.
fn sample() -> (ChatbotDeployment, Rendered) {
    let cbd: ChatbotDeployment =
        serde_yaml_ng::from_str(include_str!("../../../manifests/samples/claude-saas.yaml"))
            .unwrap();
    let rendered = Renderer::embedded().unwrap().render(&cbd, 2).unwrap();
    (cbd, rendered)
}

fn workload(revision: i64, desired: i32, ready: bool) -> Workload {
    Workload {
        generation: 1,
        observed_generation: 1,
        desired,
        current: desired,
        updated: desired,
        ready: if ready { desired } else { 0 },
        available: if ready { desired } else { 0 },
        template_revision: Some(revision),
        ..Default::default()
    }
}

fn observed(candidate_ready: Option<bool>) -> Observed {
    Observed {
        workload: Some(workload(1, 3, true)),
        candidate: candidate_ready.map(|ready| workload(2, 3, ready)),
        ..Default::default()
    }
}

pub(super) fn weights(route: &[Child]) -> Vec<(String, i32)> {
    route
        .iter()
        .filter_map(|child| match child.object() {
            Object::HttpRoute(route) => Some(route),
            _ => None,
        })
        .flat_map(|route| route.spec.rules.iter().flatten().last().cloned())
        .flat_map(|rule| rule.backend_refs.unwrap_or_default())
        .map(|backend| (backend.name, backend.weight.unwrap_or(1)))
        .collect()
}

#[test]
fn a_new_revision_gets_a_candidate_beside_the_stable_pods_and_no_traffic_yet() {
    let (cbd, rendered) = sample();
    let spec = &rendered.resolution.spec;
    let delivery = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed(None),
        &Default::default(),
        &at(100),
    )
    .unwrap()
    .expect("Canary delivers progressively");
    assert!(!delivery.progress.apply_stable);
    let kinds: Vec<ChildKind> = delivery.candidate.iter().map(Child::kind).collect();
    assert_eq!(
        kinds,
        [
            ChildKind::CandidateConfigMap,
            ChildKind::CandidateDeployment,
            ChildKind::CandidateService
        ]
    );
    let Object::ConfigMap(config) = delivery.candidate[0].object() else {
        panic!("a ConfigMap");
    };
    assert_eq!(config.metadata.name.as_deref(), Some("claude-saas-canary"));
    let Object::Deployment(candidate) = delivery.candidate[1].object() else {
        panic!("a Deployment");
    };
    let reads: Vec<String> = candidate
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers[0]
        .env_from
        .iter()
        .flatten()
        .filter_map(|source| Some(source.config_map_ref.as_ref()?.name.clone()))
        .collect();
    assert_eq!(
        reads,
        ["claude-saas-canary"],
        "the candidate reads its own config"
    );
    assert_eq!(
        candidate.metadata.name.as_deref(),
        Some("claude-saas-canary")
    );
    let spec_of = candidate.spec.as_ref().unwrap();
    assert_eq!(
        spec_of.replicas,
        Some(3),
        "as many pods as the stable revision"
    );
    let selector = spec_of.selector.match_labels.clone().unwrap();
    assert_eq!(selector["app.kubernetes.io/component"], "canary");
    assert_eq!(selector["chatbot.dev/track"], "canary");
    let pod_labels = spec_of.template.metadata.clone().unwrap().labels.unwrap();
    assert_eq!(pod_labels["chatbot.dev/revision"], "2");
    assert_eq!(pod_labels["app.kubernetes.io/component"], "canary");
    // The same pod spec as the app Deployment, apart from labels and the
    // ConfigMap its containers read (the same data under its own name).
    let mut containers = spec_of.template.spec.as_ref().unwrap().containers.clone();
    for source in containers
        .iter_mut()
        .flat_map(|c| c.env_from.iter_mut().flatten())
    {
        if let Some(reference) = source.config_map_ref.as_mut() {
            reference.name = "claude-saas-env".into();
        }
    }
    let Some(Object::ConfigMap(app_config)) = rendered
        .children
        .iter()
        .find(|c| c.kind() == ChildKind::ConfigMap)
        .map(Child::object)
    else {
        panic!("an app ConfigMap");
    };
    assert_eq!(config.data, app_config.data);
    let app = rendered
        .children
        .iter()
        .find_map(|c| c.app_deployment())
        .unwrap();
    assert_eq!(
        app.spec
            .as_ref()
            .unwrap()
            .template
            .spec
            .as_ref()
            .unwrap()
            .containers,
        containers
    );
    assert_eq!(
        weights(&delivery.route),
        [
            ("claude-saas".to_string(), 100),
            ("claude-saas-canary".to_string(), 0)
        ]
    );
    let status = delivery.progress.status.unwrap();
    assert_eq!((status.revision, status.stable_revision), (2, 1));
    assert_eq!(cbd.metadata.name.as_deref(), Some("claude-saas"));
}

#[test]
fn a_ready_candidate_takes_the_first_weight_then_waits_for_its_analysis() {
    let (_, rendered) = sample();
    let spec = &rendered.resolution.spec;
    let mut status = started(&rendered, &at(100));
    // Analysis is on: the ready candidate's health path is checked first.
    assert_eq!(
        due_smoke(spec, &status, &observed(Some(true)), "claude-saas"),
        Some(Smoke {
            services: vec!["claude-saas-canary".to_string()],
            paths: vec!["/health".to_string()]
        })
    );
    assert_eq!(
        due_smoke(spec, &status, &observed(Some(false)), "claude-saas"),
        None,
        "not before it is ready"
    );
    let smoked = plan(
        spec,
        &rendered,
        Candidates::default(),
        &smoke_passed(),
        &status,
        &at(120),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        smoked.progress.candidate_weight, 0,
        "no traffic before the smoke checks"
    );
    status.rollout = smoked.progress.status;
    let first = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed(Some(true)),
        &status,
        &at(130),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        weights(&first.route),
        [
            ("claude-saas".to_string(), 90),
            ("claude-saas-canary".to_string(), 10)
        ]
    );
    status.rollout = first.progress.status;
    // The analysis step is next: a round is due now, at the spec's interval.
    let (url, checks) = due_checks(spec, &status, "assistant", "claude-saas", &at(131))
        .unwrap()
        .expect("a round is due");
    assert_eq!(url, "http://prometheus.monitoring:9090");
    assert!(
        checks
            .iter()
            .all(|c| c.query.contains(r#"chatbot_dev_revision="2""#)),
        "{checks:?}"
    );
    let waiting = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed(Some(true)),
        &status,
        &at(131),
    )
    .unwrap()
    .unwrap();
    assert_eq!(waiting.progress.candidate_weight, 10);
    assert_eq!(waiting.wake, Some(Duration::from_secs(60)));
}

/// The status after the first look at revision 2: the candidate starts.
fn started(rendered: &Rendered, now: &Time) -> ChatbotDeploymentStatus {
    let delivery = plan(
        &rendered.resolution.spec,
        rendered,
        Candidates::default(),
        &observed(None),
        &Default::default(),
        now,
    )
    .unwrap()
    .unwrap();
    ChatbotDeploymentStatus {
        current_revision: Some(2),
        rollout: delivery.progress.status,
        ..Default::default()
    }
}

fn smoke_passed() -> Observed {
    Observed {
        smoke: Some(Ok(())),
        ..observed(Some(true))
    }
}

#[test]
fn a_candidate_that_fails_its_smoke_check_never_takes_traffic() {
    let (_, rendered) = sample();
    let spec = &rendered.resolution.spec;
    let status = started(&rendered, &at(100));
    let failed = Observed {
        smoke: Some(Err("GET /health answered 503".into())),
        ..observed(Some(true))
    };
    let delivery = plan(
        spec,
        &rendered,
        Candidates::default(),
        &failed,
        &status,
        &at(130),
    )
    .unwrap()
    .unwrap();
    assert_eq!(delivery.progress.candidate_replicas, None);
    let rollout = delivery.progress.status.unwrap();
    assert_eq!(rollout.phase, "RolledBack");
    assert_eq!(
        rollout.message,
        "smoke check failed: GET /health answered 503"
    );
}

/// Claude-saas at its first analysis step (after the smoke checks and 10%).
fn analysing(rounds: Vec<AnalysisRound>) -> ChatbotDeploymentStatus {
    ChatbotDeploymentStatus {
        rollout: Some(RolloutStatus {
            revision: 2,
            stable_revision: 1,
            strategy: "Canary".into(),
            step: 2,
            steps: 7,
            weight: 10,
            phase: "Progressing".into(),
            replicas: 3,
            started_at: Some(at(0)),
            analysis: rounds,
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn measured(name: &str, value: f64, verdict: &str, seconds: i64) -> AnalysisRound {
    AnalysisRound {
        at: Some(at(seconds)),
        measurements: vec![MeasurementStatus {
            name: name.into(),
            query: Some("q".into()),
            value: Some(value),
            threshold: "<= 1".into(),
            verdict: verdict.into(),
            reason: None,
        }],
    }
}

#[test]
fn failed_rounds_beyond_the_limit_send_all_traffic_back_and_say_why() {
    let (_, rendered) = sample();
    let spec = &rendered.resolution.spec;
    // Production allows one failed round; this is the second.
    let status = analysing(vec![measured("error-rate", 7.0, "Failed", 60)]);
    let observed = Observed {
        analysis_round: Some(measured("error-rate", 12.5, "Failed", 120)),
        ..observed(Some(true))
    };
    let delivery = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed,
        &status,
        &at(120),
    )
    .unwrap()
    .unwrap();
    assert_eq!(delivery.progress.candidate_replicas, None);
    assert_eq!(
        weights(&delivery.route),
        [("claude-saas".to_string(), 100)],
        "the stable Service alone"
    );
    let rollout = delivery.progress.status.unwrap();
    assert_eq!(rollout.phase, "RolledBack");
    assert!(
        rollout.message.contains("error-rate = 12.5"),
        "{}",
        rollout.message
    );
    assert_eq!(rollout.analysis.len(), 2, "both rounds kept for status");
    assert_eq!(rollout.analysis[0].measurements[0].query, None);
    assert_eq!(
        rollout.analysis[1].measurements[0].query.as_deref(),
        Some("q"),
        "the newest round keeps its query"
    );
}

#[test]
fn an_empty_result_pauses_the_rollout_as_inconclusive() {
    let (_, rendered) = sample();
    let spec = &rendered.resolution.spec;
    let observed = Observed {
        analysis_round: Some(AnalysisRound {
            at: Some(at(60)),
            measurements: vec![MeasurementStatus {
                name: "success-rate".into(),
                threshold: ">= 99.5".into(),
                verdict: "Inconclusive".into(),
                reason: Some("the query returned no series".into()),
                ..Default::default()
            }],
        }),
        ..observed(Some(true))
    };
    let delivery = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed,
        &analysing(vec![]),
        &at(60),
    )
    .unwrap()
    .unwrap();
    let rollout = delivery.progress.status.unwrap();
    assert_eq!(rollout.phase, "Inconclusive");
    assert!(rollout.message.contains("no series"), "{}", rollout.message);
    assert_eq!(
        delivery.progress.candidate_weight, 10,
        "traffic stays as it was"
    );
}

#[test]
fn a_round_is_not_due_before_the_interval_or_once_the_count_is_measured() {
    let (_, rendered) = sample();
    let spec = &rendered.resolution.spec;
    let status = analysing(vec![measured("error-rate", 0.1, "Passed", 60)]);
    let due = |now| due_checks(spec, &status, "assistant", "claude-saas", &at(now)).unwrap();
    assert!(due(119).is_none());
    assert!(due(120).is_some());
    let full = analysing(
        (0..10)
            .map(|i| measured("error-rate", 0.1, "Passed", 60 * i))
            .collect(),
    );
    assert!(
        due_checks(spec, &full, "assistant", "claude-saas", &at(10_000))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_rolling_spec_rolls_plainly() {
    let (mut cbd, _) = sample();
    cbd.spec.rollout.as_mut().unwrap().strategy = Some(Strategy::Rolling);
    let rendered = Renderer::embedded().unwrap().render(&cbd, 2).unwrap();
    let delivery = plan(
        &rendered.resolution.spec,
        &rendered,
        Candidates::default(),
        &observed(None),
        &Default::default(),
        &at(0),
    )
    .unwrap();
    assert!(delivery.is_none());
}

/// The brigade-sales sample: ABTest 50/50, cookie `brigade-variant`, 14
/// days, decided by the sequential test on the thumbs-up rate with the
/// error rate and the provider's error rate as guardrails, Gateway API;
/// `change` edits the test first.
fn brigade(change: impl FnOnce(&mut crate::api::AbTest)) -> Rendered {
    let mut cbd: ChatbotDeployment = serde_yaml_ng::from_str(include_str!(
        "../../../manifests/samples/brigade-sales.yaml"
    ))
    .unwrap();
    let rollout = cbd.spec.rollout.as_mut().unwrap();
    change(rollout.ab_test.as_mut().unwrap());
    Renderer::embedded().unwrap().render(&cbd, 2).unwrap()
}

/// Brigade's test started at 0 s, smoke-checked at 5 s and split at
/// 10 s: the status after the smoke check, and the split.
fn smoked_and_split(rendered: &Rendered) -> (ChatbotDeploymentStatus, Delivery) {
    let spec = &rendered.resolution.spec;
    let mut status = started(rendered, &at(0));
    let smoked = plan(
        spec,
        rendered,
        Candidates::default(),
        &smoke_passed(),
        &status,
        &at(5),
    )
    .unwrap()
    .unwrap();
    status.rollout = smoked.progress.status;
    let split = plan(
        spec,
        rendered,
        Candidates::default(),
        &observed(Some(true)),
        &status,
        &at(10),
    )
    .unwrap()
    .unwrap();
    (status, split)
}

#[test]
fn an_a_b_test_splits_fifty_fifty_with_a_sticky_cookie_then_reports_for_a_person() {
    // The test as it was before it named a primary metric: measured once
    // at its end, a person decides.
    let rendered = brigade(|test| {
        test.decision = Some(crate::api::AbDecision::Manual);
        test.primary = None;
        test.guardrails = None;
    });
    let spec = &rendered.resolution.spec;
    let (mut status, split) = smoked_and_split(&rendered);
    assert_eq!(
        weights(&split.route),
        [
            ("brigade-sales".to_string(), 50),
            ("brigade-sales-canary".to_string(), 50)
        ]
    );
    let Object::HttpRoute(route) = split.route[0].object() else {
        panic!("an HTTPRoute");
    };
    let rules = route.spec.rules.clone().unwrap();
    let cookie = rules[0].matches.clone().unwrap()[0]
        .headers
        .clone()
        .unwrap()[0]
        .clone();
    assert_eq!(cookie.name, "Cookie");
    assert!(
        cookie.value.contains("brigade-variant=always"),
        "{}",
        cookie.value
    );
    status.rollout = split.progress.status;

    // Fourteen days on, the pause ends; the next look measures both variants.
    let waited = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed(Some(true)),
        &status,
        &at(10 + 14 * 86_400),
    )
    .unwrap()
    .unwrap();
    status.rollout = waited.progress.status;
    let (_, variants) = due_report(
        spec,
        &status,
        "sales",
        "brigade-sales",
        &at(10 + 14 * 86_400),
    )
    .expect("report due");
    let revisions: Vec<i64> = variants.iter().map(|v| v.revision).collect();
    assert_eq!(
        revisions,
        [1, 2],
        "baseline on the stable revision, then the candidate"
    );
    assert!(
        variants[1].queries[0].1.contains("[1209600s]"),
        "{:?}",
        variants[1].queries[0]
    );

    let measured = |name: &str, revision, success| crate::rollout::ab::Measured {
        report: VariantReport {
            name: name.into(),
            revision,
            requests: Some(5_000.0),
            success_rate_percent: Some(success),
            ..Default::default()
        },
        ..Default::default()
    };
    let observed = Observed {
        ab_variants: Some(ab::MeasuredVariants {
            baseline: measured("baseline", 1, 99.0),
            candidates: vec![measured("candidate", 2, 99.6)],
        }),
        ..observed(Some(true))
    };
    let decided = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed,
        &status,
        &at(20 + 14 * 86_400),
    )
    .unwrap()
    .unwrap();
    let rollout = decided.progress.status.unwrap();
    assert_eq!(rollout.phase, "Paused", "Manual: a person decides");
    assert!(
        rollout.message.contains("Promote to keep the candidate"),
        "{}",
        rollout.message
    );
    let report = rollout.report.clone().expect("the report is kept");
    assert_eq!(report.variants.len(), 2);
    assert!(
        report
            .decision
            .starts_with("A/B test over: candidate (revision 2) 99.6% success")
    );
    assert_eq!(
        decided.progress.candidate_weight, 50,
        "traffic stays split meanwhile"
    );
    status.rollout = Some(rollout);
    assert!(
        due_report(
            spec,
            &status,
            "sales",
            "brigade-sales",
            &at(30 + 14 * 86_400)
        )
        .is_none(),
        "measured once"
    );
}

/// Brigade's test, split 50/50 and measured: the statuses after the
/// split, and the rendered spec.
fn brigade_split() -> (Rendered, ChatbotDeploymentStatus) {
    let rendered = brigade(|_| {});
    let (mut status, split) = smoked_and_split(&rendered);
    assert_eq!(split.progress.candidate_weight, 50);
    // The candidate's pods know their variant, and their metrics keep it.
    let Some(Object::Deployment(candidate)) = split
        .candidate
        .iter()
        .find(|c| c.kind() == ChildKind::CandidateDeployment)
        .map(Child::object)
    else {
        panic!("a candidate Deployment");
    };
    let template = &candidate.spec.as_ref().unwrap().template;
    assert_eq!(
        template.metadata.as_ref().unwrap().labels.as_ref().unwrap()["chatbot.dev/variant"],
        "candidate"
    );
    let env = template.spec.as_ref().unwrap().containers[0]
        .env
        .clone()
        .unwrap();
    assert!(
        env.iter()
            .any(|v| v.name == "CHATBOT_VARIANT" && v.value.as_deref() == Some("candidate")),
        "{env:?}"
    );
    status.rollout = split.progress.status;
    (rendered, status)
}

/// Both variants measured: `conversations` each, thumbs-up rates, error
/// rates over ten requests and ten provider calls a conversation.
fn counted(baseline: (f64, f64, f64), candidate: (f64, f64, f64)) -> Observed {
    let variant = |name: &str, revision, (conversations, up, errors): (f64, f64, f64)| {
        let calls = 10.0 * conversations;
        crate::rollout::ab::Measured {
            report: VariantReport {
                name: name.into(),
                revision,
                conversations: Some(conversations),
                ..Default::default()
            },
            counts: crate::rollout::ab::judge::Counts {
                conversations: Some(conversations),
                primary: Some((up * conversations, conversations)),
                guardrails: vec![Some((errors * calls, calls)), Some((0.01 * calls, calls))],
            },
        }
    };
    Observed {
        ab_variants: Some(ab::MeasuredVariants {
            baseline: variant("baseline", 1, baseline),
            candidates: vec![variant("candidate", 2, candidate)],
        }),
        ..observed(Some(true))
    }
}

#[test]
fn a_sequential_test_is_measured_every_round_and_promotes_a_clear_winner_early() {
    let (rendered, mut status) = brigade_split();
    let spec = &rendered.resolution.spec;
    let day = 86_400;

    // A day in: a round is due, over the test so far, and reads the
    // sequential test's counts.
    let (_, variants) =
        due_report(spec, &status, "sales", "brigade-sales", &at(10 + day)).expect("a round");
    let names: Vec<&str> = variants[1]
        .queries
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        names.ends_with(&[
            "~conversations",
            "~primary-successes",
            "~primary-trials",
            "~guardrail-bad-0",
            "~guardrail-total-0",
            "~guardrail-bad-1",
            "~guardrail-total-1"
        ]),
        "{names:?}"
    );
    assert!(variants[1].queries[0].1.contains("[86400s]"));
    // 500 conversations each and no clear difference: the test goes on.
    let early = plan(
        spec,
        &rendered,
        Candidates::default(),
        &counted((500.0, 0.35, 0.01), (500.0, 0.37, 0.01)),
        &status,
        &at(10 + day),
    )
    .unwrap()
    .unwrap();
    let rollout = early.progress.status.clone().unwrap();
    assert_eq!(rollout.phase, "Progressing");
    assert!(
        rollout.message.contains("no conclusion yet"),
        "{}",
        rollout.message
    );
    let report = rollout.report.clone().unwrap();
    assert_eq!(report.signals.len(), 3);
    assert!(report.more_conversations.unwrap() > 5_000);
    assert_eq!(
        early.wake,
        Some(std::time::Duration::from_secs(60)),
        "the next round"
    );
    status.rollout = Some(rollout.clone());

    // Thirty seconds on, no round is due; the last round's word stands.
    assert!(due_report(spec, &status, "sales", "brigade-sales", &at(40 + day)).is_none());
    let between = plan(
        spec,
        &rendered,
        Candidates::default(),
        &observed(Some(true)),
        &status,
        &at(40 + day),
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        between.progress.status.as_ref().unwrap().message,
        rollout.message
    );

    // Six days in, the new version is conclusively better liked and the
    // error rates hold: promoted eight days before the duration ends.
    let won = plan(
        spec,
        &rendered,
        Candidates::default(),
        &counted((3_000.0, 0.35, 0.01), (3_000.0, 0.41, 0.01)),
        &status,
        &at(10 + 6 * day),
    )
    .unwrap()
    .unwrap();
    let rollout = won.progress.status.unwrap();
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    assert_eq!(won.progress.candidate_weight, 100);
    let report = rollout.report.unwrap();
    assert!(
        report
            .decision
            .contains("the candidate wins on thumbs-up-rate"),
        "{}",
        report.decision
    );
    let signals = report.signals;
    let verdicts: Vec<&str> = signals.iter().map(|s| s.verdict.as_str()).collect();
    assert_eq!(verdicts, ["Better", "Holds", "Holds"]);
}

#[test]
fn a_sample_ratio_mismatch_holds_the_test_and_a_breached_guardrail_rolls_back() {
    let (rendered, status) = brigade_split();
    let spec = &rendered.resolution.spec;
    let day = 86_400;
    // A clear winner on a 54/46 split of conversations under 50/50.
    let skewed = plan(
        spec,
        &rendered,
        Candidates::default(),
        &counted((5_400.0, 0.35, 0.01), (4_600.0, 0.41, 0.01)),
        &status,
        &at(10 + 6 * day),
    )
    .unwrap()
    .unwrap();
    let rollout = skewed.progress.status.clone().unwrap();
    assert_eq!(rollout.phase, "Progressing", "never won on a broken split");
    assert!(
        rollout
            .message
            .contains("untrustworthy: conversations split 54/46"),
        "{}",
        rollout.message
    );
    assert!(rollout.report.unwrap().sample_ratio.unwrap().mismatch);
    let reasons: Vec<&str> = skewed.notes.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(
        reasons,
        ["SampleRatioMismatch"],
        "an Event and a notification"
    );
    assert!(skewed.notes[0].warning);
    // The split recovers a round later: said once, and the test goes on.
    let mut held = status.clone();
    held.rollout = skewed.progress.status.clone();
    let recovered = plan(
        spec,
        &rendered,
        Candidates::default(),
        &counted((5_000.0, 0.35, 0.01), (5_000.0, 0.36, 0.01)),
        &held,
        &at(10 + 7 * day),
    )
    .unwrap()
    .unwrap();
    let reasons: Vec<&str> = recovered.notes.iter().map(|n| n.reason.as_str()).collect();
    assert_eq!(reasons, ["SampleRatioRecovered"]);

    let breached = plan(
        spec,
        &rendered,
        Candidates::default(),
        &counted((3_000.0, 0.35, 0.01), (3_000.0, 0.41, 0.04)),
        &status,
        &at(10 + 6 * day),
    )
    .unwrap()
    .unwrap();
    let rollout = breached.progress.status.unwrap();
    assert_eq!(rollout.phase, "RolledBack");
    assert!(
        rollout.message.contains("guardrail error-rate breached"),
        "{}",
        rollout.message
    );
    assert_eq!(breached.progress.candidate_weight, 0);
}
