//! The pipeline itself: resolve(spec, environment) → context → tera
//! templates → YAML → typed objects → common metadata on each; and the
//! rendered children written out as YAML or a JSON List.

use super::{
    children::{self, Child, ChildKind},
    context::{RenderContext, build as build_context},
    error::RenderError,
    maintenance, metadata, monitoring,
    page::page_config_map,
    routes::{route_children, route_provider},
    templates::Templates,
};
use crate::{
    api::{ChatbotDeployment, TrafficProvider},
    environment::{Environments, Resolution},
    rollout::traffic,
};

/// The renderer's fixed inputs: environment defaults and templates.
#[derive(Debug)]
pub struct Renderer {
    pub environments: Environments,
    pub templates: Templates,
}

/// The spec's rollout must make a plan (a canary's steps, an A/B test's
/// variants and primary metric): what the schema alone cannot say is
/// refused here, offline by `render` and `plan` as by the operator.
fn rollout_plan(spec: &crate::api::ChatbotDeploymentSpec) -> Result<(), RenderError> {
    let Some(rollout) = &spec.rollout else {
        return Ok(());
    };
    crate::rollout::steps(rollout, false).map_err(|error| RenderError::Spec {
        path: error.path,
        message: error.message,
    })?;
    super::overlay::check_overlays(spec)
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
        rollout_plan(&resolution.spec)?;
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
                template_hash = metadata::mark_template(deployment);
            }
            metadata::stamp(&mut child, &context);
            children.push(child);
        }
        children.extend(page.and_then(|html| page_config_map(&context, html)));
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
            ChildKind::DataOperationsNetworkPolicy => {
                context.migration.is_some() || context.backup.is_some()
            }
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
