//! Reading ChatbotDeployments from a file or standard input, the way the
//! API server would admit them: known fields only, right types, every CEL
//! rule of the CRD.

use serde_json::Value;

use crate::{
    api::{ChatbotDeployment, admission},
    document,
};

/// Why a manifest was rejected. Names the source, the document and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}{}: {path}: {message}", document_label(*.document, .name.as_deref()))]
pub struct ManifestError {
    /// File name, or `<stdin>`.
    pub source_name: String,
    /// 1-based index of the YAML document, when the stream has more than one.
    pub document: Option<usize>,
    /// `metadata.name` of the document, when it has one.
    pub name: Option<String>,
    /// Field path, e.g. `spec.replicas.min`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

fn document_label(document: Option<usize>, name: Option<&str>) -> String {
    match (document, name) {
        (Some(index), Some(name)) => format!(" (document {index}, {name})"),
        (Some(index), None) => format!(" (document {index})"),
        (None, Some(name)) => format!(" ({name})"),
        (None, None) => String::new(),
    }
}

/// Parses every ChatbotDeployment in `text`. All or nothing: one bad
/// document rejects the whole stream.
pub fn parse_deployments(
    source_name: &str,
    text: &str,
) -> Result<Vec<ChatbotDeployment>, ManifestError> {
    let fail = |document: Option<usize>, name: Option<String>, path: String, message: String| {
        ManifestError {
            source_name: source_name.to_string(),
            document,
            name,
            path,
            message,
        }
    };
    let docs =
        document::documents(text).map_err(|error| fail(None, None, error.path, error.message))?;
    if docs.is_empty() {
        return Err(fail(
            None,
            None,
            ".".into(),
            "no ChatbotDeployment found".into(),
        ));
    }
    let several = docs.len() > 1;
    let mut deployments = Vec::with_capacity(docs.len());
    for (index, mut doc) in docs.into_iter().enumerate() {
        admission::prune_nulls(&mut doc);
        let position = several.then_some(index + 1);
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .map(str::to_string);
        let fail = |path: String, message: String| fail(position, name.clone(), path, message);
        let api_version = doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        if api_version != "chatbot.dev/v1alpha1" || kind != "ChatbotDeployment" {
            return Err(fail(
                "apiVersion/kind".into(),
                format!(
                    "expected chatbot.dev/v1alpha1 ChatbotDeployment, found {api_version:?} {kind:?}"
                ),
            ));
        }
        if name.is_none() {
            return Err(fail("metadata.name".into(), "required".into()));
        }
        if let Some(namespace) = doc.pointer("/metadata/namespace").and_then(Value::as_str)
            && !is_dns_label(namespace)
        {
            return Err(fail(
                "metadata.namespace".into(),
                format!(
                    "{namespace:?} is not a namespace name: at most 63 lower-case letters, digits and -, starting and ending with a letter or digit"
                ),
            ));
        }
        let deployment =
            strict_deployment(&doc).map_err(|error| fail(error.path, error.message))?;
        if let Some(violation) = admission::check_deployment(&doc).into_iter().next() {
            return Err(fail(violation.path, violation.message));
        }
        deployments.push(deployment);
    }
    Ok(deployments)
}

/// Whether `text` is an RFC 1123 label, as a namespace's name must be.
fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// The derived resource type reads `apiVersion` and `kind` without keeping
/// them, which the strict reader would report as unknown; they were checked
/// above, so the rest of the object is read strictly and they are set back.
fn strict_deployment(doc: &Value) -> Result<ChatbotDeployment, document::FieldError> {
    let mut body = doc.clone();
    if let Value::Object(map) = &mut body {
        map.remove("apiVersion");
        map.remove("kind");
    }
    #[derive(serde::Deserialize)]
    struct Body {
        metadata: kube::api::ObjectMeta,
        spec: crate::api::ChatbotDeploymentSpec,
        #[serde(default)]
        status: Option<crate::api::ChatbotDeploymentStatus>,
    }
    let body: Body = document::strict_from_value(body)?;
    let mut deployment = ChatbotDeployment::new("", body.spec);
    deployment.metadata = body.metadata;
    deployment.status = body.status;
    Ok(deployment)
}
