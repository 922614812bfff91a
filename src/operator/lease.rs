//! Leader election on a `coordination.k8s.io/v1` Lease, the way the
//! Kubernetes controllers do it: one replica holds the Lease and renews it;
//! the others watch it and take over once it has not been renewed for its
//! duration, measured on their own clock (so clock skew between nodes does
//! not matter). Every write carries the resource version it read, so two
//! replicas can never both believe they lead. On shutdown the holder
//! releases the Lease, and a standby takes over at its next retry.

use std::time::Duration;

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{Api, Client, api::PostParams};
use tokio::time::Instant;

/// Timing of leader election (the Kubernetes controllers' defaults).
#[derive(Clone, Copy, Debug)]
pub struct LeaseTiming {
    /// How long a Lease stays valid without renewal.
    pub duration: Duration,
    /// How long the leader keeps trying to renew before it gives up.
    pub renew_deadline: Duration,
    /// Time between two attempts to acquire or renew.
    pub retry_period: Duration,
}

impl Default for LeaseTiming {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Who leads, as far as this replica knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// This replica holds the Lease.
    Leading,
    /// Another replica does (or nobody, but this one lost a race).
    Following { holder: Option<String> },
}

/// The holder, renew time and transitions last seen, and when (locally).
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    holder: Option<String>,
    renew_time: Option<MicroTime>,
    transitions: Option<i32>,
    at: Instant,
}

/// One replica's handle on the Lease.
pub struct LeaseLock {
    api: Api<Lease>,
    name: String,
    identity: String,
    timing: LeaseTiming,
    seen: Option<Seen>,
}

impl LeaseLock {
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        timing: LeaseTiming,
    ) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            timing,
            seen: None,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn spec_for_us(&self, previous: Option<&LeaseSpec>, now: Timestamp) -> LeaseSpec {
        let ours =
            previous.and_then(|p| p.holder_identity.as_deref()) == Some(self.identity.as_str());
        let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.timing.duration.as_secs()).unwrap_or(15),
            ),
            acquire_time: if ours {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(if ours || previous.is_none() {
                transitions
            } else {
                transitions + 1
            }),
            ..Default::default()
        }
    }

    fn remember(&mut self, spec: Option<&LeaseSpec>, at: Instant) {
        let holder = spec
            .and_then(|s| s.holder_identity.clone())
            .filter(|h| !h.is_empty());
        let renew_time = spec.and_then(|s| s.renew_time.clone());
        let transitions = spec.and_then(|s| s.lease_transitions);
        let changed = self.seen.as_ref().is_none_or(|seen| {
            seen.holder != holder
                || seen.renew_time != renew_time
                || seen.transitions != transitions
        });
        if changed {
            self.seen = Some(Seen {
                holder,
                renew_time,
                transitions,
                at,
            });
        }
    }

    /// Takes the Lease when it is free or expired, renews it when held.
    pub async fn try_acquire_or_renew(&mut self) -> Result<Leadership, kube::Error> {
        let now = Timestamp::now();
        let local = Instant::now();
        let Some(lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec_for_us(None, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.remember(created.spec.as_ref(), local);
                    Ok(Leadership::Leading)
                }
                Err(kube::Error::Api(status)) if status.code == 409 => {
                    Ok(Leadership::Following { holder: None })
                }
                Err(error) => Err(error),
            };
        };
        self.remember(lease.spec.as_ref(), local);
        let seen = self.seen.clone();
        let holder = seen.as_ref().and_then(|s| s.holder.clone());
        let ours = holder.as_deref() == Some(self.identity.as_str());
        let lease_duration = lease
            .spec
            .as_ref()
            .and_then(|s| s.lease_duration_seconds)
            .map_or(self.timing.duration, |s| {
                Duration::from_secs(u64::try_from(s).unwrap_or(0))
            });
        let expired = holder.is_none() || seen.is_some_and(|s| s.at + lease_duration <= local);
        if !ours && !expired {
            return Ok(Leadership::Following { holder });
        }
        let mut updated = lease.clone();
        updated.spec = Some(self.spec_for_us(lease.spec.as_ref(), now));
        // `replace` carries the resource version read above: if another
        // replica wrote in between, the API server answers 409.
        match self
            .api
            .replace(&self.name, &PostParams::default(), &updated)
            .await
        {
            Ok(written) => {
                self.remember(written.spec.as_ref(), local);
                Ok(Leadership::Leading)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                Ok(Leadership::Following { holder })
            }
            Err(error) => Err(error),
        }
    }

    /// Gives the Lease up if this replica holds it, so a standby takes over
    /// at once instead of waiting for it to expire.
    pub async fn release(&mut self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let ours = lease
            .spec
            .as_ref()
            .and_then(|s| s.holder_identity.as_deref())
            == Some(self.identity.as_str());
        if !ours {
            return Ok(());
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(MicroTime(Timestamp::now()));
        }
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await?;
        self.seen = None;
        Ok(())
    }
}
