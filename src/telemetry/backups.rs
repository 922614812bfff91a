//! Backup metrics, by deployment only: a destination or method that
//! changes never leaves a series behind that stops moving.

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// Labels naming one ChatbotDeployment.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeploymentLabels {
    pub namespace: String,
    pub name: String,
}

impl DeploymentLabels {
    fn of(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// A finished backup run, as the metrics see it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    pub succeeded: bool,
    /// Unix seconds it finished at.
    pub finished_at: f64,
    pub bytes: Option<i64>,
    pub restore_seconds: Option<f64>,
}

/// `chatbot_operator_backup_*` and `chatbot_operator_restore_verify_seconds`.
#[derive(Clone, Default)]
pub struct BackupMetrics {
    last_success: Family<DeploymentLabels, Gauge<f64, AtomicU64>>,
    bytes: Family<DeploymentLabels, Gauge>,
    failures: Family<DeploymentLabels, Counter>,
    verify_seconds: Family<DeploymentLabels, Gauge<f64, AtomicU64>>,
}

impl BackupMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        registry.register(
            "backup_last_success_timestamp_seconds",
            "When the newest successful backup finished",
            metrics.last_success.clone(),
        );
        registry.register(
            "backup_bytes",
            "Size of the newest successful backup",
            metrics.bytes.clone(),
        );
        registry.register(
            "backup_failures",
            "Backup runs that failed",
            metrics.failures.clone(),
        );
        registry.register(
            "restore_verify_seconds",
            "How long the newest restore test took",
            metrics.verify_seconds.clone(),
        );
        metrics
    }

    /// Records a run that just finished.
    pub fn finished(&self, namespace: &str, name: &str, run: &Finished) {
        let labels = DeploymentLabels::of(namespace, name);
        if !run.succeeded {
            self.failures.get_or_create(&labels).inc();
            return;
        }
        self.last_success
            .get_or_create(&labels)
            .set(run.finished_at);
        if let Some(bytes) = run.bytes {
            self.bytes.get_or_create(&labels).set(bytes);
        }
        if let Some(seconds) = run.restore_seconds {
            self.verify_seconds.get_or_create(&labels).set(seconds);
        }
    }

    /// Records a verification that just finished: its restore time, or a
    /// failure.
    pub fn verified(&self, namespace: &str, name: &str, passed: bool, seconds: Option<f64>) {
        let labels = DeploymentLabels::of(namespace, name);
        match (passed, seconds) {
            (true, Some(seconds)) => {
                self.verify_seconds.get_or_create(&labels).set(seconds);
            }
            (true, None) => {}
            (false, _) => {
                self.failures.get_or_create(&labels).inc();
            }
        }
    }

    /// Seeds the gauges from status after a restart, so they never read 0
    /// while a good backup exists.
    pub fn seed(&self, namespace: &str, name: &str, run: &Finished) {
        let labels = DeploymentLabels::of(namespace, name);
        let gauge = self.last_success.get_or_create(&labels);
        if gauge.get() < run.finished_at {
            gauge.set(run.finished_at);
            if let Some(bytes) = run.bytes {
                self.bytes.get_or_create(&labels).set(bytes);
            }
        }
    }
}
