//! The CustomResourceDefinitions, as `chatbot-operator crd` prints them and
//! as `manifests/crds/` holds them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::Value;

use super::{ChatbotAction, ChatbotDeployment};

/// Both CRDs, ChatbotDeployment first.
///
/// Optional fields are not marked `nullable`: the API server then prunes
/// an explicit `null` before defaulting and validation, so `null` means
/// "unset" (the environment default applies) instead of reaching a CEL
/// rule as a null value it cannot compare.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        with_unobserved_status(without_nullable(ChatbotDeployment::crd())),
        without_nullable(ChatbotAction::crd()),
    ]
}

/// A ChatbotDeployment the operator has not looked at yet reads as
/// `status: {observedGeneration: 0}` (the API server applies schema
/// defaults when it reads an object), so kstatus-based tools (Flux,
/// `kubectl wait`) see it in progress instead of healthy before the
/// operator has done anything.
fn with_unobserved_status(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    for version in &mut crd.spec.versions {
        let status = version
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
            .and_then(|s| s.properties.as_mut())
            .and_then(|p| p.get_mut("status"));
        if let Some(status) = status {
            status.default = Some(
                k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSON(
                    serde_json::json!({ "observedGeneration": 0 }),
                ),
            );
        }
    }
    crd
}

fn without_nullable(crd: CustomResourceDefinition) -> CustomResourceDefinition {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("nullable");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let Ok(mut value) = serde_json::to_value(&crd) else {
        return crd;
    };
    strip(&mut value);
    serde_json::from_value(value).unwrap_or(crd)
}

/// Both CRDs as one multi-document YAML stream.
pub fn crds_yaml() -> Result<String, serde_yaml_ng::Error> {
    let mut out = String::new();
    for crd in crds() {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(&crd)?);
    }
    Ok(out)
}
