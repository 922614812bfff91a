//! Alerts on the team's own thresholds (`observability.alerts`), and the
//! app being down, which pages whatever the spec says.

use super::{
    alert::{Alert, Inputs, LLM_SPEND, MONTH_SECONDS, P95_LATENCY, error_ratio, number, record},
    resources::Rule,
};

/// The threshold alerts; recording rules they need are added to
/// `recorded`, and a threshold that cannot be watched is said in `notes`.
pub fn alerts(inputs: &Inputs, recorded: &mut Vec<Rule>, notes: &mut Vec<String>) -> Vec<Rule> {
    let mut rules = always(inputs);
    rules.extend(traffic(inputs));
    rules.extend(capacity(inputs, notes));
    rules.extend(spend(inputs, recorded, notes));
    rules
}

/// The alerts every resource has, whatever its thresholds: no ready pod,
/// and no pod scraped.
fn always(inputs: &Inputs) -> Vec<Rule> {
    let app = inputs.app();
    let operator = inputs.operator();
    let resource = inputs.resource();
    vec![
        Alert {
            inputs,
            name: "ChatbotDown",
            expr: format!("max(chatbot_operator_ready_replicas{{{operator}}}) == 0"),
            for_: "1m",
            severity: "critical",
            summary: format!("{resource} has no ready pod"),
            description: format!(
                "No app pod of {resource} has been ready for a minute: users get the maintenance page, if one is configured, or an error."
            ),
            extra: Vec::new(),
        }
        .rule(),
        Alert {
            inputs,
            name: "ChatbotMetricsMissing",
            expr: format!("absent(up{{{app}}} == 1)"),
            for_: "10m",
            severity: "warning",
            summary: format!("Prometheus scrapes no app pod of {resource}"),
            description: format!(
                "No pod of {resource} has answered a scrape of /metrics for 10 minutes, so its objective and threshold alerts cannot fire. Check that the app serves /metrics on its http port and that Prometheus selects the PodMonitor."
            ),
            extra: Vec::new(),
        }
        .rule(),
    ]
}

/// The alerts on what users see: latency, errors, availability.
fn traffic(inputs: &Inputs) -> Vec<Rule> {
    let app = inputs.app();
    let resource = inputs.resource();
    let thresholds = &inputs.alerts;
    let mut rules = Vec::new();
    if let Some(ms) = thresholds.p95_latency_ms {
        rules.push(
            Alert {
                inputs,
                name: "ChatbotLatencyHigh",
                expr: format!("{P95_LATENCY}{{{app}}} > {}", number(ms as f64 / 1000.0)),
                for_: "5m",
                severity: "critical",
                summary: format!("{resource} is slow: p95 above {ms} ms"),
                description: format!(
                    "The p95 latency of {resource} has been above {ms} ms (spec.observability.alerts.p95LatencyMs) for 5 minutes."
                ),
                extra: Vec::new(),
            }
            .rule(),
        );
    }
    if let Some(percent) = thresholds.error_rate_percent {
        rules.push(
            Alert {
                inputs,
                name: "ChatbotErrorRateHigh",
                expr: format!("100 * {}{{{app}}} > {}", error_ratio("5m"), number(percent)),
                for_: "5m",
                severity: "critical",
                summary: format!("{resource} fails more than {}% of requests", number(percent)),
                description: format!(
                    "More than {}% of the requests to {resource} have been answered 5xx for 5 minutes (spec.observability.alerts.errorRatePercent).",
                    number(percent)
                ),
                extra: Vec::new(),
            }
            .rule(),
        );
    }
    if let Some(percent) = thresholds.availability_percent {
        rules.push(
            Alert {
                inputs,
                name: "ChatbotAvailabilityLow",
                expr: format!(
                    "100 * (1 - {}{{{app}}}) < {}",
                    error_ratio("1h"),
                    number(percent)
                ),
                for_: "5m",
                severity: "critical",
                summary: format!("{resource} answered under {}% of requests over the last hour", number(percent)),
                description: format!(
                    "Fewer than {}% of the requests to {resource} over the last hour were answered without a 5xx (spec.observability.alerts.availabilityPercent).",
                    number(percent)
                ),
                extra: Vec::new(),
            }
            .rule(),
        );
    }
    rules
}

/// The alerts on the data stores' headroom, where their size is known.
fn capacity(inputs: &Inputs, notes: &mut Vec<String>) -> Vec<Rule> {
    let app = inputs.app();
    let resource = inputs.resource();
    let thresholds = &inputs.alerts;
    let mut rules = Vec::new();
    match (thresholds.db_connections_percent, inputs.db_connection_limit) {
        (Some(percent), Some(limit)) => rules.push(
            Alert {
                inputs,
                name: "ChatbotDatabaseConnectionsHigh",
                expr: format!(
                    "100 * sum(chatbot_db_connections{{{app}}}) / {} > {}",
                    number(limit),
                    number(percent)
                ),
                for_: "10m",
                severity: "warning",
                summary: format!("{resource} uses more than {}% of its database connections", number(percent)),
                description: format!(
                    "The app pods of {resource} have held more than {}% of the database's {} connections for 10 minutes (spec.observability.alerts.dbConnectionsPercent). Lower the pool size, add the PgBouncer pooler, or move to a larger instance class.",
                    number(percent),
                    number(limit)
                ),
                extra: Vec::new(),
            }
            .rule(),
        ),
        (Some(_), None) => notes.push("spec.observability.alerts.dbConnectionsPercent: the database's connection limit is unknown (an external database, or an instance class without a known size): no connection alert".into()),
        _ => {}
    }
    match (thresholds.cache_memory_percent, inputs.cache_memory_bytes) {
        (Some(percent), Some(bytes)) => rules.push(
            Alert {
                inputs,
                name: "ChatbotCacheMemoryHigh",
                expr: format!(
                    "100 * max(chatbot_cache_memory_used_bytes{{{app}}}) / {} > {}",
                    number(bytes.round()),
                    number(percent)
                ),
                for_: "10m",
                severity: "warning",
                summary: format!("{resource}'s Redis uses more than {}% of its memory", number(percent)),
                description: format!(
                    "The Redis of {resource} has used more than {}% of its {} MiB for 10 minutes (spec.observability.alerts.cacheMemoryPercent). Keys may soon be evicted.",
                    number(percent),
                    number(bytes / 1024.0 / 1024.0)
                ),
                extra: Vec::new(),
            }
            .rule(),
        ),
        (Some(_), None) => notes.push("spec.observability.alerts.cacheMemoryPercent: the cache's memory is unknown (an external cache, or a node type without a known size): no cache memory alert".into()),
        _ => {}
    }
    rules
}

/// The alert on the LLM's projected monthly spend, with the recording rule
/// that projects it.
fn spend(inputs: &Inputs, recorded: &mut Vec<Rule>, notes: &mut Vec<String>) -> Option<Rule> {
    let app = inputs.app();
    let resource = inputs.resource();
    match (inputs.alerts.llm_monthly_cost_usd, &inputs.model) {
        (Some(usd), Some(model)) => {
            recorded.push(record(
                inputs,
                LLM_SPEND.into(),
                spend_projection(inputs, model),
            ));
            Some(
                Alert {
                    inputs,
                    name: "ChatbotLLMSpendHigh",
                    expr: format!("{LLM_SPEND}{{{app}}} > {}", number(usd)),
                    for_: "1h",
                    severity: "warning",
                    summary: format!("{resource} is on course to spend more than ${} on its LLM this month", number(usd)),
                    description: format!(
                        "At the last day's token rate, priced at ${} per million input and ${} per million output tokens (spec.cost.model), the LLM of {resource} costs more than ${} a month (spec.observability.alerts.llmMonthlyCostUSD).",
                        number(model.input_per_million_usd),
                        number(model.output_per_million_usd),
                        number(usd)
                    ),
                    extra: Vec::new(),
                }
                .rule(),
            )
        }
        (Some(_), None) => {
            notes.push("spec.observability.alerts.llmMonthlyCostUSD needs spec.cost.model to price the tokens: no spend alert".into());
            None
        }
        _ => None,
    }
}

/// The month's LLM spend at the last day's token rate.
fn spend_projection(inputs: &Inputs, model: &crate::api::ModelPrice) -> String {
    let app = inputs.app();
    let per_token = |usd_per_million: f64| number(usd_per_million / 1e6 * MONTH_SECONDS);
    format!(
        r#"(sum(rate(chatbot_llm_tokens_total{{{app},type="input"}}[1d])) or vector(0)) * {} + (sum(rate(chatbot_llm_tokens_total{{{app},type="output"}}[1d])) or vector(0)) * {}"#,
        per_token(model.input_per_million_usd),
        per_token(model.output_per_million_usd),
    )
}
