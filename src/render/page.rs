//! The maintenance page's own children and the route it takes over: the
//! ConfigMap with the page and its headers, and the app's route (or
//! Service) pointed at the page's pods instead of the app's while it
//! serves. The page server's Deployment, Service and budget come from
//! templates like every other child.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;

use super::{
    children::{Child, ChildKind, Object},
    context::RenderContext,
    maintenance::{headers_json, selector_labels},
    metadata::stamp,
    routes::route_children,
};
use crate::rollout::traffic::Split;

/// The ConfigMap the page server mounts: `index.html` and `headers.json`.
pub fn page_config_map(context: &RenderContext, html: String) -> Option<Child> {
    let maintenance = context.maintenance.as_ref()?;
    let config_map = ConfigMap {
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            name: Some(context.names.maintenance.clone()),
            labels: Some(maintenance.selector_labels.clone()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            ("index.html".to_string(), html),
            ("headers.json".to_string(), headers_json(maintenance)),
        ])),
        ..Default::default()
    };
    let mut child = Child::built(ChildKind::MaintenancePage, Object::ConfigMap(config_map));
    stamp(&mut child, context);
    Some(child)
}

/// `children` with the route sent to the page: the public route's objects
/// rebuilt with all traffic on the page's Service (no candidate share), or,
/// with no traffic provider, the app Service selecting the page's pods.
pub fn divert(children: &mut Vec<Child>, context: &RenderContext) {
    if context.maintenance.is_none() {
        return;
    }
    if children.iter().any(|c| c.kind().is_route()) {
        children.retain(|c| !c.kind().is_route());
        children.extend(route_children(
            context,
            &Split::stable(&context.names.maintenance),
        ));
        children.sort_by_key(Child::kind);
        return;
    }
    let selector = selector_labels(&context.name);
    for child in children.iter_mut() {
        if child.kind() != ChildKind::Service {
            continue;
        }
        if let Object::Service(service) = child.object_mut()
            && let Some(spec) = service.spec.as_mut()
        {
            // The Service's target port is named `http`, which is the
            // page container's port as well as the app's.
            spec.selector = Some(selector.clone());
        }
        stamp(child, context);
    }
}
