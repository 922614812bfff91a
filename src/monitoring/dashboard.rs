//! Grafana dashboards as JSON: one per ChatbotDeployment, generated from
//! its spec (the objectives, thresholds, budget and limits drawn as
//! threshold lines), and one for the operator. Grafana's dashboard sidecar
//! loads them from ConfigMaps labelled `grafana_dashboard: "1"`.

use serde_json::{Value, json};

use super::alert::{self, Inputs};

/// The label Grafana's dashboard sidecar looks for, and its value.
pub const SIDECAR_LABEL: (&str, &str) = ("grafana_dashboard", "1");

/// A time series panel under construction.
struct Panel {
    title: &'static str,
    description: String,
    unit: &'static str,
    targets: Vec<(String, String)>,
    /// Threshold lines: value and colour.
    lines: Vec<(f64, &'static str)>,
}

impl Panel {
    fn new(title: &'static str, unit: &'static str, description: impl Into<String>) -> Self {
        Panel {
            title,
            description: description.into(),
            unit,
            targets: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn target(mut self, expr: String, legend: &str) -> Self {
        self.targets.push((expr, legend.to_string()));
        self
    }

    /// A threshold line, rounded as people write it (`0.1`, not
    /// `0.09999999999999432`).
    fn line(mut self, value: Option<f64>, colour: &'static str) -> Self {
        self.lines
            .extend(value.map(|v| ((v * 1e6).round() / 1e6, colour)));
        self
    }

    /// The panel as Grafana's JSON model, at position `index` of a grid
    /// two panels wide.
    fn json(&self, index: usize) -> Value {
        let refs = ["A", "B", "C", "D", "E", "F"];
        let mut steps = vec![json!({"color": "green", "value": null})];
        steps.extend(
            self.lines
                .iter()
                .map(|(value, colour)| json!({"color": colour, "value": value})),
        );
        json!({
            "id": index + 1,
            "type": "timeseries",
            "title": self.title,
            "description": self.description,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index / 2) * 8},
            "fieldConfig": {
                "defaults": {
                    "unit": self.unit,
                    "thresholds": {"mode": "absolute", "steps": steps},
                    "custom": {"thresholdsStyle": {"mode": if self.lines.is_empty() { "off" } else { "line" }}},
                },
                "overrides": [],
            },
            "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
            "targets": self.targets.iter().zip(refs).map(|((expr, legend), ref_id)| json!({
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "expr": expr,
                "legendFormat": legend,
                "refId": ref_id,
            })).collect::<Vec<_>>(),
        })
    }
}

fn dashboard(title: String, uid: String, tags: &[&str], panels: &[Panel]) -> Value {
    json!({
        "title": title,
        "uid": uid,
        "tags": tags,
        "editable": false,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-24h", "to": "now"},
        "timezone": "browser",
        "templating": {"list": [{
            "name": "datasource",
            "label": "Prometheus",
            "type": "datasource",
            "query": "prometheus",
        }]},
        "panels": panels.iter().enumerate().map(|(i, p)| p.json(i)).collect::<Vec<_>>(),
    })
}

/// The dashboard of one deployment.
pub fn deployment(inputs: &Inputs, monthly_budget_usd: Option<f64>) -> Value {
    let panels: Vec<Panel> = service(inputs)
        .into_iter()
        .chain(spend(inputs, monthly_budget_usd))
        .chain(experiments(inputs))
        .chain(platform(inputs))
        .collect();
    dashboard(
        format!("Chatbot {}/{}", inputs.namespace, inputs.name),
        uid(&format!("chatbot-{}-{}", inputs.namespace, inputs.name)),
        &["chatbot-operator"],
        &panels,
    )
}

/// What users get: traffic, errors, latency, time to first token.
fn service(inputs: &Inputs) -> [Panel; 4] {
    let app = inputs.app();
    let rate = |metric: &str, extra: &str| format!("sum(rate({metric}{{{app}{extra}}}[5m]))");
    let slo = &inputs.slo;
    let thresholds = &inputs.alerts;
    let budget_percent = [
        slo.availability_percent.map(|a| 100.0 - a),
        slo.error_rate_percent,
    ]
    .into_iter()
    .flatten()
    .reduce(f64::min);
    [
        Panel::new("Traffic", "reqps", "Requests a second, by status code.").target(
            format!("sum by (code) (rate(http_requests_total{{{app}}}[5m]))"),
            "{{code}}",
        ),
        Panel::new(
            "Errors",
            "percent",
            "Share of requests answered 5xx, against the error objective and the paging threshold.",
        )
        .target(format!("100 * {}{{{app}}}", alert::error_ratio("5m")), "5xx %")
        .target(
            format!(
                r#"100 * {} / {}"#,
                rate("http_requests_total", r#",code=~"5..""#),
                rate("http_requests_total", "")
            ),
            "5xx % (raw)",
        )
        .line(budget_percent, "orange")
        .line(thresholds.error_rate_percent, "red"),
        Panel::new("p95 latency", "s", "95th percentile of request latency, by revision.")
            .target(
                format!(
                    "histogram_quantile(0.95, sum by (le, chatbot_dev_revision) (rate(http_request_duration_seconds_bucket{{{app}}}[5m])))"
                ),
                "revision {{chatbot_dev_revision}}",
            )
            .line(seconds(slo.p95_latency_ms), "orange")
            .line(seconds(thresholds.p95_latency_ms), "red"),
        Panel::new("Time to first token (p95)", "s", "95th percentile of the time to the first streamed token, by revision.")
            .target(
                format!(
                    "histogram_quantile(0.95, sum by (le, chatbot_dev_revision) (rate(chatbot_time_to_first_token_seconds_bucket{{{app}}}[5m])))"
                ),
                "revision {{chatbot_dev_revision}}",
            )
            .line(seconds(slo.p95_time_to_first_token_ms), "orange"),
    ]
}

/// What the LLM costs: tokens, and the month's spend against the budget.
fn spend(inputs: &Inputs, monthly_budget_usd: Option<f64>) -> [Panel; 2] {
    let app = inputs.app();
    let operator = inputs.operator();
    let thresholds = &inputs.alerts;
    [
        Panel::new("LLM tokens", "short", "LLM tokens a second, input and output.").target(
            format!("sum by (type) (rate(chatbot_llm_tokens_total{{{app}}}[5m]))"),
            "{{type}}",
        ),
        Panel::new(
            "Monthly spend against the budget",
            "currencyUSD",
            "The month's LLM spend at the last day's token rate (cost.model), the cost model's estimate, and the budget.",
        )
        .target(format!("{}{{{app}}}", alert::LLM_SPEND), "LLM, projected")
        .target(
            format!("chatbot_operator_estimated_monthly_cost_usd{{{operator}}}"),
            "estimate: {{part}}",
        )
        .line(thresholds.llm_monthly_cost_usd, "orange")
        .line(monthly_budget_usd, "red"),
    ]
}

/// What users make of each revision and A/B variant: conversations, the
/// share rated up, LLM tokens per conversation (what cost per
/// conversation follows), one series per revision (and variant).
fn experiments(inputs: &Inputs) -> [Panel; 3] {
    let app = inputs.app();
    let by = "chatbot_dev_revision, chatbot_dev_variant";
    let legend = "revision {{chatbot_dev_revision}} {{chatbot_dev_variant}}";
    let per = |metric: &str, extra: &str, window: &str| {
        format!("sum by ({by}) (rate({metric}{{{app}{extra}}}[{window}]))")
    };
    [
        Panel::new(
            "Conversations by variant",
            "short",
            "New conversations a minute, by revision and A/B variant.",
        )
        .target(
            format!("60 * {}", per("chatbot_conversations_total", "", "5m")),
            legend,
        ),
        Panel::new(
            "Thumbs-up rate by variant",
            "percent",
            "Share of conversations rated up over the last day, by revision and A/B variant (kubectl chatbot ab NAME has the test's intervals).",
        )
        .target(
            format!(
                "100 * {} / {}",
                per("chatbot_feedback_total", r#",rating="up""#, "1d"),
                per("chatbot_conversations_total", "", "1d")
            ),
            legend,
        ),
        Panel::new(
            "LLM tokens per conversation",
            "short",
            "LLM tokens over conversations in the last hour, by revision and A/B variant: what cost per conversation follows.",
        )
        .target(
            format!(
                "{} / {}",
                per("chatbot_llm_tokens_total", "", "1h"),
                per("chatbot_conversations_total", "", "1h")
            ),
            legend,
        ),
    ]
}

/// What the platform holds: pods, the canary's weight, the data stores'
/// headroom, backups, and conditions that need a look.
fn platform(inputs: &Inputs) -> [Panel; 6] {
    let app = inputs.app();
    let operator = inputs.operator();
    let thresholds = &inputs.alerts;
    [
        Panel::new("Pods by revision", "short", "App pods Prometheus scrapes, by revision.").target(
            format!("count by (chatbot_dev_revision) (up{{{app}}} == 1)"),
            "revision {{chatbot_dev_revision}}",
        ),
        Panel::new("Canary weight", "percent", "Percent of traffic on the revision being rolled out.")
            .target(
                format!("chatbot_operator_canary_weight_percent{{{operator}}}"),
                "candidate",
            ),
        Panel::new(
            "Database connections",
            "short",
            "Connections the app's pools hold, against the capacity model's limit.",
        )
        .target(format!("sum(chatbot_db_connections{{{app}}})"), "held")
        .line(
            thresholds
                .db_connections_percent
                .zip(inputs.db_connection_limit)
                .map(|(p, l)| l * p / 100.0),
            "orange",
        )
        .line(inputs.db_connection_limit, "red"),
        Panel::new("Redis memory", "bytes", "Memory Redis uses, against the cache's size.")
            .target(format!("max(chatbot_cache_memory_used_bytes{{{app}}})"), "used")
            .line(
                thresholds
                    .cache_memory_percent
                    .zip(inputs.cache_memory_bytes)
                    .map(|(p, b)| (b * p / 100.0).round()),
                "orange",
            )
            .line(inputs.cache_memory_bytes.map(f64::round), "red"),
        Panel::new("Backup age", "s", "Time since the newest good backup.").target(
            format!("time() - chatbot_operator_backup_last_success_timestamp_seconds{{{operator}}}"),
            "age",
        ),
        Panel::new("Conditions that need a look", "short", "Conditions of the resource that are not as they should be (1 while they hold).")
            .target(
                format!(
                    r#"chatbot_operator_condition{{{operator},status="False",condition=~"Ready|SecretsReady|DatabaseReady|CacheReady|BackupHealthy|CapacityOK|WithinBudget"}} or chatbot_operator_condition{{{operator},status="True",condition=~"Degraded|BackupStale"}}"#
                ),
                "{{condition}} {{reason}}",
            ),
    ]
}

/// Milliseconds as the seconds a panel's line reads.
fn seconds(ms: Option<i64>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 1000.0)
}

/// The operator's own dashboard.
pub fn operator() -> Value {
    let panels = [
        Panel::new("Reconciles", "ops", "Reconciles started a second, by controller.").target(
            "sum by (controller) (rate(chatbot_operator_reconciles_total[5m]))".into(),
            "{{controller}}",
        ),
        Panel::new("Reconcile errors", "ops", "Failed reconciles a second, by reason.").target(
            "sum by (controller, reason) (rate(chatbot_operator_reconcile_errors_total[5m]))".into(),
            "{{controller}} {{reason}}",
        ),
        Panel::new("Reconcile duration (p95)", "s", "95th percentile of reconcile time.").target(
            "histogram_quantile(0.95, sum by (le, controller) (rate(chatbot_operator_reconcile_duration_seconds_bucket[5m])))".into(),
            "{{controller}}",
        ),
        Panel::new("Queue depth", "short", "Resources whose latest generation is not reconciled yet.")
            .target("sum by (controller) (chatbot_operator_queue_depth)".into(), "{{controller}}"),
        Panel::new("Writes", "ops", "Write calls to the API server a second, by verb and resource.").target(
            "sum by (verb, resource) (rate(chatbot_operator_write_calls_total[5m]))".into(),
            "{{verb}} {{resource}}",
        ),
        Panel::new("Leader", "short", "1 on the replica that holds the Lease.")
            .target("max by (pod) (chatbot_operator_leader)".into(), "{{pod}}"),
        Panel::new("Deployments not ready", "short", "ChatbotDeployments whose Ready condition is False.")
            .target(
                r#"count(chatbot_operator_condition{condition="Ready",status="False"}) or vector(0)"#.into(),
                "not ready",
            ),
        Panel::new("Backup age by deployment", "s", "Time since each deployment's newest good backup.")
            .target(
                "time() - chatbot_operator_backup_last_success_timestamp_seconds".into(),
                "{{namespace}}/{{name}}",
            ),
    ];
    dashboard(
        "chatbot-operator".into(),
        "chatbot-operator".into(),
        &["chatbot-operator"],
        &panels,
    )
}

/// The operator's dashboard as a ConfigMap in the operator's namespace,
/// as `manifests/monitoring/` installs it.
pub fn operator_config_map_yaml() -> Result<String, serde_yaml_ng::Error> {
    let json = serde_json::to_string_pretty(&operator()).unwrap_or_default();
    let (label, value) = SIDECAR_LABEL;
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "chatbot-operator-dashboard",
            "namespace": "chatbot-operator-system",
            "labels": {label: value, "app.kubernetes.io/name": "chatbot-operator"},
        },
        "data": {"chatbot-operator.json": json},
    });
    Ok(format!(
        "# The operator's Grafana dashboard: `chatbot-operator dashboard` prints it.\n{}",
        serde_yaml_ng::to_string(&config_map)?
    ))
}

/// A Grafana uid (at most 40 characters): the name when it fits, else its
/// start and a hash of the whole.
fn uid(name: &str) -> String {
    if name.len() <= 40 {
        return name.to_string();
    }
    let hash = crate::hash::hash_hex(name.as_bytes());
    // Cut on a character's boundary: a name may hold more than ASCII.
    let mut end = 40 - hash.len() - 1;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{}", &name[..end], hash)
}
