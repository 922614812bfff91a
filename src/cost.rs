//! The cost model, pure: LLM spend from expected usage and token prices,
//! infrastructure from the embedded price table, the worst case of one user
//! who spends the per-user rate limit all month, and the budget check.
//! Every figure comes with the arithmetic that produced it.

use serde::Serialize;

use crate::{
    api::{ChatbotDeploymentSpec, RateLimitTier, StoreMode},
    prices,
};

/// Days in a month, for usage figures given per day.
pub const DAYS_PER_MONTH: f64 = 30.0;

/// Money is reported in whole cents.
pub fn cents(usd: f64) -> f64 {
    // `+ 0.0` turns -0.0 (the sum of no items) into 0.0, which status and
    // `plan` would otherwise print as "-0".
    (usd * 100.0).round() / 100.0 + 0.0
}

/// LLM spend for one usage level.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LlmCost {
    pub active_users_per_day: i64,
    pub messages_per_month: f64,
    pub input_tokens_per_month: f64,
    pub output_tokens_per_month: f64,
    pub input_usd: f64,
    pub output_usd: f64,
    pub total_usd: f64,
    /// How the figures were computed.
    pub arithmetic: Vec<String>,
}

/// One priced piece of infrastructure.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InfraItem {
    pub item: String,
    pub monthly_usd: f64,
    pub arithmetic: String,
}

/// The month's cost of a user who sends as much as the rate limit allows.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorstCaseUser {
    pub tier: String,
    pub messages_per_hour: i64,
    pub messages_per_month: f64,
    pub monthly_usd: f64,
    pub arithmetic: String,
}

/// Projection at another active-user count.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GrowthStep {
    pub active_users_per_day: i64,
    pub llm_usd: f64,
    pub total_usd: f64,
    pub within_budget: Option<bool>,
}

/// The whole cost report.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    /// `None` when the spec gives no prices or usage.
    pub llm: Option<LlmCost>,
    pub infra: Vec<InfraItem>,
    /// Stores and compute not in the price table.
    pub unpriced: Vec<String>,
    pub infra_usd: f64,
    pub total_usd: f64,
    pub budget_usd: Option<f64>,
    pub within_budget: Option<bool>,
    /// `None` with prices but no per-user limit: the worst case is unbounded.
    pub worst_case_user: Option<WorstCaseUser>,
    pub growth: Vec<GrowthStep>,
}

fn llm_cost(spec: &ChatbotDeploymentSpec, active_users: i64) -> Option<LlmCost> {
    let cost = spec.cost.as_ref()?;
    let (model, usage) = (cost.model.as_ref()?, cost.usage.as_ref()?);
    let messages = active_users as f64 * usage.messages_per_user_per_day * DAYS_PER_MONTH;
    let input_tokens = messages * usage.input_tokens_per_message as f64;
    let output_tokens = messages * usage.output_tokens_per_message as f64;
    let input_usd = cents(input_tokens / 1e6 * model.input_per_million_usd);
    let output_usd = cents(output_tokens / 1e6 * model.output_per_million_usd);
    Some(LlmCost {
        active_users_per_day: active_users,
        messages_per_month: messages,
        input_tokens_per_month: input_tokens,
        output_tokens_per_month: output_tokens,
        input_usd,
        output_usd,
        total_usd: cents(input_usd + output_usd),
        arithmetic: vec![
            format!(
                "messages/month = {active_users} users/day × {} messages/user/day × {DAYS_PER_MONTH} days = {messages}",
                usage.messages_per_user_per_day
            ),
            format!(
                "input  = {messages} × {} tokens = {input_tokens} tokens × ${}/1M = ${input_usd:.2}",
                usage.input_tokens_per_message, model.input_per_million_usd
            ),
            format!(
                "output = {messages} × {} tokens = {output_tokens} tokens × ${}/1M = ${output_usd:.2}",
                usage.output_tokens_per_message, model.output_per_million_usd
            ),
        ],
    })
}

/// Priced infrastructure and what could not be priced.
fn infra(spec: &ChatbotDeploymentSpec) -> (Vec<InfraItem>, Vec<String>) {
    let mut items = Vec::new();
    let mut unpriced = vec!["app pods (cluster compute)".to_string()];
    if let Some(database) = &spec.database {
        match database.mode.unwrap_or_default() {
            StoreMode::Managed => {
                let class_name = database.instance_class.clone().unwrap_or_default();
                let zones = if database.multi_az.unwrap_or(false) {
                    2.0
                } else {
                    1.0
                };
                match prices::find(prices::RDS_POSTGRES, &class_name) {
                    Some(class) => {
                        let instance = cents(class.hourly_usd * prices::HOURS_PER_MONTH * zones);
                        items.push(InfraItem {
                            item: format!("RDS {class_name}"),
                            monthly_usd: instance,
                            arithmetic: format!(
                                "${}/h × {} h × {zones} AZ = ${instance:.2}",
                                class.hourly_usd,
                                prices::HOURS_PER_MONTH
                            ),
                        });
                    }
                    None => unpriced.push(format!("RDS {class_name} (not in the price table)")),
                }
                let storage_gib = f64::from(database.storage_gib.unwrap_or(20));
                let storage = cents(storage_gib * prices::RDS_STORAGE_GIB_MONTH_USD * zones);
                items.push(InfraItem {
                    item: "RDS storage".into(),
                    monthly_usd: storage,
                    arithmetic: format!(
                        "{storage_gib} GiB × ${}/GiB-month × {zones} AZ = ${storage:.2}",
                        prices::RDS_STORAGE_GIB_MONTH_USD
                    ),
                });
            }
            StoreMode::InCluster => unpriced.push("in-cluster Postgres".into()),
            StoreMode::External => unpriced.push("external Postgres".into()),
            StoreMode::None => {}
        }
    }
    if let Some(cache) = &spec.cache {
        match cache.mode.unwrap_or_default() {
            StoreMode::Managed => {
                let node_type = cache.node_type.clone().unwrap_or_default();
                let nodes = 1 + cache.replicas.unwrap_or(0);
                match prices::find(prices::ELASTICACHE_REDIS, &node_type) {
                    Some(class) => {
                        let monthly =
                            cents(class.hourly_usd * prices::HOURS_PER_MONTH * f64::from(nodes));
                        items.push(InfraItem {
                            item: format!("ElastiCache {node_type}"),
                            monthly_usd: monthly,
                            arithmetic: format!(
                                "${}/h × {} h × {nodes} nodes = ${monthly:.2}",
                                class.hourly_usd,
                                prices::HOURS_PER_MONTH
                            ),
                        });
                    }
                    None => {
                        unpriced.push(format!("ElastiCache {node_type} (not in the price table)"))
                    }
                }
            }
            StoreMode::InCluster => unpriced.push("in-cluster Redis".into()),
            StoreMode::External => unpriced.push("external Redis".into()),
            StoreMode::None => {}
        }
    }
    (items, unpriced)
}

/// Messages per hour a tier allows: the tighter of its hourly limit and
/// sixty times its per-minute limit.
fn hourly_limit(tier: &RateLimitTier) -> Option<i64> {
    let from_minutes = tier.requests_per_minute.map(|m| m * 60);
    match (tier.requests_per_hour, from_minutes) {
        (Some(hour), Some(minutes)) => Some(hour.min(minutes)),
        (hour, minutes) => hour.or(minutes),
    }
}

fn worst_case_user(spec: &ChatbotDeploymentSpec) -> Option<WorstCaseUser> {
    let cost = spec.cost.as_ref()?;
    let (model, usage) = (cost.model.as_ref()?, cost.usage.as_ref()?);
    let tiers = spec.rate_limits.as_ref()?.tiers.as_ref()?;
    let (tier, per_hour) = tiers
        .iter()
        .filter_map(|tier| Some((tier, hourly_limit(tier)?)))
        .max_by_key(|(_, per_hour)| *per_hour)?;
    let messages = per_hour as f64 * 24.0 * DAYS_PER_MONTH;
    let per_message_usd = (usage.input_tokens_per_message as f64 * model.input_per_million_usd
        + usage.output_tokens_per_message as f64 * model.output_per_million_usd)
        / 1e6;
    let monthly_usd = cents(messages * per_message_usd);
    Some(WorstCaseUser {
        tier: tier.name.clone(),
        messages_per_hour: per_hour,
        messages_per_month: messages,
        monthly_usd,
        arithmetic: format!(
            "{per_hour} messages/h × 24 h × {DAYS_PER_MONTH} days = {messages} messages × ({} in × ${} + {} out × ${})/1M = ${monthly_usd:.2}",
            usage.input_tokens_per_message,
            model.input_per_million_usd,
            usage.output_tokens_per_message,
            model.output_per_million_usd
        ),
    })
}

/// The cost report of a resolved spec.
pub fn estimate(spec: &ChatbotDeploymentSpec) -> CostReport {
    let usage_users = spec
        .cost
        .as_ref()
        .and_then(|c| c.usage.as_ref())
        .map(|u| u.active_users_per_day)
        .unwrap_or(0);
    let llm = llm_cost(spec, usage_users);
    let (infra, unpriced) = infra(spec);
    let infra_usd = cents(infra.iter().map(|item| item.monthly_usd).sum());
    let total_usd = cents(infra_usd + llm.as_ref().map_or(0.0, |l| l.total_usd));
    let budget_usd = spec.cost.as_ref().and_then(|c| c.monthly_budget_usd);
    let within = |total: f64| budget_usd.map(|budget| total <= budget);
    let growth = spec
        .cost
        .as_ref()
        .and_then(|c| c.growth_steps.clone())
        .unwrap_or_default()
        .into_iter()
        .filter_map(|users| {
            let llm = llm_cost(spec, users)?;
            let total = cents(llm.total_usd + infra_usd);
            Some(GrowthStep {
                active_users_per_day: users,
                llm_usd: llm.total_usd,
                total_usd: total,
                within_budget: within(total),
            })
        })
        .collect();
    CostReport {
        llm,
        infra,
        unpriced,
        infra_usd,
        total_usd,
        budget_usd,
        within_budget: within(total_usd),
        worst_case_user: worst_case_user(spec),
        growth,
    }
}
