use super::*;
use crate::api::{AbDecision, Guardrail, PrimaryMetric};

const DAY: u64 = 86_400;

/// MindMitra's prompt test: thumbs-up rate (42 % expected, +5 % relative
/// worth finding), error rate within 0.5 points, first tokens over 2 s
/// within 2 points.
fn prompt_test(decision: AbDecision) -> AbTest {
    AbTest {
        decision: Some(decision),
        duration: Some("14d".into()),
        primary: Some(PrimaryMetric {
            minimum_detectable_effect_percent: 5.0,
            baseline_rate_percent: 42.0,
            ..PrimaryMetric::default()
        }),
        guardrails: Some(vec![
            Guardrail {
                metric: GuardrailSource::ErrorRate,
                margin_percent: 0.5,
                ..Guardrail::default()
            },
            Guardrail {
                metric: GuardrailSource::SlowFirstToken,
                threshold_ms: Some(2000),
                margin_percent: 2.0,
                ..Guardrail::default()
            },
        ]),
        ..AbTest::default()
    }
}

/// A variant with `conversations`, a thumbs-up rate, an error rate over
/// ten requests a conversation and a slow-first-token share.
fn counts(conversations: f64, up: f64, errors: f64, slow: f64) -> Counts {
    let requests = 10.0 * conversations;
    Counts {
        conversations: Some(conversations),
        primary: Some((up * conversations, conversations)),
        guardrails: vec![
            Some((errors * requests, requests)),
            Some((slow * requests, requests)),
        ],
    }
}

fn clock(days: u64) -> Clock {
    Clock {
        elapsed: Duration::from_secs(days * DAY),
        duration: Duration::from_secs(14 * DAY),
    }
}

/// The baseline and one candidate at 50/50.
fn pair<'a>(baseline: &'a Counts, candidate: &'a Counts) -> [Arm<'a>; 2] {
    [
        Arm {
            name: "baseline",
            weight: 50,
            counts: baseline,
        },
        Arm {
            name: "candidate",
            weight: 50,
            counts: candidate,
        },
    ]
}

fn judged(test: &AbTest, baseline: &Counts, candidate: &Counts, days: u64) -> Judged {
    judge(test, &pair(baseline, candidate), None, clock(days)).expect("a primary metric")
}

fn verdicts(judged: &Judged) -> Vec<(&str, &str)> {
    judged
        .signals
        .iter()
        .map(|s| (s.name.as_str(), s.verdict.as_str()))
        .collect()
}

#[test]
fn a_conclusive_lead_with_every_guardrail_holding_promotes_before_the_end() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let candidate = counts(20_000.0, 0.46, 0.010, 0.050);
    let round = judged(&test, &baseline, &candidate, 6);
    assert_eq!(
        verdicts(&round),
        [
            ("thumbs-up-rate", "Better"),
            ("error-rate", "Holds"),
            ("first-token-over-2000ms", "Holds")
        ]
    );
    let Comparison::Promote(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(
        why.contains("the candidate wins on thumbs-up-rate 4 points"),
        "{why}"
    );
    // α split three ways.
    assert!(
        round
            .signals
            .iter()
            .all(|s| (s.alpha - 0.05 / 3.0).abs() < 1e-12)
    );
    let primary = &round.signals[0];
    assert_eq!(primary.baseline_percent, Some(42.0));
    assert_eq!(primary.candidate_percent, Some(46.0));
    assert!(primary.low_points.unwrap() > 0.0 && primary.p_value.unwrap() < 0.05 / 3.0);
    // The planned size at the observed 42 %, less the 20,000 so far: the
    // lead, four times the effect planned for, was conclusive sooner.
    let planned = sequential::conversations_needed(0.42, 0.05, 0.05 / 3.0, POWER).unwrap();
    assert_eq!(round.more_conversations, Some(planned as i64 - 20_000));
    let srm = round.sample_ratio.as_ref().unwrap();
    assert_eq!(
        (srm.expected.as_str(), srm.observed.as_str()),
        ("50/50", "50/50")
    );
    assert!(!srm.mismatch);
}

#[test]
fn a_lead_waits_for_the_guardrails_and_a_person_decides_if_they_never_show() {
    let test = prompt_test(AbDecision::Sequential);
    // Few requests per conversation on the guardrails: too little to
    // show a 0.5-point margin holds.
    let small = |up| Counts {
        guardrails: vec![Some((2.0, 200.0)), Some((10.0, 200.0))],
        ..counts(20_000.0, up, 0.01, 0.05)
    };
    let round = judged(&test, &small(0.42), &small(0.46), 6);
    assert_eq!(round.signals[1].verdict, "NotYet");
    let Comparison::Continue(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(
        why.contains("waiting for error-rate, first-token-over-2000ms"),
        "{why}"
    );
    let over = judged(&test, &small(0.42), &small(0.46), 14);
    assert!(
        matches!(&over.comparison, Comparison::Undecided(why) if why.starts_with("test over:")),
        "{:?}",
        over.comparison
    );
}

#[test]
fn a_breached_guardrail_rolls_back_even_a_winner() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let candidate = counts(20_000.0, 0.46, 0.030, 0.050);
    let round = judged(&test, &baseline, &candidate, 3);
    assert_eq!(round.signals[1].verdict, "Breached");
    let Comparison::RollBack(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(why.contains("guardrail error-rate breached"), "{why}");
}

#[test]
fn a_conclusively_worse_candidate_rolls_back_and_lower_can_be_better() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let worse = counts(20_000.0, 0.38, 0.010, 0.050);
    let round = judged(&test, &baseline, &worse, 6);
    assert_eq!(round.signals[0].verdict, "Worse");
    assert!(matches!(round.comparison, Comparison::RollBack(_)));

    // The same counts, when a lower rate is the aim (an escalation rate).
    let mut lower = test.clone();
    lower.primary.as_mut().unwrap().better = Some(Better::Lower);
    let round = judged(&lower, &baseline, &worse, 6);
    assert_eq!(round.signals[0].verdict, "Better");
    assert!(matches!(round.comparison, Comparison::Promote(_)));
}

#[test]
fn no_difference_runs_to_the_end_and_keeps_the_baseline() {
    let test = prompt_test(AbDecision::Sequential);
    let same = counts(3_000.0, 0.42, 0.010, 0.050);
    let round = judged(&test, &same, &same, 5);
    assert_eq!(round.signals[0].verdict, "NotYet");
    assert!(matches!(round.comparison, Comparison::Continue(_)));
    let more = round.more_conversations.unwrap();
    assert!(more > 10_000, "{more}");
    // 3,000 conversations in 5 days: 600 a day.
    let days = round.more_days.unwrap();
    assert!(
        (days - (more as f64 / 600.0)).abs() < 0.1,
        "{days} for {more}"
    );

    let over = judged(&test, &same, &same, 14);
    let Comparison::RollBack(why) = &over.comparison else {
        panic!("{:?}", over.comparison);
    };
    assert!(
        why.contains("no significant difference over 1209600s"),
        "{why}"
    );
}

#[test]
fn a_sample_ratio_mismatch_withholds_every_decision() {
    let test = prompt_test(AbDecision::Sequential);
    // A clear winner, but the candidate got 48 % of conversations under
    // 50/50 weights.
    let baseline = counts(52_000.0, 0.42, 0.010, 0.050);
    let candidate = counts(48_000.0, 0.46, 0.010, 0.050);
    let round = judged(&test, &baseline, &candidate, 6);
    let srm = round.sample_ratio.as_ref().unwrap();
    assert!(srm.mismatch && srm.p_value < SRM_LEVEL, "{srm:?}");
    assert_eq!(srm.observed, "52/48");
    let Comparison::Continue(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(
        why.starts_with("untrustworthy: conversations split 52/48 against the configured 50/50"),
        "{why}"
    );
    let over = judged(&test, &baseline, &candidate, 14);
    assert!(
        matches!(over.comparison, Comparison::Undecided(_)),
        "{:?}",
        over.comparison
    );
}

#[test]
fn a_round_without_data_is_inconclusive_never_a_pass() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let blind = Counts {
        guardrails: vec![None, None],
        ..counts(20_000.0, 0.46, 0.010, 0.050)
    };
    let round = judged(&test, &baseline, &blind, 6);
    assert_eq!(round.signals[1].verdict, "NoData");
    let Comparison::Continue(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(
        why.starts_with("round inconclusive: no data for error-rate"),
        "{why}"
    );
    let nothing = Counts::default();
    let over = judged(&test, &nothing, &nothing, 14);
    assert!(
        matches!(over.comparison, Comparison::Undecided(_)),
        "{:?}",
        over.comparison
    );
}

#[test]
fn manual_shows_the_same_report_and_leaves_the_decision_to_a_person() {
    let test = prompt_test(AbDecision::Manual);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let candidate = counts(20_000.0, 0.46, 0.010, 0.050);
    let round = judged(&test, &baseline, &candidate, 6);
    assert_eq!(round.signals[0].verdict, "Better");
    assert!(matches!(round.comparison, Comparison::Continue(_)));
    let over = judged(&test, &baseline, &candidate, 14);
    assert!(matches!(over.comparison, Comparison::Undecided(_)));
}

#[test]
fn the_reported_p_value_is_the_smallest_seen_so_far() {
    let test = prompt_test(AbDecision::Manual);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let first = judged(&test, &baseline, &counts(20_000.0, 0.44, 0.010, 0.050), 6);
    let p_first = first.signals[0].p_value.unwrap();
    let report = AbReport {
        signals: first.signals.clone(),
        ..AbReport::default()
    };
    let same = counts(20_000.0, 0.42, 0.010, 0.050);
    let later = judge(&test, &pair(&baseline, &same), Some(&report), clock(7)).unwrap();
    assert!(p_first < 1.0);
    assert_eq!(later.signals[0].p_value, Some(p_first));
}

#[test]
fn a_lead_one_round_showed_is_not_taken_back_by_a_noisier_round() {
    let test = prompt_test(AbDecision::Manual);
    // 10,000 conversations each: 44.5 % against 42 %, just conclusive.
    let first = judged(
        &test,
        &counts(10_000.0, 0.42, 0.010, 0.050),
        &counts(10_000.0, 0.445, 0.010, 0.050),
        6,
    );
    assert_eq!(first.signals[0].verdict, "Better");
    let report = AbReport {
        signals: first.signals.clone(),
        ..AbReport::default()
    };
    // 2,000 conversations later the new ones show no lead: alone, this
    // round's interval reaches below zero; carried over, the intersection
    // of both still excludes it.
    let (baseline, candidate) = (
        counts(12_000.0, 0.42, 0.010, 0.050),
        counts(12_000.0, 5_290.0 / 12_000.0, 0.010, 0.050),
    );
    let alone = judged(&test, &baseline, &candidate, 7);
    assert_eq!(alone.signals[0].verdict, "NotYet");
    assert!(alone.signals[0].low_points.unwrap() < 0.0);
    let later = judge(&test, &pair(&baseline, &candidate), Some(&report), clock(7)).unwrap();
    let primary = &later.signals[0];
    assert_eq!(primary.verdict, "Better");
    assert_eq!(primary.low_points, first.signals[0].low_points);
    assert_eq!(primary.high_points, alone.signals[0].high_points);
    assert_eq!(primary.p_value, first.signals[0].p_value, "the smaller p");
}

#[test]
fn a_test_without_a_primary_metric_is_not_judged_here() {
    let test = AbTest::default();
    let c = Counts::default();
    assert_eq!(judge(&test, &pair(&c, &c), None, clock(1)), None);
}

/// The baseline at `baseline`% and candidates sharing the rest evenly.
fn arms<'a>(baseline: (i32, &'a Counts), candidates: &'a [(&'a str, Counts)]) -> Vec<Arm<'a>> {
    let each = (100 - baseline.0) / candidates.len() as i32;
    std::iter::once(Arm {
        name: "baseline",
        weight: baseline.0,
        counts: baseline.1,
    })
    .chain(candidates.iter().map(|(name, counts)| Arm {
        name,
        weight: each,
        counts,
    }))
    .collect()
}

#[test]
fn several_candidates_split_alpha_over_candidates_and_signals() {
    let test = prompt_test(AbDecision::Sequential);
    let same = counts(10_000.0, 0.42, 0.010, 0.050);
    let candidates = [
        ("warmer", same.clone()),
        ("shorter", same.clone()),
        ("cited", same.clone()),
    ];
    let round = judge(&test, &arms((25, &same), &candidates), None, clock(5)).unwrap();
    // Three candidates × (primary + two guardrails), each at α / 9.
    assert_eq!(round.signals.len(), 9);
    assert!(
        round
            .signals
            .iter()
            .all(|s| (s.alpha - 0.05 / 9.0).abs() < 1e-12)
    );
    let of: Vec<_> = round
        .signals
        .iter()
        .map(|s| (s.variant.as_deref().unwrap(), s.role.as_str()))
        .collect();
    assert_eq!(
        of[..4],
        [
            ("warmer", "Primary"),
            ("warmer", "Guardrail"),
            ("warmer", "Guardrail"),
            ("shorter", "Primary")
        ]
    );
    // The planned size grows with the split α.
    let planned = sequential::conversations_needed(0.42, 0.05, 0.05 / 9.0, POWER).unwrap();
    assert_eq!(round.more_conversations, Some(planned as i64 - 10_000));
    assert!(planned > sequential::conversations_needed(0.42, 0.05, 0.05 / 3.0, POWER).unwrap());
    let srm = round.sample_ratio.unwrap();
    assert_eq!(
        (srm.expected.as_str(), srm.observed.as_str()),
        ("25/25/25/25", "25/25/25/25")
    );
    assert!(matches!(round.comparison, Comparison::Continue(_)));
    assert_eq!(round.winner, None);
}

#[test]
fn of_several_candidates_the_surest_winner_is_promoted_and_a_worse_one_waits() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let candidates = [
        ("worse", counts(20_000.0, 0.38, 0.010, 0.050)),
        ("good", counts(20_000.0, 0.45, 0.010, 0.050)),
        ("best", counts(20_000.0, 0.47, 0.010, 0.050)),
    ];
    let round = judge(&test, &arms((25, &baseline), &candidates), None, clock(6)).unwrap();
    let primaries: Vec<_> = round
        .signals
        .iter()
        .filter(|s| s.role == "Primary")
        .map(|s| s.verdict.as_str())
        .collect();
    assert_eq!(primaries, ["Worse", "Better", "Better"]);
    let Comparison::Promote(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(
        why.starts_with("A/B test: best wins on thumbs-up-rate 5 points"),
        "{why}"
    );
    assert_eq!(round.winner.as_deref(), Some("best"));

    // Only the worse one conclusive: the test goes on for the others.
    let undecided = [
        ("worse", counts(20_000.0, 0.38, 0.010, 0.050)),
        ("same", counts(20_000.0, 0.42, 0.010, 0.050)),
    ];
    let round = judge(&test, &arms((34, &baseline), &undecided), None, clock(6)).unwrap();
    assert!(
        matches!(round.comparison, Comparison::Continue(_)),
        "{:?}",
        round.comparison
    );
}

#[test]
fn one_candidate_breaching_a_guardrail_rolls_the_whole_test_back() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(20_000.0, 0.42, 0.010, 0.050);
    let candidates = [
        ("winner", counts(20_000.0, 0.47, 0.010, 0.050)),
        ("erring", counts(20_000.0, 0.42, 0.030, 0.050)),
    ];
    let round = judge(&test, &arms((34, &baseline), &candidates), None, clock(3)).unwrap();
    let Comparison::RollBack(why) = &round.comparison else {
        panic!("{:?}", round.comparison);
    };
    assert!(
        why.contains("guardrail error-rate breached, erring's share is worse"),
        "{why}"
    );
    assert_eq!(round.winner, None);

    let worse = [
        ("a", counts(20_000.0, 0.38, 0.010, 0.050)),
        ("b", counts(20_000.0, 0.37, 0.010, 0.050)),
    ];
    let round = judge(&test, &arms((34, &baseline), &worse), None, clock(3)).unwrap();
    assert!(
        matches!(&round.comparison, Comparison::RollBack(why) if why.starts_with("A/B test: every candidate is conclusively worse")),
        "{:?}",
        round.comparison
    );
}

#[test]
fn a_starved_arm_among_several_is_a_sample_ratio_mismatch() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(10_000.0, 0.42, 0.010, 0.050);
    let candidates = [
        ("a", counts(10_000.0, 0.47, 0.010, 0.050)),
        ("b", counts(10_000.0, 0.42, 0.010, 0.050)),
        ("c", counts(9_200.0, 0.42, 0.010, 0.050)),
    ];
    let round = judge(&test, &arms((25, &baseline), &candidates), None, clock(6)).unwrap();
    let srm = round.sample_ratio.as_ref().unwrap();
    assert!(srm.mismatch, "{srm:?}");
    assert_eq!(srm.observed, "25.5/25.5/25.5/23.5");
    assert!(
        matches!(&round.comparison, Comparison::Continue(why) if why.starts_with("untrustworthy"))
    );
    // Missing data is named with its candidate.
    let blind = [
        ("a", counts(5_000.0, 0.47, 0.010, 0.050)),
        (
            "b",
            Counts {
                primary: None,
                ..counts(5_000.0, 0.42, 0.010, 0.050)
            },
        ),
    ];
    let round = judge(&test, &arms((50, &baseline), &blind), None, clock(6)).unwrap();
    assert!(
        matches!(&round.comparison, Comparison::Continue(why) if why.starts_with("round inconclusive: no data for thumbs-up-rate of b")),
        "{:?}",
        round.comparison
    );
}

#[test]
fn conversations_on_a_variant_weighted_zero_are_a_mismatch() {
    let test = prompt_test(AbDecision::Sequential);
    let baseline = counts(10_000.0, 0.42, 0.010, 0.050);
    let candidate = counts(500.0, 0.60, 0.010, 0.050);
    let arms = [
        Arm {
            name: "baseline",
            weight: 100,
            counts: &baseline,
        },
        Arm {
            name: "dark",
            weight: 0,
            counts: &candidate,
        },
    ];
    let round = judge(&test, &arms, None, clock(3)).unwrap();
    let srm = round.sample_ratio.unwrap();
    assert!(srm.mismatch, "{srm:?}");
    assert_eq!(srm.expected, "100/0");
    assert!(matches!(round.comparison, Comparison::Continue(_)));
}
