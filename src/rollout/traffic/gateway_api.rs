//! The Gateway API HTTPRoute of a split: sticky requests to their variant
//! first (`always` to the candidate, `never` to the stable revision), then
//! everything else by weight, with the edge's response headers set by a
//! `ResponseHeaderModifier` filter on every rule. With a sticky cookie the
//! route assigns a conversation itself: the weighted rule's answers set
//! the cookie naming the variant that answered, so the conversation's
//! later requests follow the sticky rules.

use gateway_api::apis::standard::httproutes::{
    HttpRoute, HttpRouteParentRefs, HttpRouteRules, HttpRouteRulesBackendRefs,
    HttpRouteRulesBackendRefsFilters, HttpRouteRulesBackendRefsFiltersResponseHeaderModifier,
    HttpRouteRulesBackendRefsFiltersResponseHeaderModifierAdd,
    HttpRouteRulesBackendRefsFiltersType, HttpRouteRulesFilters,
    HttpRouteRulesFiltersResponseHeaderModifier, HttpRouteRulesFiltersResponseHeaderModifierSet,
    HttpRouteRulesFiltersType, HttpRouteRulesMatches, HttpRouteRulesMatchesHeaders,
    HttpRouteRulesMatchesHeadersType, HttpRouteRulesMatchesPath, HttpRouteRulesMatchesPathType,
    HttpRouteRulesTimeouts, HttpRouteSpec,
};
use std::collections::BTreeMap;

use super::{Exposure, SERVICE_PORT, STICKY_NEVER, Split, edge::Edge, meta};
use crate::api::Sticky;

/// The edge's response headers as one filter; none when there are none.
fn header_filters(edge: &Edge) -> Option<Vec<HttpRouteRulesFilters>> {
    if edge.response_headers.is_empty() {
        return None;
    }
    let set = edge
        .response_headers
        .iter()
        .map(
            |(name, value)| HttpRouteRulesFiltersResponseHeaderModifierSet {
                name: name.clone(),
                value: value.clone(),
            },
        )
        .collect();
    Some(vec![HttpRouteRulesFilters {
        r#type: HttpRouteRulesFiltersType::ResponseHeaderModifier,
        response_header_modifier: Some(HttpRouteRulesFiltersResponseHeaderModifier {
            set: Some(set),
            ..Default::default()
        }),
        ..Default::default()
    }])
}

fn backend(service: &str, weight: i32) -> HttpRouteRulesBackendRefs {
    HttpRouteRulesBackendRefs {
        name: service.to_string(),
        port: Some(SERVICE_PORT),
        weight: Some(weight),
        ..Default::default()
    }
}

/// A backend of the weighted rule whose answers set the sticky cookie to
/// `value`, when the stickiness is a cookie.
fn assigning(
    service: &str,
    weight: i32,
    cookie: Option<&str>,
    value: &str,
) -> HttpRouteRulesBackendRefs {
    let mut backend = backend(service, weight);
    backend.filters = cookie.map(|cookie| {
        vec![HttpRouteRulesBackendRefsFilters {
            r#type: HttpRouteRulesBackendRefsFiltersType::ResponseHeaderModifier,
            response_header_modifier: Some(
                HttpRouteRulesBackendRefsFiltersResponseHeaderModifier {
                    add: Some(vec![
                        HttpRouteRulesBackendRefsFiltersResponseHeaderModifierAdd {
                            name: "Set-Cookie".into(),
                            value: format!("{cookie}={value}; Path=/; HttpOnly; SameSite=Lax"),
                        },
                    ]),
                    ..Default::default()
                },
            ),
            ..Default::default()
        }]
    });
    backend
}

/// The match of requests whose sticky header or cookie carries `value`.
fn sticky_match(sticky: &Sticky, value: &str) -> Option<HttpRouteRulesMatchesHeaders> {
    match (&sticky.header, &sticky.cookie) {
        (Some(header), _) => Some(HttpRouteRulesMatchesHeaders {
            name: header.clone(),
            r#type: Some(HttpRouteRulesMatchesHeadersType::Exact),
            value: value.into(),
        }),
        (None, Some(cookie)) => Some(HttpRouteRulesMatchesHeaders {
            name: "Cookie".into(),
            r#type: Some(HttpRouteRulesMatchesHeadersType::RegularExpression),
            value: format!("(^|;\\s*){}={value}(;|$)", regex_escape(cookie)),
        }),
        (None, None) => None,
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// The HTTPRoute of `split`: sticky requests to their variant first (each
/// candidate's value to it, `never` to the stable revision), then
/// everything else by weight; with a sticky cookie each weighted backend
/// sets its own value, so a conversation stays where its first answer
/// came from.
pub fn http_route(exposure: &Exposure, split: &Split) -> HttpRoute {
    let timeouts = Some(HttpRouteRulesTimeouts {
        request: Some(format!("{}s", exposure.idle_timeout_seconds)),
        backend_request: None,
    });
    let root = HttpRouteRulesMatchesPath {
        r#type: Some(HttpRouteRulesMatchesPathType::PathPrefix),
        value: Some("/".into()),
    };
    let filters = header_filters(&exposure.edge);
    let mut rules = Vec::new();
    let sticky = split
        .sticky
        .as_ref()
        .filter(|_| !split.candidates.is_empty());
    if let Some(sticky) = sticky {
        let to = split
            .candidates
            .iter()
            .map(|c| (c.sticky_value.as_str(), c.service.as_str()))
            .chain([(STICKY_NEVER, split.stable_service.as_str())]);
        for (value, service) in to {
            let Some(header) = sticky_match(sticky, value) else {
                continue;
            };
            rules.push(HttpRouteRules {
                matches: Some(vec![HttpRouteRulesMatches {
                    headers: Some(vec![header]),
                    path: Some(root.clone()),
                    ..Default::default()
                }]),
                backend_refs: Some(vec![backend(service, 1)]),
                timeouts: timeouts.clone(),
                filters: filters.clone(),
                ..Default::default()
            });
        }
    }
    let cookie = sticky.and_then(|s| s.cookie.as_deref());
    let mut backends = vec![assigning(
        &split.stable_service,
        100 - split.candidate_weight(),
        cookie,
        STICKY_NEVER,
    )];
    for candidate in &split.candidates {
        backends.push(assigning(
            &candidate.service,
            candidate.weight.clamp(0, 100),
            cookie,
            &candidate.sticky_value,
        ));
    }
    rules.push(HttpRouteRules {
        matches: Some(vec![HttpRouteRulesMatches {
            path: Some(root),
            ..Default::default()
        }]),
        backend_refs: Some(backends),
        timeouts,
        filters,
        ..Default::default()
    });
    let gateway = exposure.gateway.clone().unwrap_or_default();
    HttpRoute {
        metadata: meta(exposure, exposure.name.clone(), BTreeMap::new()),
        spec: HttpRouteSpec {
            hostnames: Some(vec![exposure.host.clone()]),
            parent_refs: Some(vec![HttpRouteParentRefs {
                name: gateway.name,
                namespace: gateway.namespace,
                section_name: gateway.section_name,
                ..Default::default()
            }]),
            rules: Some(rules),
        },
        status: None,
    }
}
