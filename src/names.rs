//! Names and labels of the children. Names are derived from the
//! ChatbotDeployment's name alone, so they are stable across reconciles and
//! ready for an owner reference.

use std::collections::BTreeMap;

use serde::Serialize;

/// Label and annotation keys the operator sets.
pub mod keys {
    /// `app.kubernetes.io/name`: always `chatbot`.
    pub const NAME: &str = "app.kubernetes.io/name";
    /// `app.kubernetes.io/instance`: the ChatbotDeployment's name.
    pub const INSTANCE: &str = "app.kubernetes.io/instance";
    /// `app.kubernetes.io/component`: `app` for the chatbot pods.
    pub const COMPONENT: &str = "app.kubernetes.io/component";
    /// `app.kubernetes.io/part-of`: the ChatbotDeployment's name.
    pub const PART_OF: &str = "app.kubernetes.io/part-of";
    /// `app.kubernetes.io/managed-by`: `chatbot-operator`.
    pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
    /// `app.kubernetes.io/version`: the image tag, when it is a valid label value.
    pub const VERSION: &str = "app.kubernetes.io/version";
    /// The environment whose defaults were used.
    pub const ENVIRONMENT: &str = "chatbot.dev/environment";
    /// The revision number of the pod template.
    pub const REVISION: &str = "chatbot.dev/revision";
    /// `canary` on the candidate's pods during a Canary or BlueGreen rollout.
    pub const TRACK: &str = "chatbot.dev/track";
    /// The A/B test variant a candidate's pods run (`CHATBOT_VARIANT`).
    pub const VARIANT: &str = "chatbot.dev/variant";
    /// Hash of the child as rendered, used to skip writes when nothing changed.
    pub const SPEC_HASH: &str = "chatbot.dev/spec-hash";
    /// Hash of the app's ConfigMap data, so a config change rolls the pods.
    pub const CONFIG_HASH: &str = "chatbot.dev/config-hash";
    /// Hash of the pod template without its revision number: a new value
    /// means a new revision. Kept on the pod template so the revision
    /// history can be recovered from the cluster when status is lost.
    pub const TEMPLATE_HASH: &str = "chatbot.dev/template-hash";
}

/// The field manager and `managed-by` value.
pub const MANAGER: &str = "chatbot-operator";

/// The field manager of the replica counts a restore sets (and takes back).
pub const RESTORE_MANAGER: &str = "chatbot-operator-restore";

/// The app database the operator creates, on an in-cluster Postgres and
/// on an RDS instance alike (a restore's new database is named after it).
pub const DATABASE_NAME: &str = "chatbot";

/// Names of every child of one ChatbotDeployment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChildNames {
    pub service_account: String,
    pub config_map: String,
    /// The config each revision in the history ran with, one key per
    /// revision, so that a rollback puts it back.
    pub config_history: String,
    pub deployment: String,
    pub service: String,
    pub autoscaler: String,
    pub disruption_budget: String,
    pub network_policy: String,
    /// The public route: Ingress or HTTPRoute.
    pub route: String,
    /// The ConfigMap of the response headers ingress-nginx sets.
    pub edge_headers: String,
    /// The maintenance page: its ConfigMap, Deployment, Service and budget.
    pub maintenance: String,
    /// The PodMonitor and the PrometheusRule.
    pub monitoring: String,
    /// The Grafana dashboard's ConfigMap.
    pub dashboard: String,
    /// The candidate of a Canary or BlueGreen rollout: its Deployment, its
    /// (preview) Service and ingress-nginx's canary Ingress.
    pub candidate: String,
    /// In-cluster Postgres: StatefulSet, its headless Service and the host.
    pub database_store: String,
    /// In-cluster Redis: StatefulSet, its headless Service and the host.
    pub cache_store: String,
    /// PgBouncer: Deployment, Service and the host the app connects to.
    pub pooler: String,
    /// NetworkPolicy in front of the in-cluster stores and the pooler.
    pub store_network_policy: String,
    /// NetworkPolicy that admits no connection to the migration, backup,
    /// verify and restore pods.
    pub data_operations_network_policy: String,
    /// Migration Job: `<name>-migrate-<revision>` once the revision is known.
    pub migration_job: String,
    /// The backup Job template; each backup is `<name>-backup-<id>`.
    pub backup_job: String,
    /// The verify Job template; each verification is `<name>-verify-<id>`.
    pub verify_job: String,
    /// The restore Job template; each restore is `<name>-restore-<id>`.
    pub restore_job: String,
    /// Secret with `DATABASE_URL`, written by the data-services controller.
    pub database_secret: String,
    /// Secret with `REDIS_URL`, written by the data-services controller.
    pub cache_secret: String,
    /// Secret with the generated values (`SECRET_KEY`, …), created once.
    pub generated_secret: String,
}

/// The most candidates an A/B test runs beside its baseline.
pub const MAX_CANDIDATES: usize = 7;

/// Name of the ConfigMap holding the response headers of `route`.
pub fn edge_headers(route: &str) -> String {
    format!("{route}-edge-headers")
}

impl ChildNames {
    pub fn for_deployment(name: &str) -> Self {
        Self {
            service_account: name.to_string(),
            config_map: format!("{name}-env"),
            config_history: format!("{name}-config-history"),
            deployment: name.to_string(),
            service: name.to_string(),
            autoscaler: name.to_string(),
            disruption_budget: name.to_string(),
            network_policy: name.to_string(),
            route: name.to_string(),
            edge_headers: edge_headers(name),
            maintenance: format!("{name}-maintenance"),
            monitoring: name.to_string(),
            dashboard: format!("{name}-dashboard"),
            candidate: format!("{name}-canary"),
            database_store: format!("{name}-postgres"),
            cache_store: format!("{name}-redis"),
            pooler: format!("{name}-pgbouncer"),
            store_network_policy: format!("{name}-stores"),
            data_operations_network_policy: format!("{name}-data-operations"),
            migration_job: format!("{name}-migrate"),
            backup_job: format!("{name}-backup"),
            verify_job: format!("{name}-verify"),
            restore_job: format!("{name}-restore"),
            database_secret: format!("{name}-db"),
            cache_secret: format!("{name}-cache"),
            generated_secret: format!("{name}-generated"),
        }
    }

    /// The children (ConfigMap, Deployment, Service) of the candidate at
    /// `position` among an A/B test's candidates: the first is
    /// [`Self::candidate`], the n-th `<candidate>-<n>`.
    pub fn candidate_at(&self, position: usize) -> String {
        match position {
            0 => self.candidate.clone(),
            _ => format!("{}-{}", self.candidate, position + 1),
        }
    }
}

/// Labels that select the app pods. They never change over the life of
/// the resource (a Deployment's selector is immutable).
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (keys::NAME.to_string(), "chatbot".to_string()),
        (keys::INSTANCE.to_string(), name.to_string()),
        (keys::COMPONENT.to_string(), "app".to_string()),
    ])
}

/// `app.kubernetes.io/component` of a candidate's pods that only its own
/// Service selects (the stable Service, autoscaler and budget never count
/// them).
pub const CANDIDATE_COMPONENT: &str = "canary";

/// The component of the candidate at `position` among an A/B test's
/// candidates: [`CANDIDATE_COMPONENT`] for the first, `canary-<n>` for
/// the n-th, so each candidate's Service selects its own pods only.
pub fn candidate_component(position: usize) -> String {
    match position {
        0 => CANDIDATE_COMPONENT.to_string(),
        _ => format!("{CANDIDATE_COMPONENT}-{}", position + 1),
    }
}

/// Every component a candidate's pods may carry, first to last.
pub fn candidate_components() -> Vec<String> {
    (0..MAX_CANDIDATES).map(candidate_component).collect()
}

/// Labels that select a candidate's pods: `component` is
/// [`CANDIDATE_COMPONENT`], or `app` when its pods share the stable
/// Service (no traffic provider); the track label keeps the two
/// Deployments' pods apart either way.
pub fn candidate_selector_labels(name: &str, component: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(name);
    labels.insert(keys::COMPONENT.to_string(), component.to_string());
    labels.insert(keys::TRACK.to_string(), "canary".to_string());
    labels
}

/// The migration Job of `revision`.
pub fn migration_job(name: &str, revision: i64) -> String {
    format!("{name}-migrate-{revision}")
}

/// Labels that select the pods of one of the data services (`database`,
/// `cache`, `pooler`): never the app's selector, so the app's Service and
/// budget never pick them up.
pub fn store_selector_labels(name: &str, component: &str) -> BTreeMap<String, String> {
    let software = match component {
        "database" => "postgres",
        "cache" => "redis",
        "migration" => "chatbot",
        "backup" | "verify" | "restore" => "chatbot-backup",
        _ => "pgbouncer",
    };
    BTreeMap::from([
        (keys::NAME.to_string(), software.to_string()),
        (keys::INSTANCE.to_string(), name.to_string()),
        (keys::COMPONENT.to_string(), component.to_string()),
    ])
}

/// Labels on every child and on the pods.
pub fn common_labels(name: &str, environment: &str, image: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(name);
    labels.insert(keys::PART_OF.to_string(), name.to_string());
    labels.insert(keys::MANAGED_BY.to_string(), MANAGER.to_string());
    labels.insert(keys::ENVIRONMENT.to_string(), environment.to_string());
    if let Some(version) = image_version(image) {
        labels.insert(keys::VERSION.to_string(), version);
    }
    labels
}

/// The tag of an image reference, when it is a valid label value.
pub fn image_version(image: &str) -> Option<String> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (_, tag) = last_segment.split_once(':')?;
    let valid = !tag.is_empty()
        && tag.len() <= 63
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric())
        && tag.ends_with(|c: char| c.is_ascii_alphanumeric());
    valid.then(|| tag.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_version_is_the_tag() {
        assert_eq!(
            image_version("ghcr.io/acme/bot:1.4.2").as_deref(),
            Some("1.4.2")
        );
        assert_eq!(
            image_version("localhost:5000/bot:v2").as_deref(),
            Some("v2")
        );
        assert_eq!(image_version("localhost:5000/bot"), None);
        assert_eq!(image_version("bot@sha256:abc"), None);
        assert_eq!(image_version("bot:1.0@sha256:abc").as_deref(), Some("1.0"));
    }
}
