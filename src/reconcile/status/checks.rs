//! The conditions that stand on their own: referenced Secrets, capacity,
//! the budget, the edge and monitoring (the decision's, judged by
//! [`spec`]), backups (the backup step's), and the data stores no step
//! looked at. Each is judged from its facts alone; the lifecycle
//! conditions (Ready, Progressing, Degraded) are composed from them in
//! `lifecycle`.

use super::assessment::{Assessment, BackupFacts};
use crate::reconcile::{conditions::Judgements, outcome::Blocker};
use crate::{
    api::condition_types as types,
    capacity::{CapacityCheck, CheckStatus},
    cost::CostReport,
    secrets::MissingSecret,
};

/// `DatabaseReady` and `CacheReady` for a store the data step did not
/// look at, saying why.
pub fn not_checked(
    conditions: &mut Judgements,
    judged: &Judgements,
    blocker: Option<&Blocker>,
    paused: bool,
) {
    for kind in [types::DATABASE_READY, types::CACHE_READY] {
        if judged.has(kind) {
            continue;
        }
        conditions.set_unknown(
            kind,
            "NotChecked",
            match (blocker, paused) {
                (Some(blocker), _) => format!(
                    "the spec is not applied ({}), so the store was not looked at",
                    blocker.reason
                ),
                (None, true) => "spec.paused is true, so the store was not looked at".to_string(),
                (None, false) => {
                    "the spec did not resolve, so the store was not looked at".to_string()
                }
            },
        );
    }
}

/// The conditions the spec's own checks judge: its Secrets, capacity,
/// budget, edge and monitoring.
pub fn spec(facts: &Assessment) -> Judgements {
    let mut conditions = Judgements::default();
    secrets(&mut conditions, &facts.missing_secrets);
    capacity(&mut conditions, facts.capacity.as_deref());
    budget(&mut conditions, facts.cost.as_ref());
    edge(&mut conditions, facts.edge_gaps.as_deref());
    monitoring(&mut conditions, facts.monitoring.as_ref());
    conditions
}

/// `EdgeEnforced`, only when the spec asks something of the edge.
fn edge(conditions: &mut Judgements, gaps: Option<&[String]>) {
    match gaps {
        None => {}
        Some([]) => conditions.set(
            types::EDGE_ENFORCED,
            true,
            "EnforcedAtEdge",
            "the traffic provider sets the security headers, CORS and per-client-IP limits the spec asks for",
        ),
        Some(gaps) => conditions.set(
            types::EDGE_ENFORCED,
            false,
            "NotEnforcedAtEdge",
            gaps.join("; "),
        ),
    }
}

/// `Monitored`, only when the spec asks for monitoring.
fn monitoring(conditions: &mut Judgements, facts: Option<&crate::monitoring::Facts>) {
    match facts {
        None => {}
        Some(facts) if !facts.served => conditions.set(
            types::MONITORED,
            false,
            "PrometheusOperatorMissing",
            "spec.observability asks for a PodMonitor and alerting rules, but this cluster does not serve monitoring.coreos.com/v1 PodMonitor and PrometheusRule: install the Prometheus Operator's CRDs and restart the operator; nothing else is held back",
        ),
        Some(facts) if facts.gaps.is_empty() => conditions.set(
            types::MONITORED,
            true,
            "Monitored",
            "the PodMonitor and the PrometheusRule are applied",
        ),
        Some(facts) => conditions.set(
            types::MONITORED,
            true,
            "MonitoredWithGaps",
            format!(
                "the PodMonitor and the PrometheusRule are applied; {}",
                facts.gaps.join("; ")
            ),
        ),
    }
}

/// `SecretsReady`.
fn secrets(conditions: &mut Judgements, missing: &[MissingSecret]) {
    if missing.is_empty() {
        conditions.set(
            types::SECRETS_READY,
            true,
            "SecretsFound",
            "every referenced Secret key exists",
        );
    } else {
        let list: Vec<String> = missing.iter().map(ToString::to_string).collect();
        conditions.set(
            types::SECRETS_READY,
            false,
            "SecretsMissing",
            format!(
                "missing: {}; running pods are left as they are",
                list.join("; ")
            ),
        );
    }
}

/// `CapacityOK`.
fn capacity(conditions: &mut Judgements, capacity: Option<&[CapacityCheck]>) {
    match capacity {
        None => conditions.set_unknown(
            types::CAPACITY_OK,
            "NotChecked",
            "the spec did not resolve, so capacity was not checked",
        ),
        Some(checks) => {
            let over: Vec<_> = checks
                .iter()
                .filter(|c| c.status == CheckStatus::Exceeded)
                .map(capacity_summary)
                .collect();
            let near: Vec<_> = checks
                .iter()
                .filter(|c| c.status == CheckStatus::Warning)
                .map(capacity_summary)
                .collect();
            if !over.is_empty() {
                conditions.set(
                    types::CAPACITY_OK,
                    false,
                    "CapacityExceeded",
                    over.join("; "),
                );
            } else if !near.is_empty() {
                conditions.set(
                    types::CAPACITY_OK,
                    true,
                    "NearCapacity",
                    format!("at 80% or more: {}", near.join("; ")),
                );
            } else if checks.is_empty() {
                conditions.set(
                    types::CAPACITY_OK,
                    true,
                    "NoChecks",
                    "no data store with a known limit",
                );
            } else {
                let all: Vec<_> = checks.iter().map(capacity_summary).collect();
                conditions.set(types::CAPACITY_OK, true, "WithinCapacity", all.join("; "));
            }
        }
    }
}

/// `WithinBudget`.
fn budget(conditions: &mut Judgements, cost: Option<&CostReport>) {
    match cost {
        Some(cost) => match (cost.budget_usd, cost.within_budget) {
            (Some(budget), Some(false)) => conditions.set(
                types::WITHIN_BUDGET,
                false,
                "OverBudget",
                format!(
                    "estimated ${:.2} per month is over the ${budget:.2} budget",
                    cost.total_usd
                ),
            ),
            (Some(budget), _) => conditions.set(
                types::WITHIN_BUDGET,
                true,
                "WithinBudget",
                format!(
                    "estimated ${:.2} of the ${budget:.2} monthly budget",
                    cost.total_usd
                ),
            ),
            (None, _) => conditions.set(
                types::WITHIN_BUDGET,
                true,
                "NoBudget",
                "spec.cost.monthlyBudgetUSD is not set",
            ),
        },
        None => conditions.set_unknown(
            types::WITHIN_BUDGET,
            "NotEstimated",
            "the spec did not resolve, so the cost was not estimated",
        ),
    }
}

/// `BackupHealthy` and, for scheduled backups, `BackupStale`.
pub fn backups(conditions: &mut Judgements, backups: &BackupFacts) {
    for (type_, verdict) in [
        (types::BACKUP_HEALTHY, Some(&backups.healthy)),
        (types::BACKUP_STALE, backups.stale.as_ref()),
    ] {
        if let Some(verdict) = verdict {
            match verdict.status {
                "True" => conditions.set(type_, true, verdict.reason, verdict.message.clone()),
                "False" => conditions.set(type_, false, verdict.reason, verdict.message.clone()),
                _ => conditions.set_unknown(type_, verdict.reason, verdict.message.clone()),
            }
        }
    }
}

fn capacity_summary(check: &CapacityCheck) -> String {
    format!(
        "{} {} of {} ({}%)",
        check.resource, check.needed, check.limit, check.percent
    )
}
