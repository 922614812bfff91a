//! What every reconcile shares: the client, the caches, the renderer, the
//! metrics, the timing, and what this replica remembers between
//! reconciles (failure counts, the statuses it just wrote).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use kube::{
    Client,
    runtime::{events::Reporter, reflector::ObjectRef},
};

use super::{
    caches::{Stores, SyncGate},
    timing::Timing,
};
use crate::{
    api::{ChatbotDeployment, ChatbotDeploymentStatus},
    render::Renderer,
    telemetry::Metrics,
};

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub renderer: Arc<Renderer>,
    pub stores: Stores,
    pub metrics: Arc<Metrics>,
    /// Who Events are reported by.
    pub reporter: Reporter,
    pub timing: Timing,
    /// Opens once every cache has been filled; reconciles wait for it.
    pub synced: SyncGate,
    /// Clients for managed stores; `None` runs without AWS (managed
    /// stores are then reported as not configured).
    pub aws: Option<crate::data::AwsClients>,
    /// Where smoke checks reach a candidate, in place of its Service's
    /// cluster DNS name (tests, or an operator run outside the cluster).
    pub smoke_base: Option<String>,
    /// Sends notes to webhooks (`spec.observability.notify`); `None`
    /// sends nothing.
    pub notifier: Option<crate::notify::Notifier>,
    pub(super) failures: Mutex<HashMap<ObjectRef<ChatbotDeployment>, u32>>,
    written: Mutex<HashMap<String, WrittenStatus>>,
}

/// A status this replica wrote, with the resource versions around the
/// write. A reconcile that starts from the version before the write (the
/// cache has not seen the write yet) starts from this status instead, so
/// it neither writes it again nor repeats its Events.
#[derive(Clone, Debug)]
struct WrittenStatus {
    before: String,
    after: String,
    status: ChatbotDeploymentStatus,
}

impl Context {
    pub fn new(
        client: Client,
        renderer: Arc<Renderer>,
        stores: Stores,
        metrics: Arc<Metrics>,
        reporter: Reporter,
        timing: Timing,
    ) -> Self {
        Self {
            client,
            renderer,
            stores,
            metrics,
            reporter,
            timing,
            synced: SyncGate::default(),
            aws: None,
            smoke_base: None,
            notifier: None,
            failures: Mutex::default(),
            written: Mutex::default(),
        }
    }

    /// The same context with AWS clients for managed stores.
    pub fn with_aws(mut self, aws: crate::data::AwsClients) -> Self {
        self.aws = Some(aws);
        self
    }

    /// Notes go to webhooks through `notifier`.
    pub fn with_notifier(mut self, notifier: crate::notify::Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// `cbd` with the status this replica last wrote, when the cache still
    /// holds the version from before that write.
    pub(super) fn with_latest_status(&self, cbd: &ChatbotDeployment) -> Option<ChatbotDeployment> {
        let uid = cbd.metadata.uid.as_ref()?;
        let written = self.written.lock().ok()?.get(uid).cloned()?;
        (cbd.metadata.resource_version.as_ref() == Some(&written.before)).then(|| {
            let mut fresher = cbd.clone();
            fresher.metadata.resource_version = Some(written.after);
            fresher.status = Some(written.status);
            fresher
        })
    }

    pub(super) fn remember_status(
        &self,
        cbd: &ChatbotDeployment,
        after: Option<String>,
        status: &ChatbotDeploymentStatus,
    ) {
        let (Some(uid), Some(before), Some(after)) = (
            cbd.metadata.uid.clone(),
            cbd.metadata.resource_version.clone(),
            after,
        ) else {
            return;
        };
        if let Ok(mut written) = self.written.lock() {
            written.insert(
                uid,
                WrittenStatus {
                    before,
                    after,
                    status: status.clone(),
                },
            );
            // Deleted resources are never reconciled again: forget them
            // once they could make up half of what is remembered.
            if written.len() > 2 * self.stores.chatbots.len().max(32) {
                let live: std::collections::HashSet<String> = self
                    .stores
                    .chatbots
                    .state()
                    .iter()
                    .filter_map(|c| c.metadata.uid.clone())
                    .collect();
                written.retain(|uid, _| live.contains(uid));
            }
        }
    }

    /// How many written statuses are remembered (for tests).
    #[doc(hidden)]
    pub fn remembered_statuses(&self) -> usize {
        self.written.lock().map(|w| w.len()).unwrap_or(0)
    }
}
