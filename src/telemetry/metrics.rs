//! The operator's Prometheus metrics: reconciles, failures, writes by
//! verb and resource, leadership, and the per-deployment and backup
//! families (`deployments`, `backups`).

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// A write request, as counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Write {
    /// `create`, `update`, `apply`, `patch` or `delete`.
    pub verb: &'static str,
    /// Resource plural, with the subresource when there is one:
    /// `deployments`, `chatbotdeployments/status`.
    pub resource: String,
}

/// Labels naming a controller: `chatbotdeployment` or `chatbotaction`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: &'static str,
}

/// Labels of a failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    pub controller: &'static str,
    /// A short, stable reason taken from the error variant.
    pub reason: &'static str,
}

/// Labels of a write call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WriteLabels {
    pub verb: &'static str,
    pub resource: String,
}

/// Labels of a notification's outcome: `sent`, `failed` or `dropped`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    pub outcome: &'static str,
}

/// Every metric the operator exports.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ControllerLabels, Counter>,
    errors: Family<ErrorLabels, Counter>,
    duration: Family<ControllerLabels, Histogram>,
    writes: Family<WriteLabels, Counter>,
    writes_total: AtomicU64,
    queue_depth: Family<ControllerLabels, Gauge>,
    in_flight: Family<ControllerLabels, Gauge>,
    leader: Gauge,
    lease_renewals: Counter,
    /// Backup outcomes by deployment.
    pub backups: super::backups::BackupMetrics,
    /// Conditions, ready pods, weight and cost by deployment.
    pub deployments: super::deployments::DeploymentMetrics,
    notifications: Family<NotificationLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chatbot_operator");
        let reconciles = Family::<ControllerLabels, Counter>::default();
        registry.register("reconciles", "Reconciles started", reconciles.clone());
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by reason",
            errors.clone(),
        );
        let duration = Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile takes",
            duration.clone(),
        );
        let writes = Family::<WriteLabels, Counter>::default();
        registry.register(
            "write_calls",
            "Write calls sent to the API server, by verb and resource (lease renewals excluded)",
            writes.clone(),
        );
        let queue_depth = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Resources whose latest generation has not been reconciled yet",
            queue_depth.clone(),
        );
        let in_flight = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "reconciles_in_flight",
            "Reconciles running now",
            in_flight.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease",
            leader.clone(),
        );
        let lease_renewals = Counter::default();
        registry.register(
            "lease_renewals",
            "Successful renewals of the leader Lease",
            lease_renewals.clone(),
        );
        let backups = super::backups::BackupMetrics::register(&mut registry);
        let deployments = super::deployments::DeploymentMetrics::register(&mut registry);
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Notifications to webhooks, by outcome (sent, failed, dropped)",
            notifications.clone(),
        );
        Self {
            notifications,
            backups,
            deployments,
            registry,
            reconciles,
            errors,
            duration,
            writes,
            writes_total: AtomicU64::new(0),
            queue_depth,
            in_flight,
            leader,
            lease_renewals,
        }
    }

    /// Marks the start of a reconcile; the guard records its duration and
    /// the in-flight count when dropped.
    pub fn reconcile_started(&self, controller: &'static str) -> ReconcileTimer<'_> {
        let labels = ControllerLabels { controller };
        self.reconciles.get_or_create(&labels).inc();
        self.in_flight.get_or_create(&labels).inc();
        ReconcileTimer {
            metrics: self,
            labels,
            start: std::time::Instant::now(),
        }
    }

    /// Counts a failed reconcile.
    pub fn reconcile_failed(&self, controller: &'static str, reason: &'static str) {
        self.errors
            .get_or_create(&ErrorLabels { controller, reason })
            .inc();
    }

    /// Counts one notification's outcome.
    pub fn count_notification(&self, outcome: &'static str) {
        self.notifications
            .get_or_create(&NotificationLabels { outcome })
            .inc();
    }

    /// Notifications with `outcome` so far.
    pub fn notifications(&self, outcome: &'static str) -> u64 {
        self.notifications
            .get_or_create(&NotificationLabels { outcome })
            .get()
    }

    /// Counts one write call.
    pub fn count_write(&self, write: &Write) {
        self.writes
            .get_or_create(&WriteLabels {
                verb: write.verb,
                resource: write.resource.clone(),
            })
            .inc();
        self.writes_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Write calls so far, across verbs and resources.
    pub fn total_writes(&self) -> u64 {
        self.writes_total.load(Ordering::Relaxed)
    }

    /// Sets the queue depth of a controller (computed at scrape time).
    pub fn set_queue_depth(&self, controller: &'static str, depth: i64) {
        self.queue_depth
            .get_or_create(&ControllerLabels { controller })
            .set(depth);
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Counts a lease renewal.
    pub fn lease_renewed(&self) {
        self.lease_renewals.inc();
    }

    /// Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Encoding into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}

/// Records a reconcile's duration when dropped.
pub struct ReconcileTimer<'a> {
    metrics: &'a Metrics,
    labels: ControllerLabels,
    start: std::time::Instant,
}

impl ReconcileTimer<'_> {
    /// Time since the reconcile started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

impl Drop for ReconcileTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .duration
            .get_or_create(&self.labels)
            .observe(self.start.elapsed().as_secs_f64());
        self.metrics.in_flight.get_or_create(&self.labels).dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_exported_by_verb_and_resource_and_summed() {
        let metrics = Metrics::new();
        let write = Write {
            verb: "apply",
            resource: "deployments".into(),
        };
        metrics.count_write(&write);
        metrics.count_write(&write);
        metrics.count_write(&Write {
            verb: "create",
            resource: "secrets".into(),
        });
        let text = metrics.encode();
        assert!(
            text.contains(
                "chatbot_operator_write_calls_total{verb=\"apply\",resource=\"deployments\"} 2"
            ),
            "{text}"
        );
        assert_eq!(metrics.total_writes(), 3);
    }

    #[test]
    fn a_reconcile_is_counted_and_timed() {
        let metrics = Metrics::new();
        drop(metrics.reconcile_started("chatbotdeployment"));
        metrics.reconcile_failed("chatbotdeployment", "KubeApi");
        let text = metrics.encode();
        assert!(
            text.contains("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"} 1")
        );
        assert!(text.contains(
            "chatbot_operator_reconcile_errors_total{controller=\"chatbotdeployment\",reason=\"KubeApi\"} 1"
        ));
        assert!(text.contains(
            "chatbot_operator_reconcile_duration_seconds_count{controller=\"chatbotdeployment\"} 1"
        ));
        assert!(
            text.contains(
                "chatbot_operator_reconciles_in_flight{controller=\"chatbotdeployment\"} 0"
            )
        );
    }
}
