//! The application half of the spec: replicas, health checks, secrets and the
//! rate limits handed to the app.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How many app pods run. When `min` and `max` differ a HorizontalPodAutoscaler
/// owns the replica count between them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.min) || !has(self.max) || self.min <= self.max").message("spec.replicas.min must be less than or equal to spec.replicas.max"))]
pub struct Replicas {
    /// Fewest pods, also the count while no autoscaler runs. Production keeps at least 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1000").message("spec.replicas.min must be between 1 and 1000"))]
    pub min: Option<i32>,
    /// Most pods the autoscaler may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1000").message("spec.replicas.max must be between 1 and 1000"))]
    pub max: Option<i32>,
    /// Average CPU utilisation (percent of requests) the autoscaler aims for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 10 && self <= 100").message("spec.replicas.targetCPUUtilization must be between 10 and 100"))]
    #[serde(rename = "targetCPUUtilization")]
    pub target_cpu_utilization: Option<i32>,
}

impl Replicas {
    /// `(min, max)` with the defaults of an unset bound: one pod, and a
    /// maximum equal to the minimum (no autoscaling).
    pub fn bounds(&self) -> (i32, i32) {
        let min = self.min.unwrap_or(1);
        (min, self.max.unwrap_or(min))
    }
}

/// Health endpoints the app serves; they become the readiness, liveness and
/// startup probes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Default path for every probe, e.g. `/health`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^/([A-Za-z0-9._~!$&()*+,;=:@%?-][A-Za-z0-9._~!$&()*+,;=:@%/?-]*)?$')").message("spec.health.path must be a path starting with a single /, in URL characters"))]
    pub path: Option<String>,
    /// Path of the readiness probe, when it differs from `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^/([A-Za-z0-9._~!$&()*+,;=:@%?-][A-Za-z0-9._~!$&()*+,;=:@%/?-]*)?$')").message("spec.health.readinessPath must be a path starting with a single /, in URL characters"))]
    pub readiness_path: Option<String>,
    /// Path of the liveness probe, when it differs from `path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^/([A-Za-z0-9._~!$&()*+,;=:@%?-][A-Za-z0-9._~!$&()*+,;=:@%/?-]*)?$')").message("spec.health.livenessPath must be a path starting with a single /, in URL characters"))]
    pub liveness_path: Option<String>,
    /// Longest time the app may take to start before liveness checks begin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 3600").message("spec.health.startupSeconds must be between 1 and 3600"))]
    pub startup_seconds: Option<i32>,
    /// Seconds between two checks of the readiness and liveness probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 300").message("spec.health.periodSeconds must be between 1 and 300"))]
    pub period_seconds: Option<i32>,
}

/// A key of a Secret the user manages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret in the resource's namespace.
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub name: String,
    /// Key inside the Secret.
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[-._a-zA-Z0-9]+$')").message("must be a Secret key: letters, digits, -, _ and ."))]
    pub key: String,
}

/// A Secret value the app needs, handed to it as an environment variable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretEnv {
    /// Environment variable the app reads, e.g. `OPENAI_API_KEY`.
    #[schemars(length(max = 128))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Z_][A-Z0-9_]*$')").message("spec.secrets.required[].env must be an upper-case environment variable name"))]
    pub env: String,
    /// Name of the Secret holding the value; it must exist before pods roll.
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.secrets.required[].secretName must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub secret_name: String,
    /// Key inside the Secret.
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[-._a-zA-Z0-9]+$')").message("spec.secrets.required[].key must be a Secret key: letters, digits, -, _ and ."))]
    pub key: String,
}

/// Secrets the app reads. Values never appear in the resource, its status,
/// events, logs or rendered output: pods read them through `secretKeyRef`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secrets {
    /// References to Secrets the team creates (LLM provider keys, Stripe, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub required: Option<Vec<SecretEnv>>,
    /// Environment variables whose values the operator generates once (32
    /// random bytes, hex) into the Secret `<name>-generated` and never rotates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(max = 128)))]
    #[x_kube(validation = Rule::new("self.all(n, n.matches('^[A-Z_][A-Z0-9_]*$'))").message("spec.secrets.generated must hold upper-case environment variable names"))]
    pub generated: Option<Vec<String>>,
}

/// A request budget for one tier of users.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.requestsPerMinute) || has(self.requestsPerHour)").message("spec.rateLimits.tiers[] needs requestsPerMinute or requestsPerHour"))]
pub struct RateLimitTier {
    /// Tier name as the app knows it, e.g. `anonymous`, `free`, `pro`, `client`.
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z][a-z0-9-]*$')").message("spec.rateLimits.tiers[].name must be lower-case letters, digits and dashes"))]
    pub name: String,
    /// Requests one user of this tier may make per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("spec.rateLimits.tiers[].requestsPerMinute must be at least 1"))]
    pub requests_per_minute: Option<i64>,
    /// Requests (chat messages) one user of this tier may make per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("spec.rateLimits.tiers[].requestsPerHour must be at least 1"))]
    pub requests_per_hour: Option<i64>,
}

/// Brute-force protection for login and OTP endpoints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthRateLimit {
    /// Attempts allowed per window.
    #[x_kube(validation = Rule::new("self >= 1").message("spec.rateLimits.auth.attempts must be at least 1"))]
    pub attempts: i64,
    /// Length of the window in minutes.
    #[x_kube(validation = Rule::new("self >= 1").message("spec.rateLimits.auth.windowMinutes must be at least 1"))]
    pub window_minutes: i64,
}

/// Where the app keeps its rate-limit counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum RateLimitBackend {
    /// Counters in the Redis cache (shared by all pods).
    #[default]
    Redis,
    /// Counters in each pod's memory.
    Memory,
}

/// Rate limits, passed to the app as `RATE_LIMIT_*` and, where the traffic
/// provider can, enforced at the edge.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimits {
    /// Per-user request budgets by tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub tiers: Option<Vec<RateLimitTier>>,
    /// Attempts allowed on authentication endpoints per window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthRateLimit>,
    /// Requests per minute one client IP may send, enforced at the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1").message("spec.rateLimits.edgePerIPPerMinute must be at least 1"))]
    #[serde(rename = "edgePerIPPerMinute")]
    pub edge_per_ip_per_minute: Option<i64>,
    /// Connections one client IP may hold open at once, enforced at the
    /// edge (a WebSocket is one connection for as long as it lasts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 100000").message("spec.rateLimits.edgeConnectionsPerIP must be between 1 and 100000"))]
    #[serde(rename = "edgeConnectionsPerIP")]
    pub edge_connections_per_ip: Option<i64>,
    /// Counter store; `redis` needs a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<RateLimitBackend>,
    /// Keep limiting from pod memory when Redis is unreachable instead of failing open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_to_memory: Option<bool>,
}
