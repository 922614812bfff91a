//! The conditions that stand on their own: referenced Secrets, capacity,
//! the budget, the edge, monitoring, backups and the data stores. Each is
//! set from its facts alone; the lifecycle conditions (Ready, Progressing,
//! Degraded) are composed from them in `lifecycle`.

use crate::reconcile::{conditions::ConditionSet, data::facts::StoreFacts, outcome::Blocker};
use crate::{
    api::{BackupsStatus, condition_types as types},
    backup::Verdict,
    capacity::{CapacityCheck, CheckStatus},
    cost::CostReport,
    secrets::MissingSecret,
};

/// Backups as this reconcile's plan left them.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupFacts {
    pub status: BackupsStatus,
    pub healthy: Verdict,
    /// Only when backups are scheduled.
    pub stale: Option<Verdict>,
}

/// `DatabaseReady` and `CacheReady` as the data step found the stores; a
/// store not looked at says why.
pub fn stores(
    conditions: &mut ConditionSet,
    database: &Option<StoreFacts>,
    cache: &Option<StoreFacts>,
    blocker: Option<&Blocker>,
    paused: bool,
) {
    for (kind, store) in [
        (types::DATABASE_READY, database),
        (types::CACHE_READY, cache),
    ] {
        match store {
            Some(store) => conditions.set(kind, store.ready, &store.reason, store.message.clone()),
            None => conditions.set_unknown(
                kind,
                "NotChecked",
                match (blocker, paused) {
                    (Some(blocker), _) => format!(
                        "the spec is not applied ({}), so the store was not looked at",
                        blocker.reason
                    ),
                    (None, true) => {
                        "spec.paused is true, so the store was not looked at".to_string()
                    }
                    (None, false) => {
                        "the spec did not resolve, so the store was not looked at".to_string()
                    }
                },
            ),
        }
    }
}

/// `EdgeEnforced`, only when the spec asks something of the edge.
pub fn edge(conditions: &mut ConditionSet, gaps: Option<&[String]>) {
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
pub fn monitoring(conditions: &mut ConditionSet, facts: Option<&crate::monitoring::Facts>) {
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
pub fn secrets(conditions: &mut ConditionSet, missing: &[MissingSecret]) {
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
pub fn capacity(conditions: &mut ConditionSet, capacity: Option<&[CapacityCheck]>) {
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
pub fn budget(conditions: &mut ConditionSet, cost: Option<&CostReport>) {
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
pub fn backups(conditions: &mut ConditionSet, backups: &BackupFacts) {
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
