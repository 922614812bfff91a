//! The traffic objects of a split between the stable revision and a
//! candidate, per provider: a Gateway API HTTPRoute with weighted
//! backendRefs, ingress-nginx's main Ingress plus a canary Ingress, or —
//! with no provider — replica counts that approximate the weights. Pure:
//! the same split always gives the same objects.

use std::collections::BTreeMap;

use gateway_api::apis::standard::httproutes::{
    HttpRoute, HttpRouteParentRefs, HttpRouteRules, HttpRouteRulesBackendRefs,
    HttpRouteRulesMatches, HttpRouteRulesMatchesHeaders, HttpRouteRulesMatchesHeadersType,
    HttpRouteRulesMatchesPath, HttpRouteRulesMatchesPathType, HttpRouteRulesTimeouts,
    HttpRouteSpec,
};
use k8s_openapi::{
    api::networking::v1::{
        HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
        IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
    },
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};

use crate::api::{GatewayRef, Sticky, Tls};

/// Port of the app's Services.
pub const SERVICE_PORT: i32 = 80;

/// How traffic is split right now.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Service of the stable revision.
    pub stable_service: String,
    /// Service of the candidate and the percent of traffic it gets.
    pub candidate: Option<(String, i32)>,
    /// Requests carrying this header or cookie always reach the candidate
    /// (A/B stickiness, or testers reaching a canary).
    pub sticky: Option<Sticky>,
}

impl Split {
    /// All traffic to the stable revision.
    pub fn stable(service: &str) -> Self {
        Self {
            stable_service: service.to_string(),
            candidate: None,
            sticky: None,
        }
    }

    /// The candidate's share, 0 to 100.
    pub fn candidate_weight(&self) -> i32 {
        self.candidate
            .as_ref()
            .map_or(0, |(_, w)| (*w).clamp(0, 100))
    }
}

/// Where and how the app is exposed.
#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    /// Name of the ChatbotDeployment: the route and Ingress names.
    pub name: String,
    pub namespace: String,
    pub host: String,
    pub tls: Option<Tls>,
    pub ingress_class_name: Option<String>,
    pub gateway: Option<GatewayRef>,
    /// How long a request or a WebSocket stream may stay open.
    pub idle_timeout_seconds: i32,
    pub labels: BTreeMap<String, String>,
}

/// Value a sticky header or cookie carries to reach the candidate.
pub const STICKY_VALUE: &str = "always";

fn meta(exposure: &Exposure, name: String, annotations: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(exposure.namespace.clone()),
        labels: Some(exposure.labels.clone()),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
}

fn backend(service: &str, weight: i32) -> HttpRouteRulesBackendRefs {
    HttpRouteRulesBackendRefs {
        name: service.to_string(),
        port: Some(SERVICE_PORT),
        weight: Some(weight),
        ..Default::default()
    }
}

fn sticky_match(sticky: &Sticky) -> Option<HttpRouteRulesMatchesHeaders> {
    match (&sticky.header, &sticky.cookie) {
        (Some(header), _) => Some(HttpRouteRulesMatchesHeaders {
            name: header.clone(),
            r#type: Some(HttpRouteRulesMatchesHeadersType::Exact),
            value: STICKY_VALUE.into(),
        }),
        (None, Some(cookie)) => Some(HttpRouteRulesMatchesHeaders {
            name: "Cookie".into(),
            r#type: Some(HttpRouteRulesMatchesHeadersType::RegularExpression),
            value: format!("(^|;\\s*){}={STICKY_VALUE}(;|$)", regex_escape(cookie)),
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

/// The HTTPRoute of `split`: sticky requests to the candidate first, then
/// everything else by weight.
pub fn http_route(exposure: &Exposure, split: &Split) -> HttpRoute {
    let timeouts = Some(HttpRouteRulesTimeouts {
        request: Some(format!("{}s", exposure.idle_timeout_seconds)),
        backend_request: None,
    });
    let root = HttpRouteRulesMatchesPath {
        r#type: Some(HttpRouteRulesMatchesPathType::PathPrefix),
        value: Some("/".into()),
    };
    let weight = split.candidate_weight();
    let mut rules = Vec::new();
    if let (Some((candidate, _)), Some(header)) = (
        &split.candidate,
        split.sticky.as_ref().and_then(sticky_match),
    ) {
        rules.push(HttpRouteRules {
            matches: Some(vec![HttpRouteRulesMatches {
                headers: Some(vec![header]),
                path: Some(root.clone()),
                ..Default::default()
            }]),
            backend_refs: Some(vec![backend(candidate, 1)]),
            timeouts: timeouts.clone(),
            ..Default::default()
        });
    }
    let mut backends = vec![backend(&split.stable_service, 100 - weight)];
    if let Some((candidate, _)) = &split.candidate {
        backends.push(backend(candidate, weight));
    }
    rules.push(HttpRouteRules {
        matches: Some(vec![HttpRouteRulesMatches {
            path: Some(root),
            ..Default::default()
        }]),
        backend_refs: Some(backends),
        timeouts,
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

fn ingress(
    exposure: &Exposure,
    name: String,
    service: &str,
    annotations: BTreeMap<String, String>,
    tls: bool,
) -> Ingress {
    let tls = tls.then_some(exposure.tls.as_ref()).flatten().map(|tls| {
        vec![IngressTLS {
            hosts: Some(vec![exposure.host.clone()]),
            secret_name: Some(
                tls.secret_name
                    .clone()
                    .unwrap_or_else(|| format!("{}-tls", exposure.name)),
            ),
        }]
    });
    Ingress {
        metadata: meta(exposure, name, annotations),
        spec: Some(IngressSpec {
            ingress_class_name: exposure.ingress_class_name.clone(),
            tls,
            rules: Some(vec![IngressRule {
                host: Some(exposure.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".into()),
                        path_type: "Prefix".into(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: service.to_string(),
                                port: Some(ServiceBackendPort {
                                    number: Some(SERVICE_PORT),
                                    name: None,
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            default_backend: None,
        }),
        status: None,
    }
}

const NGINX: &str = "nginx.ingress.kubernetes.io";

/// ingress-nginx's objects for `split`: the main Ingress to the stable
/// revision and, while a candidate runs, a canary Ingress with its weight
/// and sticky header or cookie.
pub fn ingresses(exposure: &Exposure, split: &Split) -> Vec<Ingress> {
    let timeout = exposure.idle_timeout_seconds.to_string();
    let mut main_annotations = BTreeMap::from([
        (format!("{NGINX}/proxy-read-timeout"), timeout.clone()),
        (format!("{NGINX}/proxy-send-timeout"), timeout),
    ]);
    if let Some(issuer) = exposure.tls.as_ref().and_then(|t| t.cluster_issuer.clone()) {
        main_annotations.insert("cert-manager.io/cluster-issuer".into(), issuer);
    }
    let mut objects = vec![ingress(
        exposure,
        exposure.name.clone(),
        &split.stable_service,
        main_annotations,
        true,
    )];
    if let Some((candidate, _)) = &split.candidate {
        let mut annotations = BTreeMap::from([
            (format!("{NGINX}/canary"), "true".to_string()),
            (
                format!("{NGINX}/canary-weight"),
                split.candidate_weight().to_string(),
            ),
        ]);
        match split.sticky.as_ref().map(|s| (&s.header, &s.cookie)) {
            Some((Some(header), _)) => {
                annotations.insert(format!("{NGINX}/canary-by-header"), header.clone());
                annotations.insert(
                    format!("{NGINX}/canary-by-header-value"),
                    STICKY_VALUE.into(),
                );
            }
            Some((None, Some(cookie))) => {
                annotations.insert(format!("{NGINX}/canary-by-cookie"), cookie.clone());
            }
            _ => {}
        }
        objects.push(ingress(
            exposure,
            format!("{}-canary", exposure.name),
            candidate,
            annotations,
            false,
        ));
    }
    objects
}

/// With no traffic provider the Service selects both revisions' pods, so
/// the candidate's share is its share of the pods: `total` pods split to
/// come as close to `weight` percent as whole pods allow, the candidate
/// getting at least one while it has any weight.
pub fn replica_split(total: i32, weight: i32) -> (i32, i32) {
    let total = total.max(1);
    let weight = weight.clamp(0, 100);
    let candidate = match weight {
        0 => 0,
        100 => total,
        _ => ((total * weight + 50) / 100).clamp(1, total),
    };
    (total - candidate, candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        }
    }

    fn canary(weight: i32, sticky: Option<Sticky>) -> Split {
        Split {
            stable_service: "brigade-r4".into(),
            candidate: Some(("brigade-r5".into(), weight)),
            sticky,
        }
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
}
