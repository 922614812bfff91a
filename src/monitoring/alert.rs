//! The vocabulary every alerting rule is written in: what the rules are
//! built from (`Inputs`), one alert and one recording rule as the
//! PrometheusRule holds them, the recorded series' names, the SRE
//! workbook's burn rates, and numbers as PromQL reads them.

use std::collections::BTreeMap;

use super::resources::Rule;
use crate::api::{Alerts, ChatbotDeploymentSpec, ModelPrice, Slo};

/// Where every `runbook_url` points unless `observability.runbookURL` says
/// otherwise: the runbooks in docs/observability.md, one heading per alert.
pub const RUNBOOKS: &str =
    "https://github.com/chatbot-operator/chatbot-operator/blob/main/docs/observability.md";

/// Seconds in the 30 days an availability objective and a monthly spend
/// are measured over.
pub const MONTH_SECONDS: f64 = 30.0 * 24.0 * 3600.0;

/// The SRE workbook's burn-rate alerts: burn factor, long and short
/// window, how long both must hold, severity.
pub const BURN_RATES: [(f64, &str, &str, &str, &str); 3] = [
    (14.4, "1h", "5m", "2m", "critical"),
    (6.0, "6h", "30m", "15m", "critical"),
    (1.0, "3d", "6h", "1h", "warning"),
];

/// What the rules are built from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inputs {
    pub namespace: String,
    pub name: String,
    pub slo: Slo,
    pub alerts: Alerts,
    pub model: Option<ModelPrice>,
    /// The capacity model's database connection limit.
    pub db_connection_limit: Option<f64>,
    /// The cache's memory, in bytes, as the capacity model has it.
    pub cache_memory_bytes: Option<f64>,
    pub database: bool,
    pub cache: bool,
    pub backups: bool,
    pub runbooks: String,
}

impl Inputs {
    /// The inputs of a resolved spec for the resource `namespace/name`.
    pub fn from_spec(namespace: &str, name: &str, spec: &ChatbotDeploymentSpec) -> Inputs {
        let observability = spec.observability.clone().unwrap_or_default();
        let enabled = |mode: Option<crate::api::StoreMode>| mode.unwrap_or_default().is_enabled();
        Inputs {
            namespace: namespace.into(),
            name: name.into(),
            slo: observability.slo.unwrap_or_default(),
            alerts: observability.alerts.unwrap_or_default(),
            model: spec.cost.as_ref().and_then(|c| c.model.clone()),
            db_connection_limit: crate::capacity::connection_limit(spec).map(|(limit, _)| limit),
            cache_memory_bytes: crate::capacity::cache_memory_limit(spec)
                .map(|(mib, _)| mib * 1024.0 * 1024.0),
            database: enabled(spec.database.as_ref().and_then(|d| d.mode)),
            cache: enabled(spec.cache.as_ref().and_then(|c| c.mode)),
            backups: spec
                .backup
                .as_ref()
                .is_some_and(|b| b.enabled.unwrap_or(false)),
            runbooks: observability
                .runbook_url
                .unwrap_or_else(|| RUNBOOKS.to_string()),
        }
    }

    /// The app's series of this deployment.
    pub fn app(&self) -> String {
        format!(
            r#"namespace="{}",app_kubernetes_io_instance="{}""#,
            self.namespace, self.name
        )
    }

    /// The operator's series about this deployment.
    pub fn operator(&self) -> String {
        format!(r#"namespace="{}",name="{}""#, self.namespace, self.name)
    }

    /// The resource, as alerts name it.
    pub fn resource(&self) -> String {
        format!("ChatbotDeployment {}/{}", self.namespace, self.name)
    }
}

/// A number as PromQL and people read it: no float noise (`0.0144`, not
/// `0.014400000000000001`).
pub fn number(value: f64) -> String {
    let text = format!("{value:.9}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// One alerting rule: what fires, for how long, how loud, and what it
/// tells the person paged.
pub struct Alert<'a> {
    pub inputs: &'a Inputs,
    pub name: &'static str,
    pub expr: String,
    /// How long the expression must hold (`0m`: at once).
    pub for_: &'static str,
    pub severity: &'static str,
    pub summary: String,
    pub description: String,
    /// Labels beyond namespace, instance and severity.
    pub extra: Vec<(&'static str, &'static str)>,
}

impl Alert<'_> {
    pub fn rule(self) -> Rule {
        let mut labels = BTreeMap::from([
            ("namespace".to_string(), self.inputs.namespace.clone()),
            (
                "app_kubernetes_io_instance".to_string(),
                self.inputs.name.clone(),
            ),
            ("severity".to_string(), self.severity.to_string()),
        ]);
        labels.extend(
            self.extra
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        Rule {
            alert: Some(self.name.into()),
            expr: self.expr,
            for_: (self.for_ != "0m").then(|| self.for_.into()),
            labels,
            annotations: BTreeMap::from([
                ("summary".to_string(), self.summary),
                ("description".to_string(), self.description),
                (
                    "runbook_url".to_string(),
                    format!("{}#{}", self.inputs.runbooks, self.name.to_lowercase()),
                ),
            ]),
            ..Rule::default()
        }
    }
}

pub fn record(inputs: &Inputs, name: String, expr: String) -> Rule {
    Rule {
        record: Some(name),
        expr,
        labels: BTreeMap::from([
            ("namespace".to_string(), inputs.namespace.clone()),
            (
                "app_kubernetes_io_instance".to_string(),
                inputs.name.clone(),
            ),
        ]),
        ..Rule::default()
    }
}

/// Recorded share of requests answered 5xx over `window`.
pub fn error_ratio(window: &str) -> String {
    format!("chatbot:http_errors:ratio_rate{window}")
}

/// Recorded p95 request latency over 5 minutes, in seconds.
pub const P95_LATENCY: &str = "chatbot:http_request_duration_seconds:p95_rate5m";
/// Recorded p95 time to the first streamed token over 5 minutes, in seconds.
pub const P95_TTFT: &str = "chatbot:time_to_first_token_seconds:p95_rate5m";
/// Recorded projection of the month's LLM spend in US dollars.
pub const LLM_SPEND: &str = "chatbot:llm_spend_usd:monthly_projection";
