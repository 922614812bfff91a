//! The CRDs: in sync with the types, structural as the API server demands,
//! and every CEL rule cheap enough for the cost budget of the oldest
//! supported API server.

use chatbot_operator::api;
use chatbot_operator::api::crd_admission;
use kube::core::cel::compile_schema;
use serde_json::Value;

use crate::common;

#[test]
fn committed_crds_match_the_types() {
    let on_disk =
        std::fs::read_to_string(common::root().join("manifests/crds/chatbot.dev.yaml")).unwrap();
    let generated = api::crds_yaml().unwrap();
    assert!(
        on_disk == generated,
        "manifests/crds/chatbot.dev.yaml is out of date: run `cargo run -- crd > manifests/crds/chatbot.dev.yaml` and review the diff"
    );
}

const JUNCTORS: [&str; 4] = ["anyOf", "oneOf", "allOf", "not"];
/// Keys a value-validation junctor may not hold in a structural schema.
const FORBIDDEN_IN_JUNCTORS: [&str; 7] = [
    "type",
    "additionalProperties",
    "description",
    "default",
    "nullable",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-embedded-resource",
];

/// Checks the structural-schema rules the API server enforces, returning
/// every violation with its path.
fn structural_violations(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Value::Object(node) = schema else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    let int_or_string = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    match node.get("type").and_then(Value::as_str) {
        None if !int_or_string && !preserve => out.push(format!("{path}: no type")),
        Some(_) if int_or_string => out.push(format!("{path}: int-or-string must not set a type")),
        Some(kind)
            if !["object", "array", "string", "integer", "number", "boolean"].contains(&kind) =>
        {
            out.push(format!("{path}: unknown type {kind}"))
        }
        _ => {}
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        out.push(format!(
            "{path}: properties and additionalProperties together"
        ));
    }
    if node.get("type").and_then(Value::as_str) == Some("array") && !node.contains_key("items") {
        out.push(format!("{path}: array without items"));
    }
    for junctor in JUNCTORS {
        let Some(branches) = node.get(junctor) else {
            continue;
        };
        let branches: Vec<&Value> = match branches {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for branch in branches {
            for key in FORBIDDEN_IN_JUNCTORS {
                // int-or-string may spell out its two types in anyOf.
                let allowed = int_or_string && junctor == "anyOf" && key == "type";
                if branch.get(key).is_some() && !allowed {
                    out.push(format!("{path}.{junctor}: holds {key}"));
                }
            }
        }
    }
    if let Some(default) = node.get("default") {
        let fits = match node.get("type").and_then(Value::as_str) {
            Some("string") => default.is_string(),
            Some("integer") => default.is_i64() || default.is_u64(),
            Some("number") => default.is_number(),
            Some("boolean") => default.is_boolean(),
            Some("array") => default.is_array(),
            Some("object") => default.is_object(),
            _ => true,
        };
        if !fits {
            out.push(format!("{path}: default {default} does not fit its type"));
        }
    }
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (name, child) in properties {
            structural_violations(child, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        structural_violations(items, &format!("{path}[]"), out);
    }
    if let Some(additional @ Value::Object(_)) = node.get("additionalProperties") {
        structural_violations(additional, &format!("{path}{{}}"), out);
    }
}

fn schemas() -> Vec<(String, Value)> {
    common::crds_on_disk()
        .into_iter()
        .map(|crd| {
            let name = crd["metadata"]["name"].as_str().unwrap().to_string();
            (
                name,
                crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone(),
            )
        })
        .collect()
}

#[test]
fn crds_are_structural_schemas() {
    for (name, schema) in schemas() {
        let mut violations = Vec::new();
        structural_violations(&schema, &name, &mut violations);
        assert!(violations.is_empty(), "{violations:#?}");
    }
}

/// Paths where a free-form object is meant; everything else is typed.
const FREE_FORM: [&str; 0] = [];

fn preserve_unknown(schema: &Value, path: &str, out: &mut Vec<String>) {
    if let Value::Object(node) = schema {
        if node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            out.push(path.to_string());
        }
        for (key, child) in node {
            preserve_unknown(child, &format!("{path}.{key}"), out);
        }
    }
}

#[test]
fn no_field_silently_keeps_unknown_content() {
    for (name, schema) in schemas() {
        let mut found = Vec::new();
        preserve_unknown(&schema, &name, &mut found);
        found.retain(|path| !FREE_FORM.contains(&path.as_str()));
        assert!(
            found.is_empty(),
            "unexpected x-kubernetes-preserve-unknown-fields at {found:#?}"
        );
    }
}

#[test]
fn every_rule_compiles() {
    for (name, schema) in schemas() {
        let compiled = compile_schema(&schema);
        let errors: Vec<String> = compiled
            .compilation_errors()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:#?}");
    }
}

/// The oldest supported API server (1.26.0) has the strictest cost
/// estimator; `crd_admission` models it (and the approval annotation).
#[test]
fn the_crds_fit_the_cel_cost_budget_of_a_1_26_api_server() {
    for crd in common::crds_on_disk() {
        let violations = crd_admission::violations(&crd);
        assert!(violations.is_empty(), "{violations:#?}");
        let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        let (costs, unknown) = crd_admission::rule_costs(schema);
        assert!(unknown.is_empty(), "{unknown:#?}");
        // Every rule costed, and headroom kept for the next ones.
        let total: u64 = costs.iter().map(|rule| rule.cost).sum();
        // Shown with --nocapture: where the budget goes.
        let mut costs = costs;
        costs.sort_by_key(|rule| std::cmp::Reverse(rule.cost));
        eprintln!("{}: total {total}", crd["metadata"]["name"]);
        for rule in costs.iter().take(3) {
            eprintln!("  {:>9}  {}", rule.cost, rule.rule);
        }
        assert!(total < crd_admission::CRD_COST_LIMIT / 10, "{total}");
    }
}

/// The two rules a real 1.26.0 API server refused in this CRD: the model
/// must refuse them too, or it is not the API server's model.
#[test]
fn the_rules_a_1_26_api_server_refused_are_refused_here() {
    let crd = common::crds_on_disk().remove(0);
    for (pointer, rule) in [
        (
            "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/rollout/properties/abTest/properties/variants",
            "self.map(v, v.weight).sum() == 100",
        ),
        (
            "/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties/rollout/properties/canary/properties/steps",
            "self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()",
        ),
    ] {
        let mut crd = crd.clone();
        crd.pointer_mut(pointer).unwrap()["x-kubernetes-validations"][0]["rule"] = rule.into();
        let violations = crd_admission::violations(&crd);
        assert!(
            violations.iter().any(|v| v.contains(
                "x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x"
            )),
            "{rule}: {violations:#?}"
        );
        assert!(
            violations.iter().any(|v| v
                .contains("estimated rule cost total for entire OpenAPIv3 schema exceeds budget")),
            "{violations:#?}"
        );
    }
}

#[test]
fn printer_columns_show_phase_revision_weight_ready_cost_and_age() {
    let crd = &common::crds_on_disk()[0];
    let columns: Vec<&str> = crd["spec"]["versions"][0]["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        columns,
        ["Phase", "Revision", "Weight", "Ready", "Cost/Month", "Age"]
    );
    assert_eq!(crd["spec"]["names"]["shortNames"][0], "cbd");
    assert_eq!(
        crd["spec"]["versions"][0]["subresources"]["status"],
        serde_json::json!({})
    );
}

fn undocumented(schema: &Value, path: &str, out: &mut Vec<String>) {
    let Value::Object(node) = schema else { return };
    if let Some(Value::Object(properties)) = node.get("properties") {
        for (name, child) in properties {
            let child_path = format!("{path}.{name}");
            let described = child
                .get("description")
                .and_then(Value::as_str)
                .is_some_and(|text| !text.trim().is_empty());
            // apiVersion, kind and metadata are described by the API server itself.
            let standard =
                path.is_empty() && ["apiVersion", "kind", "metadata"].contains(&name.as_str());
            if !described && !standard {
                out.push(child_path.clone());
            }
            undocumented(child, &child_path, out);
        }
    }
    if let Some(items) = node.get("items") {
        undocumented(items, &format!("{path}[]"), out);
    }
    if let Some(additional @ Value::Object(_)) = node.get("additionalProperties") {
        undocumented(additional, &format!("{path}{{}}"), out);
    }
}

#[test]
fn every_field_has_a_description_for_kubectl_explain() {
    for (name, schema) in schemas() {
        let mut missing = Vec::new();
        undocumented(&schema, "", &mut missing);
        assert!(
            missing.is_empty(),
            "{name}: fields without a description: {missing:#?}"
        );
    }
}
