use super::*;
use crate::api::{MetricQuery, MetricValue, Variant};

fn test(variants: Vec<Variant>) -> AbTest {
    AbTest {
        variants,
        duration: Some("14d".into()),
        ..Default::default()
    }
}

fn variant(name: &str, weight: i32, baseline: bool) -> Variant {
    Variant {
        name: name.into(),
        weight,
        baseline: baseline.then_some(true),
        ..Default::default()
    }
}

fn measured(
    name: &str,
    revision: i64,
    requests: f64,
    success: f64,
    metric: Option<f64>,
) -> VariantReport {
    VariantReport {
        name: name.into(),
        revision,
        requests: Some(requests),
        conversations: None,
        success_rate_percent: Some(success),
        p95_latency_ms: Some(800.0),
        metrics: vec![MetricValue {
            name: "conversion".into(),
            value: metric,
        }],
    }
}

#[test]
fn the_sales_teams_fifty_fifty_for_two_weeks_then_a_comparison() {
    let (steps, variants, duration) = plan(&test(vec![
        variant("baseline", 50, true),
        variant("candidate", 50, false),
    ]))
    .unwrap();
    assert_eq!(
        steps,
        [
            Step::SetWeight(50),
            Step::Pause(Some(Duration::from_secs(14 * 86_400))),
            Step::Compare
        ]
    );
    assert_eq!(variants.candidate_weight(), 50);
    assert_eq!(duration.as_secs(), 1_209_600);
}

#[test]
fn a_test_needs_one_baseline_and_up_to_seven_candidates_judged_sequentially() {
    let error = plan(&test(vec![variant("a", 50, true), variant("b", 50, true)])).unwrap_err();
    assert_eq!(error.path, "spec.rollout.abTest.variants");
    assert!(
        error.message.contains("found 2 baseline and 0 other"),
        "{}",
        error.message
    );
    let mut eight = vec![variant("a", 20, true)];
    eight.extend((0..8).map(|i| variant(&format!("c{i}"), 10, false)));
    let error = plan(&test(eight)).unwrap_err();
    assert!(
        error
            .message
            .contains("one to 7 others (the candidates); found 1 baseline and 8 other"),
        "{}",
        error.message
    );
    // Several candidates are judged by the sequential test only.
    let three = test(vec![
        variant("a", 34, true),
        variant("b", 33, false),
        variant("c", 33, false),
    ]);
    let error = plan(&three).unwrap_err();
    assert_eq!(error.path, "spec.rollout.abTest.primary");
    assert!(
        error.message.contains("with 2 candidates"),
        "{}",
        error.message
    );
    let mut judged = three.clone();
    judged.decision = Some(AbDecision::Sequential);
    judged.primary = Some(crate::api::PrimaryMetric {
        baseline_rate_percent: 35.0,
        minimum_detectable_effect_percent: 10.0,
        ..Default::default()
    });
    let (steps, variants, _) = plan(&judged).unwrap();
    assert_eq!(steps[0], Step::SetWeight(66));
    assert_eq!(variants.candidates.len(), 2);
    // Beside others, a candidate is reached by its name: not a value the
    // route gives the stable revision or a lone candidate.
    judged.variants[2].name = "never".into();
    let error = plan(&judged).unwrap_err();
    assert_eq!(error.path, "spec.rollout.abTest.variants[2].name");
    assert!(
        error
            .message
            .starts_with("never is one of the route's sticky values"),
        "{}",
        error.message
    );
    let mut with_image = variant("b", 50, false);
    with_image.image = Some("other:1".into());
    // An image (or config) on the candidate is an overlay of the spec.
    let (_, variants, _) = plan(&test(vec![variant("a", 50, true), with_image])).unwrap();
    assert_eq!(variants.candidates[0].name, "b");
    let mut bad = test(vec![variant("a", 50, true), variant("b", 50, false)]);
    bad.duration = Some("two weeks".into());
    assert_eq!(plan(&bad).unwrap_err().path, "spec.rollout.abTest.duration");
}

#[test]
fn only_a_significant_lead_promotes_the_candidate() {
    let baseline = measured("baseline", 4, 10_000.0, 98.0, None);
    let better = measured("candidate", 5, 10_000.0, 99.0, None);
    assert!(matches!(
        decide(AbDecision::BestSuccessRate, &baseline, &better),
        Comparison::Promote(why) if why.contains("candidate wins")
    ));
    // 98.0% against 98.1% over 1,000 requests each is noise.
    let small = measured("baseline", 4, 1_000.0, 98.0, None);
    let noise = measured("candidate", 5, 1_000.0, 98.1, None);
    assert!(matches!(
        decide(AbDecision::BestSuccessRate, &small, &noise),
        Comparison::RollBack(why) if why.contains("no significant lead")
    ));
    let worse = measured("candidate", 5, 10_000.0, 97.0, None);
    assert!(matches!(
        decide(AbDecision::BestSuccessRate, &baseline, &worse),
        Comparison::RollBack(_)
    ));
    let empty = VariantReport {
        name: "candidate".into(),
        revision: 5,
        ..Default::default()
    };
    assert!(matches!(
        decide(AbDecision::BestSuccessRate, &baseline, &empty),
        Comparison::Undecided(why) if why.contains("without enough data")
    ));
}

#[test]
fn manual_asks_a_person_and_best_metric_compares_the_first_metric() {
    let baseline = measured("baseline", 4, 10_000.0, 99.0, Some(0.031));
    let candidate = measured("candidate", 5, 10_000.0, 99.0, Some(0.042));
    assert!(matches!(
        decide(AbDecision::Manual, &baseline, &candidate),
        Comparison::Undecided(why) if why.starts_with("A/B test over: candidate (revision 5) 99% success over 10000 requests")
    ));
    assert!(matches!(
        decide(AbDecision::BestMetric, &baseline, &candidate),
        Comparison::Promote(why) if why.contains("wins on conversion (0.042 against 0.031)")
    ));
    assert!(matches!(
        decide(AbDecision::BestMetric, &candidate, &baseline),
        Comparison::RollBack(_)
    ));
    let missing = measured("candidate", 5, 10_000.0, 99.0, None);
    assert!(matches!(
        decide(AbDecision::BestMetric, &baseline, &missing),
        Comparison::Undecided(_)
    ));
}

#[test]
fn report_queries_cover_both_revisions_over_the_whole_test() {
    let selector = Selector {
        namespace: "sales".into(),
        instance: "brigade".into(),
        revision: 5,
        variant: None,
    };
    let test = AbTest {
        compare: Some(vec![MetricQuery {
            name: "conversion".into(),
            query: r#"sum(increase(sales_closed_total{chatbot_dev_revision="{{revision}}"}[14d]))"#
                .into(),
        }]),
        ..AbTest::default()
    };
    let queries = report_queries(&selector, "1209600s", &test);
    let names: Vec<&str> = queries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["requests", "success-rate", "p95-latency", "conversion"]
    );
    assert!(
        queries
            .iter()
            .take(3)
            .all(|(_, q)| q.contains(r#"chatbot_dev_revision="5""#) && q.contains("[1209600s]"))
    );
    assert!(queries[3].1.contains(r#"chatbot_dev_revision="5""#));
    let report = super::measured(
        "candidate",
        5,
        &[
            ("requests".into(), Some(120.0)),
            ("success-rate".into(), Some(f64::NAN)),
            ("p95-latency".into(), None),
            ("conversion".into(), Some(0.04)),
        ],
        0,
    )
    .report;
    assert_eq!(report.requests, Some(120.0));
    assert_eq!(report.success_rate_percent, None, "NaN is no value");
    assert_eq!(report.metrics[0].value, Some(0.04));
}

#[test]
fn a_round_of_several_candidates_weighs_each_as_the_spec_does_and_names_the_winner() {
    let mut spec = test(vec![
        variant("current", 40, true),
        variant("listen-first", 40, false),
        variant("terse", 20, false),
    ]);
    spec.decision = Some(AbDecision::Sequential);
    spec.primary = Some(crate::api::PrimaryMetric {
        minimum_detectable_effect_percent: 10.0,
        baseline_rate_percent: 40.0,
        ..Default::default()
    });
    let variants = variants(&spec).unwrap();
    assert_eq!(
        (variants.baseline_weight(), variants.slowest_weight()),
        (40, 20)
    );
    let arm = |name: &str, revision, conversations: f64, up: f64| Measured {
        report: VariantReport {
            name: name.into(),
            revision,
            conversations: Some(conversations),
            ..Default::default()
        },
        counts: judge::Counts {
            conversations: Some(conversations),
            primary: Some((up * conversations, conversations)),
            guardrails: Vec::new(),
        },
    };
    let measured = MeasuredVariants {
        baseline: arm("current", 1, 20_000.0, 0.40),
        // Measured in another order than the spec's: weighed by name.
        candidates: vec![
            arm("terse", 3, 10_000.0, 0.40),
            arm("listen-first", 2, 20_000.0, 0.46),
        ],
    };
    let clock = judge::Clock {
        elapsed: Duration::from_secs(6 * 86_400),
        duration: DEFAULT_DURATION,
    };
    let (comparison, report) = round(&spec, &variants, &measured, None, clock, None);
    let names: Vec<_> = report.variants.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["current", "terse", "listen-first"]);
    let srm = report.sample_ratio.unwrap();
    assert_eq!((srm.expected.as_str(), srm.mismatch), ("40/20/40", false));
    assert!(
        matches!(&comparison, Comparison::Promote(why) if why.starts_with("A/B test: listen-first wins")),
        "{comparison:?}"
    );
}
