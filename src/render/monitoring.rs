//! The Prometheus Operator children: the PodMonitor of the app's pods and
//! the PrometheusRule of its alerts, stamped like every other child.

use k8s_openapi::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta};

use super::{
    children::{Child, ChildKind, Object},
    context::RenderContext,
    metadata::stamp,
};
use crate::{
    api::ChatbotDeploymentSpec,
    monitoring::{self, alert, rules},
};

/// Namespace the rules' expressions select when the resource names none
/// (`kubectl apply` then puts it in the current namespace).
const DEFAULT_NAMESPACE: &str = "default";

/// The rule inputs of `spec` for the rendered resource.
pub fn rule_inputs(context: &RenderContext, spec: &ChatbotDeploymentSpec) -> alert::Inputs {
    let namespace = context.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    alert::Inputs::from_spec(namespace, &context.name, spec)
}

/// The dashboard's ConfigMap, `<name>.json` in it.
fn dashboard_config_map(context: &RenderContext, spec: &ChatbotDeploymentSpec) -> Child {
    let budget = spec.cost.as_ref().and_then(|c| c.monthly_budget_usd);
    let board = monitoring::dashboard::deployment(&rule_inputs(context, spec), budget);
    let json = serde_json::to_string_pretty(&board).unwrap_or_default();
    let (label, value) = monitoring::dashboard::SIDECAR_LABEL;
    Child::built(
        ChildKind::Dashboard,
        Object::ConfigMap(ConfigMap {
            metadata: ObjectMeta {
                name: Some(context.names.dashboard.clone()),
                labels: Some([(label.to_string(), value.to_string())].into()),
                ..ObjectMeta::default()
            },
            data: Some([(format!("{}.json", context.name), json)].into()),
            ..ConfigMap::default()
        }),
    )
}

/// The monitoring children `spec` asks for, and the thresholds it sets
/// that no alert can watch.
pub fn children(
    context: &RenderContext,
    spec: &ChatbotDeploymentSpec,
) -> (Vec<Child>, Vec<String>) {
    let mut children = Vec::new();
    let mut gaps = Vec::new();
    let name = &context.names.monitoring;
    if monitoring::scraped(spec) {
        children.push(Child::built(
            ChildKind::PodMonitor,
            Object::PodMonitor(Box::new(monitoring::pod_monitor(name))),
        ));
    }
    if monitoring::alerted(spec) {
        let generated = rules::generate(&rule_inputs(context, spec));
        gaps = generated.notes;
        children.push(Child::built(
            ChildKind::AlertRules,
            Object::PrometheusRule(Box::new(monitoring::prometheus_rule(
                name,
                generated.groups,
            ))),
        ));
    }
    if monitoring::dashboarded(spec) {
        children.push(dashboard_config_map(context, spec));
    }
    let extra = spec
        .observability
        .as_ref()
        .and_then(|o| o.monitor_labels.clone())
        .unwrap_or_default();
    for child in &mut children {
        child
            .metadata_mut()
            .labels
            .get_or_insert_with(Default::default)
            .extend(extra.clone());
        stamp(child, context);
    }
    (children, gaps)
}
