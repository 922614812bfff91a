//! The maintenance page in the reconcile: the app's ready pods as the
//! caches see them, the switch decided by [`crate::maintenance::switch`],
//! and the route pointed at the page while it serves. A Deployment's
//! readiness change wakes the reconcile through its watch, so the route
//! follows within one reconcile of the last pod going unready.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::{observe::Observed, outcome::Note};
use crate::{
    api::{ChatbotDeploymentSpec, ChatbotDeploymentStatus, MaintenanceStatus},
    maintenance::switch::{self, Facts},
    render::{Child, RenderContext, divert},
};

/// Switches the route in `children` to the page when it should serve;
/// returns the page's next status and the Event of a switch.
pub fn route(
    children: &mut Vec<Child>,
    context: &RenderContext,
    spec: &ChatbotDeploymentSpec,
    status: &ChatbotDeploymentStatus,
    observed: &Observed,
    now: &Time,
) -> (Option<MaintenanceStatus>, Option<Note>) {
    let restore = status
        .restore
        .as_ref()
        .filter(|_| crate::backup::restore::stops_writes(status.restore.as_ref()))
        .map(|r| r.id.as_str());
    let ready_app_pods = [&observed.workload, &observed.candidate]
        .into_iter()
        .flatten()
        .map(|w| w.ready)
        .sum();
    let facts = Facts {
        spec: spec.maintenance.as_ref(),
        hold: status.maintenance_hold.as_ref(),
        restore,
        ready_app_pods,
    };
    let (next, switched) = switch::next(status.maintenance.as_ref(), &facts, now);
    if next.as_ref().is_some_and(|page| page.serving) {
        divert(children, context);
    }
    let note = switched.map(|switch| Note {
        warning: switch.reason == "MaintenancePageOn",
        reason: switch.reason.into(),
        message: switch.message,
    });
    (next, note)
}
