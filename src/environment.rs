//! Environment defaults (`environments/<name>.yaml`) and the merge rule that
//! lays a spec over them.
//!
//! The rule: a field set in the spec always wins. Maps merge key by key, all
//! the way down; lists and scalars replace the default whole; a `null` in the
//! spec counts as unset. Every resolved leaf remembers where it came from.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use include_dir::{Dir, include_dir};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{api::ChatbotDeploymentSpec, document};

static EMBEDDED: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/environments");

/// Errors while loading environments or resolving a spec against them.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    /// The spec names an environment nobody defined.
    #[error("spec.environment: unknown environment {name:?}; known: {}", known.join(", "))]
    Unknown { name: String, known: Vec<String> },
    /// An environment file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An environment file is not a valid partial spec.
    #[error("environment file {file}: {source}")]
    Invalid {
        file: String,
        source: document::FieldError,
    },
    /// A directory given with `--environments` holds no environment files.
    #[error("{}: no environment files (*.yaml) found", path.display())]
    Empty { path: PathBuf },
}

/// Where a resolved value came from. Serialised as its text (`spec`,
/// `environment production`) so JSON and YAML pipelines read a plain string.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub enum Origin {
    /// Written in the ChatbotDeployment spec.
    Spec,
    /// Taken from the environment's defaults.
    Environment(String),
}

impl From<Origin> for String {
    fn from(origin: Origin) -> String {
        origin.to_string()
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Spec => f.write_str("spec"),
            Origin::Environment(name) => write!(f, "environment {name}"),
        }
    }
}

/// The set of environments, by name.
#[derive(Clone, Debug)]
pub struct Environments {
    by_name: BTreeMap<String, Value>,
}

impl Environments {
    /// The defaults compiled into the binary from `environments/`.
    pub fn embedded() -> Result<Self, EnvironmentError> {
        let files = EMBEDDED.files().filter_map(|file| {
            let name = file.path().file_name()?.to_str()?.strip_suffix(".yaml")?;
            Some((
                name.to_string(),
                file.contents_utf8().unwrap_or_default().to_string(),
            ))
        });
        Self::from_sources(files)
    }

    /// Defaults read from `<dir>/<name>.yaml`, replacing the embedded ones.
    pub fn from_dir(dir: &Path) -> Result<Self, EnvironmentError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| EnvironmentError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|source| EnvironmentError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        for entry in entries {
            let path = entry
                .map_err(|source| EnvironmentError::Read {
                    path: dir.to_path_buf(),
                    source,
                })?
                .path();
            let Some(name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".yaml"))
            else {
                continue;
            };
            files.push((name.to_string(), read(&path)?));
        }
        if files.is_empty() {
            return Err(EnvironmentError::Empty {
                path: dir.to_path_buf(),
            });
        }
        Self::from_sources(files)
    }

    /// Builds the set from `(name, yaml)` pairs, checking each file is a
    /// valid partial spec (known fields, right types).
    pub fn from_sources(
        files: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, EnvironmentError> {
        let mut by_name = BTreeMap::new();
        for (name, text) in files {
            let file = format!("{name}.yaml");
            let invalid = |source| EnvironmentError::Invalid {
                file: file.clone(),
                source,
            };
            let mut docs = document::documents(&text).map_err(invalid)?;
            let defaults = match docs.len() {
                0 => Value::Object(Map::new()),
                1 => docs.remove(0),
                _ => {
                    return Err(invalid(document::FieldError {
                        path: ".".into(),
                        message: "an environment file holds one YAML document".into(),
                    }));
                }
            };
            if !defaults.is_object() {
                return Err(invalid(document::FieldError {
                    path: ".".into(),
                    message: "an environment file is a map of spec fields".into(),
                }));
            }
            // The defaults must read as a spec once the two fields only a
            // resource can give are filled in.
            let mut probe = defaults.clone();
            if let Value::Object(map) = &mut probe {
                map.entry("environment")
                    .or_insert(Value::String(name.clone()));
                map.entry("image").or_insert(Value::String("probe".into()));
            }
            document::strict_from_value::<ChatbotDeploymentSpec>(probe).map_err(invalid)?;
            by_name.insert(name, defaults);
        }
        Ok(Self { by_name })
    }

    /// Names of the known environments, sorted.
    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }

    /// The defaults of one environment.
    pub fn defaults(&self, name: &str) -> Result<&Value, EnvironmentError> {
        self.by_name
            .get(name)
            .ok_or_else(|| EnvironmentError::Unknown {
                name: name.to_string(),
                known: self.names(),
            })
    }

    /// Lays `spec` over its environment's defaults: the resolved spec and
    /// the origin of every leaf.
    pub fn resolve(&self, spec: &ChatbotDeploymentSpec) -> Result<Resolution, EnvironmentError> {
        let defaults = self.defaults(&spec.environment)?;
        let written = serde_json::to_value(spec).unwrap_or(Value::Null);
        let merged = merge(defaults, &written);
        let mut origins = BTreeMap::new();
        record_origins(&merged, &written, "", &spec.environment, &mut origins);
        let mut resolved =
            document::strict_from_value::<ChatbotDeploymentSpec>(merged).map_err(|source| {
                EnvironmentError::Invalid {
                    file: format!("{}.yaml", spec.environment),
                    source,
                }
            })?;
        follow_explicit_minimum(&mut resolved, &mut origins);
        Ok(Resolution {
            spec: resolved,
            origins,
        })
    }
}

/// A default never contradicts an explicit field: a spec that asks for
/// `replicas.min: 3` in an environment whose default maximum is 1 gets a
/// maximum of 3, not an impossible range.
fn follow_explicit_minimum(
    spec: &mut ChatbotDeploymentSpec,
    origins: &mut BTreeMap<String, Origin>,
) {
    let Some(replicas) = spec.replicas.as_mut() else {
        return;
    };
    let max_is_default = matches!(origins.get("replicas.max"), Some(Origin::Environment(_)));
    if let (Some(min), Some(max)) = (replicas.min, replicas.max)
        && max < min
        && max_is_default
    {
        replicas.max = Some(min);
        origins.insert("replicas.max".into(), Origin::Spec);
    }
}

/// A spec resolved against its environment.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolution {
    /// The merged spec: every field the spec or the environment sets.
    pub spec: ChatbotDeploymentSpec,
    /// Dotted path of every leaf (lists count as leaves) and where it came from.
    pub origins: BTreeMap<String, Origin>,
}

/// Deep merge: maps merge recursively, everything else in `over` replaces
/// `base`; a null in `over` leaves `base` in place.
pub fn merge(base: &Value, over: &Value) -> Value {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            let mut merged = base.clone();
            for (key, value) in over {
                let next = match base.get(key) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                if !next.is_null() {
                    merged.insert(key.clone(), next);
                }
            }
            Value::Object(merged)
        }
        (base, Value::Null) => base.clone(),
        (_, over) => over.clone(),
    }
}

fn record_origins(
    merged: &Value,
    written: &Value,
    prefix: &str,
    environment: &str,
    origins: &mut BTreeMap<String, Origin>,
) {
    let Value::Object(map) = merged else {
        let origin = if written.is_null() {
            Origin::Environment(environment.to_string())
        } else {
            Origin::Spec
        };
        origins.insert(prefix.to_string(), origin);
        return;
    };
    for (key, value) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let written = written.get(key).unwrap_or(&Value::Null);
        record_origins(value, written, &path, environment, origins);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn maps_merge_deeply_and_lists_replace() {
        let base = json!({"a": {"x": 1, "y": 2}, "list": [1, 2, 3], "keep": true});
        let over = json!({"a": {"y": 20, "z": 30}, "list": [9]});
        assert_eq!(
            merge(&base, &over),
            json!({"a": {"x": 1, "y": 20, "z": 30}, "list": [9], "keep": true})
        );
    }

    #[test]
    fn null_in_the_spec_keeps_the_default() {
        assert_eq!(
            merge(&json!({"a": 1}), &json!({"a": null})),
            json!({"a": 1})
        );
    }

    #[test]
    fn every_embedded_environment_is_a_valid_partial_spec() {
        let envs = Environments::embedded().unwrap();
        assert_eq!(envs.names(), ["dev", "production", "staging"]);
    }

    #[test]
    fn unknown_environment_names_the_field_and_the_choices() {
        let envs = Environments::embedded().unwrap();
        let error = envs.defaults("prod").unwrap_err().to_string();
        assert!(
            error.starts_with("spec.environment: unknown environment \"prod\""),
            "{error}"
        );
        assert!(error.contains("dev, production, staging"), "{error}");
    }

    #[test]
    fn a_misspelled_field_in_an_environment_file_is_rejected() {
        let error = Environments::from_sources([(
            "qa".to_string(),
            "replicas: {min: 1, maximum: 3}\n".to_string(),
        )])
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "environment file qa.yaml: replicas.maximum: unknown field"
        );
    }
}
