//! Metrics scraping and alerting for the Prometheus Operator: a PodMonitor
//! for the app's `/metrics` and a PrometheusRule generated from
//! `spec.observability`, `spec.cost` and the capacity model. Pure: the
//! objects are built from the resolved spec; whether the cluster serves
//! `monitoring.coreos.com` is the reconciler's question.

pub mod alert;
pub mod dashboard;
mod objectives;
mod operator_alerts;
pub mod resources;
pub mod rules;
mod thresholds;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};

use crate::api::ChatbotDeploymentSpec;
use crate::names::{self, keys};
pub use resources::{PodMonitor, PrometheusRule};

/// The API group both kinds belong to.
pub const GROUP_VERSION: &str = "monitoring.coreos.com/v1";

/// Whether the spec asks for the app to be scraped.
pub fn scraped(spec: &ChatbotDeploymentSpec) -> bool {
    spec.observability
        .as_ref()
        .and_then(|o| o.service_monitor)
        .unwrap_or(false)
}

/// Whether the spec asks for a Grafana dashboard: when the app is scraped,
/// unless `observability.dashboard` is `false`.
pub fn dashboarded(spec: &ChatbotDeploymentSpec) -> bool {
    scraped(spec)
        && spec
            .observability
            .as_ref()
            .and_then(|o| o.dashboard)
            .unwrap_or(true)
}

/// Whether the spec asks for alerting rules: when the app is scraped, or
/// when it names objectives or thresholds (it may be scraped another way).
pub fn alerted(spec: &ChatbotDeploymentSpec) -> bool {
    let observability = spec.observability.clone().unwrap_or_default();
    scraped(spec) || observability.slo.is_some() || observability.alerts.is_some()
}

/// What the `Monitored` condition is set from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Facts {
    /// The cluster serves `monitoring.coreos.com`.
    pub served: bool,
    /// Thresholds the spec sets that no alert can watch.
    pub gaps: Vec<String>,
}

/// The monitoring facts of a rendered spec, with the `gaps` its rules
/// left; `None` when the spec asks for no monitoring.
pub fn facts(spec: &ChatbotDeploymentSpec, gaps: &[String], served: bool) -> Option<Facts> {
    if !scraped(spec) && !alerted(spec) {
        return None;
    }
    Some(Facts {
        served,
        gaps: gaps.to_vec(),
    })
}

/// The PodMonitor of the app's pods, the stable revision's and a
/// candidate's alike: every series names its instance and revision.
pub fn pod_monitor(name: &str) -> PodMonitor {
    let mut match_labels = names::selector_labels(name);
    match_labels.remove(keys::COMPONENT);
    PodMonitor {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        spec: resources::PodMonitorSpec {
            selector: LabelSelector {
                match_labels: Some(match_labels),
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: keys::COMPONENT.into(),
                    operator: "In".into(),
                    values: Some(
                        std::iter::once("app".to_string())
                            .chain(names::candidate_components())
                            .collect(),
                    ),
                }]),
            },
            pod_metrics_endpoints: vec![resources::PodMetricsEndpoint {
                port: Some("http".into()),
                path: Some("/metrics".into()),
                interval: Some("30s".into()),
                scrape_timeout: Some("10s".into()),
            }],
            pod_target_labels: vec![
                keys::INSTANCE.into(),
                keys::REVISION.into(),
                keys::VARIANT.into(),
            ],
        },
    }
}

/// The PrometheusRule of `groups`.
pub fn prometheus_rule(name: &str, groups: Vec<resources::RuleGroup>) -> PrometheusRule {
    PrometheusRule {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..ObjectMeta::default()
        },
        spec: resources::PrometheusRuleSpec { groups },
    }
}
