//! Environment variables that several children take from a Secret.

use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};

/// `env` read from `key` of the Secret `secret`; the pod does not start
/// without it.
pub(super) fn secret_env(env: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: env.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}
