//! Specs that break each CRD rule, with the rule's message: shared by the
//! offline admission tests and the end-to-end test against a real API server.

use serde_json::{Value, json};

/// The sample every deployment case starts from.
pub fn base() -> Value {
    super::sample_json("mindmitra")
}

/// The base's spec behind a Gateway API route (which can route several
/// A/B candidates) with `rollout` as its rollout.
pub fn on_gateway(rollout: Value) -> Value {
    let mut spec = base()["spec"].clone();
    spec["traffic"] = json!({
        "provider": "gatewayAPI",
        "host": "mindmitra.example.org",
        "gateway": {"name": "public", "namespace": "gateways"}
    });
    spec["rollout"] = rollout;
    spec
}

/// An A/B test of `variants` judged by the sequential test on the
/// thumbs-up rate, as several candidates must be.
pub fn judged(variants: Value) -> Value {
    json!({"abTest": {
        "variants": variants,
        "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 35, "minimumDetectableEffectPercent": 10},
    }})
}

/// Sets `value` at the JSON pointer `path`, creating maps on the way.
pub fn set(doc: &mut Value, path: &str, value: Value) {
    let mut node = doc;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    for (index, part) in parts.iter().enumerate() {
        if index == parts.len() - 1 {
            node.as_object_mut()
                .expect("parent is a map")
                .insert(part.to_string(), value);
            return;
        }
        node = node
            .as_object_mut()
            .expect("parent is a map")
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
}

/// (pointer, value that breaks a rule, the rule's message)
pub fn deployment_cases() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "/metadata/name",
            json!("Mind_Mitra"),
            "metadata.name must be a DNS label of at most 40 characters (children add suffixes such as -env and Service names are limited to 63)",
        ),
        (
            "/spec/environment",
            json!("prod"),
            "spec.environment must be one of dev, staging, production",
        ),
        (
            "/spec/image",
            json!("ghcr.io/x y"),
            "spec.image must be a container image reference",
        ),
        (
            "/spec/port",
            json!(80),
            "spec.port must be between 1024 and 65535 (the app runs as non-root)",
        ),
        (
            "/spec/workers",
            json!(0),
            "spec.workers must be between 1 and 64",
        ),
        (
            "/spec/replicas",
            json!({"min": 5, "max": 3}),
            "spec.replicas.min must be less than or equal to spec.replicas.max",
        ),
        (
            "/spec/replicas",
            json!({"min": 0}),
            "spec.replicas.min must be between 1 and 1000",
        ),
        (
            "/spec/replicas",
            json!({"max": 1001}),
            "spec.replicas.max must be between 1 and 1000",
        ),
        (
            "/spec/replicas",
            json!({"targetCPUUtilization": 5}),
            "spec.replicas.targetCPUUtilization must be between 10 and 100",
        ),
        (
            "/spec/health",
            json!({"path": "health"}),
            "spec.health.path must be a path starting with a single /, in URL characters",
        ),
        (
            "/spec/health",
            json!({"readinessPath": "ready"}),
            "spec.health.readinessPath must be a path starting with a single /, in URL characters",
        ),
        (
            "/spec/health",
            json!({"livenessPath": "live"}),
            "spec.health.livenessPath must be a path starting with a single /, in URL characters",
        ),
        (
            "/spec/health",
            json!({"startupSeconds": 0}),
            "spec.health.startupSeconds must be between 1 and 3600",
        ),
        (
            "/spec/health",
            json!({"periodSeconds": 301}),
            "spec.health.periodSeconds must be between 1 and 300",
        ),
        (
            "/spec/secrets",
            json!({"required": [{"env": "openai_key", "secretName": "s", "key": "k"}]}),
            "spec.secrets.required[].env must be an upper-case environment variable name",
        ),
        (
            "/spec/secrets",
            json!({"generated": ["jwt-secret"]}),
            "spec.secrets.generated must hold upper-case environment variable names",
        ),
        (
            "/spec/database",
            json!({"mode": "managed"}),
            "spec.database.instanceClass is required when spec.database.mode is managed",
        ),
        (
            "/spec/database",
            json!({"mode": "external"}),
            "spec.database.urlSecretRef is required when spec.database.mode is external",
        ),
        (
            "/spec/database",
            json!({"mode": "managed", "instanceClass": "t3.micro"}),
            "spec.database.instanceClass must be an RDS instance class such as db.t3.micro",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "storageGiB": 0}),
            "spec.database.storageGiB must be between 1 and 65536",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "backupRetentionDays": 36}),
            "spec.database.backupRetentionDays must be between 0 and 35",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "pool": {"size": 0}}),
            "spec.database.pool.size must be between 1 and 500",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "pool": {"maxOverflow": -1}}),
            "spec.database.pool.maxOverflow must be between 0 and 500",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "pooler": {"defaultPoolSize": 0}}),
            "spec.database.pooler.defaultPoolSize must be between 1 and 1000",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "pooler": {"replicas": 11}}),
            "spec.database.pooler.replicas must be between 1 and 10",
        ),
        (
            "/spec/database",
            json!({"mode": "inCluster", "migrations": {"command": ["migrate"], "timeoutSeconds": 5}}),
            "spec.database.migrations.timeoutSeconds must be between 10 and 86400",
        ),
        (
            "/spec/cache",
            json!({"mode": "managed"}),
            "spec.cache.nodeType is required when spec.cache.mode is managed",
        ),
        (
            "/spec/cache",
            json!({"mode": "external"}),
            "spec.cache.urlSecretRef is required when spec.cache.mode is external",
        ),
        (
            "/spec/cache",
            json!({"mode": "managed", "nodeType": "t3.micro"}),
            "spec.cache.nodeType must be an ElastiCache node type such as cache.t3.micro",
        ),
        (
            "/spec/cache",
            json!({"mode": "inCluster", "replicas": 6}),
            "spec.cache.replicas must be between 0 and 5",
        ),
        (
            "/spec/cache",
            json!({"mode": "inCluster", "memoryMiB": 8}),
            "spec.cache.memoryMiB must be at least 16",
        ),
        (
            "/spec/cache",
            json!({"mode": "inCluster", "workingSetMiB": -1}),
            "spec.cache.workingSetMiB must not be negative",
        ),
        (
            "/spec/rateLimits",
            json!({"tiers": [{"name": "Pro", "requestsPerHour": 100}]}),
            "spec.rateLimits.tiers[].name must be lower-case letters, digits and dashes",
        ),
        (
            "/spec/rateLimits",
            json!({"tiers": [{"name": "pro"}]}),
            "spec.rateLimits.tiers[] needs requestsPerMinute or requestsPerHour",
        ),
        (
            "/spec/rateLimits",
            json!({"tiers": [{"name": "pro", "requestsPerMinute": 0}]}),
            "spec.rateLimits.tiers[].requestsPerMinute must be at least 1",
        ),
        (
            "/spec/rateLimits",
            json!({"tiers": [{"name": "pro", "requestsPerHour": 0}]}),
            "spec.rateLimits.tiers[].requestsPerHour must be at least 1",
        ),
        (
            "/spec/rateLimits",
            json!({"auth": {"attempts": 0, "windowMinutes": 15}}),
            "spec.rateLimits.auth.attempts must be at least 1",
        ),
        (
            "/spec/rateLimits",
            json!({"auth": {"attempts": 5, "windowMinutes": 0}}),
            "spec.rateLimits.auth.windowMinutes must be at least 1",
        ),
        (
            "/spec/rateLimits",
            json!({"edgePerIPPerMinute": 0}),
            "spec.rateLimits.edgePerIPPerMinute must be at least 1",
        ),
        (
            "/spec/rateLimits",
            json!({"edgeConnectionsPerIP": 0}),
            "spec.rateLimits.edgeConnectionsPerIP must be between 1 and 100000",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "Canary"}),
            "spec.rollout.canary is required when spec.rollout.strategy is Canary",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest"}),
            "spec.rollout.abTest is required when spec.rollout.strategy is ABTest",
        ),
        (
            "/spec/rollout",
            json!({"canary": {"steps": [{"setWeight": 50}, {"setWeight": 20}]}}),
            "spec.rollout.canary.steps setWeight values must not decrease",
        ),
        (
            // Identical steps repeat: the later 10 still comes after the 20.
            "/spec/rollout",
            json!({"canary": {"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 20}, {"pause": {}}, {"setWeight": 10}]}}),
            "spec.rollout.canary.steps setWeight values must not decrease",
        ),
        (
            "/spec/rollout",
            json!({"canary": {"steps": [{"setWeight": 150}]}}),
            "spec.rollout.canary.steps[].setWeight must be between 0 and 100",
        ),
        (
            "/spec/rollout",
            json!({"canary": {"steps": [{"setWeight": 10, "analysis": true}]}}),
            "each spec.rollout.canary.steps[] entry must set exactly one of setWeight, pause, analysis",
        ),
        (
            "/spec/rollout",
            json!({"canary": {"steps": [{"pause": {"duration": "ten minutes"}}]}}),
            "spec.rollout.canary.steps[].pause.duration must be a duration such as 30s, 10m, 24h or 14d",
        ),
        (
            "/spec/rollout",
            json!({"blueGreen": {"scaleDownDelaySeconds": -1}}),
            "spec.rollout.blueGreen.scaleDownDelaySeconds must be between 0 and 86400",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 40}]}}),
            "spec.rollout.abTest.variants weights must add up to 100",
        ),
        (
            "/spec",
            on_gateway(judged(
                json!([{"name": "a", "weight": 30, "baseline": true}, {"name": "b", "weight": 30}, {"name": "c", "weight": 30}]),
            )),
            "spec.rollout.abTest.variants weights must add up to 100",
        ),
        (
            // The eighth item counts too.
            "/spec",
            on_gateway(judged(
                json!((0..8).map(|i| json!({"name": format!("v{i}"), "weight": if i == 7 { 31 } else { 10 }, "baseline": i == 0})).collect::<Vec<_>>()),
            )),
            "spec.rollout.abTest.variants weights must add up to 100",
        ),
        (
            // ingress-nginx routes one candidate.
            "/spec/rollout",
            judged(json!([{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 25}, {"name": "c", "weight": 25}])),
            "spec.rollout.abTest.variants: more than one candidate needs spec.traffic.provider gatewayAPI, whose route has a backend and a sticky match per variant; ingress-nginx has one canary Ingress per host, and without a provider the split is a share of pods",
        ),
        (
            // Several candidates are judged by the sequential test.
            "/spec",
            on_gateway(
                json!({"abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 25}, {"name": "c", "weight": 25}]}}),
            ),
            "spec.rollout.abTest.primary is required with more than one candidate: the sequential test judges several at once, with its level split over them; the comparison at the end of a test without a primary metric takes one candidate",
        ),
        (
            // Beside others, each candidate is reached by its name.
            "/spec",
            on_gateway(judged(
                json!([{"name": "a", "weight": 50, "baseline": true}, {"name": "always", "weight": 25}, {"name": "c", "weight": 25}]),
            )),
            "spec.rollout.abTest.variants names always and never are the route's sticky values of a lone candidate and of the stable revision; beside other candidates each variant is reached by its name",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50}, {"name": "a", "weight": 50}]}}),
            "spec.rollout.abTest.variants names must be unique",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50, "baseline": true}]}}),
            "spec.rollout.abTest.variants may mark at most one variant as baseline",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true, "config": {"SYSTEM_PROMPT": "new"}}, {"name": "b", "weight": 50}]}}),
            "spec.rollout.abTest.variants[]: the baseline variant runs the stable revision and may not set image, config, env, envFrom, args or resources",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50, "config": {"PORT": "9000"}}]}}),
            "spec.rollout.abTest.variants[].config may not set what the app contract sets (PORT, CHATBOT_VARIANT, RATE_LIMIT_*, ...): set that field of the spec instead",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50, "env": [{"name": "RATE_LIMIT_USER_PER_HOUR", "value": "1000"}]}]}}),
            "spec.rollout.abTest.variants[].env may not set what the app contract sets (PORT, CHATBOT_VARIANT, RATE_LIMIT_*, ...): set that field of the spec instead",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "A", "weight": 50}, {"name": "b", "weight": 50}]}}),
            "spec.rollout.abTest.variants[].name must be lower-case letters, digits and dashes (at most 31)",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 150}, {"name": "b", "weight": -50}]}}),
            "spec.rollout.abTest.variants[].weight must be between 0 and 100",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}], "sticky": {"header": "X-V", "cookie": "v"}}}),
            "spec.rollout.abTest.sticky must name exactly one of header, cookie",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}], "duration": "two weeks"}}),
            "spec.rollout.abTest.duration must be a duration such as 24h or 14d",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}], "sticky": {"header": "X-Variant\r\nX-Injected: 1"}}}),
            "spec.rollout.abTest.sticky.header must be an HTTP header name: letters, digits and !#$%&*+.^_|~-",
        ),
        (
            "/spec/rollout",
            json!({"abTest": {"variants": [{"name": "a", "weight": 50}, {"name": "b", "weight": 50}], "sticky": {"cookie": "variant; Path=/"}}}),
            "spec.rollout.abTest.sticky.cookie must be a cookie name: letters, digits and !#$%&*+.^_|~-",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"prometheusURL": "prometheus:9090"}}),
            "spec.rollout.analysis.prometheusURL must be an http(s) URL in URL characters",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"smokePaths": ["/healthz", "@169.254.169.254/latest/meta-data"]}}),
            "spec.rollout.analysis.smokePaths[] must each be a path on the candidate starting with a single /, in URL characters",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"smokePaths": ["//169.254.169.254/latest/meta-data"]}}),
            "spec.rollout.analysis.smokePaths[] must each be a path on the candidate starting with a single /, in URL characters",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"interval": "1 minute"}}),
            "spec.rollout.analysis.interval must be a duration such as 30s or 1m",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"count": 0}}),
            "spec.rollout.analysis.count must be between 1 and 100",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"failureLimit": -1}}),
            "spec.rollout.analysis.failureLimit must not be negative",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"consecutiveErrorLimit": 101}}),
            "spec.rollout.analysis.consecutiveErrorLimit must be between 0 and 100",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"minSuccessRatePercent": 101.0}}),
            "spec.rollout.analysis.minSuccessRatePercent must be between 0 and 100",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"maxErrorRatePercent": -1.0}}),
            "spec.rollout.analysis.maxErrorRatePercent must be between 0 and 100",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"maxP95LatencyMs": 0}}),
            "spec.rollout.analysis.maxP95LatencyMs must be positive",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"maxP95TimeToFirstTokenMs": 0}}),
            "spec.rollout.analysis.maxP95TimeToFirstTokenMs must be positive",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"metrics": [{"name": "conversion", "query": "sum(x)"}]}}),
            "spec.rollout.analysis.metrics[] needs min or max",
        ),
        (
            "/spec/rollout",
            json!({"progressDeadlineSeconds": 10}),
            "spec.rollout.progressDeadlineSeconds must be between 30 and 86400",
        ),
        (
            "/spec/rollout",
            json!({"revisionHistoryLimit": 0}),
            "spec.rollout.revisionHistoryLimit must be between 1 and 50",
        ),
        (
            "/spec/traffic",
            json!({"provider": "ingressNginx"}),
            "spec.traffic.host is required when spec.traffic.provider is gatewayAPI or ingressNginx",
        ),
        (
            "/spec/traffic",
            json!({"provider": "gatewayAPI", "host": "a.example.com"}),
            "spec.traffic.gateway is required when spec.traffic.provider is gatewayAPI",
        ),
        (
            "/spec/traffic",
            json!({"host": "Chat.Example.com"}),
            "spec.traffic.host must be a lower-case DNS name",
        ),
        (
            "/spec/traffic",
            json!({"corsAllowedOrigins": ["app.example.com"]}),
            "spec.traffic.corsAllowedOrigins must hold origins: a scheme, a host and an optional port, such as https://app.example.com, with no path, wildcard or newline",
        ),
        (
            "/spec/traffic",
            json!({"corsAllowedOrigins": ["https://app.example.com/\r\nSet-Cookie: a=b"]}),
            "spec.traffic.corsAllowedOrigins must hold origins: a scheme, a host and an optional port, such as https://app.example.com, with no path, wildcard or newline",
        ),
        (
            "/spec/traffic",
            json!({"corsAllowedOrigins": ["https://*.example.com"]}),
            "spec.traffic.corsAllowedOrigins must hold origins: a scheme, a host and an optional port, such as https://app.example.com, with no path, wildcard or newline",
        ),
        (
            "/spec/traffic",
            json!({"securityHeaders": {"contentSecurityPolicy": "default-src 'self'\nSet-Cookie: session=stolen"}}),
            "spec.traffic.securityHeaders.contentSecurityPolicy must be one line of printable ASCII: a header value cannot hold a newline or a control character",
        ),
        (
            "/spec/traffic",
            json!({"securityHeaders": {"hstsMaxAgeSeconds": -1}}),
            "spec.traffic.securityHeaders.hstsMaxAgeSeconds must be between 0 and 63072000 (two years)",
        ),
        (
            "/spec/observability/runbookURL",
            json!("https://wiki.example/{{ $labels.x }}"),
            "spec.observability.runbookURL must be an http(s) URL without spaces, quotes, braces or a fragment",
        ),
        (
            "/spec/observability/monitorLabels",
            json!({"release": "kube-prometheus-stack", "app.kubernetes.io/managed-by": "helm"}),
            "spec.observability.monitorLabels must not set app.kubernetes.io/ or chatbot.dev/ labels: the operator owns them",
        ),
        (
            "/spec/observability/runbookURL",
            json!("javascript:alert(1)"),
            "spec.observability.runbookURL must be an http(s) URL without spaces, quotes, braces or a fragment",
        ),
        (
            "/spec/observability/runbookURL",
            json!("https://wiki.example/runbooks#top"),
            "spec.observability.runbookURL must be an http(s) URL without spaces, quotes, braces or a fragment",
        ),
        (
            "/spec/traffic",
            json!({"idleTimeoutSeconds": 0}),
            "spec.traffic.idleTimeoutSeconds must be between 1 and 86400",
        ),
        (
            "/spec/backup",
            json!({"enabled": true}),
            "spec.backup.schedule is required when spec.backup.enabled is true",
        ),
        (
            "/spec/backup",
            json!({"schedule": "daily at three"}),
            "spec.backup.schedule must be a five-field cron expression such as '0 3 * * *'",
        ),
        (
            "/spec/backup",
            json!({"retentionDays": 0}),
            "spec.backup.retentionDays must be between 1 and 3650",
        ),
        (
            "/spec/backup",
            json!({"keep": 0}),
            "spec.backup.keep must be between 1 and 1000",
        ),
        (
            "/spec/backup",
            json!({"timeoutSeconds": 30}),
            "spec.backup.timeoutSeconds must be between 60 and 86400",
        ),
        (
            "/spec/backup",
            json!({"verifyEvery": 0}),
            "spec.backup.verifyEvery must be between 1 and 100",
        ),
        (
            "/spec/backup",
            json!({"keepReplacedDatabaseDays": -1}),
            "spec.backup.keepReplacedDatabaseDays must be between 0 and 365",
        ),
        (
            "/spec/backup",
            json!({"destination": {}}),
            "spec.backup.destination must set exactly one of s3, pvc",
        ),
        (
            "/spec/observability",
            json!({"logLevel": "verbose"}),
            "spec.observability.logLevel must be one of trace, debug, info, warning, warn, error, critical",
        ),
        (
            "/spec/observability",
            json!({"slo": {"availabilityPercent": 0.0}}),
            "spec.observability.slo.availabilityPercent must be above 0 and at most 100",
        ),
        (
            "/spec/observability",
            json!({"slo": {"errorRatePercent": 200.0}}),
            "spec.observability.slo.errorRatePercent must be between 0 and 100",
        ),
        (
            "/spec/observability",
            json!({"slo": {"p95LatencyMs": 0}}),
            "spec.observability.slo.p95LatencyMs must be positive",
        ),
        (
            "/spec/observability",
            json!({"slo": {"p95TimeToFirstTokenMs": -5}}),
            "spec.observability.slo.p95TimeToFirstTokenMs must be positive",
        ),
        (
            "/spec/observability",
            json!({"uptimeCheck": {"intervalSeconds": 5}}),
            "spec.observability.uptimeCheck.intervalSeconds must be between 10 and 3600",
        ),
        (
            "/spec/cost/model",
            json!({"inputPerMillionUSD": -1.0, "outputPerMillionUSD": 1.0}),
            "spec.cost.model.inputPerMillionUSD must not be negative",
        ),
        (
            "/spec/cost/model",
            json!({"inputPerMillionUSD": 1.0, "outputPerMillionUSD": -1.0}),
            "spec.cost.model.outputPerMillionUSD must not be negative",
        ),
        (
            "/spec/cost/monthlyBudgetUSD",
            json!(-1.0),
            "spec.cost.monthlyBudgetUSD must not be negative",
        ),
        (
            "/spec/cost/usage",
            json!({"activeUsersPerDay": -1, "messagesPerUserPerDay": 1.0, "inputTokensPerMessage": 1, "outputTokensPerMessage": 1}),
            "spec.cost.usage.activeUsersPerDay must not be negative",
        ),
        (
            "/spec/cost/usage",
            json!({"activeUsersPerDay": 1, "messagesPerUserPerDay": -1.0, "inputTokensPerMessage": 1, "outputTokensPerMessage": 1}),
            "spec.cost.usage.messagesPerUserPerDay must not be negative",
        ),
        (
            "/spec/cost/usage",
            json!({"activeUsersPerDay": 1, "messagesPerUserPerDay": 1.0, "inputTokensPerMessage": -1, "outputTokensPerMessage": 1}),
            "spec.cost.usage.inputTokensPerMessage must not be negative",
        ),
        (
            "/spec/cost/usage",
            json!({"activeUsersPerDay": 1, "messagesPerUserPerDay": 1.0, "inputTokensPerMessage": 1, "outputTokensPerMessage": -1}),
            "spec.cost.usage.outputTokensPerMessage must not be negative",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "decision": "Sequential"}}),
            "spec.rollout.abTest.primary is required when decision is Sequential",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "decision": "BestSuccessRate"}}),
            "spec.rollout.abTest.decision must be Sequential or Manual when the test names a primary metric",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "alpha": 0.5}}),
            "spec.rollout.abTest.alpha must be above 0 and at most 0.2",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "Custom", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10, "successes": "sum(x)"}}}),
            "spec.rollout.abTest.primary needs successes and trials queries when metric is Custom",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10, "trials": "sum(x)"}}}),
            "spec.rollout.abTest.primary.successes and trials are for metric Custom only",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 0, "minimumDetectableEffectPercent": 10}}}),
            "spec.rollout.abTest.primary.baselineRatePercent must be between 0 and 100, both excluded",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 0}}}),
            "spec.rollout.abTest.primary.minimumDetectableEffectPercent must be above 0 and at most 1000",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 60, "minimumDetectableEffectPercent": 80}}}),
            "spec.rollout.abTest.primary.minimumDetectableEffectPercent must leave the changed rate between 0 and 100%",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "name": "thumbs up", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}}}),
            "spec.rollout.abTest.primary.name must be a name of letters, digits, _, . and -, starting with a letter",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "guardrails": [{"metric": "ErrorRate", "marginPercent": 0}]}}),
            "spec.rollout.abTest.guardrails[].marginPercent must be above 0 and at most 50",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "guardrails": [{"metric": "SlowFirstToken", "marginPercent": 2}]}}),
            "spec.rollout.abTest.guardrails[].thresholdMs is required for SlowFirstToken",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "guardrails": [{"metric": "SlowFirstToken", "thresholdMs": 0, "marginPercent": 2}]}}),
            "spec.rollout.abTest.guardrails[].thresholdMs must be between 1 and 600000",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "guardrails": [{"metric": "Custom", "bad": "sum(x)", "marginPercent": 2}]}}),
            "spec.rollout.abTest.guardrails[] needs bad and total queries when metric is Custom",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "primary": {"metric": "ThumbsUpRate", "baselineRatePercent": 40, "minimumDetectableEffectPercent": 10}, "guardrails": [{"metric": "ErrorRate", "name": "5xx rate", "marginPercent": 2}]}}),
            "spec.rollout.abTest.guardrails[].name must be a name of letters, digits, _, . and -, starting with a letter",
        ),
        (
            "/spec/cost/usage",
            json!({"activeUsersPerDay": 1, "messagesPerUserPerDay": 1.0, "inputTokensPerMessage": 1, "outputTokensPerMessage": 1, "messagesPerConversation": 0}),
            "spec.cost.usage.messagesPerConversation must be above 0 and at most 10000",
        ),
        (
            "/spec/maintenance",
            json!({"contacts": [{"name": "AASRA", "phone": "call 022 2754 6669"}]}),
            "spec.maintenance.contacts[].phone must be a phone number: digits, spaces, dashes, dots or brackets, and an optional leading +",
        ),
        (
            "/spec/maintenance",
            json!({"contacts": [{"name": "Help", "url": "javascript:alert(1)"}]}),
            "spec.maintenance.contacts[].url must be an https, http or mailto link without spaces",
        ),
        (
            "/spec/maintenance",
            json!({"links": [{"text": "Status", "url": "data:text/html,hi"}]}),
            "spec.maintenance.links[].url must be an https, http or mailto link without spaces",
        ),
        (
            "/spec/maintenance",
            json!({"retryAfterSeconds": 0}),
            "spec.maintenance.retryAfterSeconds must be between 1 and 86400",
        ),
        (
            "/spec/observability/sentryDsnSecretRef",
            json!({"name": "mindmitra-sentry\nX-Injected: 1", "key": "dsn"}),
            "must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/observability/sentryDsnSecretRef",
            json!({"name": "mindmitra-sentry", "key": "../dsn"}),
            "must be a Secret key: letters, digits, -, _ and .",
        ),
        (
            "/spec/secrets",
            json!({"required": [{"env": "OPENAI_API_KEY", "secretName": "Mindmitra_LLM", "key": "api-key"}]}),
            "spec.secrets.required[].secretName must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/secrets",
            json!({"required": [{"env": "OPENAI_API_KEY", "secretName": "mindmitra-llm", "key": "api key"}]}),
            "spec.secrets.required[].key must be a Secret key: letters, digits, -, _ and .",
        ),
        (
            "/spec/backup/destination/s3/bucket",
            json!("MindMitra_Backups"),
            "spec.backup.destination.s3.bucket must be an S3 bucket name: 3 to 63 lower-case letters, digits, . and -",
        ),
        (
            "/spec/backup/destination/s3/prefix",
            json!("prod/../other-team/"),
            "spec.backup.destination.s3.prefix must be folders of letters, digits, ., _ and - separated by single slashes, none starting with . or /",
        ),
        (
            "/spec/backup/destination/s3/region",
            json!("Mumbai"),
            "spec.backup.destination.s3.region must be a region name such as us-east-1: lower-case letters, digits and -",
        ),
        (
            "/spec/backup/destination/s3/credentialsSecret",
            json!("backup keys"),
            "spec.backup.destination.s3.credentialsSecret must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/backup/destination",
            json!({"pvc": {"claimName": "../backups"}}),
            "spec.backup.destination.pvc.claimName must name a PersistentVolumeClaim: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/backup/timeZone",
            json!("Asia/Kolkata; rm -rf"),
            "spec.backup.timeZone must be an IANA time zone name such as Asia/Kolkata",
        ),
        (
            "/spec/backup/agentImage",
            json!("ghcr.io/x/agent:1 --privileged"),
            "spec.backup.agentImage must be a container image reference",
        ),
        (
            "/spec/observability/uptimeCheck/path",
            json!("@169.254.169.254/"),
            "spec.observability.uptimeCheck.path must be a path starting with a single /, in URL characters",
        ),
        (
            "/spec/observability/monitorLabels",
            json!({"release": "kube prometheus"}),
            "spec.observability.monitorLabels values must be label values: at most 63 letters, digits, -, _ and ., starting and ending with a letter or digit",
        ),
        (
            "/spec/database/engineVersion",
            json!("16 beta"),
            "spec.database.engineVersion must be a version such as 16 or 16.4",
        ),
        (
            "/spec/cache/engineVersion",
            json!("latest"),
            "spec.cache.engineVersion must be a version such as 7.1",
        ),
        (
            "/spec/database/storageClassName",
            json!("Fast SSD"),
            "spec.database.storageClassName must name a StorageClass: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/database/subnetGroupName",
            json!("-private\n"),
            "spec.database.subnetGroupName must be a DB subnet group name: letters, digits, spaces, ., _ and -",
        ),
        (
            "/spec/database/securityGroupIds",
            json!(["sg-0123456789abcdef0", "default"]),
            "spec.database.securityGroupIds[] must each be a security group id such as sg-0123456789abcdef0",
        ),
        (
            "/spec/maintenance/image",
            json!("ghcr.io/x/page:1\n"),
            "spec.maintenance.image must be a container image reference",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50, "image": "ghcr.io/x/app:2 "}]}}),
            "spec.rollout.abTest.variants[].image must be a container image reference",
        ),
        (
            "/spec/rollout",
            json!({"strategy": "ABTest", "abTest": {"variants": [{"name": "a", "weight": 50, "baseline": true}, {"name": "b", "weight": 50}], "compare": [{"name": "p95 latency", "query": "1"}]}}),
            "spec.rollout.abTest.compare[].name must be a name of letters, digits, _, . and -, starting with a letter",
        ),
        (
            "/spec/rollout",
            json!({"analysis": {"metrics": [{"name": "error rate", "query": "1", "max": 1.0}]}}),
            "spec.rollout.analysis.metrics[].name must be a name of letters, digits, _, . and -, starting with a letter",
        ),
        (
            "/spec/traffic/gateway",
            json!({"name": "public gateway"}),
            "spec.traffic.gateway.name must name a Gateway: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/traffic/gateway",
            json!({"name": "public", "namespace": "Gateways"}),
            "spec.traffic.gateway.namespace must name a namespace: lower-case letters, digits and -",
        ),
        (
            "/spec/traffic/gateway",
            json!({"name": "public", "sectionName": "https "}),
            "spec.traffic.gateway.sectionName must name a listener: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/traffic/tls",
            json!({"clusterIssuer": "LetsEncrypt", "secretName": "mindmitra-tls"}),
            "spec.traffic.tls.clusterIssuer must name a ClusterIssuer: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/traffic/tls",
            json!({"clusterIssuer": "letsencrypt", "secretName": "mindmitra tls"}),
            "spec.traffic.tls.secretName must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
        (
            "/spec/traffic/ingressClassName",
            json!("nginx\r\n"),
            "spec.traffic.ingressClassName must name an IngressClass: lower-case letters, digits, - and ., as Kubernetes names are",
        ),
    ]
}

pub fn action() -> Value {
    json!({
        "apiVersion": "chatbot.dev/v1alpha1",
        "kind": "ChatbotAction",
        "metadata": {"name": "rollback-1", "namespace": "mindmitra"},
        "spec": {"deployment": "mindmitra", "action": "Rollback", "revision": 3, "reason": "p95 doubled after 1.4.2"}
    })
}

pub fn action_cases() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "/spec/deployment",
            json!(""),
            "spec.deployment must name a ChatbotDeployment",
        ),
        ("/spec/reason", json!(""), "spec.reason must say why"),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Restore", "backup": "../other-team/20261201-020000-r7", "reason": "bad migration"}),
            "spec.backup must be a backup id: letters, digits, ., _ and -, not starting with .",
        ),
        (
            "/spec/revision",
            json!(0),
            "spec.revision must be at least 1",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Restore", "reason": "bad migration"}),
            "a Restore names exactly one of spec.backup and spec.revision",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Restore", "backup": "20261201-020000-r7", "revision": 7, "reason": "bad migration"}),
            "a Restore names exactly one of spec.backup and spec.revision",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Backup", "backup": "20261201-020000-r7", "reason": "x"}),
            "spec.backup is only allowed when spec.action is Restore",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Maintenance", "reason": "db upgrade"}),
            "a Maintenance action sets spec.maintenance to On or Off",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Pause", "maintenance": "On", "reason": "x"}),
            "spec.maintenance is only allowed when spec.action is Maintenance",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Abort", "variant": "short", "reason": "x"}),
            "spec.variant is only allowed when spec.action is Promote",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Promote", "variant": "Short answers", "reason": "x"}),
            "spec.variant must name a variant: lower-case letters, digits and dashes (at most 31)",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Promote", "revision": 2, "reason": "looks good"}),
            "spec.revision is only allowed when spec.action is Rollback or Restore",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Restore", "revision": 2, "restoreData": true, "reason": "x"}),
            "spec.restoreData is only allowed when spec.action is Rollback",
        ),
        (
            "/spec",
            json!({"deployment": "mindmitra", "action": "Promote", "expectShrink": true, "reason": "x"}),
            "spec.expectShrink is only allowed when spec.action is Backup",
        ),
    ]
}
