//! One arm of an A/B test: the baseline, or a candidate that runs the
//! spec's new revision or an overlay of the spec.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, ResourceRequirements};
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// One arm of an A/B test. The candidate variant runs the spec's new
/// revision; with any of `image`, `config`, `env`, `envFrom`, `args` or
/// `resources` it runs the spec with those set over it instead (an
/// overlay), so a new prompt, model or temperature is tested on the same
/// image without changing the spec.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.baseline) || !self.baseline || (!has(self.image) && !has(self.config) && !has(self.env) && !has(self.envFrom) && !has(self.args) && !has(self.resources))").message("spec.rollout.abTest.variants[]: the baseline variant runs the stable revision and may not set image, config, env, envFrom, args or resources"))]
pub struct Variant {
    /// Variant name, e.g. `baseline`, `new-prompt`.
    #[schemars(length(max = 31))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z][a-z0-9-]{0,30}$')").message("spec.rollout.abTest.variants[].name must be lower-case letters, digits and dashes (at most 31)"))]
    pub name: String,
    /// Percent of traffic this variant receives.
    #[x_kube(validation = Rule::new("self >= 0 && self <= 100").message("spec.rollout.abTest.variants[].weight must be between 0 and 100"))]
    pub weight: i32,
    /// This variant keeps serving the stable revision (the control group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<bool>,
    /// Container image of the candidate variant, instead of `spec.image`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$')").message("spec.rollout.abTest.variants[].image must be a container image reference"))]
    pub image: Option<String>,
    /// Configuration of the candidate variant, set over `spec.config` key
    /// by key (e.g. `SYSTEM_PROMPT`, `LLM_MODEL`, `LLM_TEMPERATURE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maxProperties" = 64, "additionalProperties" = {"type": "string", "maxLength": 65536}))]
    #[x_kube(validation = Rule::new("self.all(k, !(k in ['PORT', 'ENVIRONMENT', 'LOG_LEVEL', 'WEB_CONCURRENCY', 'DB_POOL_SIZE', 'DB_MAX_OVERFLOW', 'CORS_ALLOWED_ORIGINS', 'DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN', 'CHATBOT_REVISION', 'CHATBOT_VARIANT']) && !k.startsWith('RATE_LIMIT_'))").message("spec.rollout.abTest.variants[].config may not set what the app contract sets (PORT, CHATBOT_VARIANT, RATE_LIMIT_*, ...): set that field of the spec instead"))]
    pub config: Option<BTreeMap<String, String>>,
    /// Environment variables of the candidate variant, set over `spec.env`
    /// by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    #[x_kube(validation = Rule::new("self.all(e, !(e.name in ['PORT', 'ENVIRONMENT', 'LOG_LEVEL', 'WEB_CONCURRENCY', 'DB_POOL_SIZE', 'DB_MAX_OVERFLOW', 'CORS_ALLOWED_ORIGINS', 'DATABASE_URL', 'REDIS_URL', 'SENTRY_DSN', 'CHATBOT_REVISION', 'CHATBOT_VARIANT']) && !e.name.startsWith('RATE_LIMIT_'))").message("spec.rollout.abTest.variants[].env may not set what the app contract sets (PORT, CHATBOT_VARIANT, RATE_LIMIT_*, ...): set that field of the spec instead"))]
    pub env: Option<Vec<EnvVar>>,
    /// Environment sources of the candidate variant, after `spec.envFrom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub env_from: Option<Vec<EnvFromSource>>,
    /// Arguments of the candidate variant, instead of `spec.args`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(length(max = 4096)))]
    pub args: Option<Vec<String>>,
    /// Requests and limits of the candidate variant, set over
    /// `spec.resources` by resource name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Variant {
    /// The variant sets anything over the spec.
    pub fn is_overlay(&self) -> bool {
        self.image.is_some()
            || self.config.is_some()
            || self.env.is_some()
            || self.env_from.is_some()
            || self.args.is_some()
            || self.resources.is_some()
    }
}
