//! A reconcile's notes published as Kubernetes Events on the resource,
//! logged, and handed to the webhook the spec names. [`super::events`]
//! decides which transitions deserve one.

use kube::{
    Resource,
    runtime::events::{Event, EventType, Recorder},
};
use tracing::{info, warn};

use super::{context::Context, outcome::Note};
use crate::{api::ChatbotDeployment, notify};

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
    notify(ctx, cbd, notes);
}

/// Hands the notes the spec wants sent to the notifier, without waiting.
fn notify(ctx: &Context, cbd: &ChatbotDeployment, notes: &[Note]) {
    let (Some(notifier), Some(settings)) = (
        &ctx.notifier,
        cbd.spec
            .observability
            .as_ref()
            .and_then(|o| o.notify.as_ref()),
    ) else {
        return;
    };
    let warnings_only = settings.warnings_only.unwrap_or(false);
    for note in notes
        .iter()
        .filter(|n| notify::wanted(warnings_only, n.warning))
    {
        notifier.notify(notify::sender::Delivery {
            message: notify::Message {
                namespace: cbd.meta().namespace.clone().unwrap_or_default(),
                name: cbd.meta().name.clone().unwrap_or_default(),
                reason: note.reason.clone(),
                text: note.message.clone(),
                warning: note.warning,
            },
            webhook: settings.webhook_secret_ref.clone(),
        });
    }
}
