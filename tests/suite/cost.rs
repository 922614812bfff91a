//! The cost and capacity arithmetic, on the teams' own numbers.

use chatbot_operator::{
    capacity::{self, CheckStatus},
    cost,
    environment::Environments,
};

use crate::common;

fn resolved(name: &str) -> chatbot_operator::api::ChatbotDeploymentSpec {
    Environments::embedded()
        .unwrap()
        .resolve(&common::sample_deployment(name).spec)
        .unwrap()
        .spec
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn mindmitra_llm_cost_follows_the_formula() {
    // 50 users × 20 messages × 30 days = 30,000 messages;
    // 3M input tokens × $0.30/M + 1.5M output tokens × $1.20/M = $0.90 + $1.80.
    let report = cost::estimate(&resolved("mindmitra"));
    let llm = report.llm.unwrap();
    assert!(close(llm.messages_per_month, 30_000.0));
    assert!(close(llm.input_tokens_per_month, 3_000_000.0));
    assert!(close(llm.output_tokens_per_month, 1_500_000.0));
    assert!(close(llm.input_usd, 0.90));
    assert!(close(llm.output_usd, 1.80));
    assert!(close(llm.total_usd, 2.70));
}

#[test]
fn mindmitra_infrastructure_and_budget() {
    // db.t3.micro multi-AZ: 0.018 × 730 × 2 = 26.28; 20 GiB × 0.115 × 2 = 4.60;
    // cache.t3.micro, primary + 1 replica: 0.017 × 730 × 2 = 24.82.
    let report = cost::estimate(&resolved("mindmitra"));
    let items: Vec<(String, f64)> = report
        .infra
        .iter()
        .map(|i| (i.item.clone(), i.monthly_usd))
        .collect();
    assert_eq!(items.len(), 3);
    assert!(close(items[0].1, 26.28), "{items:?}");
    assert!(close(items[1].1, 4.60), "{items:?}");
    assert!(close(items[2].1, 24.82), "{items:?}");
    assert!(close(report.total_usd, 2.70 + 26.28 + 4.60 + 24.82));
    assert_eq!(report.budget_usd, Some(145.0));
    assert_eq!(report.within_budget, Some(true));
}

#[test]
fn worst_case_user_spends_the_rate_limit_all_month() {
    // 200 messages/h × 24 × 30 = 144,000 messages × (100 × 0.30 + 50 × 1.20)/1M = $12.96.
    let worst = cost::estimate(&resolved("mindmitra"))
        .worst_case_user
        .unwrap();
    assert_eq!(worst.messages_per_hour, 200);
    assert!(close(worst.messages_per_month, 144_000.0));
    assert!(close(worst.monthly_usd, 12.96));
    // Brigade's client tier: the tighter of 1,000/hour and 100/minute × 60.
    let brigade = cost::estimate(&resolved("brigade-sales"))
        .worst_case_user
        .unwrap();
    assert_eq!(brigade.messages_per_hour, 1000);
}

#[test]
fn without_a_rate_limit_the_worst_case_is_unbounded_and_plan_says_so() {
    let mut spec = resolved("mindmitra");
    spec.rate_limits = None;
    assert!(cost::estimate(&spec).worst_case_user.is_none());
    let warnings = chatbot_operator::plan::warnings(&spec, &[], &cost::estimate(&spec));
    assert!(
        warnings.iter().any(|w| w.starts_with("no rate limit")),
        "{warnings:?}"
    );
}

#[test]
fn growth_steps_project_the_cost_and_flag_the_budget() {
    // Claude SaaS: $3/M tokens, 2,000 tokens a day per user: $0.18 per user-month.
    let report = cost::estimate(&resolved("claude-saas"));
    let steps: Vec<(i64, f64, Option<bool>)> = report
        .growth
        .iter()
        .map(|s| (s.active_users_per_day, s.llm_usd, s.within_budget))
        .collect();
    assert_eq!(steps.len(), 3);
    assert!(
        close(steps[0].1, 18.0) && close(steps[1].1, 180.0) && close(steps[2].1, 900.0),
        "{steps:?}"
    );
    assert_eq!(steps[0].2, Some(true));
    assert_eq!(
        steps[2].2,
        Some(false),
        "5,000 users exceed the $800 budget"
    );
}

#[test]
fn database_connections_use_the_rds_formula_with_rollout_surge() {
    // Claude SaaS: 10 max replicas + 3 surge = 13 pods × 20 = 260 connections;
    // db.m6g.large, 8 GiB: 8 × 2^30 / 9531392 = 901 − 3 reserved = 898.
    let check = capacity::database_connections(&resolved("claude-saas")).unwrap();
    assert!(close(check.needed, 260.0));
    assert!(close(check.limit, 898.0));
    assert_eq!(check.status, CheckStatus::Ok);
}

#[test]
fn an_a_b_test_counts_a_set_of_pods_for_the_baseline_and_each_candidate() {
    let mut spec = resolved("mindmitra-prompt-test");
    let (min, max) = spec.replicas.clone().unwrap_or_default().bounds();
    let max = i64::from(max.max(min));
    assert_eq!(capacity::peak_pods(&spec).0, 2 * max, "one candidate");
    let test = spec.rollout.as_mut().unwrap().ab_test.as_mut().unwrap();
    test.variants[1].weight = 20;
    for name in ["terse", "warm"] {
        test.variants.push(chatbot_operator::api::Variant {
            name: name.into(),
            weight: 15,
            ..Default::default()
        });
    }
    let (pods, arithmetic) = capacity::peak_pods(&spec);
    assert_eq!(pods, 4 * max);
    assert_eq!(
        arithmetic,
        format!(
            "peak pods = 4 × {max} max replicas (AbTest runs the baseline and 3 candidates) = {}",
            4 * max
        )
    );
}

#[test]
fn an_undersized_database_is_flagged_with_80_percent_headroom() {
    let mut spec = resolved("mindmitra");
    // Blue-green runs two sets: 2 × 4 pods × (5 + 2) = 56 of 109.
    assert_eq!(
        capacity::database_connections(&spec).unwrap().status,
        CheckStatus::Ok
    );
    spec.replicas.as_mut().unwrap().max = Some(7); // 14 × 7 = 98 of 109: 90%
    assert_eq!(
        capacity::database_connections(&spec).unwrap().status,
        CheckStatus::Warning
    );
    spec.replicas.as_mut().unwrap().max = Some(10); // 20 × 7 = 140 of 109
    let check = capacity::database_connections(&spec).unwrap();
    assert_eq!(check.status, CheckStatus::Exceeded);
    assert!(close(check.needed, 140.0));
}

#[test]
fn a_pooler_caps_the_connections_at_its_server_pool() {
    // Stock consultant: PgBouncer 20 server connections × 2 pods = 40 of 109.
    let check = capacity::database_connections(&resolved("stock-consultant")).unwrap();
    assert!(close(check.needed, 40.0));
    assert_eq!(check.status, CheckStatus::Ok);
}

#[test]
fn cache_memory_is_checked_against_the_node_type() {
    let check = capacity::cache_memory(&resolved("claude-saas")).unwrap();
    assert!(close(check.needed, 256.0));
    assert!(close(check.limit, 1.37 * 1024.0));
}

#[test]
fn a_secret_written_into_env_is_flagged_without_repeating_its_value() {
    let mut spec = resolved("brigade-sales");
    spec.env = Some(vec![k8s_openapi::api::core::v1::EnvVar {
        name: "OPENAI_API_KEY".into(),
        value: Some("sk-live-do-not-print".into()),
        ..Default::default()
    }]);
    let warnings = chatbot_operator::plan::warnings(&spec, &[], &cost::estimate(&spec));
    let warning = warnings
        .iter()
        .find(|w| w.contains("OPENAI_API_KEY"))
        .expect("flagged");
    assert!(!warning.contains("sk-live"), "{warning}");
}

/// Nothing priced costs 0, not "-0": the sum of no items is -0.0 in IEEE
/// arithmetic, and status and `plan` print what they get.
#[test]
fn an_estimate_without_priced_infrastructure_is_zero_not_negative_zero() {
    assert!(chatbot_operator::cost::cents(-0.0).is_sign_positive());
    let empty: f64 = std::iter::empty::<f64>().sum();
    assert!(chatbot_operator::cost::cents(empty).is_sign_positive());
    assert_eq!(chatbot_operator::cost::cents(-0.004).to_string(), "0");
}
