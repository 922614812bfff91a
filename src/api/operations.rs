//! Running the service: backups, observability, the cost model and the
//! maintenance page.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::SecretKeyRef;

/// An S3 location for backups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Destination {
    /// Bucket name.
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$')").message("spec.backup.destination.s3.bucket must be an S3 bucket name: 3 to 63 lower-case letters, digits, . and -"))]
    pub bucket: String,
    /// Key prefix, e.g. `mindmitra/prod/`: folders of letters, digits, `.`, `_` and `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_-][A-Za-z0-9._-]*(/[A-Za-z0-9_-][A-Za-z0-9._-]*)*/?$')").message("spec.backup.destination.s3.prefix must be folders of letters, digits, ., _ and - separated by single slashes, none starting with . or /"))]
    pub prefix: Option<String>,
    /// Region of the bucket: an AWS region, or an S3-compatible store's own
    /// name for it (`auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("spec.backup.destination.s3.region must be a region name such as us-east-1: lower-case letters, digits and -"))]
    pub region: Option<String>,
    /// Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` for the
    /// bucket. Without it the backup Job uses its pod's identity (IRSA's
    /// web identity on the app's ServiceAccount, or the node's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.backup.destination.s3.credentialsSecret must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub credentials_secret: Option<String>,
}

/// A PersistentVolumeClaim for backups.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PvcDestination {
    /// Claim name. When it does not exist, the operator creates it before
    /// the first backup, owned by nothing: backups on it outlive the
    /// ChatbotDeployment, as they do in S3.
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.backup.destination.pvc.claimName must name a PersistentVolumeClaim: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub claim_name: String,
    /// Size of the claim in GiB when the operator creates it (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "sizeGiB")]
    pub size_gib: Option<i32>,
}

/// Where backups are written: exactly one of `s3`, `pvc`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.s3) != has(self.pvc)").message("spec.backup.destination must set exactly one of s3, pvc"))]
pub struct BackupDestination {
    /// An S3 bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Destination>,
    /// A volume in the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvc: Option<PvcDestination>,
}

/// Logical database backups (pg_dump), tied to revisions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.enabled) || !self.enabled || has(self.schedule)").message("spec.backup.schedule is required when spec.backup.enabled is true"))]
pub struct Backup {
    /// Take scheduled backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Cron schedule, e.g. `0 3 * * *`, in `timeZone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    #[x_kube(validation = Rule::new("self.matches('^(@(hourly|daily|weekly|monthly))$|^([^ ]+ ){4}[^ ]+$')").message("spec.backup.schedule must be a five-field cron expression such as '0 3 * * *'"))]
    pub schedule: Option<String>,
    /// IANA time zone of the schedule, e.g. `Asia/Kolkata`; UTC when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$')").message("spec.backup.timeZone must be an IANA time zone name such as Asia/Kolkata"))]
    pub time_zone: Option<String>,
    /// Days a backup is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 3650").message("spec.backup.retentionDays must be between 1 and 3650"))]
    pub retention_days: Option<i32>,
    /// Good backups kept at most, newest first (the newest verified one always stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 1000").message("spec.backup.keep must be between 1 and 1000"))]
    pub keep: Option<i32>,
    /// Longest one backup may run before it is stopped and marked failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 60 && self <= 86400").message("spec.backup.timeoutSeconds must be between 60 and 86400"))]
    pub timeout_seconds: Option<i32>,
    /// Image of the backup agent (the Postgres client tools and
    /// `chatbot-operator backup-agent`); the operator's own release by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$')").message("spec.backup.agentImage must be a container image reference"))]
    pub agent_image: Option<String>,
    /// Where backups go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<BackupDestination>,
    /// Take a backup before each new revision takes traffic, recorded with the revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_rollout: Option<bool>,
    /// Restore every backup into a scratch database to prove it works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// With `verify`, restore-test every Nth backup only (1: every one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 100").message("spec.backup.verifyEvery must be between 1 and 100"))]
    pub verify_every: Option<i32>,
    /// Days the database a restore replaced is kept, untouched, as the
    /// undo before the operator drops it (default 7; 0 keeps it until it
    /// is dropped by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 365").message("spec.backup.keepReplacedDatabaseDays must be between 0 and 365"))]
    pub keep_replaced_database_days: Option<i32>,
}

/// Service-level objectives, rendered as alerting rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slo {
    /// Target availability in percent, e.g. `99.9`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 100.0").message("spec.observability.slo.availabilityPercent must be above 0 and at most 100"))]
    pub availability_percent: Option<f64>,
    /// Target p95 server latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0").message("spec.observability.slo.p95LatencyMs must be positive"))]
    pub p95_latency_ms: Option<i64>,
    /// Target p95 time to the first streamed token in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0").message("spec.observability.slo.p95TimeToFirstTokenMs must be positive"))]
    pub p95_time_to_first_token_ms: Option<i64>,
    /// Highest acceptable error rate in percent, e.g. `0.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0.0 && self <= 100.0").message("spec.observability.slo.errorRatePercent must be between 0 and 100"))]
    pub error_rate_percent: Option<f64>,
}

/// Alert thresholds beyond the SLOs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alerts {
    /// Page when p95 latency passes this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_latency_ms: Option<i64>,
    /// Page when the error rate passes this percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate_percent: Option<f64>,
    /// Page when availability drops below this percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_percent: Option<f64>,
    /// Warn when database connections pass this percent of the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_connections_percent: Option<f64>,
    /// Warn when cache memory passes this percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_memory_percent: Option<f64>,
    /// Warn when the month's projected LLM spend passes this many US dollars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "llmMonthlyCostUSD")]
    pub llm_monthly_cost_usd: Option<f64>,
}

/// An external uptime check of the public health endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct UptimeCheck {
    /// Path checked, defaults to the health path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^/([A-Za-z0-9._~!$&()*+,;=:@%?-][A-Za-z0-9._~!$&()*+,;=:@%/?-]*)?$')").message("spec.observability.uptimeCheck.path must be a path starting with a single /, in URL characters"))]
    pub path: Option<String>,
    /// Seconds between checks, e.g. `30`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 10 && self <= 3600").message("spec.observability.uptimeCheck.intervalSeconds must be between 10 and 3600"))]
    pub interval_seconds: Option<i32>,
}

/// Where the operator tells a team what changed: a webhook that takes
/// Slack's incoming-webhook JSON (Slack, Mattermost, Rocket.Chat, and most
/// chat tools' Slack-compatible endpoints).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notify {
    /// Secret key holding the webhook URL. It is read when a message is
    /// sent and never written anywhere.
    pub webhook_secret_ref: SecretKeyRef,
    /// Send only warnings (failures), not the recoveries and the changes
    /// that went well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warnings_only: Option<bool>,
}

/// Errors, metrics, alerts and logs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Observability {
    /// Secret key holding the Sentry DSN; reaches the app as `SENTRY_DSN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentry_dsn_secret_ref: Option<SecretKeyRef>,
    /// Scrape the app's `/metrics` (on its `http` port) with a Prometheus
    /// Operator monitor, and alert on it. The monitor is a PodMonitor, so a
    /// canary's pods are scraped once, not through both Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_monitor: Option<bool>,
    /// A Grafana dashboard ConfigMap `<name>-dashboard` (labelled
    /// `grafana_dashboard: "1"` for Grafana's sidecar) whenever the app is
    /// scraped; `false` leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<bool>,
    /// Labels put on the PodMonitor, the PrometheusRule and the dashboard, for a
    /// Prometheus that selects them by label (kube-prometheus-stack's
    /// default: `release: <its Helm release>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 16, "additionalProperties" = {"type": "string", "maxLength": 63}))]
    #[x_kube(validation = Rule::new("self.all(k, !k.startsWith('app.kubernetes.io/') && !k.startsWith('chatbot.dev/'))").message("spec.observability.monitorLabels must not set app.kubernetes.io/ or chatbot.dev/ labels: the operator owns them"))]
    #[x_kube(validation = Rule::new("self.all(k, self[k].matches('^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'))").message("spec.observability.monitorLabels values must be label values: at most 63 letters, digits, -, _ and ., starting and ending with a letter or digit"))]
    pub monitor_labels: Option<std::collections::BTreeMap<String, String>>,
    /// Base of every alert's `runbook_url`; the alert's name in lower case
    /// is appended as the fragment (default: the runbooks in docs/observability.md).
    #[serde(
        default,
        rename = "runbookURL",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(length(max = 512))]
    #[x_kube(validation = Rule::new("self.matches('^https?://[^\\\\s\"#{}]+$')").message("spec.observability.runbookURL must be an http(s) URL without spaces, quotes, braces or a fragment"))]
    pub runbook_url: Option<String>,
    /// Service-level objectives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Slo>,
    /// Extra alert thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Alerts>,
    /// Uptime check of the public endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_check: Option<UptimeCheck>,
    /// A webhook told of every state change the resource's Events record
    /// (once per change, never per reconcile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<Notify>,
    /// App log level, passed as `LOG_LEVEL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    #[x_kube(validation = Rule::new("self in ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical']").message("spec.observability.logLevel must be one of trace, debug, info, warning, warn, error, critical"))]
    pub log_level: Option<String>,
}

/// Prices of the LLM the app calls, in US dollars per million tokens.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModelPrice {
    /// Model name, for reports, e.g. `gpt-4o-mini (fine-tuned)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub name: Option<String>,
    /// Dollars per million input (prompt) tokens.
    #[serde(rename = "inputPerMillionUSD")]
    #[x_kube(validation = Rule::new("self >= 0.0").message("spec.cost.model.inputPerMillionUSD must not be negative"))]
    pub input_per_million_usd: f64,
    /// Dollars per million output (completion) tokens.
    #[serde(rename = "outputPerMillionUSD")]
    #[x_kube(validation = Rule::new("self >= 0.0").message("spec.cost.model.outputPerMillionUSD must not be negative"))]
    pub output_per_million_usd: f64,
}

/// Expected usage, the input of the cost and capacity model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Active users per day.
    #[x_kube(validation = Rule::new("self >= 0").message("spec.cost.usage.activeUsersPerDay must not be negative"))]
    pub active_users_per_day: i64,
    /// Messages each active user sends per day.
    #[x_kube(validation = Rule::new("self >= 0.0").message("spec.cost.usage.messagesPerUserPerDay must not be negative"))]
    pub messages_per_user_per_day: f64,
    /// Input tokens per message (prompt plus history).
    #[x_kube(validation = Rule::new("self >= 0").message("spec.cost.usage.inputTokensPerMessage must not be negative"))]
    pub input_tokens_per_message: i64,
    /// Output tokens per message (the answer).
    #[x_kube(validation = Rule::new("self >= 0").message("spec.cost.usage.outputTokensPerMessage must not be negative"))]
    pub output_tokens_per_message: i64,
    /// Users connected at the busiest moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_concurrent_users: Option<i64>,
    /// Requests per minute at the busiest moment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_requests_per_minute: Option<i64>,
    /// Messages in one conversation, for the length of an A/B test
    /// (default: all of a user's messages of a day, one conversation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0.0 && self <= 10000.0").message("spec.cost.usage.messagesPerConversation must be above 0 and at most 10000"))]
    pub messages_per_conversation: Option<f64>,
}

/// The cost model and budget.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cost {
    /// LLM prices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelPrice>,
    /// Expected usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Monthly budget in US dollars (LLM plus infrastructure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "monthlyBudgetUSD")]
    #[x_kube(validation = Rule::new("self >= 0.0").message("spec.cost.monthlyBudgetUSD must not be negative"))]
    pub monthly_budget_usd: Option<f64>,
    /// Other active-user counts to project the cost for, e.g. `[100, 1000, 5000]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    pub growth_steps: Option<Vec<i64>>,
}
