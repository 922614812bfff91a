//! Notifications through the real reconciler and notifier: every Event a
//! reconcile publishes reaches the team's webhook once, as Slack's JSON,
//! through the webhook's failures; a quiet reconcile sends nothing; the
//! URL (a secret) appears in no message; a dead webhook never holds a
//! reconcile back.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{body::Bytes, extract::State, http::StatusCode, routing::post};
use base64::Engine;
use chatbot_operator::{api::SecretKeyRef, notify::Notifier};
use serde_json::{Value, json};

use crate::common;
use common::{
    fake_server::serve_on_loopback,
    harness::{Harness, path},
};

const NS: &str = "mindmitra";
const TOKEN: &str = "T000/B000/s3cr3t-webhook-token";

/// A webhook that refuses its first `refusals` calls with 503, then
/// records every body it takes.
#[derive(Clone, Default)]
struct Webhook {
    calls: Arc<Mutex<usize>>,
    taken: Arc<Mutex<Vec<Value>>>,
    refusals: usize,
}

async fn receive(State(hook): State<Webhook>, body: Bytes) -> StatusCode {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let call = {
        let mut calls = hook.calls.lock().unwrap();
        *calls += 1;
        *calls
    };
    if call <= hook.refusals {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    hook.taken.lock().unwrap().push(body);
    StatusCode::OK
}

async fn webhook(refusals: usize) -> (Webhook, SocketAddr) {
    let hook = Webhook {
        refusals,
        ..Webhook::default()
    };
    let app = axum::Router::new()
        .route("/services/{*rest}", post(receive))
        .with_state(hook.clone());
    let (address, stop) = serve_on_loopback(app).await;
    std::mem::forget(stop);
    (hook, address)
}

/// Dev MindMitra with its stores up, notifying the webhook at `url`.
async fn notifying_mindmitra(url: &str) -> (Harness, String) {
    let mut harness = Harness::new();
    harness.context.notifier = Some(Notifier::start(
        harness.context.client.clone(),
        harness.metrics.clone(),
    ));
    harness.api.insert(
        &path("secrets", NS, "mindmitra-alerts"),
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "mindmitra-alerts", "namespace": NS},
            "data": {"url": base64::engine::general_purpose::STANDARD.encode(url)},
        }),
    );
    common::revisions::dev_with_stores_up_in(harness, |cbd| {
        cbd.spec
            .observability
            .get_or_insert_with(Default::default)
            .notify = Some(chatbot_operator::api::Notify {
            webhook_secret_ref: SecretKeyRef {
                name: "mindmitra-alerts".into(),
                key: "url".into(),
            },
            warnings_only: None,
        });
    })
    .await
}

fn event_reasons(harness: &Harness) -> Vec<String> {
    harness
        .api
        .requests()
        .into_iter()
        .filter(|r| r.uri.contains("/events") && r.method == http::Method::POST)
        .filter_map(|r| r.body)
        .map(|e| e["reason"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn every_event_reaches_the_webhook_once_through_its_failures_and_never_its_url() {
    let (hook, address) = webhook(2).await;
    let url = format!("http://{address}/services/{TOKEN}");
    let (mut harness, at) = notifying_mindmitra(&url).await;
    let reasons = event_reasons(&harness);
    assert!(!reasons.is_empty(), "the first reconciles publish Events");

    until("every Event delivered", || {
        hook.taken.lock().unwrap().len() >= reasons.len()
    })
    .await;
    let texts: Vec<String> = hook
        .taken
        .lock()
        .unwrap()
        .iter()
        .map(|body| body["text"].as_str().unwrap().to_string())
        .collect();
    for reason in &reasons {
        assert_eq!(
            texts
                .iter()
                .filter(|t| t.contains(&format!("*mindmitra/mindmitra* {reason}:")))
                .count(),
            reasons.iter().filter(|r| *r == reason).count(),
            "{reason} is sent as often as its Event is published: {texts:?}"
        );
    }
    assert!(
        texts
            .iter()
            .all(|t| !t.contains(TOKEN) && !t.contains(&address.to_string()))
    );
    assert_eq!(harness.metrics.notifications("sent"), reasons.len() as u64);

    // The same state again: no Event, no message.
    harness.api.clear_requests();
    harness.reconcile(&at).await;
    assert!(event_reasons(&harness).is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hook.taken.lock().unwrap().len(), texts.len());
}

#[tokio::test]
async fn a_webhook_that_never_answers_holds_no_reconcile_back() {
    // A loopback port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/services/{TOKEN}");
    let (harness, _) = notifying_mindmitra(&url).await;
    assert!(!event_reasons(&harness).is_empty());
    // Every reconcile has returned while each message is still being
    // tried again: none has been given up on yet.
    assert_eq!(harness.metrics.notifications("failed"), 0);
    assert_eq!(harness.metrics.notifications("sent"), 0);
}
