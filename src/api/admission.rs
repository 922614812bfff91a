//! The CRDs' CEL rules evaluated client-side with kube's CEL evaluator, so
//! `render` and `plan` reject exactly what the API server would reject at
//! admission, with the same messages.

use std::sync::OnceLock;

use kube::{
    CustomResourceExt,
    core::cel::{CompiledSchema, Validator, compile_schema},
};
use serde_json::Value;

use super::{ChatbotAction, ChatbotDeployment};

/// A rule the object breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleViolation {
    /// Path of the object the rule is attached to, e.g. `spec.replicas`.
    pub path: String,
    /// The rule's message.
    pub message: String,
}

impl std::fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// The `openAPIV3Schema` of the first version of a derived CRD.
pub fn open_api_schema<K: CustomResourceExt>() -> Value {
    let crd = K::crd();
    crd.spec
        .versions
        .first()
        .and_then(|version| version.schema.as_ref())
        .and_then(|schema| schema.open_api_v3_schema.as_ref())
        .and_then(|schema| serde_json::to_value(schema).ok())
        .unwrap_or(Value::Null)
}

fn compiled<K: CustomResourceExt>(
    cell: &'static OnceLock<CompiledSchema>,
) -> &'static CompiledSchema {
    cell.get_or_init(|| compile_schema(&open_api_schema::<K>()))
}

/// Evaluates every CEL rule of the ChatbotDeployment CRD against `object`
/// (the whole resource as JSON) on creation.
pub fn check_deployment(object: &Value) -> Vec<RuleViolation> {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    check(compiled::<ChatbotDeployment>(&SCHEMA), object, None)
}

/// Evaluates every CEL rule of the ChatbotAction CRD against `object`; with
/// `old`, as an update (transition rules such as immutability included).
pub fn check_action(object: &Value, old: Option<&Value>) -> Vec<RuleViolation> {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    check(compiled::<ChatbotAction>(&SCHEMA), object, old)
}

fn check(schema: &CompiledSchema, object: &Value, old: Option<&Value>) -> Vec<RuleViolation> {
    match Validator::new().validate_compiled(schema, object, old) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .into_vec()
            .into_iter()
            .map(|error| RuleViolation {
                path: error.field_path,
                message: error.message,
            })
            .collect(),
    }
}
