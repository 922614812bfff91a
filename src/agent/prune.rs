//! Retention in the store, after a good backup: every complete backup of
//! the deployment (a folder with a manifest) becomes a record — verified
//! when a verification left its marker, pinned when the operator names it
//! (a revision's pre-rollout backup, one a restore uses or undoes), a
//! safety backup when a restore took it — and what [`crate::backup::prune`]
//! removes is deleted. The newest good and the newest verified backup
//! always stay. Folders without a manifest are left alone.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{AgentError, store::Store};
use crate::backup::{Record, Retention, jobs::Reason, manifest};

/// Written beside a manifest when a verification passed.
pub const VERIFIED_FILE: &str = "verified.json";

/// What the verification marker says.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verified {
    pub verified_at: Timestamp,
    pub restore_seconds: f64,
}

/// How many and how long backups are kept, and which never go.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub keep_last: Option<usize>,
    pub max_age_days: Option<u32>,
    pub pinned: Vec<String>,
}

/// Deletes what `policy` lets go in the deployment's folder; returns the
/// ids removed, oldest first.
pub async fn prune(
    store: &Store,
    folder: &str,
    policy: &Policy,
    now: Timestamp,
) -> Result<Vec<String>, AgentError> {
    if policy.keep_last.is_none() && policy.max_age_days.is_none() {
        return Ok(Vec::new());
    }
    let keys = store.list(folder).await?;
    let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for key in keys {
        if let Some(id) = key
            .strip_prefix(folder)
            .and_then(|rest| rest.split('/').next())
        {
            by_id.entry(id.to_string()).or_default().push(key.clone());
        }
    }
    let mut records = Vec::new();
    for (id, keys) in &by_id {
        let manifest_key = format!("{folder}{id}/{}", manifest::MANIFEST_FILE);
        if !keys.contains(&manifest_key) {
            continue;
        }
        let Some(body) = store.get(&manifest_key).await? else {
            continue;
        };
        let Ok(found) = serde_json::from_slice::<manifest::Manifest>(&body) else {
            // Not ours to judge: an unreadable manifest is never deleted.
            continue;
        };
        records.push(Record {
            id: id.clone(),
            taken_at: found.started_at,
            succeeded: true,
            verified: keys.contains(&format!("{folder}{id}/{VERIFIED_FILE}")),
            pinned: policy.pinned.contains(id),
            safety: found.reason == Reason::PreRestore.as_str(),
        });
    }
    let retention = Retention {
        keep_last: policy.keep_last,
        max_age: policy
            .max_age_days
            .map(|days| SignedDuration::from_hours(24 * i64::from(days))),
    };
    let removed = crate::backup::prune(&records, retention, now);
    for id in &removed {
        // The manifest goes first: a backup is never listed without its dump.
        let mut keys = by_id.get(id).cloned().unwrap_or_default();
        keys.sort_by_key(|k| !k.ends_with(manifest::MANIFEST_FILE));
        store.delete(&keys).await?;
    }
    Ok(removed)
}
