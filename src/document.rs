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
/// carries the line and column of a syntax error.
pub fn documents(text: &str) -> Result<Vec<Value>, FieldError> {
    use serde::Deserialize;
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
