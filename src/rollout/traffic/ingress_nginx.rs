//! ingress-nginx's objects of a split: the main Ingress to the stable
//! revision, carrying the edge's policy as the controller's own
//! annotations (never `configuration-snippet`), and, while a candidate
//! runs, a canary Ingress with its weight and sticky header or cookie.

use std::collections::BTreeMap;

use k8s_openapi::api::{
    core::v1::ConfigMap,
    networking::v1::{
        HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
        IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
    },
};

use super::{Exposure, SERVICE_PORT, STICKY_VALUE, Split, edge::Edge, meta};
use crate::names;

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

/// The prefix of ingress-nginx's annotations.
pub const NGINX: &str = "nginx.ingress.kubernetes.io";

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
    main_annotations.extend(edge_annotations(exposure));
    let mut objects = vec![ingress(
        exposure,
        exposure.name.clone(),
        &split.stable_service,
        main_annotations,
        true,
    )];
    // One canary Ingress per host: admission lets ingress-nginx have one
    // candidate.
    if let Some(candidate) = split.candidates.first() {
        let candidate = &candidate.service;
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

/// The main Ingress's annotations for the edge policy: CORS for exactly
/// the spec's origins, the response headers from their ConfigMap
/// (`custom-headers`), the per-client-IP limits, the HTTPS redirect, and
/// the maintenance page for the errors of an app that cannot answer.
fn edge_annotations(exposure: &Exposure) -> BTreeMap<String, String> {
    let edge = &exposure.edge;
    let mut annotations = BTreeMap::new();
    if !edge.cors_origins.is_empty() {
        annotations.insert(format!("{NGINX}/enable-cors"), "true".into());
        annotations.insert(
            format!("{NGINX}/cors-allow-origin"),
            edge.cors_origins.join(", "),
        );
    }
    if !edge.response_headers.is_empty() {
        annotations.insert(
            format!("{NGINX}/custom-headers"),
            format!(
                "{}/{}",
                exposure.namespace,
                names::edge_headers(&exposure.name)
            ),
        );
    }
    if let Some(rpm) = edge.requests_per_minute {
        annotations.insert(format!("{NGINX}/limit-rpm"), rpm.to_string());
    }
    if let Some(connections) = edge.connections_per_ip {
        annotations.insert(
            format!("{NGINX}/limit-connections"),
            connections.to_string(),
        );
    }
    if edge.tls {
        annotations.insert(format!("{NGINX}/ssl-redirect"), "true".into());
    }
    if let Some(fallback) = &exposure.fallback_service {
        annotations.insert(format!("{NGINX}/default-backend"), fallback.clone());
        annotations.insert(format!("{NGINX}/custom-http-errors"), "502,503,504".into());
    }
    annotations
}

/// The ConfigMap ingress-nginx reads the response headers from; `None`
/// when the edge sets none. The controller sets only the header names its
/// `global-allowed-response-headers` lists (ingress-nginx 1.12 and later).
pub fn headers_config_map(exposure: &Exposure) -> Option<ConfigMap> {
    let edge: &Edge = &exposure.edge;
    if edge.response_headers.is_empty() {
        return None;
    }
    Some(ConfigMap {
        metadata: meta(
            exposure,
            names::edge_headers(&exposure.name),
            BTreeMap::new(),
        ),
        data: Some(edge.response_headers.iter().cloned().collect()),
        ..Default::default()
    })
}
