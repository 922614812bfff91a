//! The ChatbotDeployment resource.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, ResourceRequirements};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{
    Backup, Cache, ChatbotDeploymentStatus, Cost, Database, Health, Maintenance, Observability,
    RateLimits, Replicas, Rollout, Secrets, Traffic,
};

/// The names of the environments whose defaults ship with the operator.
pub const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "production"];

/// One LLM chatbot service: app pods, data stores, traffic, rollout and
/// backups, resolved against the defaults of its environment.
#[derive(CustomResource, KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "chatbot.dev",
    version = "v1alpha1",
    kind = "ChatbotDeployment",
    namespaced,
    status = "ChatbotDeploymentStatus",
    shortname = "cbd",
    category = "chatbot",
    doc = "A production deployment of an LLM chatbot service.",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", description = "Lifecycle phase"),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.currentRevision", description = "Revision serving traffic"),
    printcolumn(name = "Weight", type_ = "integer", json_path = ".status.canaryWeight", description = "Percent of traffic on the new revision"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas", description = "Ready app pods"),
    printcolumn(name = "Cost/Month", type_ = "number", json_path = ".status.costEstimate.totalMonthlyUSD", description = "Estimated monthly cost in USD"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 40").message("metadata.name must be a DNS label of at most 40 characters (children add suffixes such as -env and Service names are limited to 63)")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.rollout) || !has(self.rollout.abTest) || (has(self.traffic) && has(self.traffic.provider) && self.traffic.provider == 'gatewayAPI') || self.rollout.abTest.variants.size() <= 2").message("spec.rollout.abTest.variants: more than one candidate needs spec.traffic.provider gatewayAPI, whose route has a backend and a sticky match per variant; ingress-nginx has one canary Ingress per host, and without a provider the split is a share of pods"))]
pub struct ChatbotDeploymentSpec {
    /// `dev`, `staging` or `production`: selects the defaults of `environments/<name>.yaml`. Every field set here wins over them.
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self in ['dev', 'staging', 'production']").message("spec.environment must be one of dev, staging, production"))]
    pub environment: String,
    /// Container image of the chatbot, e.g. `ghcr.io/acme/chatbot:1.4.2`.
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$')").message("spec.image must be a container image reference"))]
    pub image: String,
    /// Port the app listens on; passed as `PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1024 && self <= 65535").message("spec.port must be between 1024 and 65535 (the app runs as non-root)"))]
    pub port: Option<i32>,
    /// Entrypoint override.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 4096)))]
    pub command: Option<Vec<String>>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 4096)))]
    pub args: Option<Vec<String>>,
    /// Extra environment variables, as in a container spec. Secret values belong in `secrets`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub env: Option<Vec<EnvVar>>,
    /// Extra environment sources, as in a container spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub env_from: Option<Vec<EnvFromSource>>,
    /// Non-secret configuration, placed in the app's ConfigMap and environment (e.g. `KAFKA_BOOTSTRAP_SERVERS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 128, "additionalProperties" = {"type": "string", "maxLength": 65536}))]
    pub config: Option<BTreeMap<String, String>>,
    /// CPU and memory requests and limits of each app container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Worker processes per pod (gunicorn/uvicorn), passed as `WEB_CONCURRENCY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 64").message("spec.workers must be between 1 and 64"))]
    pub workers: Option<i32>,
    /// Pod count and autoscaling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Replicas>,
    /// Health endpoints and probe timing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// Long-lived connections (WebSocket or streamed answers): long timeouts and a long shutdown grace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websockets: Option<bool>,
    /// Secrets the app reads and secrets the operator generates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Secrets>,
    /// The Postgres database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<Database>,
    /// The Redis cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// Request limits per user tier, per login window and per client IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<RateLimits>,
    /// How new revisions roll out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    /// How users reach the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic: Option<Traffic>,
    /// Database backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Backup>,
    /// Errors, metrics, SLOs and alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<Observability>,
    /// LLM prices, expected usage and the budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// The fallback page served when the app is down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Maintenance>,
    /// Stop rolling out spec changes; running pods stay as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}
