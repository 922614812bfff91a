//! A reconcile's notes published as Kubernetes Events on the resource, and
//! logged. [`super::events`] decides which transitions deserve one.

use kube::{
    Resource,
    runtime::events::{Event, EventType, Recorder},
};
use tracing::{info, warn};

use super::{Context, decide::Note};
use crate::api::ChatbotDeployment;

/// Publishes Events on the resource. A failed Event is logged, never fatal.
pub async fn publish(ctx: &Context, cbd: &ChatbotDeployment, notes: &[Note]) {
    let reference = cbd.object_ref(&());
    // A recorder per reconcile: Events are only published on transitions,
    // and each transition is an Event of its own, not a repeat of an
    // earlier one with the same reason.
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    for note in notes {
        let event = Event {
            type_: if note.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: note.reason.clone(),
            note: Some(note.message.clone()),
            action: "Reconcile".into(),
            secondary: None,
        };
        if note.warning {
            warn!(reason = %note.reason, "{}", note.message);
        } else {
            info!(reason = %note.reason, "{}", note.message);
        }
        if let Err(error) = recorder.publish(&event, &reference).await {
            warn!(%error, reason = %note.reason, "could not publish an Event");
        }
    }
}
