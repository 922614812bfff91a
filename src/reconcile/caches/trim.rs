//! What is dropped from an object before it is cached: what the operator
//! never reads (managed fields, pod templates, rules), and every Secret
//! value.

use std::collections::BTreeMap;

use k8s_openapi::{
    ByteString,
    api::{apps::v1::Deployment, batch::v1::Job, core::v1::Secret},
};
use kube::Resource;

use crate::monitoring::PrometheusRule;

/// Drops what the operator never reads from a cached object: managed
/// fields (large, and only the app Deployment's are needed) and the
/// last-applied annotation kubectl leaves behind.
pub fn trim_metadata<K: Resource>(object: &mut K) {
    let metadata = object.meta_mut();
    metadata.managed_fields = None;
    if let Some(annotations) = metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Keeps what a migration Job's outcome is judged by: metadata and
/// status. The pod template (with the app's whole environment) is dropped.
pub fn trim_job(job: &mut Job) {
    trim_metadata(job);
    if let Some(spec) = job.spec.as_mut() {
        spec.template = Default::default();
    }
}

/// Keeps a PrometheusRule's metadata: its rules are only ever written.
pub fn trim_rules(rule: &mut PrometheusRule) {
    trim_metadata(rule);
    rule.spec.groups.clear();
}

/// Keeps a Secret's key names and drops its values before it is cached.
pub fn strip_secret(secret: &mut Secret) {
    trim_metadata(secret);
    let mut keys: BTreeMap<String, ByteString> = BTreeMap::new();
    for key in secret.data.iter().flat_map(|d| d.keys()) {
        keys.insert(key.clone(), ByteString(Vec::new()));
    }
    for key in secret.string_data.iter().flat_map(|d| d.keys()) {
        keys.insert(key.clone(), ByteString(Vec::new()));
    }
    secret.data = Some(keys);
    secret.string_data = None;
}

/// Keeps only the app Deployment's own field-manager entries, which tell
/// whether the operator still owns `spec.replicas`.
pub fn trim_deployment(deployment: &mut Deployment) {
    let ours: Option<Vec<_>> = deployment.metadata.managed_fields.take().map(|entries| {
        entries
            .into_iter()
            .filter(|entry| entry.manager.as_deref() == Some(crate::names::MANAGER))
            .collect()
    });
    trim_metadata(deployment);
    deployment.metadata.managed_fields = ours;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_secrets_keep_key_names_and_lose_values() {
        let mut secret = Secret {
            data: Some(BTreeMap::from([(
                "api-key".to_string(),
                ByteString(b"sk-live-123".to_vec()),
            )])),
            string_data: Some(BTreeMap::from([(
                "dsn".to_string(),
                "https://x".to_string(),
            )])),
            ..Default::default()
        };
        strip_secret(&mut secret);
        let data = secret.data.unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["api-key", "dsn"]);
        assert!(data.values().all(|v| v.0.is_empty()));
        assert!(secret.string_data.is_none());
    }
}
