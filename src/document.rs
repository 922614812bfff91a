//! Reading YAML strictly: multi-document streams (syntax errors carry their
//! line), typed deserialisation that names the field path of every mistake,
//! and unknown fields treated as errors rather than silently dropped.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// A field-level problem found while deserialising.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    /// Dotted path of the field, e.g. `spec.replicas.min`; `.` for the whole document.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

/// Splits a YAML stream into its documents, skipping empty ones. The error
/// carries the line and column of a syntax error. A NaN or an infinity
/// (`.nan`, `.inf`) is refused with its path, as the API server refuses
/// it: JSON has neither, and read as JSON it would pass for unset.
pub fn documents(text: &str) -> Result<Vec<Value>, FieldError> {
    use serde::Deserialize;
    let lowered = text.to_ascii_lowercase();
    if lowered.contains(".nan") || lowered.contains(".inf") {
        for document in serde_yaml_ng::Deserializer::from_str(text) {
            // A syntax error ends the scan: the stream's iterator would
            // yield it again and again, and the read below reports it.
            let Ok(value) = serde_yaml_ng::Value::deserialize(document) else {
                break;
            };
            if let Some(path) = non_finite(&value, "") {
                return Err(FieldError {
                    path: if path.is_empty() { ".".into() } else { path },
                    message: "must be a finite number, not NaN or an infinity".into(),
                });
            }
        }
    }
    let mut docs = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let value = Value::deserialize(document).map_err(|error| FieldError {
            path: ".".into(),
            message: format!("malformed YAML: {error}"),
        })?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

/// The path of the first NaN or infinity in `value`, if any.
fn non_finite(value: &serde_yaml_ng::Value, path: &str) -> Option<String> {
    use serde_yaml_ng::Value as Yaml;
    match value {
        Yaml::Number(n) if n.as_f64().is_some_and(|f| !f.is_finite()) => Some(path.to_string()),
        Yaml::Sequence(items) => items
            .iter()
            .enumerate()
            .find_map(|(index, item)| non_finite(item, &format!("{path}[{index}]"))),
        Yaml::Mapping(members) => members.iter().find_map(|(key, member)| {
            let key = key
                .as_str()
                .map_or_else(|| format!("{key:?}"), str::to_string);
            let path = if path.is_empty() {
                key
            } else {
                format!("{path}.{key}")
            };
            non_finite(member, &path)
        }),
        Yaml::Tagged(tagged) => non_finite(&tagged.value, path),
        _ => None,
    }
}

/// Deserialises `value` into `T`, failing on a wrong type, a missing field
/// or any field `T` does not know.
pub fn strict_from_value<T: DeserializeOwned>(value: Value) -> Result<T, FieldError> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(clean_path(&path));
    let result: Result<T, _> =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut record));
    finish(result, unknown)
}

/// serde_ignored marks the inside of an `Option` with a `?` segment and a
/// list index as a plain segment; the path shown to users leaves out the
/// first and writes the second as `[n]`, as serde_path_to_error does.
fn clean_path(path: &serde_ignored::Path<'_>) -> String {
    let mut out = String::new();
    for segment in path
        .to_string()
        .split('.')
        .filter(|segment| *segment != "?")
    {
        if !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

fn finish<T, E: std::fmt::Display>(
    result: Result<T, serde_path_to_error::Error<E>>,
    unknown: Vec<String>,
) -> Result<T, FieldError> {
    let value = result.map_err(|error| FieldError {
        path: error.path().to_string(),
        message: error.inner().to_string(),
    })?;
    match unknown.into_iter().next() {
        Some(path) => Err(FieldError {
            path,
            message: "unknown field".into(),
        }),
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nan_and_infinities_are_refused_with_their_path_not_read_as_unset() {
        for (text, path) in [
            (
                "spec:\n  database:\n    storageGiB: .nan\n",
                "spec.database.storageGiB",
            ),
            (
                "spec:\n  cost:\n    budgetUSD: -.Inf\n",
                "spec.cost.budgetUSD",
            ),
            ("a: 1\n---\nspec:\n  items: [1, .INF]\n", "spec.items[1]"),
        ] {
            let error = documents(text).unwrap_err();
            assert_eq!(error.path, path, "{text}");
            assert!(error.message.contains("finite"), "{error}");
        }
        // A string that merely spells it, and a host name, stay text.
        let docs = documents("a: \".nan\"\nb: api.info\n").unwrap();
        assert_eq!(docs, [json!({"a": ".nan", "b": "api.info"})]);
    }

    /// Found by the `spec` fuzz target: malformed YAML that spells `.inf`
    /// once looped for ever (the stream yields its syntax error again and
    /// again); it is a syntax error like any other.
    #[test]
    fn malformed_yaml_that_spells_an_infinity_is_a_syntax_error_not_a_hang() {
        let (sent, received) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = sent.send(documents("a: .inf\nb: [1, 2\n: - :\n"));
        });
        let read = received
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("documents returns");
        let error = read.unwrap_err();
        assert_eq!(error.path, ".");
        assert!(error.message.starts_with("malformed YAML"), "{error}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    #[test]
    fn wrong_type_names_the_field_path() {
        let error = strict_from_value::<Outer>(json!({"inner": {"count": "lots"}})).unwrap_err();
        assert_eq!(error.path, "inner.count");
        assert!(error.message.contains("invalid type"), "{}", error.message);
    }

    #[test]
    fn unknown_field_is_an_error_not_dropped() {
        let error =
            strict_from_value::<Outer>(json!({"inner": {"count": 1, "cuont": 2}})).unwrap_err();
        assert_eq!(error.path, "inner.cuont");
        let nested = strict_from_value::<Vec<Outer>>(
            json!([{"inner": {"count": 1}}, {"inner": {"count": 1, "x": 0}}]),
        );
        assert_eq!(nested.unwrap_err().path, "[1].inner.x");
        assert_eq!(error.message, "unknown field");
    }

    #[test]
    fn empty_documents_are_skipped() {
        let docs = documents("---\n---\na: 1\n---\n").unwrap();
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn syntax_error_reports_a_line() {
        let error = documents("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.message.contains("line"), "{}", error.message);
    }
}
