//! The maintenance page's children, rendered offline like every other:
//! the ConfigMap with the page (HTML rendered by `templates/maintenance.html`)
//! and its headers, the page server's Deployment, Service and budget; and
//! the route pointed at the page instead of the app while it serves.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use serde::Serialize;

use super::{
    Child, ChildKind, Object, RenderContext, RenderError, route_children, templates::Templates,
};
use crate::{
    api::ChatbotDeploymentSpec,
    hash::hash_hex,
    maintenance::{
        page::{self, Page},
        server::STYLESHEET_PATH,
    },
    names,
    rollout::traffic::{Edge, Split},
};

/// `app.kubernetes.io/component` of the page server's pods.
pub const COMPONENT: &str = "maintenance";
/// Pods of the page server: two, so a node drain never leaves none.
pub const REPLICAS: i32 = 2;
/// Port the page server listens on.
pub const PORT: i32 = 8080;

/// The page server's image of this release.
pub fn default_image() -> String {
    format!(
        "ghcr.io/chatbot-operator/chatbot-operator:{}",
        env!("CARGO_PKG_VERSION")
    )
}

/// What the page's templates read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaintenanceContext {
    pub image: String,
    pub replicas: i32,
    pub port: i32,
    pub retry_after_seconds: i32,
    /// The page stands in whenever no app pod is ready.
    pub when_unavailable: bool,
    pub selector_labels: BTreeMap<String, String>,
    /// Hash of the page and its headers: a change rolls the page's pods.
    pub config_hash: String,
    pub page: Page,
    /// Response headers of every answer (beside the server's own).
    pub headers: Vec<(String, String)>,
    pub stylesheet: &'static str,
}

/// The page's context; `None` without `spec.maintenance`.
pub fn context(spec: &ChatbotDeploymentSpec, name: &str) -> Option<MaintenanceContext> {
    let maintenance = spec.maintenance.as_ref()?;
    let edge = Edge::from_spec(spec.traffic.as_ref(), spec.rate_limits.as_ref());
    Some(MaintenanceContext {
        image: maintenance.image.clone().unwrap_or_else(default_image),
        replicas: REPLICAS,
        port: PORT,
        retry_after_seconds: maintenance
            .retry_after_seconds
            .unwrap_or(page::DEFAULT_RETRY_AFTER),
        when_unavailable: maintenance.when_unavailable.unwrap_or(false),
        selector_labels: selector_labels(name),
        config_hash: String::new(),
        page: Page::of(maintenance),
        headers: page::response_headers(&edge),
        stylesheet: STYLESHEET_PATH,
    })
}

/// Labels of the page server's pods: never the app's selector.
pub fn selector_labels(name: &str) -> BTreeMap<String, String> {
    let mut labels = names::selector_labels(name);
    labels.insert(names::keys::COMPONENT.into(), COMPONENT.into());
    labels
}

/// The page's HTML; records the hash of the page and its headers in the
/// context, for the Deployment's pod template.
pub fn render_page(
    templates: &Templates,
    context: &mut MaintenanceContext,
) -> Result<String, RenderError> {
    let tera_context =
        tera::Context::from_serialize(&*context).map_err(|error| RenderError::Template {
            template: Templates::PAGE.into(),
            message: error.to_string(),
        })?;
    let html = templates.render_page(&tera_context)?;
    let headers = headers_json(context);
    context.config_hash = hash_hex(format!("{html}\n{headers}").as_bytes());
    Ok(html)
}

fn headers_json(context: &MaintenanceContext) -> String {
    let map: BTreeMap<&str, &str> = context
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    serde_json::to_string_pretty(&map).unwrap_or_default()
}

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
    super::stamp(&mut child, context);
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
        super::stamp(child, context);
    }
}
