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
    [ChatbotDeployment::crd(), ChatbotAction::crd()]
        .into_iter()
        .map(without_nullable)
        .collect()
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
