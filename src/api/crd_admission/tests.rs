use serde_json::{Value, json};

use super::*;

/// The rules at `schema`'s root, costed as the API server would.
fn costs(schema: Value) -> Vec<u64> {
    let (costs, unknown) = rule_costs(&schema);
    assert!(unknown.is_empty(), "{unknown:?}");
    costs.into_iter().map(|rule| rule.cost).collect()
}

fn list_of(items: Value, max_items: Option<u64>, rule: &str) -> Value {
    let mut schema = json!({
        "type": "array",
        "items": items,
        "x-kubernetes-validations": [{"rule": rule}],
    });
    if let Some(max) = max_items {
        schema["maxItems"] = json!(max);
    }
    schema
}

fn variants(rule: &str) -> Value {
    list_of(
        json!({"type": "object", "required": ["name", "weight"], "properties": {
            "name": {"type": "string", "maxLength": 31},
            "weight": {"type": "integer"},
            "baseline": {"type": "boolean"},
        }}),
        Some(8),
        rule,
    )
}

fn steps(rule: &str) -> Value {
    list_of(
        json!({"type": "object", "properties": {
            "setWeight": {"type": "integer"},
            "pause": {"type": "object", "properties": {"duration": {"type": "string", "maxLength": 32}}},
            "analysis": {"type": "boolean"},
        }}),
        Some(32),
        rule,
    )
}

#[test]
fn summing_a_map_result_is_charged_as_unbounded_on_1_26_even_under_max_items() {
    // Refused by a real 1.26.0 API server with "more than 100x".
    let errors = cost_errors(&variants("self.map(v, v.weight).sum() == 100"));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("x-kubernetes-validations[0].rule: Forbidden: estimated rule cost exceeds budget by factor of more than 100x"), "{errors:#?}");
    assert!(errors[1].contains("estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of more than 100x"));
}

#[test]
fn sorting_a_filtered_map_is_charged_as_unbounded_on_1_26() {
    let errors = cost_errors(&steps(
        "self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted()",
    ));
    assert!(
        errors
            .iter()
            .any(|e| e.contains("by factor of more than 100x")),
        "{errors:#?}"
    );
}

#[test]
fn index_arithmetic_and_macros_on_the_list_itself_fit() {
    let sum = (2..8)
        .map(|i| format!(" + (self.size() > {i} ? self[{i}].weight : 0)"))
        .collect::<String>();
    let [cost] = costs(variants(&format!(
        "self[0].weight + self[1].weight{sum} == 100"
    )))[..] else {
        panic!("one rule");
    };
    assert!(cost < 1_000, "{cost}");
    let [cost] = costs(steps(
        "self.all(a, !has(a.setWeight) || self.all(b, !has(b.setWeight) || self.indexOf(a) >= self.lastIndexOf(b) || a.setWeight <= b.setWeight))",
    ))[..] else {
        panic!("one rule");
    };
    assert!(cost < RULE_COST_LIMIT / 10, "{cost}");
    // size() of a filter result costs nothing per element.
    assert!(
        costs(variants(
            "self.filter(v, has(v.baseline) && v.baseline).size() <= 1"
        ))[0]
            < 1_000
    );
}

#[test]
fn a_comprehension_over_an_unbounded_list_is_charged_for_what_fits_in_a_request() {
    let unbounded = list_of(
        json!({"type": "string"}),
        None,
        "self.all(s, s.startsWith('a'))",
    );
    let bounded = list_of(
        json!({"type": "string", "maxLength": 10}),
        Some(10),
        "self.all(s, s.startsWith('a'))",
    );
    let unbounded_cost = costs(unbounded)[0];
    assert!(unbounded_cost > 1_000_000, "{unbounded_cost}");
    assert!(costs(bounded)[0] < 100);
    // A nested comprehension over an unbounded list of strings: refused.
    let nested = list_of(
        json!({"type": "string"}),
        None,
        "self.all(a, self.exists_one(b, a == b))",
    );
    assert!(cost_errors(&nested).iter().any(|e| e.contains("Forbidden")));
}

#[test]
fn a_rule_under_an_unbounded_list_runs_once_per_item_that_fits_in_a_request() {
    let schema = json!({
        "type": "object",
        "properties": {"tiers": {"type": "array", "items": {
            "type": "string",
            "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')"}],
        }}},
    });
    let per_item = costs(
        json!({"type": "string", "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')"}]}),
    )[0];
    // An item serialises to at least `""` and a comma: 3 bytes.
    assert_eq!(costs(schema)[0], per_item * (decl::MAX_REQUEST_BYTES / 3));
}

#[test]
fn regex_cost_grows_with_the_string_and_the_pattern() {
    let unbounded = costs(
        json!({"type": "string", "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')"}]}),
    )[0];
    let bounded = costs(
        json!({"type": "string", "maxLength": 63, "x-kubernetes-validations": [{"rule": "self.matches('^[a-z]+$')"}]}),
    )[0];
    // (3 MiB - 2 + 1) × 0.1, rounded up, times 8 characters × 0.25, and
    // 1 for reading `self`.
    assert_eq!(unbounded, 314_573 * 2 + 1);
    // maxLength counts code points of up to 4 bytes: (252 + 1) × 0.1 → 26.
    assert_eq!(bounded, 26 * 2 + 1);
}

#[test]
fn a_function_the_model_does_not_know_is_reported_not_guessed() {
    let (_, unknown) = rule_costs(
        &json!({"type": "string", "x-kubernetes-validations": [{"rule": "self.lowerAscii() == 'a'"}]}),
    );
    assert_eq!(unknown.len(), 1);
    assert!(unknown[0].contains("lowerAscii()"), "{unknown:?}");
}

#[test]
fn protected_groups_need_the_approval_annotation() {
    let crd = |group: &str, annotation: Option<&str>| {
        let mut crd = json!({"metadata": {"name": "x"}, "spec": {"group": group, "versions": []}});
        if let Some(value) = annotation {
            crd["metadata"]["annotations"] = json!({APPROVAL_ANNOTATION: value});
        }
        crd
    };
    let missing = violations(&crd("gateway.networking.k8s.io", None));
    assert_eq!(
        missing,
        [
            "metadata.annotations[api-approved.kubernetes.io]: Required value: protected groups must have approval annotation"
        ]
    );
    assert!(violations(&crd("kubernetes.io", None)).len() == 1);
    assert!(violations(&crd("x.k8s.io", Some("not a url")))[0].contains("Invalid value"));
    for fine in [
        crd(
            "gateway.networking.k8s.io",
            Some("https://github.com/kubernetes-sigs/gateway-api/pull/3328"),
        ),
        crd("x.k8s.io", Some("unapproved, experimental")),
        crd("chatbot.dev", None),
        crd("k8s.io.example.com", None),
    ] {
        assert!(violations(&fine).is_empty(), "{fine}");
    }
}
