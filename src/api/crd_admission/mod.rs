//! What a Kubernetes API server refuses of a CustomResourceDefinition that
//! a schema check alone does not see: a protected group (`*.k8s.io`,
//! `*.kubernetes.io`) without the `api-approved.kubernetes.io`
//! annotation, and CEL rules over the static cost budget — estimated as
//! the oldest supported API server (1.26) estimates them, the strictest
//! estimator this project runs on. Messages are the API server's own, so a
//! test or the in-memory API server fails the way a cluster would.

mod cost;
mod decl;

pub use cost::Range;

use serde_json::Value;

/// The largest static cost one rule may have (times how often it can run).
pub const RULE_COST_LIMIT: u64 = 10_000_000;
/// The largest static cost of all rules of one CRD together.
pub const CRD_COST_LIMIT: u64 = 100_000_000;
/// The annotation a CRD in a protected group must carry.
pub const APPROVAL_ANNOTATION: &str = "api-approved.kubernetes.io";

/// The estimated cost of one rule of a CRD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCost {
    /// The API server's field path of the rule.
    pub path: String,
    pub rule: String,
    /// The rule's cost times the most times it can run in one object.
    pub cost: u64,
}

/// Every rule of `schema` (an `openAPIV3Schema`) with its cost, or the
/// rules the model cannot estimate with the reason.
pub fn rule_costs(schema: &Value) -> (Vec<RuleCost>, Vec<String>) {
    let mut walk = Walk::default();
    walk.node(schema, "spec.validation.openAPIV3Schema", Some(1), true);
    (walk.costs, walk.unknown)
}

#[derive(Default)]
struct Walk {
    costs: Vec<RuleCost>,
    unknown: Vec<String>,
}

impl Walk {
    /// `cardinality`: how many times this node can occur in one object
    /// (`None`: under a list or map without a bound).
    fn node(&mut self, schema: &Value, path: &str, cardinality: Option<u64>, root: bool) {
        if let Some(Value::Array(rules)) = schema.get("x-kubernetes-validations") {
            let resource_root =
                root || schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
            match decl::of(schema, resource_root) {
                Some(declaration) => {
                    for (index, rule) in rules.iter().enumerate() {
                        let text = rule["rule"].as_str().unwrap_or_default();
                        let rule_path = format!("{path}.x-kubernetes-validations[{index}].rule");
                        match cost::estimate(text, &declaration) {
                            Ok(estimate) => {
                                let times = cardinality
                                    .unwrap_or_else(|| decl::max_cardinality(declaration.min_size));
                                self.costs.push(RuleCost {
                                    path: rule_path,
                                    rule: text.to_string(),
                                    cost: estimate.max.saturating_mul(times),
                                });
                            }
                            Err(reason) => self.unknown.push(format!("{rule_path}: {reason}")),
                        }
                    }
                }
                None => self
                    .unknown
                    .push(format!("{path}: rules on a node CEL cannot see")),
            }
        }
        let factor = match schema.get("type").and_then(Value::as_str) {
            Some("array") => schema.get("maxItems").and_then(Value::as_u64),
            Some("object") if schema.get("additionalProperties").is_some() => {
                schema.get("maxProperties").and_then(Value::as_u64)
            }
            _ => Some(1),
        };
        let child = cardinality.zip(factor).map(|(c, f)| c.saturating_mul(f));
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (name, property) in properties {
                self.node(
                    property,
                    &format!("{path}.properties[{name}]"),
                    child,
                    false,
                );
            }
        }
        if let Some(items) = schema.get("items") {
            self.node(items, &format!("{path}.items"), child, false);
        }
        if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
            self.node(
                values,
                &format!("{path}.additionalProperties"),
                child,
                false,
            );
        }
    }
}

/// How far over a limit a cost is, worded as the API server words it.
fn factor(cost: u64, limit: u64) -> String {
    let factor = cost as f64 / limit as f64;
    if factor > 100.0 {
        "more than 100x".to_string()
    } else if factor < 1.5 {
        format!("{factor:.6}x")
    } else {
        format!("{factor:.1}x")
    }
}

/// The cost errors of one version's schema, as the API server reports them.
pub fn cost_errors(schema: &Value) -> Vec<String> {
    let (costs, unknown) = rule_costs(schema);
    let mut errors: Vec<String> = unknown;
    for rule in costs.iter().filter(|r| r.cost > RULE_COST_LIMIT) {
        errors.push(format!(
            "{}: Forbidden: estimated rule cost exceeds budget by factor of {} (try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
            rule.path,
            factor(rule.cost, RULE_COST_LIMIT)
        ));
    }
    let total = costs.iter().fold(0u64, |sum, r| sum.saturating_add(r.cost));
    if total > CRD_COST_LIMIT {
        errors.push(format!(
            "spec.validation.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of {}",
            factor(total, CRD_COST_LIMIT)
        ));
    }
    errors
}

fn protected(group: &str) -> bool {
    ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|suffix| group == *suffix || group.ends_with(&format!(".{suffix}")))
}

/// Everything the API server would refuse of `crd` (a
/// CustomResourceDefinition as JSON) for the reasons this module knows.
pub fn violations(crd: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    if protected(group) {
        let approval = crd["metadata"]["annotations"][APPROVAL_ANNOTATION]
            .as_str()
            .unwrap_or_default();
        if approval.is_empty() {
            errors.push(format!(
                "metadata.annotations[{APPROVAL_ANNOTATION}]: Required value: protected groups must have approval annotation"
            ));
        } else if !["unapproved", "https://", "http://"]
            .iter()
            .any(|prefix| approval.starts_with(prefix))
        {
            errors.push(format!(
                "metadata.annotations[{APPROVAL_ANNOTATION}]: Invalid value: {approval:?}: protected groups must have approval annotation {APPROVAL_ANNOTATION:?}, with either a URL or a reason starting with \"unapproved\""
            ));
        }
    }
    if let Some(versions) = crd["spec"]["versions"].as_array() {
        for version in versions {
            let schema = &version["schema"]["openAPIV3Schema"];
            if !schema.is_null() {
                errors.extend(cost_errors(schema));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests;
