use super::*;
use crate::api::{Analysis, MetricCheck};

fn selector() -> Selector {
    Selector {
        namespace: "sales".into(),
        instance: "brigade".into(),
        revision: 7,
        variant: None,
    }
}

fn check(min: Option<f64>, max: Option<f64>) -> Check {
    Check {
        name: "success-rate".into(),
        query: "q".into(),
        min,
        max,
    }
}

fn round(verdicts: &[Verdict]) -> Vec<Measurement> {
    verdicts
        .iter()
        .map(|verdict| Measurement {
            name: "m".into(),
            query: "q".into(),
            value: (*verdict == Verdict::Passed || *verdict == Verdict::Failed).then_some(1.0),
            threshold: ">= 1".into(),
            verdict: *verdict,
            reason: None,
        })
        .collect()
}

const POLICY: RunPolicy = RunPolicy {
    count: 3,
    failure_limit: 1,
    consecutive_error_limit: 2,
};

#[test]
fn queries_are_scoped_to_the_candidate_revision_and_window() {
    let query = builtin("error_rate_percent", &selector(), &window(30)).unwrap();
    assert_eq!(
        query,
        r#"100 * sum(rate(http_requests_total{namespace="sales",app_kubernetes_io_instance="brigade",chatbot_dev_revision="7",code=~"5.."}[60s])) / sum(rate(http_requests_total{namespace="sales",app_kubernetes_io_instance="brigade",chatbot_dev_revision="7"}[60s]))"#
    );
    assert_eq!(window(300), "300s");
}

#[test]
fn the_spec_thresholds_become_checks_with_builtins_and_custom_queries() {
    let analysis = Analysis {
        min_success_rate_percent: Some(99.0),
        max_p95_latency_ms: Some(800),
        max_p95_time_to_first_token_ms: Some(1500),
        metrics: Some(vec![
            MetricCheck {
                name: "llm-errors".into(),
                query: "builtin:llm_error_rate_percent".into(),
                min: None,
                max: Some(2.0),
            },
            MetricCheck {
                name: "conversion".into(),
                query: r#"sum(rate(orders_total{revision="{{revision}}"}[5m]))"#.into(),
                min: Some(0.1),
                max: None,
            },
        ]),
        ..Default::default()
    };
    let checks = checks(&analysis, &selector(), 60).unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "success-rate",
            "p95-latency",
            "p95-time-to-first-token",
            "llm-errors",
            "conversion"
        ]
    );
    assert!(checks[3].query.contains(r#"status=~"429|5..""#));
    assert_eq!(
        checks[4].query,
        r#"sum(rate(orders_total{revision="7"}[5m]))"#
    );
    assert_eq!(checks[1].max, Some(800.0));
}

#[test]
fn an_unknown_builtin_names_the_field() {
    let analysis = Analysis {
        metrics: Some(vec![MetricCheck {
            name: "x".into(),
            query: "builtin:nope".into(),
            min: Some(1.0),
            max: None,
        }]),
        ..Default::default()
    };
    let error = checks(&analysis, &selector(), 60).unwrap_err();
    assert_eq!(error.path, "spec.rollout.analysis.metrics[0].query");
    assert!(error.message.contains("success_rate_percent"), "{error}");
}

#[test]
fn a_value_is_judged_against_its_bounds_and_no_data_is_never_a_pass() {
    let at_least_99 = check(Some(99.0), None);
    assert_eq!(
        judge(&at_least_99, &QueryResult::Value(99.5)).verdict,
        Verdict::Passed
    );
    assert_eq!(
        judge(&at_least_99, &QueryResult::Value(99.0)).verdict,
        Verdict::Passed,
        "the bound itself passes"
    );
    let failed = judge(&at_least_99, &QueryResult::Value(97.0));
    assert_eq!(failed.verdict, Verdict::Failed);
    assert_eq!(
        (failed.value, failed.threshold.as_str()),
        (Some(97.0), ">= 99")
    );
    for result in [
        QueryResult::Value(f64::NAN),
        QueryResult::Empty,
        QueryResult::Ambiguous(3),
    ] {
        let measured = judge(&at_least_99, &result);
        assert_eq!(measured.verdict, Verdict::Inconclusive, "{result:?}");
        assert!(measured.value.is_none() && measured.reason.is_some());
    }
    let errored = judge(
        &at_least_99,
        &QueryResult::Failed("connection refused".into()),
    );
    assert_eq!(errored.verdict, Verdict::Error);
    assert_eq!(errored.reason.as_deref(), Some("connection refused"));
    assert_eq!(
        judge(
            &check(None, Some(800.0)),
            &QueryResult::Value(f64::INFINITY)
        )
        .verdict,
        Verdict::Failed,
        "an infinite p95 is over any bound"
    );
}

#[test]
fn runs_pass_fail_or_stop_as_the_table_says() {
    use Verdict::*;
    let cases: Vec<(&str, Vec<Vec<Verdict>>, &str)> = vec![
        ("nothing measured yet", vec![], "Running"),
        (
            "two good rounds of three",
            vec![vec![Passed], vec![Passed]],
            "Running",
        ),
        ("three good rounds", vec![vec![Passed]; 3], "Passed"),
        (
            "one failure within the limit",
            vec![vec![Passed], vec![Failed], vec![Passed]],
            "Passed",
        ),
        (
            "two failures over the limit",
            vec![vec![Failed], vec![Failed]],
            "Failed",
        ),
        (
            "a round with one failed check fails",
            vec![vec![Passed, Failed], vec![Failed, Passed]],
            "Failed",
        ),
        (
            "an empty result stops the run",
            vec![vec![Passed], vec![Inconclusive]],
            "Inconclusive",
        ),
        ("every round errored", vec![vec![Error]; 3], "Inconclusive"),
        (
            "a round that errored is measured again, not counted",
            vec![vec![Passed], vec![Error], vec![Passed]],
            "Running",
        ),
        (
            "errors beside passes: the run ends once three rounds are measured",
            vec![vec![Passed], vec![Error], vec![Passed], vec![Passed]],
            "Passed",
        ),
        (
            "three good rounds and then Prometheus went away: not a pass",
            vec![vec![Passed], vec![Passed], vec![Error], vec![Error]],
            "Running",
        ),
        (
            "errors in a row within the limit wait for the next round",
            vec![vec![Passed], vec![Error], vec![Error]],
            "Running",
        ),
        (
            "errors in a row over the limit pause the run",
            vec![vec![Passed], vec![Error], vec![Error], vec![Error]],
            "Inconclusive",
        ),
        (
            "errors apart never add up to the limit",
            vec![
                vec![Error],
                vec![Error],
                vec![Passed],
                vec![Error],
                vec![Error],
                vec![Passed],
            ],
            "Running",
        ),
        (
            "a round with one errored check is not measured",
            vec![vec![Passed, Error], vec![Passed], vec![Passed]],
            "Running",
        ),
        ("no checks at all", vec![vec![]], "Inconclusive"),
    ];
    for (case, verdicts, expected) in cases {
        let rounds: Vec<Vec<Measurement>> = verdicts.iter().map(|r| round(r)).collect();
        let got = match run_verdict(&rounds, POLICY) {
            RunVerdict::Running { .. } => "Running",
            RunVerdict::Passed => "Passed",
            RunVerdict::Failed { .. } => "Failed",
            RunVerdict::Inconclusive { .. } => "Inconclusive",
        };
        assert_eq!(got, expected, "{case}");
    }
}

#[test]
fn a_failed_run_says_which_check_failed_with_value_and_threshold() {
    let measured = judge(&check(Some(99.0), None), &QueryResult::Value(92.5));
    let rounds = vec![vec![measured.clone()], vec![measured]];
    let RunVerdict::Failed { reason } = run_verdict(&rounds, POLICY) else {
        panic!("fails");
    };
    assert_eq!(
        reason,
        "2 of 2 rounds failed (limit 1): success-rate = 92.5 (wants >= 99)"
    );
}

#[test]
fn a_run_prometheus_stopped_answering_says_so_and_how_many_rounds_were_measured() {
    let passed = judge(&check(Some(99.0), None), &QueryResult::Value(99.5));
    let unreachable = judge(
        &check(Some(99.0), None),
        &QueryResult::Failed("error sending request to http://prometheus:9090".into()),
    );
    let mut rounds = vec![vec![passed.clone()]; 2];
    assert_eq!(
        run_verdict(&rounds, POLICY),
        RunVerdict::Running {
            measured: 2,
            count: 3
        }
    );
    rounds.extend(vec![vec![unreachable]; 3]);
    let RunVerdict::Inconclusive { reason } = run_verdict(&rounds, POLICY) else {
        panic!("inconclusive");
    };
    assert_eq!(
        reason,
        "3 rounds in a row could not be measured (limit 2): success-rate: error sending request to http://prometheus:9090; 2 of 3 rounds measured"
    );
}

#[test]
fn values_in_reasons_are_rounded_to_what_people_read() {
    assert_eq!(shown(9.999999999999998), "10");
    assert_eq!(shown(90.00000000000001), "90");
    assert_eq!(shown(99.4567), "99.457");
    assert_eq!(shown(0.25), "0.25");
    assert_eq!(shown(-3.0), "-3");
    assert_eq!(shown(f64::NAN), "NaN");
}
