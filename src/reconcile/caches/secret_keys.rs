//! Secrets are watched by their metadata only: no value of a Secret the
//! operator has no business with ever reaches it. A Secret's key names are
//! read by name when a reconcile needs them (a Secret the spec refers to,
//! or one the operator writes), its values dropped at once, and kept until
//! the watch sees a new `resourceVersion`.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use k8s_openapi::api::core::v1::Secret;

use super::trim::strip_secret;

/// A Secret's namespace and name.
type SecretName = (String, String);

/// Key names (values dropped) of the Secrets reconciles have read, by
/// namespace and name.
#[derive(Clone, Debug, Default)]
pub struct SecretKeys(Arc<Mutex<HashMap<SecretName, Arc<Secret>>>>);

impl SecretKeys {
    pub(super) fn known(
        &self,
        namespace: &str,
        name: &str,
        version: Option<&String>,
    ) -> Option<Arc<Secret>> {
        let known = self.0.lock().ok()?;
        known
            .get(&(namespace.to_string(), name.to_string()))
            .filter(|secret| secret.metadata.resource_version.as_ref() == version)
            .cloned()
    }

    pub(super) fn forget(&self, namespace: &str, name: &str) {
        if let Ok(mut known) = self.0.lock() {
            known.remove(&(namespace.to_string(), name.to_string()));
        }
    }

    /// Keeps `secret`'s metadata and key names, never its values.
    pub fn remember(&self, mut secret: Secret) -> Arc<Secret> {
        strip_secret(&mut secret);
        let secret = Arc::new(secret);
        let namespace = secret.metadata.namespace.clone().unwrap_or_default();
        let name = secret.metadata.name.clone().unwrap_or_default();
        if let Ok(mut known) = self.0.lock() {
            known.insert((namespace, name), secret.clone());
        }
        secret
    }
}
