//! The public route for a given split of traffic: where the app is
//! exposed, and the ingress-nginx or Gateway API objects that send each
//! Service its share.

use std::collections::BTreeMap;

use super::{
    children::{Child, ChildKind, Object},
    context::{RenderContext, Route},
    metadata::stamp,
};
use crate::{api::TrafficProvider, rollout::traffic};

/// The traffic provider the spec routes through, if any.
pub(super) fn route_provider(context: &RenderContext) -> Option<TrafficProvider> {
    context.network.route.as_ref().map(|r| r.provider)
}

/// Where the app is exposed, for the traffic objects.
pub fn exposure(context: &RenderContext, route: &Route) -> traffic::Exposure {
    traffic::Exposure {
        name: context.names.route.clone(),
        namespace: context.namespace.clone().unwrap_or_default(),
        host: route.host.clone(),
        tls: route.tls.clone(),
        ingress_class_name: route.ingress_class_name.clone(),
        gateway: route.gateway.clone(),
        idle_timeout_seconds: context.network.idle_timeout_seconds,
        labels: BTreeMap::new(),
        edge: route.edge.clone(),
        fallback_service: context
            .maintenance
            .as_ref()
            .filter(|m| m.when_unavailable)
            .map(|_| context.names.maintenance.clone()),
    }
}

/// The public route with `split`'s share of the traffic on each Service:
/// ingress-nginx's response-header ConfigMap, main Ingress (and canary
/// Ingress while a candidate has a share), or the Gateway API HTTPRoute.
/// Nothing with no provider.
pub fn route_children(context: &RenderContext, split: &traffic::Split) -> Vec<Child> {
    let Some(route) = &context.network.route else {
        return Vec::new();
    };
    let exposure = exposure(context, route);
    let mut children: Vec<Child> = match route_provider(context) {
        Some(TrafficProvider::IngressNginx) => traffic::headers_config_map(&exposure)
            .map(|headers| Child::built(ChildKind::EdgeHeaders, Object::ConfigMap(headers)))
            .into_iter()
            .chain(
                traffic::ingresses(&exposure, split)
                    .into_iter()
                    .enumerate()
                    .map(|(index, ingress)| {
                        let kind = if index == 0 {
                            ChildKind::Ingress
                        } else {
                            ChildKind::CanaryIngress
                        };
                        Child::built(kind, Object::Ingress(Box::new(ingress)))
                    }),
            )
            .collect(),
        Some(TrafficProvider::GatewayApi) => vec![Child::built(
            ChildKind::HttpRoute,
            Object::HttpRoute(Box::new(traffic::http_route(&exposure, split))),
        )],
        _ => Vec::new(),
    };
    for child in &mut children {
        stamp(child, context);
    }
    children
}
