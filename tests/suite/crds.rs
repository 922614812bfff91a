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

/// The oldest supported API server (1.26) has the strictest cost
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

/// Strings that may hold free text, and what each reaches: none of them
/// becomes part of a URL, a header, a path on a volume or a shell line.
/// Each still has a `maxLength`.
const FREE_TEXT: [(&str, &str); 18] = [
    (
        "ChatbotDeployment.spec.args[]",
        "the app's own arguments: the container's argv, never a shell line",
    ),
    (
        "ChatbotDeployment.spec.command[]",
        "the app's own command: the container's argv, never a shell line",
    ),
    (
        "ChatbotDeployment.spec.database.migrations.command[]",
        "the migration's command: the Job container's argv, never a shell line",
    ),
    (
        "ChatbotDeployment.spec.config{}",
        "a setting's value (a system prompt, say): a ConfigMap entry the app reads",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.variants[].args[]",
        "the candidate's own arguments: the container's argv, never a shell line",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.variants[].config{}",
        "a candidate's setting (a new system prompt, say): a ConfigMap entry the app reads",
    ),
    (
        "ChatbotDeployment.spec.maintenance.message",
        "prose on the maintenance page, HTML-escaped by the template",
    ),
    (
        "ChatbotDeployment.spec.maintenance.title",
        "prose on the maintenance page, HTML-escaped by the template",
    ),
    (
        "ChatbotDeployment.spec.maintenance.contacts[].name",
        "prose on the maintenance page, HTML-escaped by the template",
    ),
    (
        "ChatbotDeployment.spec.maintenance.links[].text",
        "prose on the maintenance page, HTML-escaped by the template",
    ),
    (
        "ChatbotDeployment.spec.cost.model.name",
        "a label for the prices in use, shown by plan and in status",
    ),
    (
        "ChatbotDeployment.spec.rollout.analysis.metrics[].query",
        "PromQL, sent URL-encoded as one query parameter to Prometheus",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.compare[].query",
        "PromQL, sent URL-encoded as one query parameter to Prometheus",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.primary.successes",
        "PromQL, sent URL-encoded as one query parameter to Prometheus",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.primary.trials",
        "PromQL, sent URL-encoded as one query parameter to Prometheus",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.guardrails[].bad",
        "PromQL, sent URL-encoded as one query parameter to Prometheus",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.guardrails[].total",
        "PromQL, sent URL-encoded as one query parameter to Prometheus",
    ),
    (
        "ChatbotAction.spec.reason",
        "why a person acted: kept in the action's status and Events",
    ),
];

/// Kubernetes' own types, taken as the core API defines them: the operator
/// copies them into the Deployment's pod template, where the API server
/// validates them again. Their lists are bounded where the CRD holds them.
const KUBERNETES_TYPES: [(&str, &str); 6] = [
    ("ChatbotDeployment.spec.env[].", "core/v1 EnvVar"),
    ("ChatbotDeployment.spec.envFrom[].", "core/v1 EnvFromSource"),
    (
        "ChatbotDeployment.spec.resources.",
        "core/v1 ResourceRequirements",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.variants[].env[].",
        "core/v1 EnvVar",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.variants[].envFrom[].",
        "core/v1 EnvFromSource",
    ),
    (
        "ChatbotDeployment.spec.rollout.abTest.variants[].resources.",
        "core/v1 ResourceRequirements",
    ),
];

/// A CEL rule that gives a string its shape: a regular expression or a
/// list of allowed values.
fn shapes(rules: &str) -> bool {
    rules.contains(".matches(") || rules.contains(" in [")
}

fn unbounded(schema: &Value, path: &str, parent_rules: &str, out: &mut Vec<String>) {
    if KUBERNETES_TYPES
        .iter()
        .any(|(prefix, _)| path.starts_with(prefix))
    {
        return;
    }
    let own_rules: String = schema["x-kubernetes-validations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|rule| rule["rule"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    match schema["type"].as_str() {
        Some("string") => {
            let enumerated = schema.get("enum").is_some();
            if schema.get("maxLength").is_none() && !enumerated {
                out.push(format!("{path}: a string without maxLength"));
            }
            let shaped = enumerated
                || schema.get("pattern").is_some()
                || schema.get("format").is_some()
                || shapes(&own_rules)
                || shapes(parent_rules);
            if !shaped && !FREE_TEXT.iter().any(|(free, _)| *free == path) {
                out.push(format!(
                    "{path}: a string without a pattern or enum (or listed in FREE_TEXT with what it reaches)"
                ));
            }
        }
        Some("array") => {
            if schema.get("maxItems").is_none() {
                out.push(format!("{path}: a list without maxItems"));
            }
            unbounded(&schema["items"], &format!("{path}[]"), &own_rules, out);
        }
        Some("object") => {
            if let Some(values @ Value::Object(_)) = schema.get("additionalProperties") {
                if schema.get("maxProperties").is_none() {
                    out.push(format!("{path}: a map without maxProperties"));
                }
                unbounded(values, &format!("{path}{{}}"), &own_rules, out);
            }
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, child) in properties {
                    unbounded(child, &format!("{path}.{name}"), "", out);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn every_string_and_list_in_a_spec_is_bounded_and_shaped() {
    let mut found = Vec::new();
    for crd in common::crds_on_disk() {
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
        let spec = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        unbounded(spec, &format!("{kind}.spec"), "", &mut found);
    }
    assert!(found.is_empty(), "{found:#?}");
}
