//! The alerting rules of one ChatbotDeployment, from its resolved spec:
//! the SRE workbook's multiwindow, multi-burn-rate alerts on the error
//! budget, the latency and time-to-first-token objectives, the team's own
//! thresholds (`observability.alerts`), and the operator's failure classes.
//!
//! Every expression selects this deployment's series only and aggregates
//! them away, so each alert carries exactly the labels its rule sets:
//! `namespace`, `app_kubernetes_io_instance`, `severity` (and the windows of
//! a burn-rate alert). Every alert has `summary`, `description` (naming the
//! resource), and `runbook_url`.

use super::{
    alert::{Inputs, P95_LATENCY, P95_TTFT, error_ratio, record},
    resources::RuleGroup,
};
use crate::api::Slo;

/// The rule groups, and what was asked for but cannot be alerted on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Generated {
    pub groups: Vec<RuleGroup>,
    pub notes: Vec<String>,
}

/// The rules of `inputs`.
pub fn generate(inputs: &Inputs) -> Generated {
    let mut notes = Vec::new();
    let app = inputs.app();
    let mut recorded = Vec::new();
    let mut alerts = Vec::new();

    let budget = error_budget(&inputs.slo, &mut notes);
    let mut windows: Vec<&str> = Vec::new();
    if budget.is_some() {
        windows.extend(["5m", "30m", "1h", "6h", "3d"]);
    }
    if inputs.alerts.error_rate_percent.is_some() {
        windows.push("5m");
    }
    if inputs.alerts.availability_percent.is_some() {
        windows.push("1h");
    }
    windows.sort_by_key(|w| ["5m", "30m", "1h", "6h", "3d"].iter().position(|k| k == w));
    windows.dedup();
    for window in &windows {
        recorded.push(record(
            inputs,
            error_ratio(window),
            format!(
                r#"(sum(rate(http_requests_total{{{app},code=~"5.."}}[{window}])) or vector(0)) / sum(rate(http_requests_total{{{app}}}[{window}]))"#
            ),
        ));
    }
    if let Some(budget) = budget {
        alerts.extend(super::objectives::burn_rate_alerts(inputs, budget));
    }
    let latency = inputs.slo.p95_latency_ms.is_some() || inputs.alerts.p95_latency_ms.is_some();
    if latency {
        recorded.push(record(
            inputs,
            P95_LATENCY.into(),
            format!(
                "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{{{app}}}[5m])))"
            ),
        ));
    }
    if inputs.slo.p95_time_to_first_token_ms.is_some() {
        recorded.push(record(
            inputs,
            P95_TTFT.into(),
            format!(
                "histogram_quantile(0.95, sum by (le) (rate(chatbot_time_to_first_token_seconds_bucket{{{app}}}[5m])))"
            ),
        ));
    }
    alerts.extend(super::objectives::latency_alerts(inputs));
    alerts.extend(super::thresholds::alerts(inputs, &mut recorded, &mut notes));
    let operator = super::operator_alerts::alerts(inputs);

    let groups = [
        ("chatbot.recording", recorded),
        ("chatbot.alerts", alerts),
        ("chatbot.operator", operator),
    ]
    .into_iter()
    .filter(|(_, rules)| !rules.is_empty())
    .map(|(name, rules)| RuleGroup {
        name: name.into(),
        interval: None,
        rules,
    })
    .collect();
    Generated { groups, notes }
}

/// The share of requests that may fail: the stricter of the availability
/// objective and the error-rate objective.
fn error_budget(slo: &Slo, notes: &mut Vec<String>) -> Option<f64> {
    let from_availability = slo.availability_percent.map(|a| (100.0 - a) / 100.0);
    let from_error_rate = slo.error_rate_percent.map(|e| e / 100.0);
    let budget = match (from_availability, from_error_rate) {
        (Some(a), Some(e)) => a.min(e),
        (a, e) => a.or(e)?,
    };
    if budget <= 0.0 {
        notes.push("an objective of 100% availability (or 0% errors) leaves no error budget to burn: no burn-rate alerts".into());
        return None;
    }
    Some(budget)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        api::ModelPrice,
        monitoring::{
            alert::{LLM_SPEND, RUNBOOKS, number},
            resources::Rule,
        },
    };

    fn inputs() -> Inputs {
        Inputs {
            namespace: "finance".into(),
            name: "assistant".into(),
            runbooks: RUNBOOKS.into(),
            ..Inputs::default()
        }
    }

    fn rules(generated: &Generated) -> Vec<&Rule> {
        generated.groups.iter().flat_map(|g| &g.rules).collect()
    }

    fn alert<'a>(generated: &'a Generated, name: &str) -> Vec<&'a Rule> {
        rules(generated)
            .into_iter()
            .filter(|r| r.alert.as_deref() == Some(name))
            .collect()
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(number(14.4 * 0.001), "0.0144");
        assert_eq!(number(6.0 * 0.001), "0.006");
        assert_eq!(number(500.0), "500");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn a_99_9_objective_burns_at_the_workbooks_three_window_pairs() {
        let mut inputs = inputs();
        inputs.slo.availability_percent = Some(99.9);
        let generated = generate(&inputs);
        let burn = alert(&generated, "ChatbotErrorBudgetBurn");
        let pairs: Vec<(&str, &str, &str, &str)> = burn
            .iter()
            .map(|r| {
                (
                    r.labels["long_window"].as_str(),
                    r.labels["short_window"].as_str(),
                    r.labels["severity"].as_str(),
                    r.for_.as_deref().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            [
                ("1h", "5m", "critical", "2m"),
                ("6h", "30m", "critical", "15m"),
                ("3d", "6h", "warning", "1h")
            ]
        );
        assert!(burn[0].expr.contains("ratio_rate1h{") && burn[0].expr.contains("> 0.0144"));
        assert!(burn[1].expr.ends_with(
            "ratio_rate30m{namespace=\"finance\",app_kubernetes_io_instance=\"assistant\"} > 0.006"
        ));
        assert!(burn[2].expr.contains("> 0.001"));
    }

    #[test]
    fn the_stricter_of_the_availability_and_error_objectives_is_the_budget() {
        let mut inputs = inputs();
        inputs.slo.availability_percent = Some(99.0);
        inputs.slo.error_rate_percent = Some(0.1);
        let generated = generate(&inputs);
        assert!(
            alert(&generated, "ChatbotErrorBudgetBurn")[0]
                .expr
                .contains("> 0.0144")
        );
        inputs.slo.error_rate_percent = None;
        let generated = generate(&inputs);
        assert!(
            alert(&generated, "ChatbotErrorBudgetBurn")[0]
                .expr
                .contains("> 0.144")
        );
    }

    #[test]
    fn no_objective_means_no_burn_alerts_and_a_full_budget_is_said() {
        assert!(alert(&generate(&inputs()), "ChatbotErrorBudgetBurn").is_empty());
        let mut inputs = inputs();
        inputs.slo.availability_percent = Some(100.0);
        let generated = generate(&inputs);
        assert!(alert(&generated, "ChatbotErrorBudgetBurn").is_empty());
        assert!(generated.notes[0].contains("no error budget"));
    }

    #[test]
    fn thresholds_without_what_they_are_measured_against_are_notes_not_alerts() {
        let mut inputs = inputs();
        inputs.alerts.llm_monthly_cost_usd = Some(500.0);
        inputs.alerts.db_connections_percent = Some(80.0);
        inputs.alerts.cache_memory_percent = Some(80.0);
        let generated = generate(&inputs);
        for name in [
            "ChatbotLLMSpendHigh",
            "ChatbotDatabaseConnectionsHigh",
            "ChatbotCacheMemoryHigh",
        ] {
            assert!(alert(&generated, name).is_empty(), "{name}");
        }
        assert_eq!(generated.notes.len(), 3);
        assert!(
            generated
                .notes
                .iter()
                .any(|n| n.contains("spec.cost.model"))
        );
    }

    #[test]
    fn spend_is_priced_per_token_type_over_thirty_days() {
        let mut inputs = inputs();
        inputs.alerts.llm_monthly_cost_usd = Some(500.0);
        inputs.model = Some(ModelPrice {
            name: None,
            input_per_million_usd: 0.5,
            output_per_million_usd: 1.5,
        });
        let generated = generate(&inputs);
        let projection = rules(&generated)
            .into_iter()
            .find(|r| r.record.as_deref() == Some(LLM_SPEND))
            .expect("the projection");
        // $0.50 and $1.50 per million tokens, a token a second for 30 days.
        assert!(
            projection
                .expr
                .contains(r#"type="input"}[1d])) or vector(0)) * 1.296"#),
            "{}",
            projection.expr
        );
        assert!(
            projection
                .expr
                .contains(r#"type="output"}[1d])) or vector(0)) * 3.888"#),
            "{}",
            projection.expr
        );
    }

    #[test]
    fn every_alert_names_the_resource_its_runbook_and_severity() {
        let mut inputs = inputs();
        inputs.slo.availability_percent = Some(99.9);
        inputs.slo.p95_latency_ms = Some(500);
        inputs.backups = true;
        inputs.database = true;
        inputs.runbooks = "https://wiki.example/runbooks".into();
        for rule in rules(&generate(&inputs)) {
            let Some(name) = &rule.alert else {
                assert_eq!(rule.labels["namespace"], "finance");
                continue;
            };
            assert!(
                rule.annotations["description"].contains("finance/assistant"),
                "{name}"
            );
            assert!(
                rule.annotations["summary"].contains("finance/assistant"),
                "{name}"
            );
            assert_eq!(
                rule.annotations["runbook_url"],
                format!("https://wiki.example/runbooks#{}", name.to_lowercase())
            );
            assert!(["critical", "warning"].contains(&rule.labels["severity"].as_str()));
            assert!(
                rule.expr.contains(r#"namespace="finance""#),
                "{name}: {}",
                rule.expr
            );
        }
    }
}
