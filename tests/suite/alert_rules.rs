//! The generated alerting rules of every sample, checked by Prometheus's
//! own tool (`promtool`, Debian's `prometheus` package, installed by
//! `scripts/test.sh`): `check rules` on the rule file, and `test rules`
//! with one case that must fire and one that must not for every alert,
//! from series built from the sample's own thresholds.

use std::{collections::BTreeMap, path::Path, process::Command};

use chatbot_operator::{
    api::ChatbotDeploymentSpec,
    monitoring::{
        PrometheusRule,
        resources::{Rule, RuleGroup},
    },
    render::{Object, Rendered},
};
use serde_json::{Value, json};

use crate::common::{self, SAMPLES};

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

/// What a test case feeds Prometheus and when it looks.
struct Case {
    series: Vec<(String, String)>,
    /// Minutes after the first sample.
    at_minutes: u32,
}

/// The series of this deployment's app: `namespace` and instance.
struct Series {
    app: String,
    operator: String,
}

impl Series {
    fn app(&self, metric: &str, extra: &str) -> String {
        format!("{metric}{{{}{extra}}}", self.app)
    }
    fn operator(&self, metric: &str, extra: &str) -> String {
        format!("{metric}{{{}{extra}}}", self.operator)
    }

    /// `total` requests a minute, `errors` of them 5xx, for `minutes`, then
    /// `quiet_minutes` with requests but no errors.
    fn requests(
        &self,
        total: u64,
        errors: u64,
        minutes: u32,
        quiet_minutes: u32,
    ) -> Vec<(String, String)> {
        let ok = total - errors;
        let (mut ok_values, mut error_values) =
            (format!("0+{ok}x{minutes}"), format!("0+{errors}x{minutes}"));
        if quiet_minutes > 0 {
            let minutes = u64::from(minutes);
            ok_values.push_str(&format!(
                " {}+{total}x{}",
                ok * minutes + total,
                quiet_minutes - 1
            ));
            error_values.push_str(&format!(" {}+0x{}", errors * minutes, quiet_minutes - 1));
        }
        vec![
            (self.app("http_requests_total", r#",code="200""#), ok_values),
            (
                self.app("http_requests_total", r#",code="503""#),
                error_values,
            ),
        ]
    }

    /// A histogram whose every observation lies in `(low, high]` seconds,
    /// 100 a minute, with buckets around `threshold`.
    fn histogram(
        &self,
        metric: &str,
        threshold: f64,
        low: f64,
        minutes: u32,
    ) -> Vec<(String, String)> {
        let bounds = [threshold / 2.0, threshold, threshold * 2.0, threshold * 4.0];
        let mut series: Vec<(String, String)> = bounds
            .iter()
            .map(|le| {
                let rate = if *le > low { 100 } else { 0 };
                (
                    self.app(&format!("{metric}_bucket"), &format!(r#",le="{le}""#)),
                    format!("0+{rate}x{minutes}"),
                )
            })
            .collect();
        series.push((
            self.app(&format!("{metric}_bucket"), r#",le="+Inf""#),
            format!("0+100x{minutes}"),
        ));
        series
    }
}

/// The firing and the quiet case of `alert`, from the spec's own numbers.
fn cases(alert: &str, spec: &ChatbotDeploymentSpec, s: &Series) -> (Case, Case) {
    let observability = spec.observability.clone().unwrap_or_default();
    let slo = observability.slo.unwrap_or_default();
    let thresholds = observability.alerts.unwrap_or_default();
    let case = |series, at_minutes| Case { series, at_minutes };
    let condition = |condition: &str, status: &str, reason: &str| {
        s.operator(
            "chatbot_operator_condition",
            &format!(r#",condition="{condition}",status="{status}",reason="{reason}""#),
        )
    };
    match alert {
        "ChatbotErrorBudgetBurn" => {
            // The stricter budget of the availability and error objectives.
            let budget = [
                slo.availability_percent.map(|a| (100.0 - a) / 100.0),
                slo.error_rate_percent.map(|e| e / 100.0),
            ]
            .into_iter()
            .flatten()
            .fold(1.0_f64, f64::min);
            let errors = |share: f64| (share * 10_000.0).ceil() as u64;
            (
                case(s.requests(10_000, errors(20.0 * budget), 90, 0), 90),
                case(s.requests(10_000, errors(budget / 2.0), 90, 0), 90),
            )
        }
        "ChatbotDown" => (
            case(
                vec![(
                    s.operator("chatbot_operator_ready_replicas", ""),
                    "2x5 0x10".into(),
                )],
                15,
            ),
            case(
                vec![(
                    s.operator("chatbot_operator_ready_replicas", ""),
                    "2x5 1x10".into(),
                )],
                15,
            ),
        ),
        "ChatbotMetricsMissing" => (
            case(vec![(s.app("up", r#",pod="a""#), "0x20".into())], 20),
            case(vec![(s.app("up", r#",pod="a""#), "0x10 1x10".into())], 20),
        ),
        "ChatbotLatencyObjectiveMissed" | "ChatbotLatencyHigh" => {
            let ms = if alert == "ChatbotLatencyHigh" {
                thresholds.p95_latency_ms
            } else {
                slo.p95_latency_ms
            };
            let t = ms.expect("a latency threshold") as f64 / 1000.0;
            let metric = "http_request_duration_seconds";
            (
                case(s.histogram(metric, t, t * 2.0, 30), 30),
                case(s.histogram(metric, t, 0.0, 30), 30),
            )
        }
        "ChatbotTimeToFirstTokenObjectiveMissed" => {
            let t = slo.p95_time_to_first_token_ms.expect("a TTFT objective") as f64 / 1000.0;
            let metric = "chatbot_time_to_first_token_seconds";
            (
                case(s.histogram(metric, t, t * 2.0, 30), 30),
                case(s.histogram(metric, t, 0.0, 30), 30),
            )
        }
        "ChatbotErrorRateHigh" => {
            let p = thresholds.error_rate_percent.expect("an error rate") / 100.0;
            (
                case(
                    s.requests(10_000, (p * 2.0 * 10_000.0).ceil() as u64, 20, 0),
                    20,
                ),
                case(
                    s.requests(10_000, (p / 2.0 * 10_000.0).floor() as u64, 20, 0),
                    20,
                ),
            )
        }
        "ChatbotAvailabilityLow" => {
            let failing = (100.0 - thresholds.availability_percent.expect("availability")) / 100.0;
            (
                case(
                    s.requests(10_000, (failing * 2.0 * 10_000.0).ceil() as u64, 20, 0),
                    20,
                ),
                case(
                    s.requests(10_000, (failing / 2.0 * 10_000.0).floor() as u64, 20, 0),
                    20,
                ),
            )
        }
        "ChatbotDatabaseConnectionsHigh" => {
            let (limit, _) = chatbot_operator::capacity::connection_limit(spec).expect("a limit");
            let share = thresholds.db_connections_percent.expect("a percent") / 100.0;
            let per_pod = |total: f64| format!("{}x20", (total / 2.0).round());
            let pods = |total: f64| {
                ["a", "b"]
                    .map(|pod| {
                        (
                            s.app("chatbot_db_connections", &format!(r#",pod="{pod}""#)),
                            per_pod(total),
                        )
                    })
                    .to_vec()
            };
            (
                case(pods(limit * share + 4.0), 20),
                case(pods(limit * share - 4.0), 20),
            )
        }
        "ChatbotCacheMemoryHigh" => {
            let (mib, _) = chatbot_operator::capacity::cache_memory_limit(spec).expect("a size");
            let share = thresholds.cache_memory_percent.expect("a percent") / 100.0;
            let used = |fraction: f64| {
                vec![(
                    s.app("chatbot_cache_memory_used_bytes", r#",pod="a""#),
                    format!("{}x20", (mib * 1024.0 * 1024.0 * fraction).round()),
                )]
            };
            (case(used(share + 0.05), 20), case(used(share - 0.05), 20))
        }
        "ChatbotLLMSpendHigh" => {
            let usd = thresholds.llm_monthly_cost_usd.expect("a spend threshold");
            let model = spec.cost.clone().and_then(|c| c.model).expect("a model");
            // Input tokens a minute that cost `monthly` dollars over 30 days.
            let per_minute =
                |monthly: f64| monthly / (30.0 * 24.0 * 60.0) / model.input_per_million_usd * 1e6;
            let tokens = |monthly: f64, round: fn(f64) -> f64| {
                vec![(
                    s.app("chatbot_llm_tokens_total", r#",type="input""#),
                    format!("0+{}x1600", round(per_minute(monthly))),
                )]
            };
            // The projection is the last day's rate: a day of tokens, and
            // the hour the alert waits.
            (
                case(tokens(usd * 1.1, f64::ceil), 1560),
                case(tokens(usd * 0.9, f64::floor), 1560),
            )
        }
        "ChatbotRolledBack" => (
            case(
                vec![(condition("Degraded", "True", "RolledBack"), "1x10".into())],
                5,
            ),
            case(
                vec![(condition("Degraded", "False", "Healthy"), "1x10".into())],
                5,
            ),
        ),
        "ChatbotBackupFailed" => (
            case(
                vec![(
                    condition("BackupHealthy", "False", "BackupFailed"),
                    "1x30".into(),
                )],
                20,
            ),
            case(
                vec![(
                    condition("BackupHealthy", "True", "BackupSucceeded"),
                    "1x30".into(),
                )],
                20,
            ),
        ),
        "ChatbotBackupStale" => (
            case(
                vec![(
                    condition("BackupStale", "True", "NoRecentBackup"),
                    "1x10".into(),
                )],
                5,
            ),
            case(
                vec![(condition("BackupStale", "False", "Fresh"), "1x10".into())],
                5,
            ),
        ),
        "ChatbotSecretsMissing" => (
            case(
                vec![(
                    condition("SecretsReady", "False", "SecretsMissing"),
                    "1x10".into(),
                )],
                10,
            ),
            case(
                vec![(
                    condition("SecretsReady", "True", "SecretsFound"),
                    "1x10".into(),
                )],
                10,
            ),
        ),
        "ChatbotDatabaseNotReady" | "ChatbotCacheNotReady" => {
            let kind = if alert == "ChatbotDatabaseNotReady" {
                "DatabaseReady"
            } else {
                "CacheReady"
            };
            (
                case(
                    vec![(condition(kind, "False", "Creating"), "1x20".into())],
                    15,
                ),
                case(
                    vec![(condition(kind, "True", "Available"), "1x20".into())],
                    15,
                ),
            )
        }
        "ChatbotOperatorMetricsMissing" => (
            case(
                vec![(
                    s.operator("chatbot_operator_ready_replicas", ""),
                    "2x30".into(),
                )],
                20,
            ),
            case(
                vec![(condition("Ready", "True", "Ready"), "1x30".into())],
                20,
            ),
        ),
        other => panic!("no test case for the alert {other}: add one"),
    }
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

#[test]
fn every_samples_rules_pass_promtool_check_and_fire_only_when_they_should() {
    for sample in SAMPLES {
        let rendered = common::render_sample(sample);
        let spec = &rendered.resolution.spec;
        let rule = rules_of(&rendered);
        let namespace = rule.metadata.namespace.clone().expect("a namespace");
        let name = rule.metadata.name.clone().expect("a name");
        let series = Series {
            app: format!(r#"namespace="{namespace}",app_kubernetes_io_instance="{name}""#),
            operator: format!(r#"namespace="{namespace}",name="{name}""#),
        };
        let dir = tempfile::tempdir().unwrap();
        let groups = json!({ "groups": rule.spec.groups });
        std::fs::write(
            dir.path().join("rules.yaml"),
            serde_yaml_ng::to_string(&groups).unwrap(),
        )
        .unwrap();
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
        let file =
            json!({ "rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": tests });
        std::fs::write(
            dir.path().join("tests.yaml"),
            serde_yaml_ng::to_string(&file).unwrap(),
        )
        .unwrap();
        let (ok, output) = promtool(&["test", "rules", "tests.yaml"], dir.path());
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
    let rendered = common::render_sample("finance-assistant");
    let rule = rules_of(&rendered);
    let namespace = rule.metadata.namespace.clone().unwrap();
    let name = rule.metadata.name.clone().unwrap();
    let series = Series {
        app: format!(r#"namespace="{namespace}",app_kubernetes_io_instance="{name}""#),
        operator: format!(r#"namespace="{namespace}",name="{name}""#),
    };
    let rules = alerts(&rule.spec.groups);
    let ticket: Vec<Value> = expected("ChatbotErrorBudgetBurn", &rules, &name)
        .into_iter()
        .filter(|alert| alert["exp_labels"]["long_window"] == "3d")
        .collect();
    assert_eq!(ticket.len(), 1);
    // 5% errors for 80 minutes, then none for 40.
    let case = Case {
        series: series.requests(10_000, 500, 80, 40),
        at_minutes: 120,
    };
    let dir = tempfile::tempdir().unwrap();
    let groups = json!({ "groups": rule.spec.groups });
    std::fs::write(
        dir.path().join("rules.yaml"),
        serde_yaml_ng::to_string(&groups).unwrap(),
    )
    .unwrap();
    let file = json!({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [test_case("ChatbotErrorBudgetBurn after the errors stop", &case, ticket)],
    });
    std::fs::write(
        dir.path().join("tests.yaml"),
        serde_yaml_ng::to_string(&file).unwrap(),
    )
    .unwrap();
    let (ok, output) = promtool(&["test", "rules", "tests.yaml"], dir.path());
    assert!(ok, "{output}");
}

/// Every alert a sample can raise has a runbook in the README, under the
/// heading its `runbook_url` points at.
#[test]
fn every_alerts_runbook_is_a_readme_heading() {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let anchors: Vec<String> = readme
        .lines()
        .filter_map(|l| l.strip_prefix("#### "))
        .map(|heading| heading.trim().to_lowercase())
        .collect();
    for sample in SAMPLES {
        let rule = rules_of(&common::render_sample(sample));
        for alert in alerts(&rule.spec.groups) {
            let url = &alert.annotations["runbook_url"];
            let anchor = url.rsplit_once('#').map(|(_, a)| a).unwrap_or_default();
            assert!(
                anchors.iter().any(|a| a == anchor),
                "{sample}: {url} names no README heading"
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
