//! The CRDs' CEL rules, evaluated with kube's CEL evaluator exactly as the
//! API server evaluates them at admission: every sample is admitted, and
//! every rule rejects a spec that breaks it with the rule's own message.
//! A rule without a breaking case here fails `every_rule_has_a_breaking_case`.

use std::collections::BTreeSet;

use chatbot_operator::api::admission::{check_action, check_deployment};
use serde_json::{Value, json};

use crate::common;

use common::cases::{action, action_cases, base, deployment_cases, judged, on_gateway, set};

/// The distinct messages of the rules that failed (one rule on a list item
/// fails once per bad item).
fn messages(violations: Vec<chatbot_operator::api::admission::RuleViolation>) -> Vec<String> {
    let distinct: BTreeSet<String> = violations.into_iter().map(|v| v.message).collect();
    distinct.into_iter().collect()
}

#[test]
fn every_sample_is_admitted() {
    for name in common::SAMPLES {
        let violations = check_deployment(&common::sample_json(name));
        assert!(violations.is_empty(), "{name}: {violations:?}");
    }
}

#[test]
fn weights_that_hold_are_admitted_in_every_shape_the_rules_allow() {
    for rollout in [
        json!({"canary": {"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 10}, {"analysis": true}, {"setWeight": 50}, {"pause": {"duration": "1h"}}, {"setWeight": 100}]}}),
        json!({"canary": {"steps": [{"pause": {}}]}}),
        json!({"abTest": {"variants": [{"name": "a", "weight": 100}, {"name": "b", "weight": 0}]}}),
    ] {
        let mut doc = base();
        set(&mut doc, "/spec/rollout", rollout.clone());
        let violations = messages(check_deployment(&doc));
        assert!(violations.is_empty(), "{rollout}: {violations:?}");
    }
    // Several candidates, behind a route that has a backend for each.
    for rollout in [
        judged(json!([{"name": "a", "weight": 20, "baseline": true}, {"name": "b", "weight": 30}, {"name": "c", "weight": 50}])),
        judged(json!((0..8).map(|i| json!({"name": format!("v{i}"), "weight": if i == 7 { 30 } else { 10 }, "baseline": i == 0})).collect::<Vec<_>>())),
    ] {
        let mut doc = base();
        set(&mut doc, "/spec", on_gateway(rollout.clone()));
        let violations = messages(check_deployment(&doc));
        assert!(violations.is_empty(), "{rollout}: {violations:?}");
    }
}

#[test]
fn each_broken_rule_is_rejected_with_its_own_message_only() {
    for (path, value, expected) in deployment_cases() {
        let mut doc = base();
        set(&mut doc, path, value);
        assert_eq!(
            messages(check_deployment(&doc)),
            [expected],
            "breaking {path}"
        );
    }
}

#[test]
fn each_broken_action_rule_is_rejected_with_its_own_message_only() {
    assert!(check_action(&action(), None).is_empty());
    for (path, value, expected) in action_cases() {
        let mut doc = action();
        set(&mut doc, path, value);
        assert_eq!(
            messages(check_action(&doc, None)),
            [expected],
            "breaking {path}"
        );
    }
}

#[test]
fn an_action_cannot_be_edited_after_creation() {
    let old = action();
    let mut edited = action();
    set(&mut edited, "/spec/revision", json!(2));
    assert_eq!(
        messages(check_action(&edited, Some(&old))),
        ["spec is immutable: create a new ChatbotAction instead"]
    );
    assert!(check_action(&old, Some(&old)).is_empty());
}

#[test]
fn value_limits_of_the_schema_are_enforced_beside_the_rules() {
    let mut doc = base();
    set(
        &mut doc,
        "/spec/rollout",
        json!({"abTest": {"variants": [{"name": "only", "weight": 100}]}}),
    );
    let violations = check_deployment(&doc);
    assert_eq!(
        violations[0].to_string(),
        "spec.rollout.abTest.variants: must have at least 2 items"
    );

    let mut doc = base();
    set(
        &mut doc,
        "/spec/secrets",
        json!({"generated": ["K".repeat(129)]}),
    );
    assert_eq!(
        check_deployment(&doc)[0].to_string(),
        "spec.secrets.generated[0]: must have at most 128 characters"
    );

    let mut doc = base();
    set(
        &mut doc,
        "/spec/maintenance/message",
        json!("x".repeat(4097)),
    );
    assert_eq!(
        check_deployment(&doc)[0].to_string(),
        "spec.maintenance.message: must have at most 4096 characters"
    );

    // A list where an object belongs, which serde alone reads as the
    // object's fields in order: the API server refuses it, and so does
    // the offline check.
    for (path, value, expected) in [
        (
            "/spec/backup",
            json!([]),
            "spec.backup: must be of type object, not array",
        ),
        (
            "/spec/observability",
            json!([]),
            "spec.observability: must be of type object, not array",
        ),
        (
            "/spec/rollout",
            json!({"analysis": []}),
            "spec.rollout.analysis: must be of type object, not array",
        ),
        (
            "/spec/paused",
            json!("yes"),
            "spec.paused: must be of type boolean, not string",
        ),
    ] {
        let mut doc = base();
        set(&mut doc, path, value);
        let violations = check_deployment(&doc);
        assert_eq!(violations[0].to_string(), expected, "{violations:?}");
    }
}

#[test]
fn an_explicit_null_means_unset_as_the_api_server_prunes_it() {
    let mut doc = base();
    set(&mut doc, "/spec/replicas", json!({"min": null, "max": 4}));
    chatbot_operator::api::admission::prune_nulls(&mut doc);
    assert!(check_deployment(&doc).is_empty());
    assert_eq!(doc["spec"]["replicas"], json!({"max": 4}));
}

/// Every `x-kubernetes-validations` message in `schema`.
fn rule_messages(schema: &Value, found: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Array(rules)) = map.get("x-kubernetes-validations") {
                for rule in rules {
                    if let Some(message) = rule.get("message").and_then(Value::as_str) {
                        found.insert(message.to_string());
                    }
                }
            }
            map.values().for_each(|child| rule_messages(child, found));
        }
        Value::Array(items) => items.iter().for_each(|child| rule_messages(child, found)),
        _ => {}
    }
}

#[test]
fn every_rule_has_a_breaking_case() {
    let mut in_crds = BTreeSet::new();
    for crd in common::crds_on_disk() {
        rule_messages(&crd, &mut in_crds);
    }
    let tested: BTreeSet<String> = deployment_cases()
        .into_iter()
        .chain(action_cases())
        .map(|(_, _, message)| message.to_string())
        .chain(["spec is immutable: create a new ChatbotAction instead".to_string()])
        .collect();
    let untested: Vec<_> = in_crds.difference(&tested).collect();
    assert!(
        untested.is_empty(),
        "rules without a breaking case: {untested:#?}"
    );
}

/// The shapes the CRDs give free-form strings admit what teams really
/// write: S3-compatible regions, every RDS and ElastiCache class form,
/// deep time zones, registries with ports and digests, nested prefixes.
#[test]
fn shaped_strings_admit_what_teams_write() {
    for (path, value) in [
        ("/spec/backup/destination/s3/region", json!("auto")),
        ("/spec/backup/destination/s3/region", json!("us-gov-west-1")),
        (
            "/spec/backup/destination/s3/prefix",
            json!("teams/mindmitra/prod/"),
        ),
        (
            "/spec/backup/destination/s3/bucket",
            json!("mindmitra.backups-2027"),
        ),
        (
            "/spec/database/instanceClass",
            json!("db.r5.2xlarge.tpc2.mem4x"),
        ),
        ("/spec/cache/nodeType", json!("cache.r6gd.xlarge")),
        (
            "/spec/backup/timeZone",
            json!("America/Argentina/Buenos_Aires"),
        ),
        ("/spec/backup/timeZone", json!("Etc/GMT+5")),
        (
            "/spec/image",
            json!(
                "registry.local:5000/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            ),
        ),
        ("/spec/database/engineVersion", json!("16.4")),
        ("/spec/cache/engineVersion", json!("7.x")),
        (
            "/spec/observability/monitorLabels",
            json!({"release": "kube-prometheus-stack"}),
        ),
    ] {
        let mut doc = base();
        set(&mut doc, path, value.clone());
        let violations = messages(check_deployment(&doc));
        assert!(violations.is_empty(), "{path} = {value}: {violations:?}");
    }
}
