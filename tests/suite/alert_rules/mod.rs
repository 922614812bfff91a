//! The generated alerting rules of every sample, checked by Prometheus's
//! own tool (`promtool`, Debian's `prometheus` package, installed by
//! `scripts/test.sh`): `check rules` on the rule file, and `test rules`
//! with one case that must fire and one that must not for every alert,
//! from series built from the sample's own thresholds.

use std::{collections::BTreeMap, path::Path, process::Command};

use chatbot_operator::{
    monitoring::{
        PrometheusRule,
        resources::{Rule, RuleGroup},
    },
    render::{Object, Rendered},
};
use serde_json::{Value, json};

use crate::common::{self, SAMPLES};

mod cases;
use cases::{Case, Series, cases};

fn rules_of(rendered: &Rendered) -> PrometheusRule {
    rendered
        .children
        .iter()
        .find_map(|c| match c.object() {
            Object::PrometheusRule(rule) => Some(rule.as_ref().clone()),
            _ => None,
        })
        .expect("a PrometheusRule")
}

fn alerts(groups: &[RuleGroup]) -> Vec<&Rule> {
    groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter(|r| r.alert.is_some())
        .collect()
}

fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool (Debian's prometheus package; scripts/test.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Alerts named `name` expected to fire in the firing case. A burn-rate
/// alert at 20× the budget fires on every window pair; each alert carries
/// its rule's labels and annotations (and `name`, which `absent()` takes
/// from the operator series' matchers).
fn expected(name: &str, rules: &[&Rule], operator_name: &str) -> Vec<Value> {
    rules
        .iter()
        .filter(|r| r.alert.as_deref() == Some(name))
        .map(|rule| {
            let mut labels: BTreeMap<String, String> = rule.labels.clone();
            if name == "ChatbotOperatorMetricsMissing" {
                labels.insert("name".into(), operator_name.into());
            }
            json!({ "exp_labels": labels, "exp_annotations": rule.annotations })
        })
        .collect()
}

fn test_case(name: &str, case: &Case, exp_alerts: Vec<Value>) -> Value {
    json!({
        "name": name,
        "interval": "1m",
        "input_series": case.series.iter().map(|(series, values)| json!({"series": series, "values": values})).collect::<Vec<_>>(),
        "alert_rule_test": [{
            "eval_time": format!("{}m", case.at_minutes),
            "alertname": name.split(' ').next().unwrap_or_default(),
            "exp_alerts": exp_alerts,
        }],
    })
}

/// A directory holding `rule`'s groups as `rules.yaml`, the file
/// `promtool` reads.
fn rule_file(rule: &PrometheusRule) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let groups = json!({ "groups": rule.spec.groups });
    std::fs::write(
        dir.path().join("rules.yaml"),
        serde_yaml_ng::to_string(&groups).unwrap(),
    )
    .unwrap();
    dir
}

/// `promtool test rules` of `tests` against the rules in `dir`.
fn promtool_test(dir: &tempfile::TempDir, tests: Vec<Value>) -> (bool, String) {
    let file = json!({ "rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests });
    std::fs::write(
        dir.path().join("tests.yaml"),
        serde_yaml_ng::to_string(&file).unwrap(),
    )
    .unwrap();
    promtool(&["test", "rules", "tests.yaml"], dir.path())
}

/// The series of the resource `rule` is for.
fn series_of(rule: &PrometheusRule) -> Series {
    let namespace = rule.metadata.namespace.clone().expect("a namespace");
    let name = rule.metadata.name.clone().expect("a name");
    Series {
        app: format!(r#"namespace="{namespace}",app_kubernetes_io_instance="{name}""#),
        operator: format!(r#"namespace="{namespace}",name="{name}""#),
    }
}

#[test]
fn every_samples_rules_pass_promtool_check_and_fire_only_when_they_should() {
    for sample in SAMPLES {
        let rendered = common::render_sample(sample);
        let spec = &rendered.resolution.spec;
        let rule = rules_of(&rendered);
        let name = rule.metadata.name.clone().expect("a name");
        let series = series_of(&rule);
        let dir = rule_file(&rule);
        let (ok, output) = promtool(&["check", "rules", "rules.yaml"], dir.path());
        assert!(ok, "{sample}: promtool check rules:\n{output}");

        let rules = alerts(&rule.spec.groups);
        let mut names: Vec<&str> = rules.iter().filter_map(|r| r.alert.as_deref()).collect();
        names.dedup();
        let mut tests = Vec::new();
        for alert in &names {
            let (fires, quiet) = cases(alert, spec, &series);
            tests.push(test_case(
                &format!("{alert} fires"),
                &fires,
                expected(alert, &rules, &name),
            ));
            tests.push(test_case(
                &format!("{alert} stays quiet"),
                &quiet,
                Vec::new(),
            ));
        }
        let (ok, output) = promtool_test(&dir, tests);
        assert!(
            ok,
            "{sample}: promtool test rules ({} alerts):\n{output}",
            names.len()
        );
    }
}

/// The multiwindow rule at work: once the errors stop, the page (1 h / 5 m
/// and 6 h / 30 m) ends within the short window while the 3-day ticket
/// keeps the budget's loss visible.
#[test]
fn a_burn_rate_page_ends_with_the_errors_and_the_ticket_stays() {
    let rule = rules_of(&common::render_sample("finance-assistant"));
    let name = rule.metadata.name.clone().unwrap();
    let rules = alerts(&rule.spec.groups);
    let ticket: Vec<Value> = expected("ChatbotErrorBudgetBurn", &rules, &name)
        .into_iter()
        .filter(|alert| alert["exp_labels"]["long_window"] == "3d")
        .collect();
    assert_eq!(ticket.len(), 1);
    // 5% errors for 80 minutes, then none for 40.
    let case = Case {
        series: series_of(&rule).requests(10_000, 500, 80, 40),
        at_minutes: 120,
    };
    let dir = rule_file(&rule);
    let tests = vec![test_case(
        "ChatbotErrorBudgetBurn after the errors stop",
        &case,
        ticket,
    )];
    let (ok, output) = promtool_test(&dir, tests);
    assert!(ok, "{output}");
}

/// Every alert a sample can raise has a runbook in docs/observability.md,
/// under the heading its `runbook_url` points at.
#[test]
fn every_alerts_runbook_is_a_heading_of_the_observability_reference() {
    let page = std::fs::read_to_string(common::root().join("docs/observability.md")).unwrap();
    let anchors: Vec<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|heading| heading.trim().to_lowercase())
        .collect();
    for sample in SAMPLES {
        let rule = rules_of(&common::render_sample(sample));
        for alert in alerts(&rule.spec.groups) {
            let url = &alert.annotations["runbook_url"];
            let (page, anchor) = url.rsplit_once('#').unwrap_or_default();
            assert!(
                page.ends_with("/docs/observability.md"),
                "{sample}: {url} points at the observability reference"
            );
            assert!(
                anchors.iter().any(|a| a == anchor),
                "{sample}: {url} names no heading of docs/observability.md"
            );
            for key in ["summary", "description"] {
                assert!(
                    alert.annotations[key].contains(&format!(
                        "{}/{}",
                        rule.metadata.namespace.as_deref().unwrap(),
                        rule.metadata.name.as_deref().unwrap()
                    )),
                    "{sample}: the {key} of {} names the resource",
                    alert.alert.as_deref().unwrap()
                );
            }
            assert!(["critical", "warning"].contains(&alert.labels["severity"].as_str()));
        }
    }
}
