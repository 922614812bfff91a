//! What the maintenance page's children are made from: the page's
//! settings from the spec, and its HTML rendered by
//! `templates/maintenance.html` (the children themselves are in `page`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{error::RenderError, templates::Templates};
use crate::{
    api::ChatbotDeploymentSpec,
    hash::hash_hex,
    maintenance::{
        page::{self, Page},
        server::STYLESHEET_PATH,
    },
    names,
    rollout::traffic::Edge,
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

pub(super) fn headers_json(context: &MaintenanceContext) -> String {
    let map: BTreeMap<&str, &str> = context
        .headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    serde_json::to_string_pretty(&map).unwrap_or_default()
}
