//! Alerts on the service-level objectives (`observability.slo`): the error
//! budget's burn rate over the SRE workbook's window pairs, and the p95
//! latency and time-to-first-token objectives.

use super::{
    alert::{Alert, BURN_RATES, Inputs, MONTH_SECONDS, P95_LATENCY, P95_TTFT, error_ratio, number},
    resources::Rule,
};

/// One alert per window pair: the share of 5xx answers over both the long
/// and the short window is above `factor` times the budget. The long window
/// proves it is not a blip; the short one that it is still happening, so
/// the alert ends soon after the errors do.
pub fn burn_rate_alerts(inputs: &Inputs, budget: f64) -> Vec<Rule> {
    let app = inputs.app();
    BURN_RATES
        .iter()
        .map(|&(factor, long, short, for_, severity)| {
            let threshold = number(factor * budget);
            let days = MONTH_SECONDS / 86_400.0 / factor;
            Alert {
                inputs,
                name: "ChatbotErrorBudgetBurn",
                expr: format!(
                    "{long_ratio}{{{app}}} > {threshold} and {short_ratio}{{{app}}} > {threshold}",
                    long_ratio = error_ratio(long),
                    short_ratio = error_ratio(short),
                ),
                for_,
                severity,
                summary: format!(
                    "{} is burning its error budget {}× too fast",
                    inputs.resource(),
                    number(factor)
                ),
                description: format!(
                    "Over the last {long} and {short}, more than {}% of the requests to {} were answered 5xx. At this rate the month's error budget ({}% of requests) is spent in {} days.",
                    number(factor * budget * 100.0),
                    inputs.resource(),
                    number(budget * 100.0),
                    number((days * 10.0).round() / 10.0),
                ),
                extra: vec![("long_window", long), ("short_window", short)],
            }
            .rule()
        })
        .collect()
}

/// p95 latency and time to first token above their objectives for 15
/// minutes: a ticket, not a page (the team's own `alerts` thresholds page).
pub fn latency_alerts(inputs: &Inputs) -> Vec<Rule> {
    let mut rules = Vec::new();
    let app = inputs.app();
    if let Some(ms) = inputs.slo.p95_latency_ms {
        rules.push(
            Alert {
                inputs,
                name: "ChatbotLatencyObjectiveMissed",
                expr: format!("{P95_LATENCY}{{{app}}} > {}", number(ms as f64 / 1000.0)),
                for_: "15m",
                severity: "warning",
                summary: format!("{} answers slower than its p95 objective", inputs.resource()),
                description: format!(
                    "The p95 latency of {} has been above the {ms} ms objective (spec.observability.slo.p95LatencyMs) for 15 minutes.",
                    inputs.resource()
                ),
                extra: Vec::new(),
            }
            .rule(),
        );
    }
    if let Some(ms) = inputs.slo.p95_time_to_first_token_ms {
        rules.push(
            Alert {
                inputs,
                name: "ChatbotTimeToFirstTokenObjectiveMissed",
                expr: format!("{P95_TTFT}{{{app}}} > {}", number(ms as f64 / 1000.0)),
                for_: "15m",
                severity: "warning",
                summary: format!("{} streams its first token late", inputs.resource()),
                description: format!(
                    "The p95 time to the first streamed token of {} has been above the {ms} ms objective (spec.observability.slo.p95TimeToFirstTokenMs) for 15 minutes.",
                    inputs.resource()
                ),
                extra: Vec::new(),
            }
            .rule(),
        );
    }
    rules
}
