//! `chatbot-operator run`: the caches, both controllers, leader election,
//! the HTTP endpoints and graceful shutdown, wired together.

mod cluster;
mod controllers;
mod election;
pub mod lease;
mod settings;

use std::sync::Arc;

use kube::{Client, Config, client::ClientBuilder};
use tokio_util::sync::CancellationToken;
use tracing::info;

pub use controllers::run_controllers;
pub use settings::{RunError, Settings, api};

use crate::telemetry::{CountWrites, Health, Metrics};

/// Waits for SIGTERM or Ctrl-C, then cancels `token`.
async fn cancel_on_signal(token: CancellationToken) -> Result<(), RunError> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(RunError::Signal)?;
    tokio::select! {
        _ = terminate.recv() => info!("SIGTERM: finishing in-flight reconciles"),
        _ = tokio::signal::ctrl_c() => info!("interrupt: finishing in-flight reconciles"),
        () = token.cancelled() => {}
    }
    token.cancel();
    Ok(())
}

/// Runs the operator until a signal (Ok) or a lost Lease (Err).
pub async fn run(settings: Settings) -> Result<(), RunError> {
    let renderer = Arc::new(settings::renderer(&settings)?);
    let mut config = Config::infer().await?;
    if let Some(user) = &settings.impersonate {
        config.auth_info.impersonate = Some(user.clone());
    }
    let server = config.cluster_url.to_string();
    let metrics = Arc::new(Metrics::new());
    let client = ClientBuilder::try_from(config.clone())?
        .with_layer(&CountWrites::new(metrics.clone()))
        .build();
    // Lease renewals go through a client of their own, so the write
    // counter shows what reconciles write and nothing else.
    let lease_client = Client::try_from(config)?;
    cluster::preflight(&client, &settings, &server).await?;
    info!(server, "connected to the API server");

    let shutdown = CancellationToken::new();
    let health = Health::default();
    let server = {
        let token = shutdown.clone();
        let address = settings.metrics_address;
        let server =
            crate::telemetry::serve(address, metrics.clone(), health.clone(), async move {
                token.cancelled().await;
            });
        tokio::spawn(async move {
            server
                .await
                .map_err(|source| RunError::Serve { address, source })
        })
    };
    let signals = tokio::spawn(cancel_on_signal(shutdown.clone()));

    let result = if settings.leader_election {
        election::lead_then_run(
            &settings,
            lease_client,
            client,
            renderer,
            metrics,
            health,
            shutdown.clone(),
        )
        .await
    } else {
        // The only replica leads.
        metrics.set_leader(true);
        health.set_ready(false);
        run_controllers(
            &settings,
            client,
            renderer,
            metrics,
            health,
            shutdown.clone(),
        )
        .await;
        Ok(())
    };
    shutdown.cancel();
    signals.abort();
    if let Ok(Err(error)) = server.await {
        return Err(error);
    }
    result
}
