//! Properties over generated specs: reading and rendering never panic,
//! whatever the input, and rendering is deterministic.

use chatbot_operator::{manifest, render};
use proptest::prelude::*;
use serde_json::{Value, json};

fn optional<T: Strategy<Value = Value>>(inner: T) -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), inner]
}

fn spec() -> impl Strategy<Value = Value> {
    // Mostly valid input, so most cases reach the renderer; some invalid,
    // so the rejection paths run too.
    let environment = prop_oneof![
        3 => Just(json!("dev")),
        3 => Just(json!("staging")),
        3 => Just(json!("production")),
        1 => "[a-z]{0,6}".prop_map(Value::from),
    ];
    let image = prop_oneof![
        8 => "[a-z]{1,8}(:[a-z0-9.]{1,6})?".prop_map(Value::from),
        1 => Just(json!("")),
        1 => Just(json!("bot:latest")),
    ];
    let replicas = (
        optional((-1i32..40).prop_map(Value::from)),
        optional((-1i32..40).prop_map(Value::from)),
    )
        .prop_map(|(min, max)| json!({"min": min, "max": max}));
    let mode = prop_oneof![
        3 => Just(json!("managed")),
        3 => Just(json!("inCluster")),
        1 => Just(json!("external")),
        3 => Just(json!("none")),
        1 => Just(json!("bogus")),
    ];
    let class = prop_oneof![
        Just(json!("db.t3.micro")),
        Just(json!("db.r6g.large")),
        "db\\.[a-z0-9]{1,3}\\.[a-z]{4,6}".prop_map(Value::from)
    ];
    let database = (mode.clone(), class, optional((0i32..600).prop_map(Value::from)))
        .prop_map(|(mode, class, pool)| json!({"mode": mode, "instanceClass": class, "pool": {"size": pool}}));
    let cache = (mode, optional(Just(json!("cache.t3.micro"))), optional((-5i32..5000).prop_map(Value::from)))
        .prop_map(|(mode, node, working)| json!({"mode": mode, "nodeType": node, "workingSetMiB": working}));
    let weights = proptest::collection::vec(0i32..=100, 2..5).prop_map(|mut weights| {
        weights.sort_unstable();
        weights
    });
    let rollout = (
        prop_oneof![
            Just("Rolling"),
            Just("Canary"),
            Just("BlueGreen"),
            Just("ABTest")
        ],
        weights,
    )
        .prop_map(|(strategy, weights)| match strategy {
            "Canary" => {
                let steps: Vec<Value> = weights.iter().map(|w| json!({"setWeight": w})).collect();
                json!({"strategy": strategy, "canary": {"steps": steps}})
            }
            "ABTest" => {
                let candidate = weights[0];
                json!({"strategy": strategy, "abTest": {"variants": [
                    {"name": "baseline", "weight": 100 - candidate, "baseline": true},
                    {"name": "candidate", "weight": candidate},
                ]}})
            }
            _ => json!({"strategy": strategy}),
        });
    let limits = proptest::collection::vec(
        ("[a-z][a-z-]{0,5}", (1i64..10_000).prop_map(Value::from)),
        0..4,
    )
    .prop_map(|tiers| {
        let tiers: Vec<Value> = tiers
            .into_iter()
            .map(|(name, per_hour)| json!({"name": name, "requestsPerHour": per_hour}))
            .collect();
        json!({"tiers": tiers})
    });
    let cost = (
        (0i64..100_000),
        (0.0f64..100.0),
        (0i64..10_000),
        (0.0f64..50.0),
    )
        .prop_map(|(users, messages, tokens, price)| {
            json!({
                "model": {"inputPerMillionUSD": price, "outputPerMillionUSD": price * 4.0},
                "usage": {"activeUsersPerDay": users, "messagesPerUserPerDay": messages,
                          "inputTokensPerMessage": tokens, "outputTokensPerMessage": tokens / 2},
                "monthlyBudgetUSD": 100.0
            })
        });
    (
        environment,
        image,
        optional(replicas),
        optional(database),
        optional(cache),
        optional(rollout),
        optional(limits),
        optional(cost),
        optional(any::<bool>().prop_map(Value::from)),
        optional((0i32..70_000).prop_map(Value::from)),
    )
        .prop_map(|(environment, image, replicas, database, cache, rollout, limits, cost, websockets, port)| {
            let mut spec = json!({
                "environment": environment, "image": image, "replicas": replicas, "database": database,
                "cache": cache, "rollout": rollout, "rateLimits": limits, "cost": cost,
                "websockets": websockets, "port": port,
            });
            spec.as_object_mut().unwrap().retain(|_, v| !v.is_null());
            spec
        })
}

fn document(spec: Value) -> String {
    let doc = json!({
        "apiVersion": "chatbot.dev/v1alpha1",
        "kind": "ChatbotDeployment",
        "metadata": {"name": "prop", "namespace": "ns"},
        "spec": spec,
    });
    serde_yaml_ng::to_string(&doc).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn reading_planning_and_rendering_never_panic_and_render_is_deterministic(spec in spec()) {
        let renderer = render::Renderer::embedded().unwrap();
        let parsed = manifest::parse_deployments("generated.yaml", &document(spec));
        let Ok(deployments) = parsed else {
            return Ok(());
        };
        for deployment in &deployments {
            if let Ok(first) = renderer.render(deployment, 1) {
                let second = renderer.render(deployment, 1).unwrap();
                let yaml = render::to_yaml(&first.children).unwrap();
                prop_assert_eq!(&yaml, &render::to_yaml(&second.children).unwrap());
                prop_assert!(chatbot_operator::document::documents(&yaml).is_ok());
                let plan = chatbot_operator::plan::plan("prop", &first.resolution);
                prop_assert!(!chatbot_operator::plan::to_text(&plan).is_empty());
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics_the_reader(text in ".{0,400}") {
        let _ = manifest::parse_deployments("noise.yaml", &text);
    }
}
