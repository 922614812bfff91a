//! Delivers notifications in the background: a bounded queue the reconcile
//! hands messages to without waiting, and one task that sends each (a few
//! at a time), reading the webhook URL from its Secret at the moment of
//! sending and trying again with backoff. The URL is never logged: errors
//! are reported without it.

use std::{sync::Arc, time::Duration};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};
use tokio::sync::{Semaphore, mpsc};
use tracing::{debug, warn};

use super::{Message, Outcome, payload, retry_after};
use crate::{api::SecretKeyRef, telemetry::Metrics};

/// Messages waiting at most; beyond that new ones are dropped (and
/// counted), never waited for.
const QUEUE: usize = 1024;
/// Deliveries in flight at once.
const IN_FLIGHT: usize = 8;
/// How long one POST may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// One message for one webhook.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub message: Message,
    /// The Secret key of the URL, in the message's namespace.
    pub webhook: SecretKeyRef,
}

/// The handle reconciles notify through.
#[derive(Clone, Debug)]
pub struct Notifier {
    queue: mpsc::Sender<Delivery>,
    metrics: Arc<Metrics>,
}

impl Notifier {
    /// Starts the sending task; it ends when every handle is dropped.
    pub fn start(client: Client, metrics: Arc<Metrics>) -> Notifier {
        let (queue, mut receiver) = mpsc::channel::<Delivery>(QUEUE);
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .unwrap_or_default();
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        let task_metrics = metrics.clone();
        tokio::spawn(async move {
            while let Some(delivery) = receiver.recv().await {
                let Ok(slot) = slots.clone().acquire_owned().await else {
                    break;
                };
                let (client, http, metrics) = (client.clone(), http.clone(), task_metrics.clone());
                tokio::spawn(async move {
                    let outcome = deliver(&client, &http, &delivery).await;
                    metrics.count_notification(outcome);
                    drop(slot);
                });
            }
        });
        Notifier { queue, metrics }
    }

    /// Queues `delivery`; never waits. A full queue drops it, with a
    /// warning and a count.
    pub fn notify(&self, delivery: Delivery) {
        if let Err(error) = self.queue.try_send(delivery) {
            self.metrics.count_notification("dropped");
            warn!(%error, "the notification queue is full: a notification was dropped");
        }
    }
}

/// Sends one message, trying again while the webhook may recover.
/// Returns `sent` or `failed`.
async fn deliver(client: &Client, http: &reqwest::Client, delivery: &Delivery) -> &'static str {
    let message = &delivery.message;
    let Some(url) = webhook_url(client, &message.namespace, &delivery.webhook).await else {
        return "failed";
    };
    let body = payload(message);
    let mut attempt = 1;
    loop {
        let outcome = match http.post(&url).json(&body).send().await {
            Ok(response) => Outcome::Status(response.status().as_u16()),
            Err(error) => {
                debug!(error = %error.without_url(), "the webhook did not answer");
                Outcome::Unreachable
            }
        };
        if let Outcome::Status(code) = outcome
            && (200..300).contains(&code)
        {
            return "sent";
        }
        match retry_after(attempt, outcome) {
            Some(wait) => {
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            None => {
                warn!(
                    namespace = %message.namespace,
                    name = %message.name,
                    reason = %message.reason,
                    ?outcome,
                    attempts = attempt,
                    "the notification webhook did not take the message"
                );
                return "failed";
            }
        }
    }
}

/// The webhook URL, read from its Secret now (so a rotated URL is used at
/// once); `None`, with a warning naming the Secret, when it is missing.
async fn webhook_url(client: &Client, namespace: &str, reference: &SecretKeyRef) -> Option<String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let found = match api.get_opt(&reference.name).await {
        Ok(found) => found,
        Err(error) => {
            warn!(%error, secret = %reference.name, "could not read the notification webhook's Secret");
            return None;
        }
    };
    let value = found
        .and_then(|secret| secret.data)
        .and_then(|mut data| data.remove(&reference.key))
        .and_then(|bytes| String::from_utf8(bytes.0).ok());
    if value.is_none() {
        warn!(
            namespace,
            secret = %reference.name,
            key = %reference.key,
            "spec.observability.notify.webhookSecretRef names no such Secret key: nothing is sent"
        );
    }
    value.map(|url| url.trim().to_string())
}
