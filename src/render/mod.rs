//! The pure render pipeline:
//! resolve(spec, environment) → context → tera templates → YAML → typed
//! k8s-openapi objects → common labels and a spec hash on each.
//!
//! No I/O, no clock: the same input always gives byte-identical output.

pub mod backup;
mod candidate;
mod children;
mod context;
pub mod maintenance;
pub mod monitoring;
mod network;
mod object_type;
pub mod stores;
mod templates;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;

pub use candidate::{candidate_children, route_children};
pub use children::{Child, ChildKind, Object, ObjectType};
pub use context::{RenderContext, Route, build as build_context};
pub use network::edge_gaps;
pub use templates::Templates;

use crate::{
    api::{ChatbotDeployment, TrafficProvider},
    environment::{EnvironmentError, Environments, Resolution},
    hash::hash_hex,
    names,
    rollout::traffic,
};

/// Why a ChatbotDeployment could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The resource has no name, so children cannot be named.
    #[error("metadata.name: required")]
    MissingName,
    /// The spec names an unknown environment, or its defaults are broken.
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
    /// The spec asks for something only the renderer can judge.
    #[error("{path}: {message}")]
    Spec { path: String, message: String },
    /// A template failed to compile or render.
    #[error("template {template}: {message}")]
    Template { template: String, message: String },
    /// A template is missing from the template set.
    #[error("template {template}: {message}")]
    MissingTemplate { template: String, message: String },
    /// A template rendered something that is not a valid object of its kind.
    #[error("template {template} rendered an invalid {kind}: {path}: {message}")]
    InvalidObject {
        template: String,
        kind: String,
        path: String,
        message: String,
    },
}

impl RenderError {
    /// Where the problem is: a spec field path, or the template at fault.
    pub fn field(&self) -> String {
        match self {
            RenderError::MissingName => "metadata.name".into(),
            RenderError::Environment(EnvironmentError::Unknown { .. }) => "spec.environment".into(),
            RenderError::Environment(_) => "environments".into(),
            RenderError::Spec { path, .. } => path.clone(),
            RenderError::Template { template, .. }
            | RenderError::MissingTemplate { template, .. }
            | RenderError::InvalidObject { template, .. } => format!("templates/{template}"),
        }
    }

    /// A short, stable reason for conditions, events and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            RenderError::MissingName => "MissingName",
            RenderError::Environment(EnvironmentError::Unknown { .. }) => "UnknownEnvironment",
            RenderError::Environment(_) => "InvalidEnvironment",
            RenderError::Spec { .. } => "InvalidSpec",
            RenderError::Template { .. } | RenderError::MissingTemplate { .. } => "TemplateError",
            RenderError::InvalidObject { .. } => "InvalidObject",
        }
    }
}

/// The renderer's fixed inputs: environment defaults and templates.
#[derive(Debug)]
pub struct Renderer {
    pub environments: Environments,
    pub templates: Templates,
}

/// A rendered ChatbotDeployment: its resolution and its children in apply order.
#[derive(Clone, Debug)]
pub struct Rendered {
    pub resolution: Resolution,
    pub context: RenderContext,
    pub children: Vec<Child>,
    /// Hash of the app pod template with the revision number left out:
    /// two renderings with the same hash run the same code and settings.
    pub template_hash: String,
    /// Thresholds the spec sets that no alert can watch (a spend limit
    /// without prices, a memory limit on an external cache).
    pub monitoring_gaps: Vec<String>,
}

impl Renderer {
    /// Embedded environments and templates.
    pub fn embedded() -> Result<Self, RenderError> {
        Ok(Self {
            environments: Environments::embedded()?,
            templates: Templates::embedded()?,
        })
    }

    /// Renders every child of `cbd` for `revision`.
    pub fn render(&self, cbd: &ChatbotDeployment, revision: i64) -> Result<Rendered, RenderError> {
        let name = cbd
            .metadata
            .name
            .as_deref()
            .ok_or(RenderError::MissingName)?;
        let resolution = self.environments.resolve(&cbd.spec)?;
        let mut context = build_context(
            name,
            cbd.metadata.namespace.as_deref(),
            &resolution.spec,
            revision,
        )?;
        let page = match context.maintenance.as_mut() {
            Some(page) => Some(maintenance::render_page(&self.templates, page)?),
            None => None,
        };
        let tera_context =
            tera::Context::from_serialize(&context).map_err(|error| RenderError::Template {
                template: "(context)".into(),
                message: error.to_string(),
            })?;
        let mut children = Vec::new();
        let mut template_hash = String::new();
        for kind in wanted_children(&context) {
            if kind.template().is_none() {
                continue;
            }
            let yaml = self.templates.render(kind, &tera_context)?;
            let mut child =
                Child::parse(kind, &yaml).map_err(|error| RenderError::InvalidObject {
                    template: kind.template().unwrap_or_default().into(),
                    kind: kind.type_meta().1.into(),
                    path: error.path,
                    message: error.message,
                })?;
            if kind == ChildKind::Deployment
                && let children::Object::Deployment(deployment) = child.object_mut()
            {
                template_hash = mark_template(deployment);
            }
            stamp(&mut child, &context);
            children.push(child);
        }
        children.extend(page.and_then(|html| maintenance::page_config_map(&context, html)));
        let (monitoring_children, monitoring_gaps) =
            monitoring::children(&context, &resolution.spec);
        children.extend(monitoring_children);
        children.extend(route_children(
            &context,
            &traffic::Split::stable(&context.names.service),
        ));
        children.sort_by_key(Child::kind);
        Ok(Rendered {
            resolution,
            context,
            children,
            template_hash,
            monitoring_gaps,
        })
    }
}

/// Which children the context asks for, in apply order.
pub fn wanted_children(context: &RenderContext) -> Vec<ChildKind> {
    ChildKind::ALL
        .into_iter()
        .filter(|kind| match kind {
            ChildKind::HorizontalPodAutoscaler => context.autoscaling.is_some(),
            ChildKind::PodDisruptionBudget => context.disruption_budget,
            ChildKind::StoreNetworkPolicy => context.stores.any(),
            ChildKind::DatabaseService | ChildKind::Database => context.stores.database.is_some(),
            ChildKind::CacheService | ChildKind::Cache => context.stores.cache.is_some(),
            ChildKind::PoolerService | ChildKind::Pooler => context.stores.pooler.is_some(),
            ChildKind::MigrationJob => context.migration.is_some(),
            ChildKind::BackupJob => context.backup.is_some(),
            ChildKind::RestoreJob => context
                .backup
                .as_ref()
                .is_some_and(|b| b.restore_args.is_some()),
            ChildKind::VerifyJob => context
                .backup
                .as_ref()
                .is_some_and(|b| b.verify_args.is_some()),
            ChildKind::Ingress => route_provider(context) == Some(TrafficProvider::IngressNginx),
            ChildKind::HttpRoute => route_provider(context) == Some(TrafficProvider::GatewayApi),
            ChildKind::MaintenancePage
            | ChildKind::MaintenanceService
            | ChildKind::Maintenance
            | ChildKind::MaintenanceDisruptionBudget => context.maintenance.is_some(),
            _ => true,
        })
        .collect()
}

fn route_provider(context: &RenderContext) -> Option<TrafficProvider> {
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

/// Hashes the pod template with its revision number blanked out and
/// records the hash on the template; returns the hash.
fn mark_template(deployment: &mut Deployment) -> String {
    let Some(template) = deployment.spec.as_mut().map(|spec| &mut spec.template) else {
        return String::new();
    };
    let mut neutral = template.clone();
    if let Some(labels) = neutral.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
        labels.remove(names::keys::REVISION);
    }
    for container in neutral
        .spec
        .iter_mut()
        .flat_map(|spec| spec.containers.iter_mut())
    {
        for var in container.env.iter_mut().flatten() {
            if var.name == "CHATBOT_REVISION" {
                var.value = None;
            }
        }
    }
    let hash = hash_hex(&serde_json::to_vec(&neutral).unwrap_or_default());
    template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(names::keys::TEMPLATE_HASH.into(), hash.clone());
    hash
}

/// Common metadata, set in one place for every child: namespace, labels,
/// and the hash of the child as rendered (taken before the hash itself is
/// added, so it depends on the content alone).
pub(crate) fn stamp(child: &mut Child, context: &RenderContext) {
    if let Some(annotations) = child.metadata_mut().annotations.as_mut() {
        annotations.remove(names::keys::SPEC_HASH);
    }
    let kind = child.kind();
    let metadata = child.metadata_mut();
    metadata.namespace = context.namespace.clone();
    let labels = metadata.labels.get_or_insert_with(BTreeMap::new);
    // The app's version means nothing on Postgres, Redis or PgBouncer, and
    // would rewrite them on every release.
    let data_service = kind_is_data_service(kind);
    for (key, value) in &context.common_labels {
        if data_service && key == names::keys::VERSION {
            continue;
        }
        labels.entry(key.clone()).or_insert_with(|| value.clone());
    }
    let hash = hash_hex(&serde_json::to_vec(child).unwrap_or_default());
    child
        .metadata_mut()
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(names::keys::SPEC_HASH.into(), hash);
}

/// The children that run something other than the app's code (a data
/// service, the maintenance page) or watch it (the monitor and its rules):
/// the app's version label would rewrite them on every release.
fn kind_is_data_service(kind: ChildKind) -> bool {
    matches!(
        kind,
        ChildKind::StoreNetworkPolicy
            | ChildKind::DatabaseService
            | ChildKind::Database
            | ChildKind::CacheService
            | ChildKind::Cache
            | ChildKind::PoolerService
            | ChildKind::Pooler
            | ChildKind::MaintenancePage
            | ChildKind::MaintenanceService
            | ChildKind::Maintenance
            | ChildKind::MaintenanceDisruptionBudget
            | ChildKind::PodMonitor
            | ChildKind::AlertRules
            | ChildKind::Dashboard
    )
}

/// `children` as one JSON `v1` List, as `kubectl get -o json` prints
/// several objects (and `kubectl apply -f` takes them).
pub fn to_json_list(children: &[Child]) -> Result<String, serde_json::Error> {
    let list = serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": children });
    serde_json::to_string_pretty(&list).map(|json| json + "\n")
}

/// Multi-document YAML of `children`, each starting with `---`.
pub fn to_yaml(children: &[Child]) -> Result<String, serde_yaml_ng::Error> {
    let mut out = String::new();
    for child in children {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(child)?);
    }
    Ok(out)
}
