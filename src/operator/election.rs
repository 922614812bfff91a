//! Leader election: a standby replica waits for the product's Lease, the
//! leader renews it while its controllers run, and stops them (and
//! itself) when it can no longer renew.

use std::sync::Arc;

use futures::future;
use kube::Client;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::{
    controllers::run_controllers,
    lease::{Leadership, LeaseLock},
    settings::{RunError, Settings},
};
use crate::{
    render::Renderer,
    telemetry::{Health, Metrics},
};

/// Waits to lead, then runs the controllers while the Lease is renewed.
pub async fn lead_then_run(
    settings: &Settings,
    lease_client: Client,
    client: Client,
    renderer: Arc<Renderer>,
    metrics: Arc<Metrics>,
    health: Health,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let timing = settings.lease_timing;
    let mut lock = LeaseLock::new(
        lease_client,
        &settings.lease_namespace,
        &settings.lease_name,
        &settings.identity,
        timing,
    );
    // A standby replica is healthy and ready to take over.
    health.set_ready(true);
    info!(lease = %settings.lease_name, identity = %settings.identity, "waiting for the leader Lease");
    loop {
        match lock.try_acquire_or_renew().await {
            Ok(Leadership::Leading) => break,
            Ok(Leadership::Following { holder }) => {
                tracing::debug!(?holder, "standing by");
            }
            Err(error) => warn!(%error, "could not read or take the leader Lease"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(timing.retry_period) => {}
        }
    }
    metrics.set_leader(true);
    metrics.lease_renewed();
    info!(identity = %lock.identity(), "leading");
    health.set_ready(false);

    let lost = CancellationToken::new();
    let controllers_done = shutdown.child_token();
    let renewing = {
        let stop = controllers_done.clone();
        let lost = lost.clone();
        let metrics = metrics.clone();
        async move {
            let mut last_renewal = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(timing.retry_period) => {}
                }
                match lock.try_acquire_or_renew().await {
                    Ok(Leadership::Leading) => {
                        last_renewal = tokio::time::Instant::now();
                        metrics.lease_renewed();
                    }
                    Ok(Leadership::Following { holder }) => {
                        warn!(?holder, "the leader Lease was taken over");
                        lost.cancel();
                        stop.cancel();
                        break;
                    }
                    Err(error) => warn!(%error, "could not renew the leader Lease"),
                }
                if last_renewal.elapsed() > timing.renew_deadline {
                    lost.cancel();
                    stop.cancel();
                    break;
                }
            }
            lock
        }
    };
    let controllers = run_controllers(
        settings,
        client,
        renderer,
        metrics.clone(),
        health,
        controllers_done.clone(),
    );
    let ((), mut lock) = future::join(
        async {
            controllers.await;
            controllers_done.cancel();
        },
        renewing,
    )
    .await;
    metrics.set_leader(false);
    if lost.is_cancelled() {
        error!("leadership lost; stopping so a restarted replica can rejoin the election");
        return Err(RunError::LostLeadership(timing.renew_deadline));
    }
    match lock.release().await {
        Ok(()) => info!("released the leader Lease"),
        Err(error) => warn!(%error, "could not release the leader Lease; it expires on its own"),
    }
    Ok(())
}
