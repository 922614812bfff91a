//! How traffic is split and where the app is exposed: the values every
//! provider's objects are built from.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::edge::Edge;
use crate::api::{GatewayRef, Sticky, Tls};

/// Port of the app's Services.
pub const SERVICE_PORT: i32 = 80;

/// How traffic is split right now.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// Service of the stable revision.
    pub stable_service: String,
    /// The candidates taking a share of the traffic: one for a canary, a
    /// blue-green preview or an A/B test on ingress-nginx, up to seven for
    /// an A/B test on a Gateway API route.
    pub candidates: Vec<Candidate>,
    /// Requests carrying this header or cookie with a candidate's value
    /// always reach that candidate, with `never` the stable revision (A/B
    /// stickiness, or testers reaching a canary).
    pub sticky: Option<Sticky>,
}

/// A candidate's place in the split.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Its Service.
    pub service: String,
    /// Percent of traffic it gets.
    pub weight: i32,
    /// The value of the sticky header or cookie that reaches it:
    /// [`STICKY_VALUE`] when it is the only candidate, its variant's name
    /// beside others.
    pub sticky_value: String,
}

impl Split {
    /// All traffic to the stable revision.
    pub fn stable(service: &str) -> Self {
        Self {
            stable_service: service.to_string(),
            candidates: Vec::new(),
            sticky: None,
        }
    }

    /// The one candidate's split: `weight` percent to `service`.
    pub fn one(stable: &str, service: &str, weight: i32, sticky: Option<Sticky>) -> Self {
        Self {
            stable_service: stable.to_string(),
            candidates: vec![Candidate {
                service: service.to_string(),
                weight,
                sticky_value: STICKY_VALUE.into(),
            }],
            sticky,
        }
    }

    /// The candidates' share together, 0 to 100.
    pub fn candidate_weight(&self) -> i32 {
        self.candidates
            .iter()
            .map(|c| c.weight.clamp(0, 100))
            .sum::<i32>()
            .min(100)
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
    /// What the edge enforces before the app.
    pub edge: Edge,
    /// Service of the maintenance page, when the page stands in whenever
    /// the app cannot answer (ingress-nginx shows it for 502, 503 and 504
    /// even before the operator switches the route).
    pub fallback_service: Option<String>,
}

/// Value a sticky header or cookie carries to reach the candidate.
pub const STICKY_VALUE: &str = "always";
/// Value a sticky header or cookie carries to stay on the stable revision
/// (ingress-nginx's word for it too).
pub const STICKY_NEVER: &str = "never";

pub(super) fn meta(
    exposure: &Exposure,
    name: String,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(exposure.namespace.clone()),
        labels: Some(exposure.labels.clone()),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
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
