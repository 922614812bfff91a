//! The Grafana dashboards: one per sample, generated from its spec, and the
//! operator's in `manifests/monitoring/`. Each is valid JSON in the shape
//! Grafana's sidecar loads, draws the team's numbers, and every query in it
//! is accepted by a real Prometheus (Debian's package).

use std::collections::BTreeSet;

use chatbot_operator::render::{ChildKind, Object};
use serde_json::Value;

use crate::common::{self, SAMPLES, prometheus::PrometheusServer};

/// The dashboard of a sample, as its ConfigMap carries it.
fn dashboard_of(sample: &str) -> (Value, std::collections::BTreeMap<String, String>) {
    let rendered = common::render_sample(sample);
    let child = rendered
        .children
        .iter()
        .find(|c| c.kind() == ChildKind::Dashboard)
        .unwrap_or_else(|| panic!("{sample} renders a dashboard"));
    let Object::ConfigMap(config_map) = child.object() else {
        panic!("a ConfigMap")
    };
    let labels = config_map.metadata.labels.clone().unwrap_or_default();
    let data = config_map.data.clone().unwrap_or_default();
    assert_eq!(data.len(), 1, "one dashboard file");
    let (file, json) = data.into_iter().next().unwrap();
    assert!(file.ends_with(".json"), "{file}");
    (
        serde_json::from_str(&json).expect("the dashboard is JSON"),
        labels,
    )
}

fn panel<'a>(board: &'a Value, title: &str) -> &'a Value {
    board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("a panel {title:?}"))
}

fn lines(panel: &Value) -> Vec<f64> {
    panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["value"].as_f64())
        .collect()
}

fn expressions(board: &Value) -> Vec<String> {
    board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap())
        .map(|t| t["expr"].as_str().unwrap().to_string())
        .collect()
}

/// The shape Grafana needs: a uid it accepts, unique panel ids, panels
/// that do not overlap, a Prometheus datasource variable.
fn assert_loadable(board: &Value) {
    let uid = board["uid"].as_str().unwrap();
    assert!(uid.len() <= 40, "{uid}");
    let panels = board["panels"].as_array().unwrap();
    let ids: BTreeSet<i64> = panels.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "unique panel ids");
    let cells: BTreeSet<(i64, i64)> = panels
        .iter()
        .map(|p| {
            (
                p["gridPos"]["x"].as_i64().unwrap(),
                p["gridPos"]["y"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(cells.len(), panels.len(), "no two panels in one place");
    assert_eq!(board["templating"]["list"][0]["type"], "datasource");
    for panel in panels {
        assert_eq!(panel["datasource"]["uid"], "${datasource}");
        assert!(!panel["targets"].as_array().unwrap().is_empty());
    }
}

#[test]
fn every_sample_has_a_dashboard_grafana_loads_with_the_panels_an_sre_asks_for() {
    for sample in SAMPLES {
        let (board, labels) = dashboard_of(sample);
        assert_eq!(
            labels.get("grafana_dashboard").map(String::as_str),
            Some("1")
        );
        assert_loadable(&board);
        for title in [
            "Traffic",
            "Errors",
            "p95 latency",
            "Time to first token (p95)",
            "LLM tokens",
            "Monthly spend against the budget",
            "Conversations by variant",
            "Thumbs-up rate by variant",
            "LLM tokens per conversation",
            "Pods by revision",
            "Canary weight",
            "Database connections",
            "Redis memory",
            "Backup age",
        ] {
            panel(&board, title);
        }
        // One series per revision and A/B variant.
        let rated = &panel(&board, "Thumbs-up rate by variant")["targets"][0];
        assert_eq!(
            rated["legendFormat"],
            "revision {{chatbot_dev_revision}} {{chatbot_dev_variant}}"
        );
    }
}

#[test]
fn the_teams_numbers_are_drawn_as_threshold_lines() {
    // Brigade: p95 objective 3 s, paged at 5 s; errors paged at 5 %.
    let (brigade, _) = dashboard_of("brigade-sales");
    assert_eq!(lines(panel(&brigade, "p95 latency")), [3.0, 5.0]);
    assert!(lines(panel(&brigade, "Errors")).contains(&5.0));
    // The SaaS team: $500 of LLM a month, an $800 budget; 80 % of 898
    // connections (db.m6g.large) and the limit.
    let (saas, _) = dashboard_of("claude-saas");
    assert_eq!(
        lines(panel(&saas, "Monthly spend against the budget")),
        [500.0, 800.0]
    );
    let connections = lines(panel(&saas, "Database connections"));
    assert_eq!(connections.len(), 2);
    assert!((connections[0] - connections[1] * 0.8).abs() < 1e-9);
    // Finance: the time-to-first-token objective of 1.6 s.
    let (finance, _) = dashboard_of("finance-assistant");
    assert_eq!(lines(panel(&finance, "Time to first token (p95)")), [1.6]);
}

#[test]
fn the_operators_dashboard_is_committed_as_the_dashboard_command_prints_it() {
    let committed = std::fs::read_to_string(
        common::root().join("manifests/monitoring/operator-dashboard.yaml"),
    )
    .unwrap();
    assert_eq!(
        committed,
        chatbot_operator::monitoring::dashboard::operator_config_map_yaml().unwrap(),
        "regenerate: cargo run -q -- dashboard > manifests/monitoring/operator-dashboard.yaml"
    );
    let objects = chatbot_operator::document::documents(&committed).unwrap();
    assert_eq!(objects[0]["metadata"]["labels"]["grafana_dashboard"], "1");
    let board: Value = serde_json::from_str(
        objects[0]["data"]["chatbot-operator.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_loadable(&board);
}

/// Every query of every dashboard parses and runs: a real Prometheus
/// answers each with `success` (no data is fine; a syntax error is not).
#[tokio::test]
async fn every_dashboard_query_is_accepted_by_prometheus() {
    let prometheus = PrometheusServer::start(&[]).await;
    let client = reqwest::Client::new();
    let mut queries: Vec<String> = SAMPLES
        .iter()
        .flat_map(|sample| expressions(&dashboard_of(sample).0))
        .collect();
    queries.extend(expressions(
        &chatbot_operator::monitoring::dashboard::operator(),
    ));
    assert!(queries.len() > 60, "{}", queries.len());
    for query in queries {
        let answer: Value = client
            .get(format!("{}/api/v1/query", prometheus.url()))
            .query(&[("query", query.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["status"], "success", "{query}: {answer}");
    }
}
