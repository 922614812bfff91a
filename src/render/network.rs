//! Who reaches the app: the peers its NetworkPolicy admits, and the public
//! route (provider, host, TLS and the edge's policy) the spec asks for.

use serde::Serialize;

use crate::{
    api::{ChatbotDeploymentSpec, TrafficProvider},
    rollout::traffic::Edge,
};

/// Who may open connections to the app pods.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IngressPeer {
    /// A namespace by name; `None` means pods of the resource's own namespace.
    pub namespace: Option<String>,
}

/// Network settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Network {
    pub ingress_from: Vec<IngressPeer>,
    /// The components whose pods the app's NetworkPolicy guards: the app,
    /// every candidate a rollout may run beside it, the maintenance page.
    pub guarded_components: Vec<String>,
    pub idle_timeout_seconds: i32,
    /// The public route, when a traffic provider and a host are set.
    pub route: Option<Route>,
}

/// The public route of the app: which provider carries it and to where.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Route {
    pub provider: TrafficProvider,
    pub host: String,
    pub tls: Option<crate::api::Tls>,
    pub ingress_class_name: Option<String>,
    pub gateway: Option<crate::api::GatewayRef>,
    /// What the edge enforces before the app.
    pub edge: Edge,
}

/// The public route the spec asks for; none without a provider or a host
/// (the CRD requires a host with a provider).
pub(super) fn route(spec: &ChatbotDeploymentSpec) -> Option<Route> {
    let traffic = spec.traffic.clone().unwrap_or_default();
    let provider = traffic.provider.unwrap_or_default();
    if provider == TrafficProvider::None {
        return None;
    }
    Some(Route {
        provider,
        host: traffic.host?,
        tls: traffic.tls,
        ingress_class_name: traffic.ingress_class_name,
        edge: Edge::from_spec(spec.traffic.as_ref(), spec.rate_limits.as_ref()),
        gateway: traffic.gateway,
    })
}

/// Peers allowed to reach the app: the traffic provider's namespace, the
/// resource's own namespace, and the monitoring namespace when scraped.
pub(super) fn ingress_peers(
    spec: &ChatbotDeploymentSpec,
    namespace: Option<&str>,
) -> Vec<IngressPeer> {
    let traffic = spec.traffic.clone().unwrap_or_default();
    let mut peers = vec![IngressPeer { namespace: None }];
    match traffic.provider.unwrap_or_default() {
        TrafficProvider::IngressNginx => peers.push(IngressPeer {
            namespace: Some("ingress-nginx".into()),
        }),
        TrafficProvider::GatewayApi => {
            let gateway_namespace = traffic.gateway.and_then(|g| g.namespace);
            if let Some(gateway_namespace) = gateway_namespace
                && Some(gateway_namespace.as_str()) != namespace
            {
                peers.push(IngressPeer {
                    namespace: Some(gateway_namespace),
                });
            }
        }
        TrafficProvider::None => {}
    }
    if spec
        .observability
        .as_ref()
        .and_then(|o| o.service_monitor)
        .unwrap_or(false)
    {
        peers.push(IngressPeer {
            namespace: Some("monitoring".into()),
        });
    }
    // The operator requests a candidate's health and smoke paths before it
    // takes traffic (with analysis on, for every strategy but Rolling).
    let rollout = spec.rollout.clone().unwrap_or_default();
    let progressive = !matches!(rollout.strategy, None | Some(crate::api::Strategy::Rolling));
    let analysis = rollout
        .analysis
        .as_ref()
        .is_some_and(|a| a.enabled.unwrap_or(true));
    if progressive && analysis {
        peers.push(IngressPeer {
            namespace: Some(OPERATOR_NAMESPACE.into()),
        });
    }
    peers
}

/// Namespace the operator runs in (`manifests/`).
pub const OPERATOR_NAMESPACE: &str = "chatbot-operator-system";

/// What the spec's traffic provider leaves unenforced of its edge policy;
/// `None` when the spec asks nothing of the edge.
pub fn edge_gaps(spec: &ChatbotDeploymentSpec) -> Option<Vec<String>> {
    let edge = Edge::from_spec(spec.traffic.as_ref(), spec.rate_limits.as_ref());
    let provider = spec
        .traffic
        .as_ref()
        .and_then(|t| t.provider)
        .unwrap_or_default();
    (!edge.is_empty()).then(|| edge.not_enforced(provider))
}
