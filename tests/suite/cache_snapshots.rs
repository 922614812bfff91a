//! A managed cache that holds state gets a native ElastiCache snapshot
//! before each rollout, against a real AWS API emulator (moto in server
//! mode) behind a proxy that loses answers: the new revision waits for it
//! beside the RDS snapshot, it is made once despite a lost answer and an
//! operator restart, and it is recorded on the revision — apart from the
//! database's backups. Real reconciler, in-memory API server with the
//! operator's RBAC.

use crate::backup_jobs::{rds_without_dumps, revision_record, template_revision};
use crate::common::{aws_proxy::Fault, harness::Harness};

const GROUP: &str = "chatbot-mindmitra-mindmitra";

async fn cache_snapshots(harness: &Harness) -> Vec<String> {
    harness
        .moto
        .clients()
        .elasticache
        .describe_snapshots()
        .send()
        .await
        .unwrap()
        .snapshots()
        .iter()
        .filter_map(|s| s.snapshot_name().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_cache_that_holds_state_is_snapshotted_once_before_a_rollout() {
    let (mut first, proxy, at) = rds_without_dumps(|cbd| {
        cbd.spec.cache.as_mut().unwrap().holds_state = Some(true);
    })
    .await;
    assert!(
        cache_snapshots(&first).await.is_empty(),
        "none for revision 1"
    );
    // ElastiCache makes the snapshot; its answer is lost.
    proxy.inject("CreateSnapshot", Fault::LoseResponse, 1);
    proxy.take_actions();
    first.reconcile(&at).await;
    let snapshot = format!("{GROUP}-cache-pre-r2");
    assert_eq!(
        cache_snapshots(&first).await,
        std::slice::from_ref(&snapshot)
    );
    assert_eq!(
        template_revision(&first).as_deref(),
        Some("1"),
        "revision 1 serves while the snapshots are taken"
    );

    // A restarted operator looks it up and never makes another.
    let mut harness = first.restarted();
    proxy.take_actions();
    harness.reconcile_times(&at, 2).await;
    let actions = proxy.take_actions();
    assert!(
        !actions.iter().any(|a| a == "CreateSnapshot"),
        "{actions:?}"
    );
    assert_eq!(
        cache_snapshots(&first).await,
        std::slice::from_ref(&snapshot)
    );
    assert_eq!(template_revision(&harness).as_deref(), Some("2"));
    let status = harness.api.get(&at).unwrap()["status"].clone();
    let revision_2 = revision_record(&status, 2);
    assert_eq!(revision_2["preRolloutCacheSnapshot"], snapshot.as_str());
    assert_eq!(
        revision_2["preRolloutDbSnapshot"],
        "chatbot-mindmitra-mindmitra-pre-r2"
    );
    let backups = &status["backups"];
    assert_eq!(backups["cacheSnapshots"][0]["id"], snapshot.as_str());
    assert_eq!(backups["cacheSnapshots"][0]["phase"], "Succeeded");
    assert!(
        backups["recent"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != snapshot.as_str() && r["method"] != "elasticache-snapshot"),
        "the cache's snapshot is no backup of the database: {backups}"
    );
    assert!(harness.events().iter().any(|(reason, message)| {
        reason == "BackupSucceeded"
            && message.contains(&format!("pre-rollout ElastiCache snapshot {snapshot}"))
    }));
}
