//! The series each alert is tested with: for every alert a case that must
//! fire it and one that must not, built from the spec's own thresholds.

use chatbot_operator::api::ChatbotDeploymentSpec;

/// What a test case feeds Prometheus and when it looks.
pub struct Case {
    pub series: Vec<(String, String)>,
    /// Minutes after the first sample.
    pub at_minutes: u32,
}

/// The series of this deployment's app: `namespace` and instance.
pub struct Series {
    pub app: String,
    pub operator: String,
}

impl Series {
    fn app(&self, metric: &str, extra: &str) -> String {
        format!("{metric}{{{}{extra}}}", self.app)
    }
    fn operator(&self, metric: &str, extra: &str) -> String {
        format!("{metric}{{{}{extra}}}", self.operator)
    }

    /// `total` requests a minute, `errors` of them 5xx, for `minutes`, then
    /// `quiet_minutes` with requests but no errors.
    pub fn requests(
        &self,
        total: u64,
        errors: u64,
        minutes: u32,
        quiet_minutes: u32,
    ) -> Vec<(String, String)> {
        let ok = total - errors;
        let (mut ok_values, mut error_values) =
            (format!("0+{ok}x{minutes}"), format!("0+{errors}x{minutes}"));
        if quiet_minutes > 0 {
            let minutes = u64::from(minutes);
            ok_values.push_str(&format!(
                " {}+{total}x{}",
                ok * minutes + total,
                quiet_minutes - 1
            ));
            error_values.push_str(&format!(" {}+0x{}", errors * minutes, quiet_minutes - 1));
        }
        vec![
            (self.app("http_requests_total", r#",code="200""#), ok_values),
            (
                self.app("http_requests_total", r#",code="503""#),
                error_values,
            ),
        ]
    }

    /// A histogram whose every observation lies in `(low, high]` seconds,
    /// 100 a minute, with buckets around `threshold`.
    fn histogram(
        &self,
        metric: &str,
        threshold: f64,
        low: f64,
        minutes: u32,
    ) -> Vec<(String, String)> {
        let bounds = [threshold / 2.0, threshold, threshold * 2.0, threshold * 4.0];
        let mut series: Vec<(String, String)> = bounds
            .iter()
            .map(|le| {
                let rate = if *le > low { 100 } else { 0 };
                (
                    self.app(&format!("{metric}_bucket"), &format!(r#",le="{le}""#)),
                    format!("0+{rate}x{minutes}"),
                )
            })
            .collect();
        series.push((
            self.app(&format!("{metric}_bucket"), r#",le="+Inf""#),
            format!("0+100x{minutes}"),
        ));
        series
    }
}

/// The operator's alerts: the condition each fires on, the status and
/// reason that fire it and one that must not, and how long the series is
/// held (past the alert's `for`).
/// A condition's status and reason.
type Held = (&'static str, &'static str);

const OPERATOR_CASES: [(&str, &str, Held, Held, u32); 6] = [
    (
        "ChatbotRolledBack",
        "Degraded",
        ("True", "RolledBack"),
        ("False", "Healthy"),
        5,
    ),
    (
        "ChatbotBackupFailed",
        "BackupHealthy",
        ("False", "BackupFailed"),
        ("True", "BackupSucceeded"),
        20,
    ),
    (
        "ChatbotBackupStale",
        "BackupStale",
        ("True", "NoRecentBackup"),
        ("False", "Fresh"),
        5,
    ),
    (
        "ChatbotSecretsMissing",
        "SecretsReady",
        ("False", "SecretsMissing"),
        ("True", "SecretsFound"),
        10,
    ),
    (
        "ChatbotDatabaseNotReady",
        "DatabaseReady",
        ("False", "Creating"),
        ("True", "Available"),
        15,
    ),
    (
        "ChatbotCacheNotReady",
        "CacheReady",
        ("False", "Creating"),
        ("True", "Available"),
        15,
    ),
];

/// The firing and the quiet case of `alert`, from the spec's own numbers.
pub fn cases(alert: &str, spec: &ChatbotDeploymentSpec, s: &Series) -> (Case, Case) {
    let observability = spec.observability.clone().unwrap_or_default();
    let slo = observability.slo.unwrap_or_default();
    let thresholds = observability.alerts.unwrap_or_default();
    let case = |series, at_minutes| Case { series, at_minutes };
    let condition = |condition: &str, status: &str, reason: &str| {
        s.operator(
            "chatbot_operator_condition",
            &format!(r#",condition="{condition}",status="{status}",reason="{reason}""#),
        )
    };
    if let Some(&(_, kind, fires, quiet, minutes)) =
        OPERATOR_CASES.iter().find(|(name, ..)| *name == alert)
    {
        let held =
            |(status, reason)| vec![(condition(kind, status, reason), format!("1x{minutes}"))];
        return (case(held(fires), minutes), case(held(quiet), minutes));
    }
    match alert {
        "ChatbotErrorBudgetBurn" => {
            // The stricter budget of the availability and error objectives.
            let budget = [
                slo.availability_percent.map(|a| (100.0 - a) / 100.0),
                slo.error_rate_percent.map(|e| e / 100.0),
            ]
            .into_iter()
            .flatten()
            .fold(1.0_f64, f64::min);
            let errors = |share: f64| (share * 10_000.0).ceil() as u64;
            (
                case(s.requests(10_000, errors(20.0 * budget), 90, 0), 90),
                case(s.requests(10_000, errors(budget / 2.0), 90, 0), 90),
            )
        }
        "ChatbotDown" => (
            case(
                vec![(
                    s.operator("chatbot_operator_ready_replicas", ""),
                    "2x5 0x10".into(),
                )],
                15,
            ),
            case(
                vec![(
                    s.operator("chatbot_operator_ready_replicas", ""),
                    "2x5 1x10".into(),
                )],
                15,
            ),
        ),
        "ChatbotMetricsMissing" => (
            case(vec![(s.app("up", r#",pod="a""#), "0x20".into())], 20),
            case(vec![(s.app("up", r#",pod="a""#), "0x10 1x10".into())], 20),
        ),
        "ChatbotLatencyObjectiveMissed" | "ChatbotLatencyHigh" => {
            let ms = if alert == "ChatbotLatencyHigh" {
                thresholds.p95_latency_ms
            } else {
                slo.p95_latency_ms
            };
            let t = ms.expect("a latency threshold") as f64 / 1000.0;
            let metric = "http_request_duration_seconds";
            (
                case(s.histogram(metric, t, t * 2.0, 30), 30),
                case(s.histogram(metric, t, 0.0, 30), 30),
            )
        }
        "ChatbotTimeToFirstTokenObjectiveMissed" => {
            let t = slo.p95_time_to_first_token_ms.expect("a TTFT objective") as f64 / 1000.0;
            let metric = "chatbot_time_to_first_token_seconds";
            (
                case(s.histogram(metric, t, t * 2.0, 30), 30),
                case(s.histogram(metric, t, 0.0, 30), 30),
            )
        }
        "ChatbotErrorRateHigh" => {
            let p = thresholds.error_rate_percent.expect("an error rate") / 100.0;
            (
                case(
                    s.requests(10_000, (p * 2.0 * 10_000.0).ceil() as u64, 20, 0),
                    20,
                ),
                case(
                    s.requests(10_000, (p / 2.0 * 10_000.0).floor() as u64, 20, 0),
                    20,
                ),
            )
        }
        "ChatbotAvailabilityLow" => {
            let failing = (100.0 - thresholds.availability_percent.expect("availability")) / 100.0;
            (
                case(
                    s.requests(10_000, (failing * 2.0 * 10_000.0).ceil() as u64, 20, 0),
                    20,
                ),
                case(
                    s.requests(10_000, (failing / 2.0 * 10_000.0).floor() as u64, 20, 0),
                    20,
                ),
            )
        }
        "ChatbotDatabaseConnectionsHigh" => {
            let (limit, _) = chatbot_operator::capacity::connection_limit(spec).expect("a limit");
            let share = thresholds.db_connections_percent.expect("a percent") / 100.0;
            let per_pod = |total: f64| format!("{}x20", (total / 2.0).round());
            let pods = |total: f64| {
                ["a", "b"]
                    .map(|pod| {
                        (
                            s.app("chatbot_db_connections", &format!(r#",pod="{pod}""#)),
                            per_pod(total),
                        )
                    })
                    .to_vec()
            };
            (
                case(pods(limit * share + 4.0), 20),
                case(pods(limit * share - 4.0), 20),
            )
        }
        "ChatbotCacheMemoryHigh" => {
            let (mib, _) = chatbot_operator::capacity::cache_memory_limit(spec).expect("a size");
            let share = thresholds.cache_memory_percent.expect("a percent") / 100.0;
            let used = |fraction: f64| {
                vec![(
                    s.app("chatbot_cache_memory_used_bytes", r#",pod="a""#),
                    format!("{}x20", (mib * 1024.0 * 1024.0 * fraction).round()),
                )]
            };
            (case(used(share + 0.05), 20), case(used(share - 0.05), 20))
        }
        "ChatbotLLMSpendHigh" => {
            let usd = thresholds.llm_monthly_cost_usd.expect("a spend threshold");
            let model = spec.cost.clone().and_then(|c| c.model).expect("a model");
            // Input tokens a minute that cost `monthly` dollars over 30 days.
            let per_minute =
                |monthly: f64| monthly / (30.0 * 24.0 * 60.0) / model.input_per_million_usd * 1e6;
            let tokens = |monthly: f64, round: fn(f64) -> f64| {
                vec![(
                    s.app("chatbot_llm_tokens_total", r#",type="input""#),
                    format!("0+{}x1600", round(per_minute(monthly))),
                )]
            };
            // The projection is the last day's rate: a day of tokens, and
            // the hour the alert waits.
            (
                case(tokens(usd * 1.1, f64::ceil), 1560),
                case(tokens(usd * 0.9, f64::floor), 1560),
            )
        }
        "ChatbotOperatorMetricsMissing" => (
            case(
                vec![(
                    s.operator("chatbot_operator_ready_replicas", ""),
                    "2x30".into(),
                )],
                20,
            ),
            case(
                vec![(condition("Ready", "True", "Ready"), "1x30".into())],
                20,
            ),
        ),
        other => panic!("no test case for the alert {other}: add one"),
    }
}
