//! `plan`: what a ChatbotDeployment resolves to, offline. Settings with
//! their origin, capacity checks, warnings and the cost model.

use std::fmt::Write as _;

use serde::Serialize;

use crate::{
    api::{ChatbotDeploymentSpec, StoreMode},
    capacity::{self, CapacityCheck, CheckStatus},
    cost::{self, CostReport},
    environment::{Origin, Resolution},
    names,
};

/// One resolved setting.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setting {
    /// Dotted path in the spec, e.g. `replicas.min`.
    pub path: String,
    /// The value as JSON.
    pub value: serde_json::Value,
    /// Where it came from.
    pub origin: Origin,
}

/// The plan of one ChatbotDeployment.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub name: String,
    pub environment: String,
    pub settings: Vec<Setting>,
    pub capacity: Vec<CapacityCheck>,
    pub warnings: Vec<String>,
    pub cost: CostReport,
    /// Backups: schedule, gate, retention and the storage they take.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<crate::backup::estimate::BackupPlan>,
    /// The alerts the PrometheusRule holds: name, severity, how long it
    /// must hold (and a burn rate's windows).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<String>,
    /// How long the A/B test takes, when it names a primary metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<crate::rollout::ab::length::TestLength>,
    /// What the A/B test's candidate sets over the spec, when it is an
    /// overlay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
}

/// Builds the plan from a resolution.
pub fn plan(name: &str, resolution: &Resolution) -> Plan {
    let spec = &resolution.spec;
    let resolved = serde_json::to_value(spec).unwrap_or_default();
    let settings = resolution
        .origins
        .iter()
        .map(|(path, origin)| Setting {
            path: path.clone(),
            value: resolved
                .pointer(&format!("/{}", path.replace('.', "/")))
                .cloned()
                .unwrap_or_default(),
            origin: origin.clone(),
        })
        .collect();
    let capacity = capacity::checks(spec);
    let cost = cost::estimate(spec);
    let experiment = crate::rollout::ab::length::of(spec);
    let mut warnings = warnings(spec, &capacity, &cost);
    warnings.extend(
        experiment
            .as_ref()
            .and_then(|length| length.warning.clone()),
    );
    Plan {
        name: name.to_string(),
        environment: spec.environment.clone(),
        settings,
        capacity,
        warnings,
        cost,
        backup: crate::backup::estimate::plan(spec),
        alerts: alerts(name, spec),
        experiment,
        candidate: candidate(name, spec),
    }
}

/// The A/B test's candidate overlays in words, one line each: which
/// fields each sets over the spec, and on which image.
fn candidate(name: &str, spec: &ChatbotDeploymentSpec) -> Option<String> {
    let lines: Vec<String> = crate::render::candidates(spec)
        .into_iter()
        .filter(|(_, v)| v.is_overlay())
        .map(|(_, variant)| overlay_line(name, variant))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n  "))
}

/// One candidate overlay in words.
fn overlay_line(name: &str, variant: &crate::api::Variant) -> String {
    let keys = |map: Option<Vec<String>>| map.filter(|k| !k.is_empty()).map(|k| k.join(", "));
    let set: Vec<String> = [
        keys(variant.config.as_ref().map(|c| c.keys().cloned().collect()))
            .map(|k| format!("config {k}")),
        keys(
            variant
                .env
                .as_ref()
                .map(|e| e.iter().map(|v| v.name.clone()).collect()),
        )
        .map(|k| format!("env {k}")),
        variant.env_from.as_ref().map(|_| "envFrom".to_string()),
        variant.args.as_ref().map(|_| "args".to_string()),
        variant.resources.as_ref().map(|_| "resources".to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    let image = match &variant.image {
        Some(image) => format!("on image {image}"),
        None => "on the same image".to_string(),
    };
    let what = if set.is_empty() {
        String::new()
    } else {
        format!(" with {} set over it", set.join("; "))
    };
    format!(
        "{} runs the spec{what} {image}, as its own revision beside the stable one; once promoted, `kubectl chatbot ab {name} --patch` prints the spec change to commit",
        variant.name
    )
}

/// One line per alert of the spec's PrometheusRule.
fn alerts(name: &str, spec: &ChatbotDeploymentSpec) -> Vec<String> {
    if !crate::monitoring::alerted(spec) {
        return Vec::new();
    }
    let inputs = crate::monitoring::alert::Inputs::from_spec("", name, spec);
    let generated = crate::monitoring::rules::generate(&inputs);
    generated
        .groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|rule| {
            let alert = rule.alert.as_deref()?;
            let windows = match (
                rule.labels.get("long_window"),
                rule.labels.get("short_window"),
            ) {
                (Some(long), Some(short)) => format!(" over {long} and {short}"),
                _ => String::new(),
            };
            Some(format!(
                "{alert} ({}{windows}, for {})",
                rule.labels.get("severity").map_or("", String::as_str),
                rule.for_.as_deref().unwrap_or("0m")
            ))
        })
        .collect()
}

/// The response headers ingress-nginx sets for the spec, comma-separated;
/// `None` with another provider or no header.
fn nginx_response_headers(spec: &ChatbotDeploymentSpec) -> Option<String> {
    let traffic = spec.traffic.as_ref()?;
    if traffic.provider != Some(crate::api::TrafficProvider::IngressNginx) {
        return None;
    }
    let edge = crate::rollout::traffic::Edge::from_spec(Some(traffic), None);
    let names: Vec<&str> = edge
        .response_headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    (!names.is_empty()).then(|| names.join(","))
}

/// What a careful reviewer would point out.
pub fn warnings(
    spec: &ChatbotDeploymentSpec,
    capacity: &[CapacityCheck],
    cost: &CostReport,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let production = spec.environment == "production";
    let tiers = spec
        .rate_limits
        .as_ref()
        .and_then(|r| r.tiers.as_ref())
        .map_or(0, Vec::len);
    if tiers == 0 {
        warnings.push(
            "no rate limit: spec.rateLimits.tiers is empty, so one user's LLM spend is unbounded"
                .into(),
        );
    }
    let backups = spec
        .backup
        .as_ref()
        .and_then(|b| b.enabled)
        .unwrap_or(false);
    let has_database = spec
        .database
        .as_ref()
        .and_then(|d| d.mode)
        .is_some_and(|mode| mode != StoreMode::None);
    if production && has_database && !backups {
        warnings.push("no backup in production: spec.backup.enabled is false".into());
    }
    if let Some((_, why)) = crate::backup::Settings::of(spec)
        .unavailable
        .filter(|_| backups)
    {
        warnings.push(format!("backups are asked for but cannot run: {why}"));
    }
    let (min, _) = spec.replicas.clone().unwrap_or_default().bounds();
    if production && min < 2 {
        warnings.push(format!(
            "single replica in production: spec.replicas.min is {min}; a node drain or crash takes the service down"
        ));
    }
    match names::image_version(&spec.image) {
        Some(tag) if tag == "latest" => warnings.push(
            "spec.image uses the latest tag: revisions cannot be told apart or rolled back".into(),
        ),
        None if !spec.image.contains('@') => warnings.push(
            "spec.image has no tag (means latest): revisions cannot be told apart or rolled back"
                .into(),
        ),
        _ => {}
    }
    for var in spec.env.iter().flatten() {
        let upper = var.name.to_ascii_uppercase();
        let secret_like = ["KEY", "SECRET", "TOKEN", "PASSWORD", "DSN"]
            .iter()
            .any(|word| upper.contains(word));
        if secret_like && var.value.is_some() {
            warnings.push(format!(
                "spec.env sets {} as a literal value: secrets belong in a Secret referenced from spec.secrets.required",
                var.name
            ));
        }
    }
    for check in capacity {
        match check.status {
            CheckStatus::Ok => {}
            CheckStatus::Warning => warnings.push(format!(
                "{} at {:.0}% of the limit ({} of {}): less than 20% headroom",
                check.resource, check.percent, check.needed, check.limit
            )),
            CheckStatus::Exceeded => warnings.push(format!(
                "{} exceed the limit: {} needed, {} available ({:.0}%)",
                check.resource, check.needed, check.limit, check.percent
            )),
        }
    }
    warnings.extend(crate::render::edge_gaps(spec).unwrap_or_default());
    if crate::monitoring::alerted(spec) {
        let inputs = crate::monitoring::alert::Inputs::from_spec("", "", spec);
        warnings.extend(crate::monitoring::rules::generate(&inputs).notes);
    }
    if let Some(headers) = nginx_response_headers(spec) {
        warnings.push(format!(
            "ingress-nginx 1.12 and later answer 503 on every path of this host unless the controller's ConfigMap allows the response headers: global-allowed-response-headers must list {headers}"
        ));
    }
    if cost.within_budget == Some(false) {
        warnings.push(format!(
            "estimated ${:.2}/month is over the budget of ${:.2}/month",
            cost.total_usd,
            cost.budget_usd.unwrap_or_default()
        ));
    }
    warnings
}

/// The plan as a person reads it.
pub fn to_text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ChatbotDeployment {} (environment {})",
        plan.name, plan.environment
    );
    let _ = writeln!(out, "\nSettings (origin):");
    for setting in &plan.settings {
        let _ = writeln!(
            out,
            "  {:<44} {:<28} ({})",
            setting.path,
            compact(&setting.value),
            setting.origin
        );
    }
    write_capacity(&mut out, &plan.capacity);
    write_cost(&mut out, &plan.cost);
    if let Some(backup) = &plan.backup {
        let _ = writeln!(out, "\nBackups:");
        for line in &backup.lines {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(out, "  storage: {}", backup.arithmetic);
    }
    if let Some(candidate) = &plan.candidate {
        let heading = if candidate.contains('\n') {
            "A/B candidates"
        } else {
            "A/B candidate"
        };
        let _ = writeln!(out, "\n{heading}:\n  {candidate}");
    }
    if let Some(experiment) = &plan.experiment {
        let _ = writeln!(out, "\nA/B test length:");
        for line in &experiment.lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !plan.alerts.is_empty() {
        let _ = writeln!(out, "\nAlerts:");
        for alert in &plan.alerts {
            let _ = writeln!(out, "  {alert}");
        }
    }
    let _ = writeln!(out, "\nWarnings:");
    if plan.warnings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for warning in &plan.warnings {
        let _ = writeln!(out, "  - {warning}");
    }
    out
}

/// The capacity checks, each with its arithmetic.
fn write_capacity(out: &mut String, capacity: &[CapacityCheck]) {
    let _ = writeln!(out, "\nCapacity:");
    if capacity.is_empty() {
        let _ = writeln!(
            out,
            "  nothing to check (no in-cluster or known managed store)"
        );
    }
    for check in capacity {
        let _ = writeln!(
            out,
            "  {}: {} of {} ({:.0}%) {:?}",
            check.resource, check.needed, check.limit, check.percent, check.status
        );
        for line in &check.arithmetic {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// The monthly cost: the LLM, the infrastructure, the total against the
/// budget.
fn write_cost(out: &mut String, cost: &CostReport) {
    let _ = writeln!(out, "\nCost per month (USD):");
    match &cost.llm {
        Some(llm) => {
            let _ = writeln!(out, "  LLM ${:.2}", llm.total_usd);
            for line in &llm.arithmetic {
                let _ = writeln!(out, "    {line}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "  LLM: no spec.cost.model and spec.cost.usage, not estimated"
            );
        }
    }
    let _ = writeln!(out, "  infrastructure ${:.2}", cost.infra_usd);
    for item in &cost.infra {
        let _ = writeln!(out, "    {}: {}", item.item, item.arithmetic);
    }
    if !cost.unpriced.is_empty() {
        let _ = writeln!(out, "    not priced: {}", cost.unpriced.join(", "));
    }
    let _ = write!(out, "  total ${:.2}", cost.total_usd);
    match (cost.budget_usd, cost.within_budget) {
        (Some(budget), Some(true)) => {
            let _ = writeln!(out, " — within the ${budget:.2} budget");
        }
        (Some(budget), _) => {
            let _ = writeln!(out, " — OVER the ${budget:.2} budget");
        }
        _ => {
            let _ = writeln!(out, " — no budget set");
        }
    }
    write_growth(out, cost);
}

/// The worst-case user, and the cost as the users grow.
fn write_growth(out: &mut String, cost: &CostReport) {
    match &cost.worst_case_user {
        Some(worst) => {
            let _ = writeln!(
                out,
                "  worst-case single user (tier {}): ${:.2}\n    {}",
                worst.tier, worst.monthly_usd, worst.arithmetic
            );
        }
        None if cost.llm.is_some() => {
            let _ = writeln!(
                out,
                "  worst-case single user: unbounded (no per-user rate limit)"
            );
        }
        None => {}
    }
    for step in &cost.growth {
        let budget = match step.within_budget {
            Some(true) => " (within budget)",
            Some(false) => " (OVER budget)",
            None => "",
        };
        let _ = writeln!(
            out,
            "  at {} users/day: LLM ${:.2}, total ${:.2}{budget}",
            step.active_users_per_day, step.llm_usd, step.total_usd
        );
    }
}

fn compact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
