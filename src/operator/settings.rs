//! What a run of the operator is given and how it can fail: its settings,
//! its errors, the namespace-scoped API it watches through, and the
//! renderer it builds from the embedded or given environments and
//! templates.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use k8s_openapi::NamespaceResourceScope;
use kube::{Api, Client, Resource};

use super::lease::LeaseTiming;
use crate::{
    environment::Environments,
    reconcile::Timing,
    render::{Renderer, Templates},
};

/// Settings of a running operator.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch one namespace only; all namespaces when `None`.
    pub namespace: Option<String>,
    pub metrics_address: SocketAddr,
    /// Leader election on; off runs the controllers at once (one replica only).
    pub leader_election: bool,
    pub lease_name: String,
    pub lease_namespace: String,
    pub identity: String,
    pub lease_timing: LeaseTiming,
    pub timing: Timing,
    /// Reconciles running at once.
    pub concurrency: u16,
    /// Act as this user (`kubectl --as`): how the end-to-end tests confine
    /// the operator to the RBAC in `manifests/`.
    pub impersonate: Option<String>,
    pub environments: Option<PathBuf>,
    pub templates: Option<PathBuf>,
}

/// Why the operator stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("kubeconfig: {0}")]
    Config(#[from] kube::config::InferConfigError),
    #[error("kube client: {0}")]
    Client(#[from] kube::Error),
    #[error("environments or templates: {0}")]
    Render(#[from] crate::render::RenderError),
    #[error("metrics endpoint {address}: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
    #[error("leadership lost: the Lease was not renewed within {0:?}")]
    LostLeadership(Duration),
    #[error("cannot reach the API server at {server}: {source}")]
    Unreachable {
        server: String,
        source: Box<kube::Error>,
    },
    #[error(
        "the ChatbotDeployment CRD is not installed on {server}: install it with `kubectl apply -k manifests/` (or `chatbot-operator crd | kubectl apply --server-side -f -`)"
    )]
    CrdMissing { server: String },
    #[error(
        "not allowed to list chatbotdeployments{scope}: bind the chatbot-operator ClusterRole from manifests/operator/ ({message})"
    )]
    Forbidden { scope: String, message: String },
}

/// The API of kind `K` in `namespace`, or in every namespace.
pub fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The renderer of `settings`: the embedded environments and templates, or
/// those of the directories it names.
pub fn renderer(settings: &Settings) -> Result<Renderer, RunError> {
    let environments = match &settings.environments {
        Some(dir) => Environments::from_dir(dir).map_err(crate::render::RenderError::from)?,
        None => Environments::embedded().map_err(crate::render::RenderError::from)?,
    };
    let templates = match &settings.templates {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::embedded()?,
    };
    Ok(Renderer {
        environments,
        templates,
    })
}
