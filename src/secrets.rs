//! Secrets the app needs: which user-managed Secret keys a spec refers to,
//! which of them are missing (names only, never values), and the values the
//! operator generates once for `spec.secrets.generated`.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::{ChatbotDeploymentSpec, StoreMode};

/// Bytes of randomness in a generated value (hex encoded: 64 characters).
pub const GENERATED_BYTES: usize = 32;

/// A Secret key the spec refers to, with the field that refers to it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SecretReference {
    pub secret: String,
    pub key: String,
    /// Spec path of the reference, e.g. `spec.secrets.required[0]`.
    pub field: String,
}

/// Every user-managed Secret key the resolved spec refers to, in spec order.
/// Secrets the operator writes itself (`<name>-db`, `<name>-cache`,
/// `<name>-generated`) are not among them.
pub fn references(spec: &ChatbotDeploymentSpec) -> Vec<SecretReference> {
    let mut refs = Vec::new();
    let mut push = |secret: &str, key: &str, field: String| {
        refs.push(SecretReference {
            secret: secret.to_string(),
            key: key.to_string(),
            field,
        });
    };
    if let Some(required) = spec.secrets.as_ref().and_then(|s| s.required.as_ref()) {
        for (index, reference) in required.iter().enumerate() {
            push(
                &reference.secret_name,
                &reference.key,
                format!("spec.secrets.required[{index}]"),
            );
        }
    }
    if let Some(dsn) = spec
        .observability
        .as_ref()
        .and_then(|o| o.sentry_dsn_secret_ref.as_ref())
    {
        push(
            &dsn.name,
            &dsn.key,
            "spec.observability.sentryDsnSecretRef".into(),
        );
    }
    if let Some(database) = &spec.database
        && database.mode == Some(StoreMode::External)
        && let Some(url) = &database.url_secret_ref
    {
        push(&url.name, &url.key, "spec.database.urlSecretRef".into());
    }
    if let Some(cache) = &spec.cache
        && cache.mode == Some(StoreMode::External)
        && let Some(url) = &cache.url_secret_ref
    {
        push(&url.name, &url.key, "spec.cache.urlSecretRef".into());
    }
    refs
}

/// A reference that cannot be satisfied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingSecret {
    pub secret: String,
    /// `None` when the whole Secret is missing.
    pub key: Option<String>,
    pub field: String,
}

impl std::fmt::Display for MissingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.key {
            Some(key) => write!(
                f,
                "Secret {} has no key {} ({})",
                self.secret, key, self.field
            ),
            None => write!(f, "Secret {} not found ({})", self.secret, self.field),
        }
    }
}

/// The references whose Secret or key does not exist. `keys_of` answers
/// the key names of a Secret, `None` when it does not exist.
pub fn missing(
    references: &[SecretReference],
    keys_of: impl Fn(&str) -> Option<BTreeSet<String>>,
) -> Vec<MissingSecret> {
    let mut missing = Vec::new();
    for reference in references {
        match keys_of(&reference.secret) {
            None => missing.push(MissingSecret {
                secret: reference.secret.clone(),
                key: None,
                field: reference.field.clone(),
            }),
            Some(keys) if !keys.contains(&reference.key) => missing.push(MissingSecret {
                secret: reference.secret.clone(),
                key: Some(reference.key.clone()),
                field: reference.field.clone(),
            }),
            Some(_) => {}
        }
    }
    missing
}

/// Names in `wanted` that `existing` lacks: the only keys a reconcile may
/// add to the generated Secret. Keys already there are never touched.
pub fn keys_to_generate(wanted: &[String], existing: &BTreeSet<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    wanted
        .iter()
        .filter(|name| !existing.contains(*name) && seen.insert(name.as_str()))
        .cloned()
        .collect()
}

/// One generated value: [`GENERATED_BYTES`] bytes from the operating
/// system's random number generator, hex encoded.
pub fn generate_value() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; GENERATED_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Values for `names`, one fresh value each.
pub fn generate(names: &[String]) -> Result<BTreeMap<String, String>, getrandom::Error> {
    names
        .iter()
        .map(|name| Ok((name.clone(), generate_value()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{SecretEnv, SecretKeyRef, Secrets};

    fn spec() -> ChatbotDeploymentSpec {
        ChatbotDeploymentSpec {
            environment: "production".into(),
            image: "bot:1".into(),
            secrets: Some(Secrets {
                required: Some(vec![
                    SecretEnv {
                        env: "OPENAI_API_KEY".into(),
                        secret_name: "llm".into(),
                        key: "api-key".into(),
                    },
                    SecretEnv {
                        env: "STRIPE_SECRET_KEY".into(),
                        secret_name: "stripe".into(),
                        key: "secret".into(),
                    },
                ]),
                generated: Some(vec!["JWT_SECRET".into()]),
            }),
            observability: Some(crate::api::Observability {
                sentry_dsn_secret_ref: Some(SecretKeyRef {
                    name: "sentry".into(),
                    key: "dsn".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn references_name_the_field_that_makes_them() {
        let fields: Vec<_> = references(&spec()).into_iter().map(|r| r.field).collect();
        assert_eq!(
            fields,
            [
                "spec.secrets.required[0]",
                "spec.secrets.required[1]",
                "spec.observability.sentryDsnSecretRef"
            ]
        );
    }

    #[test]
    fn a_missing_secret_and_a_missing_key_are_both_reported_by_name() {
        let existing = BTreeMap::from([
            ("llm".to_string(), BTreeSet::from(["other".to_string()])),
            ("sentry".to_string(), BTreeSet::from(["dsn".to_string()])),
        ]);
        let missing = missing(&references(&spec()), |name| existing.get(name).cloned());
        let text: Vec<_> = missing.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "Secret llm has no key api-key (spec.secrets.required[0])",
                "Secret stripe not found (spec.secrets.required[1])"
            ]
        );
    }

    #[test]
    fn only_absent_keys_are_generated() {
        let existing = BTreeSet::from(["SECRET_KEY".to_string()]);
        let wanted = vec![
            "SECRET_KEY".to_string(),
            "JWT_SECRET".to_string(),
            "JWT_SECRET".to_string(),
        ];
        assert_eq!(keys_to_generate(&wanted, &existing), ["JWT_SECRET"]);
    }

    #[test]
    fn generated_values_are_32_random_bytes_in_hex() {
        let a = generate_value().unwrap();
        let b = generate_value().unwrap();
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_ne!(a, b);
    }
}
