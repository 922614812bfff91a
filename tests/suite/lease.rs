//! Leader election against the in-memory API server, with tokio's clock
//! paused so Lease expiry is exact.

use crate::common;

use std::{sync::Arc, time::Duration};

use chatbot_operator::{
    operator::lease::{Leadership, LeaseLock, LeaseTiming},
    telemetry::Metrics,
};
use common::fake_api::FakeApi;

const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/chatbot-operator-system/leases/chatbot-operator";

fn lock(api: &FakeApi, identity: &str) -> LeaseLock {
    LeaseLock::new(
        api.client(Arc::new(Metrics::new())),
        // Where `manifests/` lets the operator hold its Lease.
        "chatbot-operator-system",
        "chatbot-operator",
        identity,
        LeaseTiming::default(),
    )
}

fn holder(api: &FakeApi) -> Option<String> {
    api.get(LEASE)
        .and_then(|lease| lease["spec"]["holderIdentity"].as_str().map(str::to_string))
}

#[tokio::test(start_paused = true)]
async fn the_first_replica_creates_the_lease_and_the_second_stands_by() {
    let api = FakeApi::default();
    let mut a = lock(&api, "a");
    let mut b = lock(&api, "b");
    assert_eq!(a.try_acquire_or_renew().await.unwrap(), Leadership::Leading);
    assert_eq!(
        b.try_acquire_or_renew().await.unwrap(),
        Leadership::Following {
            holder: Some("a".into())
        }
    );
    assert_eq!(holder(&api).as_deref(), Some("a"));
    let lines: Vec<String> = api.requests().iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            format!("GET {LEASE}"),
            "POST /apis/coordination.k8s.io/v1/namespaces/chatbot-operator-system/leases"
                .to_string(),
            format!("GET {LEASE}"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_renewing_leader_keeps_the_lease_and_a_silent_one_loses_it() {
    let api = FakeApi::default();
    let mut a = lock(&api, "a");
    let mut b = lock(&api, "b");
    a.try_acquire_or_renew().await.unwrap();
    b.try_acquire_or_renew().await.unwrap();
    // a renews every 2 s: b never takes over.
    for _ in 0..20 {
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(a.try_acquire_or_renew().await.unwrap(), Leadership::Leading);
        assert!(matches!(
            b.try_acquire_or_renew().await.unwrap(),
            Leadership::Following { .. }
        ));
    }
    // a stops: b waits a full lease duration on its own clock, then leads.
    tokio::time::advance(Duration::from_secs(14)).await;
    assert!(matches!(
        b.try_acquire_or_renew().await.unwrap(),
        Leadership::Following { .. }
    ));
    tokio::time::advance(Duration::from_secs(2)).await;
    assert_eq!(b.try_acquire_or_renew().await.unwrap(), Leadership::Leading);
    let lease = api.get(LEASE).unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
    // The old leader finds out at its next renewal.
    assert_eq!(
        a.try_acquire_or_renew().await.unwrap(),
        Leadership::Following {
            holder: Some("b".into())
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_released_lease_is_taken_at_once() {
    let api = FakeApi::default();
    let mut a = lock(&api, "a");
    let mut b = lock(&api, "b");
    a.try_acquire_or_renew().await.unwrap();
    b.try_acquire_or_renew().await.unwrap();
    a.release().await.unwrap();
    assert_eq!(holder(&api), None);
    assert_eq!(b.try_acquire_or_renew().await.unwrap(), Leadership::Leading);
}

#[tokio::test(start_paused = true)]
async fn of_two_replicas_writing_at_once_only_one_leads() {
    let api = FakeApi::default();
    let mut a = lock(&api, "a");
    a.try_acquire_or_renew().await.unwrap();
    a.release().await.unwrap();
    // a reads the free Lease; b's write lands before a's, so a's write
    // carries a stale resource version and is refused.
    api.interleave(&format!("PUT {LEASE}"), LEASE, |lease| {
        lease["spec"]["holderIdentity"] = serde_json::json!("b");
    });
    let outcome = a.try_acquire_or_renew().await.unwrap();
    assert!(
        matches!(outcome, Leadership::Following { .. }),
        "{outcome:?}"
    );
    assert_eq!(holder(&api).as_deref(), Some("b"));
}
