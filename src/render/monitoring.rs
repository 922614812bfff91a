//! The Prometheus Operator children: the PodMonitor of the app's pods and
//! the PrometheusRule of its alerts, stamped like every other child.

use super::{Child, ChildKind, Object, RenderContext, stamp};
use crate::{
    api::ChatbotDeploymentSpec,
    monitoring::{self, rules},
};

/// Namespace the rules' expressions select when the resource names none
/// (`kubectl apply` then puts it in the current namespace).
const DEFAULT_NAMESPACE: &str = "default";

/// The rule inputs of `spec` for the rendered resource.
pub fn rule_inputs(context: &RenderContext, spec: &ChatbotDeploymentSpec) -> rules::Inputs {
    let namespace = context.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
    rules::Inputs::from_spec(namespace, &context.name, spec)
}

/// The monitoring children `spec` asks for.
pub fn children(context: &RenderContext, spec: &ChatbotDeploymentSpec) -> Vec<Child> {
    let mut children = Vec::new();
    let name = &context.names.monitoring;
    if monitoring::scraped(spec) {
        children.push(Child::built(
            ChildKind::PodMonitor,
            Object::PodMonitor(Box::new(monitoring::pod_monitor(name))),
        ));
    }
    if monitoring::alerted(spec) {
        let generated = rules::generate(&rule_inputs(context, spec));
        children.push(Child::built(
            ChildKind::AlertRules,
            Object::PrometheusRule(Box::new(monitoring::prometheus_rule(
                name,
                generated.groups,
            ))),
        ));
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
    children
}
