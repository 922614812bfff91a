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

/// The `openAPIV3Schema` of the CRD of `K`, as `crds()` publishes it.
pub fn open_api_schema<K: CustomResourceExt>() -> Value {
    let name = K::crd_name();
    let Some(crd) = super::crds()
        .into_iter()
        .find(|crd| crd.metadata.name.as_deref() == Some(name))
    else {
        return Value::Null;
    };
    crd.spec
        .versions
        .first()
        .and_then(|version| version.schema.as_ref())
        .and_then(|schema| schema.open_api_v3_schema.as_ref())
        .and_then(|schema| serde_json::to_value(schema).ok())
        .unwrap_or(Value::Null)
}

struct Admission {
    schema: Value,
    compiled: CompiledSchema,
}

fn admission<K: CustomResourceExt>(cell: &'static OnceLock<Admission>) -> &'static Admission {
    cell.get_or_init(|| {
        let schema = open_api_schema::<K>();
        let compiled = compile_schema(&schema);
        Admission { schema, compiled }
    })
}

/// Removes every `null` member of a map, recursively, as the API server
/// prunes nulls of fields that are not nullable.
pub fn prune_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, member| !member.is_null());
            map.values_mut().for_each(prune_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(prune_nulls),
        _ => {}
    }
}

/// Whether `value` is of the schema's `type`: a list where an object
/// belongs (which serde would read as the struct's fields in order) is
/// refused, as the API server refuses it.
fn type_violation(schema: &Value, value: &Value) -> Option<String> {
    let open = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
    if open("x-kubernetes-int-or-string") || open("x-kubernetes-preserve-unknown-fields") {
        return None;
    }
    let wanted = schema.get("type").and_then(Value::as_str)?;
    let found = match value {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Null => return None,
    };
    let fits = found == wanted || (wanted == "number" && found == "integer");
    (!fits).then(|| format!("must be of type {wanted}, not {found}"))
}

/// The value limits of the schema (`minItems`, `maxItems`, `minLength`,
/// `maxLength`, `maxProperties`) that the API server checks beside CEL,
/// and each value's type.
fn limit_violations(schema: &Value, value: &Value, path: &str, out: &mut Vec<RuleViolation>) {
    if let Some(message) = type_violation(schema, value) {
        out.push(RuleViolation {
            path: path.to_string(),
            message,
        });
        return;
    }
    let limit = |key: &str| schema.get(key).and_then(Value::as_u64);
    let mut check = |size: usize, min_key: &str, max_key: &str, unit: &str| {
        if let Some(min) = limit(min_key)
            && (size as u64) < min
        {
            out.push(RuleViolation {
                path: path.to_string(),
                message: format!("must have at least {min} {unit}"),
            });
        }
        if let Some(max) = limit(max_key)
            && (size as u64) > max
        {
            out.push(RuleViolation {
                path: path.to_string(),
                message: format!("must have at most {max} {unit}"),
            });
        }
    };
    match value {
        Value::String(text) => check(text.chars().count(), "minLength", "maxLength", "characters"),
        Value::Array(items) => {
            check(items.len(), "minItems", "maxItems", "items");
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    limit_violations(item_schema, item, &format!("{path}[{index}]"), out);
                }
            }
        }
        Value::Object(members) => {
            check(members.len(), "minProperties", "maxProperties", "entries");
            for (key, member) in members {
                let member_schema = schema
                    .get("properties")
                    .and_then(|properties| properties.get(key))
                    .or_else(|| schema.get("additionalProperties").filter(|s| s.is_object()));
                if let Some(member_schema) = member_schema {
                    let member_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    limit_violations(member_schema, member, &member_path, out);
                }
            }
        }
        _ => {}
    }
}

/// Checks `object` (the whole resource as JSON, nulls pruned) against the
/// ChatbotDeployment CRD's value limits and every CEL rule, on creation.
pub fn check_deployment(object: &Value) -> Vec<RuleViolation> {
    static SCHEMA: OnceLock<Admission> = OnceLock::new();
    check(admission::<ChatbotDeployment>(&SCHEMA), object, None)
}

/// Evaluates every CEL rule of the ChatbotAction CRD against `object`; with
/// `old`, as an update (transition rules such as immutability included).
pub fn check_action(object: &Value, old: Option<&Value>) -> Vec<RuleViolation> {
    static SCHEMA: OnceLock<Admission> = OnceLock::new();
    check(admission::<ChatbotAction>(&SCHEMA), object, old)
}

/// Limits first, then CEL rules: the order the API server reports them in.
fn check(admission: &Admission, object: &Value, old: Option<&Value>) -> Vec<RuleViolation> {
    let mut violations = Vec::new();
    limit_violations(&admission.schema, object, "", &mut violations);
    if let Err(errors) = Validator::new().validate_compiled(&admission.compiled, object, old) {
        violations.extend(errors.into_vec().into_iter().map(|error| RuleViolation {
            path: error.field_path,
            message: error.message,
        }));
    }
    violations
}
