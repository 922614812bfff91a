use std::collections::BTreeMap;

use super::*;
use crate::api::{GatewayRef, Sticky, Tls};
use ::gateway_api::apis::standard::httproutes::HttpRoute;

fn exposure() -> Exposure {
    Exposure {
        name: "brigade".into(),
        namespace: "sales".into(),
        host: "chat.brigade.example".into(),
        tls: Some(Tls {
            cluster_issuer: Some("letsencrypt".into()),
            secret_name: None,
        }),
        ingress_class_name: Some("nginx".into()),
        gateway: Some(GatewayRef {
            name: "public".into(),
            namespace: Some("gateways".into()),
            section_name: None,
        }),
        idle_timeout_seconds: 3600,
        labels: BTreeMap::new(),
        edge: Edge::default(),
        fallback_service: None,
    }
}

/// The finance team's checklist at the edge.
fn guarded() -> Exposure {
    Exposure {
        edge: Edge {
            response_headers: vec![
                (
                    "Strict-Transport-Security".into(),
                    "max-age=31536000".into(),
                ),
                (
                    "Content-Security-Policy".into(),
                    "default-src 'self'".into(),
                ),
            ],
            cors_origins: vec![
                "https://app.example.com".into(),
                "https://admin.example.com".into(),
            ],
            requests_per_minute: Some(120),
            connections_per_ip: Some(20),
            tls: true,
        },
        ..exposure()
    }
}

fn canary(weight: i32, sticky: Option<Sticky>) -> Split {
    Split::one("brigade-r4", "brigade-r5", weight, sticky)
}

/// Each sticky rule's header match and the Service it sends to.
fn sticky_rules(
    rules: &[::gateway_api::apis::standard::httproutes::HttpRouteRules],
) -> Vec<(String, String)> {
    rules
        .iter()
        .filter_map(|rule| {
            let header = rule.matches.as_ref()?[0].headers.as_ref()?[0].value.clone();
            Some((header, rule.backend_refs.as_ref()?[0].name.clone()))
        })
        .collect()
}

fn weights(route: &HttpRoute) -> Vec<(String, i32)> {
    let rules = route.spec.rules.as_ref().unwrap();
    rules
        .last()
        .unwrap()
        .backend_refs
        .iter()
        .flatten()
        .map(|b| (b.name.clone(), b.weight.unwrap()))
        .collect()
}

#[test]
fn an_http_route_weights_stable_and_candidate() {
    let route = http_route(&exposure(), &canary(20, None));
    assert_eq!(
        weights(&route),
        [
            ("brigade-r4".to_string(), 80),
            ("brigade-r5".to_string(), 20)
        ]
    );
    let rule = &route.spec.rules.as_ref().unwrap()[0];
    assert_eq!(
        rule.timeouts.as_ref().unwrap().request.as_deref(),
        Some("3600s")
    );
    assert_eq!(
        route.spec.hostnames.as_deref(),
        Some(&["chat.brigade.example".to_string()][..])
    );
    assert_eq!(
        route.spec.parent_refs.as_ref().unwrap()[0]
            .namespace
            .as_deref(),
        Some("gateways")
    );
    let back = http_route(&exposure(), &Split::stable("brigade-r4"));
    assert_eq!(weights(&back), [("brigade-r4".to_string(), 100)]);
}

#[test]
fn sticky_users_reach_the_candidate_first() {
    let by_header = http_route(
        &exposure(),
        &canary(
            50,
            Some(Sticky {
                header: Some("X-Chatbot-Variant".into()),
                cookie: None,
            }),
        ),
    );
    let first = &by_header.spec.rules.as_ref().unwrap()[0];
    let header = &first.matches.as_ref().unwrap()[0].headers.as_ref().unwrap()[0];
    assert_eq!(
        (header.name.as_str(), header.value.as_str()),
        ("X-Chatbot-Variant", "always")
    );
    assert_eq!(first.backend_refs.as_ref().unwrap()[0].name, "brigade-r5");

    let by_cookie = http_route(
        &exposure(),
        &canary(
            50,
            Some(Sticky {
                header: None,
                cookie: Some("ab.variant".into()),
            }),
        ),
    );
    let header = &by_cookie.spec.rules.as_ref().unwrap()[0]
        .matches
        .as_ref()
        .unwrap()[0]
        .headers
        .as_ref()
        .unwrap()[0];
    assert_eq!(header.name, "Cookie");
    assert_eq!(header.value, r"(^|;\s*)ab\.variant=always(;|$)");
}

#[test]
fn a_conversation_stays_on_the_variant_its_first_answer_came_from() {
    let route = http_route(
        &exposure(),
        &canary(
            50,
            Some(Sticky {
                header: None,
                cookie: Some("brigade-variant".into()),
            }),
        ),
    );
    let rules = route.spec.rules.unwrap();
    let sticky = sticky_rules(&rules);
    assert_eq!(
        sticky,
        [
            (
                r"(^|;\s*)brigade-variant=always(;|$)".to_string(),
                "brigade-r5".to_string()
            ),
            (
                r"(^|;\s*)brigade-variant=never(;|$)".to_string(),
                "brigade-r4".to_string()
            ),
        ],
        "a conversation's later requests follow its cookie, either way"
    );
    // Its first request is weighted, and the answer names the variant.
    let weighted = rules.last().unwrap().backend_refs.clone().unwrap();
    let set_cookie: Vec<(String, i32, String)> = weighted
        .iter()
        .map(|backend| {
            let filter = &backend.filters.as_ref().unwrap()[0];
            let added = &filter
                .response_header_modifier
                .as_ref()
                .unwrap()
                .add
                .as_ref()
                .unwrap()[0];
            assert_eq!(added.name, "Set-Cookie");
            (
                backend.name.clone(),
                backend.weight.unwrap(),
                added.value.clone(),
            )
        })
        .collect();
    assert_eq!(
        set_cookie,
        [
            (
                "brigade-r4".to_string(),
                50,
                "brigade-variant=never; Path=/; HttpOnly; SameSite=Lax".to_string()
            ),
            (
                "brigade-r5".to_string(),
                50,
                "brigade-variant=always; Path=/; HttpOnly; SameSite=Lax".to_string()
            ),
        ]
    );

    // A header is the client's to send: no answer sets it.
    let by_header = http_route(
        &exposure(),
        &canary(
            50,
            Some(Sticky {
                header: Some("X-Chatbot-Variant".into()),
                cookie: None,
            }),
        ),
    );
    let rules = by_header.spec.rules.unwrap();
    assert_eq!(rules.len(), 3, "always, never, then by weight");
    assert!(
        rules[2]
            .backend_refs
            .iter()
            .flatten()
            .all(|b| b.filters.is_none())
    );
    // Without a candidate there is nothing to stick to.
    let stable = http_route(&exposure(), &Split::stable("brigade-r4"));
    assert_eq!(stable.spec.rules.unwrap().len(), 1);
}

#[test]
fn several_candidates_each_have_a_backend_and_a_sticky_match_of_their_own() {
    let candidate = |service: &str, weight, variant: &str| Candidate {
        service: service.into(),
        weight,
        sticky_value: variant.into(),
    };
    let split = Split {
        stable_service: "mindmitra".into(),
        candidates: vec![
            candidate("mindmitra-canary", 20, "listen-first"),
            candidate("mindmitra-canary-2", 20, "terse"),
            candidate("mindmitra-canary-3", 10, "cited"),
        ],
        sticky: Some(Sticky {
            header: None,
            cookie: Some("mm-variant".into()),
        }),
    };
    let rules = http_route(&exposure(), &split).spec.rules.unwrap();
    let sticky = sticky_rules(&rules);
    let expected: Vec<(String, String)> = [
        ("listen-first", "mindmitra-canary"),
        ("terse", "mindmitra-canary-2"),
        ("cited", "mindmitra-canary-3"),
        ("never", "mindmitra"),
    ]
    .iter()
    .map(|(value, service)| {
        (
            format!(r"(^|;\s*)mm-variant={value}(;|$)"),
            service.to_string(),
        )
    })
    .collect();
    assert_eq!(sticky, expected);
    let weighted: Vec<(String, i32, String)> = rules
        .last()
        .unwrap()
        .backend_refs
        .iter()
        .flatten()
        .map(|backend| {
            let set = backend.filters.as_ref().unwrap()[0]
                .response_header_modifier
                .as_ref()
                .unwrap()
                .add
                .as_ref()
                .unwrap()[0]
                .value
                .clone();
            (backend.name.clone(), backend.weight.unwrap(), set)
        })
        .collect();
    let cookie = |value: &str| format!("mm-variant={value}; Path=/; HttpOnly; SameSite=Lax");
    assert_eq!(
        weighted,
        [
            ("mindmitra".to_string(), 50, cookie("never")),
            ("mindmitra-canary".to_string(), 20, cookie("listen-first")),
            ("mindmitra-canary-2".to_string(), 20, cookie("terse")),
            ("mindmitra-canary-3".to_string(), 10, cookie("cited")),
        ]
    );
}

#[test]
fn ingress_nginx_gets_a_canary_ingress_only_while_a_candidate_runs() {
    let split = canary(
        30,
        Some(Sticky {
            header: None,
            cookie: Some("variant".into()),
        }),
    );
    let objects = ingresses(&exposure(), &split);
    assert_eq!(objects.len(), 2);
    let main = objects[0].metadata.annotations.as_ref().unwrap();
    assert_eq!(
        main["nginx.ingress.kubernetes.io/proxy-read-timeout"],
        "3600"
    );
    assert_eq!(main["cert-manager.io/cluster-issuer"], "letsencrypt");
    let tls = objects[0].spec.as_ref().unwrap().tls.as_ref().unwrap();
    assert_eq!(tls[0].secret_name.as_deref(), Some("brigade-tls"));
    let canary = objects[1].metadata.annotations.as_ref().unwrap();
    assert_eq!(objects[1].metadata.name.as_deref(), Some("brigade-canary"));
    assert_eq!(canary["nginx.ingress.kubernetes.io/canary"], "true");
    assert_eq!(canary["nginx.ingress.kubernetes.io/canary-weight"], "30");
    assert_eq!(
        canary["nginx.ingress.kubernetes.io/canary-by-cookie"],
        "variant"
    );
    assert_eq!(
        ingresses(&exposure(), &Split::stable("brigade-r4")).len(),
        1
    );
}

#[test]
fn replicas_approximate_weights_in_whole_pods() {
    assert_eq!(replica_split(10, 0), (10, 0));
    assert_eq!(replica_split(10, 25), (7, 3));
    assert_eq!(replica_split(2, 10), (1, 1), "any weight gets a pod");
    assert_eq!(replica_split(4, 50), (2, 2));
    assert_eq!(replica_split(3, 100), (0, 3));
    assert_eq!(replica_split(0, 50), (0, 1), "at least one pod in all");
}

#[test]
fn ingress_nginx_enforces_the_edge_policy_with_its_own_annotations() {
    let objects = ingresses(&guarded(), &canary(10, None));
    let main = objects[0].metadata.annotations.as_ref().unwrap();
    let get = |key: &str| main.get(&format!("{NGINX}/{key}")).map(String::as_str);
    assert_eq!(get("enable-cors"), Some("true"));
    assert_eq!(
        get("cors-allow-origin"),
        Some("https://app.example.com, https://admin.example.com")
    );
    assert_eq!(get("custom-headers"), Some("sales/brigade-edge-headers"));
    assert_eq!(get("limit-rpm"), Some("120"));
    assert_eq!(get("limit-connections"), Some("20"));
    assert_eq!(get("ssl-redirect"), Some("true"));
    assert!(
        main.keys().all(|k| !k.ends_with("-snippet")),
        "no snippet annotation: {main:?}"
    );
    // The canary Ingress carries only canary annotations: ingress-nginx
    // applies the main Ingress's policy to both.
    let canary = objects[1].metadata.annotations.as_ref().unwrap();
    assert!(
        canary
            .keys()
            .all(|k| k.starts_with(&format!("{NGINX}/canary"))),
        "{canary:?}"
    );

    let headers = headers_config_map(&guarded()).expect("a header ConfigMap");
    assert_eq!(
        headers.metadata.name.as_deref(),
        Some("brigade-edge-headers")
    );
    assert_eq!(headers.metadata.namespace.as_deref(), Some("sales"));
    let data = headers.data.unwrap();
    assert_eq!(data["Strict-Transport-Security"], "max-age=31536000");
    assert_eq!(data["Content-Security-Policy"], "default-src 'self'");

    let plain = ingresses(&exposure(), &Split::stable("brigade-r4"));
    let annotations = plain[0].metadata.annotations.as_ref().unwrap();
    assert!(!annotations.contains_key(&format!("{NGINX}/enable-cors")));
    assert!(!annotations.contains_key(&format!("{NGINX}/custom-headers")));
    assert!(headers_config_map(&exposure()).is_none());
}

#[test]
fn every_http_route_rule_sets_the_edge_headers() {
    let route = http_route(
        &guarded(),
        &canary(
            50,
            Some(Sticky {
                header: Some("X-Chatbot-Variant".into()),
                cookie: None,
            }),
        ),
    );
    let rules = route.spec.rules.as_ref().unwrap();
    assert_eq!(rules.len(), 3, "the two sticky rules and the weighted one");
    for rule in rules {
        let filters = rule.filters.as_ref().expect("filters on every rule");
        let set = filters[0]
            .response_header_modifier
            .as_ref()
            .unwrap()
            .set
            .as_ref()
            .unwrap();
        let names: Vec<&str> = set.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(
            names,
            ["Strict-Transport-Security", "Content-Security-Policy"]
        );
    }
    let plain = http_route(&exposure(), &Split::stable("brigade-r4"));
    assert!(plain.spec.rules.as_ref().unwrap()[0].filters.is_none());
}
