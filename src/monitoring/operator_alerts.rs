//! Alerts on what the operator itself reports about the deployment
//! (`chatbot_operator_condition`): a rollback, stale backups, missing
//! Secrets, data stores that are not ready, and the operator not reporting.

use super::{
    alert::{Alert, Inputs},
    resources::Rule,
};

/// One operator failure class: the condition and status it is, and what
/// the alert says.
struct Class {
    name: &'static str,
    condition: &'static str,
    status: &'static str,
    reason: Option<&'static str>,
    for_: &'static str,
    severity: &'static str,
    summary: &'static str,
    description: &'static str,
}

const CLASSES: [Class; 6] = [
    Class {
        name: "ChatbotRolledBack",
        condition: "Degraded",
        status: "True",
        reason: Some("RolledBack"),
        for_: "0m",
        severity: "warning",
        summary: "rolled back its rollout",
        description: "The rollout of a new revision failed and all traffic went back to the stable revision. `kubectl chatbot status` and the RolledBack Event say why; the rollback holds until the spec changes.",
    },
    Class {
        name: "ChatbotBackupFailed",
        condition: "BackupHealthy",
        status: "False",
        reason: None,
        for_: "15m",
        severity: "warning",
        summary: "failed its last backup",
        description: "The BackupHealthy condition has been False for 15 minutes: the newest backup failed or failed verification. `kubectl chatbot backups` lists the runs; the next scheduled run is not held back.",
    },
    Class {
        name: "ChatbotBackupStale",
        condition: "BackupStale",
        status: "True",
        reason: None,
        for_: "0m",
        severity: "critical",
        summary: "has no recent good backup",
        description: "The newest good backup is older than one and a half periods of the schedule, or there is none: a restore now would lose more than the schedule promises. `kubectl chatbot backups` lists the runs; `kubectl chatbot backup` takes one now.",
    },
    Class {
        name: "ChatbotSecretsMissing",
        condition: "SecretsReady",
        status: "False",
        reason: None,
        for_: "5m",
        severity: "critical",
        summary: "is missing Secrets it needs",
        description: "A Secret or a key the spec references has been missing for 5 minutes; new pods cannot start. The SecretsReady condition names it.",
    },
    Class {
        name: "ChatbotDatabaseNotReady",
        condition: "DatabaseReady",
        status: "False",
        reason: None,
        for_: "10m",
        severity: "critical",
        summary: "has no ready database",
        description: "The DatabaseReady condition has been False for 10 minutes. Its message gives the store's state or the AWS error.",
    },
    Class {
        name: "ChatbotCacheNotReady",
        condition: "CacheReady",
        status: "False",
        reason: None,
        for_: "10m",
        severity: "warning",
        summary: "has no ready cache",
        description: "The CacheReady condition has been False for 10 minutes; rate limits fall back to each pod's memory. Its message gives the store's state or the AWS error.",
    },
];

/// The operator's alerts that apply to `inputs`.
pub fn alerts(inputs: &Inputs) -> Vec<Rule> {
    let operator = inputs.operator();
    let resource = inputs.resource();
    let applies = |class: &Class| match class.condition {
        "BackupHealthy" | "BackupStale" => inputs.backups,
        "DatabaseReady" => inputs.database,
        "CacheReady" => inputs.cache,
        _ => true,
    };
    let mut rules: Vec<Rule> = CLASSES
        .iter()
        .filter(|class| applies(class))
        .map(|class| {
            let reason = class
                .reason
                .map(|r| format!(r#",reason="{r}""#))
                .unwrap_or_default();
            Alert {
                inputs,
                name: class.name,
                expr: format!(
                    r#"max(chatbot_operator_condition{{{operator},condition="{}",status="{}"{reason}}}) == 1"#,
                    class.condition, class.status
                ),
                for_: class.for_,
                severity: class.severity,
                summary: format!("{resource} {}", class.summary),
                description: format!("{resource}: {}", class.description),
                extra: Vec::new(),
            }
            .rule()
        })
        .collect();
    rules.push(
        Alert {
            inputs,
            name: "ChatbotOperatorMetricsMissing",
            expr: format!("absent(chatbot_operator_condition{{{operator}}})"),
            for_: "15m",
            severity: "warning",
            summary: format!("no operator reports on {resource}"),
            description: format!(
                "Prometheus has had no chatbot_operator_condition series for {resource} for 15 minutes, so the operator's alerts (and ChatbotDown) cannot fire. Check that the operator runs and is scraped with honorLabels (manifests/monitoring/)."
            ),
            extra: Vec::new(),
        }
        .rule(),
    );
    rules
}
