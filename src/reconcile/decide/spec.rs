//! What the spec asks, judged before anything is applied: rendered at the
//! revision the history names, checked against capacity, conflicts and
//! what the cluster serves; and the generated values it still needs.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;

use super::{
    Inputs,
    render::{render_at, render_blocker},
};
use crate::{
    capacity::{self, CheckStatus},
    cost,
    reconcile::{decision::Generate, observe::Ownership, outcome::Blocker, status::Assessment},
    render::{ChildKind, Rendered},
    secrets,
};

/// A spec that can be applied, as first rendered.
pub(super) struct Judged {
    pub rendered: Rendered,
    /// The revision the history says the pods are (it was rendered at).
    pub history_revision: i64,
    /// Names of the values `spec.secrets.generated` asks for.
    pub generated_names: Vec<String>,
    pub owner: OwnerReference,
}

/// Renders the spec at the revision the history says the pods are,
/// records the facts status reports about it, and refuses it when it
/// cannot be applied: over capacity, a child or the generated Secret
/// someone else's, an HTTPRoute the cluster does not serve, no uid yet.
pub(super) fn judge(inputs: &Inputs, assessment: &mut Assessment) -> Result<Judged, Blocker> {
    let observed = inputs.observed;
    let history_revision = inputs
        .status
        .revisions
        .last()
        .map(|r| r.revision)
        .or(observed.recovered_revision().map(|r| r.revision))
        .unwrap_or(1);
    let rendered = render_at(inputs.renderer, inputs.pods, history_revision, observed)
        .map_err(|error| render_blocker(&error))?;
    let spec = &rendered.resolution.spec;
    assessment.monitoring = crate::monitoring::facts(
        spec,
        &rendered.monitoring_gaps,
        !observed.monitoring_missing,
    );
    assessment.paused = spec.paused.unwrap_or(false);
    let checks = capacity::checks(spec);
    assessment.cost = Some(cost::estimate(spec));
    assessment.capacity = Some(checks.clone());
    assessment.edge_gaps = crate::render::edge_gaps(spec);
    assessment.missing_secrets = secrets::missing(&secrets::references(spec), |name| {
        observed.secret_keys.get(name).cloned().flatten()
    });

    if let Some(over) = checks.iter().find(|c| c.status == CheckStatus::Exceeded) {
        return Err(Blocker {
            reason: "CapacityExceeded",
            path: over.field.clone(),
            message: format!(
                "{}: {} needs {} but the limit is {} ({}%); the running children are left as they are",
                over.field, over.resource, over.needed, over.limit, over.percent
            ),
        });
    }
    if let Some(((kind, _), child)) = observed
        .children
        .iter()
        .find(|(_, child)| child.ownership == Ownership::Foreign)
    {
        return Err(Blocker {
            reason: "ChildConflict",
            path: format!("{}/{}", kind.type_meta().1, child.name),
            message: format!(
                "{} {} exists and is not managed by this ChatbotDeployment; rename or remove it",
                kind.type_meta().1,
                child.name
            ),
        });
    }
    if observed.gateway_api_missing
        && rendered
            .children
            .iter()
            .any(|c| c.kind() == ChildKind::HttpRoute)
    {
        return Err(Blocker {
            reason: "GatewayApiMissing",
            path: "spec.traffic.provider".into(),
            message: "spec.traffic.provider: gatewayAPI needs the Gateway API's HTTPRoute (gateway.networking.k8s.io/v1), which this cluster does not serve; install the Gateway API CRDs and restart the operator, or use ingressNginx or none".into(),
        });
    }
    let generated_names = spec
        .secrets
        .as_ref()
        .and_then(|s| s.generated.clone())
        .unwrap_or_default();
    if !generated_names.is_empty()
        && let Some(existing) = &observed.generated
        && existing.ownership == Ownership::Foreign
    {
        let name = &rendered.context.names.generated_secret;
        return Err(Generate::foreign(name));
    }
    let owner = inputs
        .cbd
        .controller_owner_ref(&())
        .ok_or_else(|| Blocker {
            reason: "MissingUid",
            path: "metadata.uid".into(),
            message: "metadata.uid: the resource has no uid yet".into(),
        })?;
    Ok(Judged {
        rendered,
        history_revision,
        generated_names,
        owner,
    })
}

/// Generated values: only keys that are not there yet.
pub(super) fn generate(inputs: &Inputs, judged: &Judged) -> Option<Generate> {
    let observed = inputs.observed;
    let existing_keys = observed
        .generated
        .as_ref()
        .map(|g| g.keys.clone())
        .unwrap_or_default();
    let keys = secrets::keys_to_generate(&judged.generated_names, &existing_keys);
    (!keys.is_empty()).then(|| Generate {
        secret: judged.rendered.context.names.generated_secret.clone(),
        labels: judged.rendered.context.common_labels.clone(),
        create: observed.generated.is_none(),
        keys,
    })
}
