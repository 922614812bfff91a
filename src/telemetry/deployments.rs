//! What the operator knows about each ChatbotDeployment, as metrics: its
//! conditions (what the operator's alerts fire on), its ready pods, the
//! rollout's weight and the cost estimate. Labelled `namespace` and `name`
//! (scrape the operator with `honorLabels: true`, as kube-state-metrics
//! is, so they are not renamed `exported_namespace`).

use std::{
    collections::HashMap,
    sync::{Mutex, atomic::AtomicU64},
};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
    registry::Registry,
};

use super::backups::DeploymentLabels;
use crate::api::ChatbotDeploymentStatus;

/// One condition of one deployment, as it stands.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    pub namespace: String,
    pub name: String,
    pub condition: String,
    pub status: String,
    pub reason: String,
}

/// One part of a deployment's monthly cost estimate.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CostLabels {
    pub namespace: String,
    pub name: String,
    /// `llm`, `infra` or `total`.
    pub part: &'static str,
}

/// `chatbot_operator_condition`, `chatbot_operator_ready_replicas`,
/// `chatbot_operator_canary_weight_percent` and
/// `chatbot_operator_estimated_monthly_cost_usd`.
#[derive(Default)]
pub struct DeploymentMetrics {
    conditions: Family<ConditionLabels, Gauge>,
    ready: Family<DeploymentLabels, Gauge>,
    weight: Family<DeploymentLabels, Gauge>,
    cost: Family<CostLabels, Gauge<f64, AtomicU64>>,
    /// The condition series each deployment has now, so a condition that
    /// changes status or reason leaves no stale series behind.
    current: Mutex<HashMap<(String, String), Vec<ConditionLabels>>>,
}

impl DeploymentMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "condition",
            "1 for each condition of a ChatbotDeployment, labelled with its status and reason",
            metrics.conditions.clone(),
        );
        registry.register(
            "ready_replicas",
            "Ready app pods of a ChatbotDeployment",
            metrics.ready.clone(),
        );
        registry.register(
            "canary_weight_percent",
            "Percent of traffic on the revision being rolled out",
            metrics.weight.clone(),
        );
        registry.register(
            "estimated_monthly_cost_usd",
            "The cost model's monthly estimate in US dollars",
            metrics.cost.clone(),
        );
        metrics
    }

    /// Records the status a reconcile left `namespace/name` in.
    pub fn observe(&self, namespace: &str, name: &str, status: &ChatbotDeploymentStatus) {
        let labels = DeploymentLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        let now: Vec<ConditionLabels> = status
            .conditions
            .iter()
            .map(|c| ConditionLabels {
                namespace: namespace.into(),
                name: name.into(),
                condition: c.type_.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
            })
            .collect();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let key = (namespace.to_string(), name.to_string());
        for gone in current.get(&key).into_iter().flatten() {
            if !now.contains(gone) {
                self.conditions.remove(gone);
            }
        }
        for series in &now {
            self.conditions.get_or_create(series).set(1);
        }
        current.insert(key, now);
        drop(current);
        self.ready
            .get_or_create(&labels)
            .set(i64::from(status.ready_replicas.unwrap_or(0)));
        self.weight
            .get_or_create(&labels)
            .set(i64::from(status.canary_weight.unwrap_or(0)));
        if let Some(cost) = &status.cost_estimate {
            for (part, usd) in [
                ("llm", cost.llm_monthly_usd),
                ("infra", cost.infra_monthly_usd),
                ("total", cost.total_monthly_usd),
            ] {
                self.cost
                    .get_or_create(&CostLabels {
                        namespace: namespace.into(),
                        name: name.into(),
                        part,
                    })
                    .set(usd);
            }
        }
    }

    /// Drops the series of every deployment `live` says is gone (one
    /// deleted without a finalizer is never reconciled again).
    pub fn retain(&self, live: impl Fn(&str, &str) -> bool) {
        let gone: Vec<(String, String)> = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|(namespace, name)| !live(namespace, name))
            .cloned()
            .collect();
        for (namespace, name) in gone {
            self.forget(&namespace, &name);
        }
    }

    /// Drops every series of a deployment that is gone.
    pub fn forget(&self, namespace: &str, name: &str) {
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        for gone in current
            .remove(&(namespace.to_string(), name.to_string()))
            .into_iter()
            .flatten()
        {
            self.conditions.remove(&gone);
        }
        let labels = DeploymentLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.ready.remove(&labels);
        self.weight.remove(&labels);
        for part in ["llm", "infra", "total"] {
            self.cost.remove(&CostLabels {
                namespace: namespace.into(),
                name: name.into(),
                part,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn condition(type_: &str, status: &str, reason: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: String::new(),
            last_transition_time: Time(Default::default()),
            observed_generation: None,
        }
    }

    fn exposition(metrics: &DeploymentMetrics) -> String {
        let mut registry = Registry::with_prefix("chatbot_operator");
        registry.register("condition", "", metrics.conditions.clone());
        registry.register("ready_replicas", "", metrics.ready.clone());
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    }

    #[test]
    fn a_condition_that_changes_leaves_no_stale_series() {
        let metrics = DeploymentMetrics::default();
        let mut status = ChatbotDeploymentStatus {
            conditions: vec![condition("Degraded", "True", "RolledBack")],
            ready_replicas: Some(2),
            ..Default::default()
        };
        metrics.observe("sales", "brigade", &status);
        let text = exposition(&metrics);
        assert!(text.contains(r#"chatbot_operator_condition{namespace="sales",name="brigade",condition="Degraded",status="True",reason="RolledBack"} 1"#), "{text}");
        assert!(
            text.contains(r#"chatbot_operator_ready_replicas{namespace="sales",name="brigade"} 2"#),
            "{text}"
        );

        status.conditions = vec![condition("Degraded", "False", "Healthy")];
        metrics.observe("sales", "brigade", &status);
        let text = exposition(&metrics);
        assert!(!text.contains("RolledBack"), "{text}");
        assert!(
            text.contains(r#"status="False",reason="Healthy"} 1"#),
            "{text}"
        );

        metrics.observe("sales", "other", &status);
        metrics.retain(|_, name| name == "other");
        let text = exposition(&metrics);
        assert!(!text.contains("brigade"), "{text}");
        assert!(text.contains("other"), "{text}");

        metrics.forget("sales", "other");
        assert!(!exposition(&metrics).contains("other"));
    }
}
