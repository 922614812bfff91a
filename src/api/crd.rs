//! The CustomResourceDefinitions, as `chatbot-operator crd` prints them and
//! as `manifests/crds/` holds them.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

use super::{ChatbotAction, ChatbotDeployment};

/// Both CRDs, ChatbotDeployment first.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![ChatbotDeployment::crd(), ChatbotAction::crd()]
}

/// File name of each CRD under `manifests/crds/`, paired with its YAML.
pub fn crd_files() -> Result<Vec<(String, String)>, serde_yaml_ng::Error> {
    crds()
        .into_iter()
        .map(|crd| {
            let file = format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("crd"));
            serde_yaml_ng::to_string(&crd).map(|yaml| (file, yaml))
        })
        .collect()
}

/// Both CRDs as one multi-document YAML stream.
pub fn crds_yaml() -> Result<String, serde_yaml_ng::Error> {
    Ok(crd_files()?
        .into_iter()
        .map(|(_, yaml)| format!("---\n{yaml}"))
        .collect())
}
