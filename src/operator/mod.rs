//! `chatbot-operator run`: the caches, both controllers, leader election,
//! the HTTP endpoints and graceful shutdown, wired together.

mod cluster;
pub mod lease;

use cluster::{http_routes_served, monitoring_served, preflight};
use lease::{Leadership, LeaseLock, LeaseTiming};

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use futures::{Stream, StreamExt, future};
use gateway_api::apis::standard::httproutes::HttpRoute;

use crate::monitoring::{PodMonitor, PrometheusRule};
use k8s_openapi::{
    NamespaceResourceScope,
    api::{
        apps::v1::{Deployment, StatefulSet},
        autoscaling::v2::HorizontalPodAutoscaler,
        batch::v1::Job,
        core::v1::{ConfigMap, Secret, Service, ServiceAccount},
        networking::v1::{Ingress, NetworkPolicy},
        policy::v1::PodDisruptionBudget,
    },
};
use kube::{
    Api, Client, Config, Resource,
    client::ClientBuilder,
    runtime::{Controller, WatchStreamExt, events::Reporter, reflector::store::Writer, watcher},
};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::{
    api::{ChatbotAction, ChatbotDeployment},
    environment::Environments,
    names::MANAGER,
    reconcile::{
        self, Context, Timing, action,
        observe::referring_to_secret,
        stores::{self, CHILD_SELECTOR, Stores},
    },
    render::{Renderer, Templates},
    secrets,
    telemetry::{CountWrites, Health, Metrics},
};

/// Settings of a running operator.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch one namespace only; all namespaces when `None`.
    pub namespace: Option<String>,
    pub metrics_address: SocketAddr,
    /// Leader election on; off runs the controllers at once (one replica only).
    pub leader_election: bool,
    pub lease_name: String,
    pub lease_namespace: String,
    pub identity: String,
    pub lease_timing: LeaseTiming,
    pub timing: Timing,
    /// Reconciles running at once.
    pub concurrency: u16,
    /// Act as this user (`kubectl --as`): how the end-to-end tests confine
    /// the operator to the RBAC in `manifests/`.
    pub impersonate: Option<String>,
    pub environments: Option<PathBuf>,
    pub templates: Option<PathBuf>,
}

/// Why the operator stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("kubeconfig: {0}")]
    Config(#[from] kube::config::InferConfigError),
    #[error("kube client: {0}")]
    Client(#[from] kube::Error),
    #[error("environments or templates: {0}")]
    Render(#[from] crate::render::RenderError),
    #[error("metrics endpoint {address}: {source}")]
    Serve {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("signal handler: {0}")]
    Signal(std::io::Error),
    #[error("leadership lost: the Lease was not renewed within {0:?}")]
    LostLeadership(Duration),
    #[error("cannot reach the API server at {server}: {source}")]
    Unreachable {
        server: String,
        source: Box<kube::Error>,
    },
    #[error(
        "the ChatbotDeployment CRD is not installed on {server}: install it with `kubectl apply -k manifests/` (or `chatbot-operator crd | kubectl apply --server-side -f -`)"
    )]
    CrdMissing { server: String },
    #[error(
        "not allowed to list chatbotdeployments{scope}: bind the chatbot-operator ClusterRole from manifests/operator/ ({message})"
    )]
    Forbidden { scope: String, message: String },
}

pub(crate) fn api<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// A cached watch of one child kind (only objects with the operator's
/// label), yielding every object that changed or disappeared.
fn child_stream<K>(
    client: &Client,
    namespace: Option<&str>,
    writer: Writer<K>,
    trim: fn(&mut K),
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let config = watcher::Config::default()
        .labels(CHILD_SELECTOR)
        .any_semantic();
    watcher(api::<K>(client, namespace), config)
        .default_backoff()
        .modify(trim)
        .reflect(writer)
        .touched_objects()
}

fn renderer(settings: &Settings) -> Result<Renderer, RunError> {
    let environments = match &settings.environments {
        Some(dir) => Environments::from_dir(dir).map_err(crate::render::RenderError::from)?,
        None => Environments::embedded().map_err(crate::render::RenderError::from)?,
    };
    let templates = match &settings.templates {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::embedded()?,
    };
    Ok(Renderer {
        environments,
        templates,
    })
}

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
    let renderer = Arc::new(renderer(&settings)?);
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
    preflight(&client, &settings, &server).await?;
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
        lead_then_run(
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

async fn lead_then_run(
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

/// Both controllers until `shutdown` is cancelled (in-flight reconciles finish).
pub async fn run_controllers(
    settings: &Settings,
    client: Client,
    renderer: Arc<Renderer>,
    metrics: Arc<Metrics>,
    health: Health,
    shutdown: CancellationToken,
) {
    let namespace = settings.namespace.as_deref();
    let (stores, mut writers) = stores::stores();
    let Stores { chatbots, .. } = stores.clone();
    let gateway_api = http_routes_served(&client).await;
    stores.set_gateway_api(gateway_api);
    let monitoring = monitoring_served(&client).await;
    stores.set_monitoring(monitoring);

    let chatbot_stream = watcher(
        api::<ChatbotDeployment>(&client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(stores::trim_metadata)
    .reflect(writers.chatbots)
    .applied_objects();
    let secret_stream = watcher(
        api::<Secret>(&client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(stores::strip_secret)
    .reflect(writers.secrets)
    .touched_objects();

    let reporter = Reporter {
        controller: MANAGER.into(),
        instance: Some(settings.identity.clone()),
    };
    // Managed stores: the standard AWS chain (IRSA in a cluster); the
    // endpoint follows `AWS_ENDPOINT_URL` like every AWS SDK.
    let aws = crate::data::AwsClients::from_environment().await;
    let context = Arc::new(
        Context::new(
            client.clone(),
            renderer.clone(),
            stores.clone(),
            metrics.clone(),
            reporter.clone(),
            settings.timing,
        )
        .with_aws(aws)
        .with_notifier(crate::notify::Notifier::start(
            client.clone(),
            metrics.clone(),
        )),
    );
    let gate = context.synced.clone();
    let secret_mapper = {
        let chatbots = chatbots.clone();
        let renderer = renderer.clone();
        move |secret: Secret| {
            let all = chatbots.state();
            referring_to_secret(
                all.iter().map(AsRef::as_ref),
                |cbd| {
                    renderer
                        .environments
                        .resolve(&cbd.spec)
                        .map(|r| secrets::references(&r.spec))
                        .unwrap_or_default()
                },
                &secret,
            )
        }
    };
    let config = kube::runtime::controller::Config::default().concurrency(settings.concurrency);
    let controller = Controller::for_stream(chatbot_stream, chatbots.clone())
        .with_config(config.clone())
        .owns_stream(child_stream::<ServiceAccount>(
            &client,
            namespace,
            writers.service_accounts,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<ConfigMap>(
            &client,
            namespace,
            writers.config_maps,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<Service>(
            &client,
            namespace,
            writers.services,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<Deployment>(
            &client,
            namespace,
            writers.deployments,
            stores::trim_deployment,
        ))
        .owns_stream(child_stream::<StatefulSet>(
            &client,
            namespace,
            writers.stateful_sets,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<HorizontalPodAutoscaler>(
            &client,
            namespace,
            writers.autoscalers,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<PodDisruptionBudget>(
            &client,
            namespace,
            writers.disruption_budgets,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<NetworkPolicy>(
            &client,
            namespace,
            writers.network_policies,
            stores::trim_metadata,
        ))
        .owns_stream(child_stream::<Job>(
            &client,
            namespace,
            writers.jobs,
            stores::trim_job,
        ))
        .owns_stream(child_stream::<Ingress>(
            &client,
            namespace,
            writers.ingresses,
            stores::trim_metadata,
        ));
    let controller = if gateway_api {
        controller.owns_stream(child_stream::<HttpRoute>(
            &client,
            namespace,
            writers.http_routes,
            stores::trim_metadata,
        ))
    } else {
        stores::Writers::no_http_routes(&mut writers.http_routes);
        controller
    };
    let controller = if monitoring {
        controller
            .owns_stream(child_stream::<PodMonitor>(
                &client,
                namespace,
                writers.pod_monitors,
                stores::trim_metadata,
            ))
            .owns_stream(child_stream::<PrometheusRule>(
                &client,
                namespace,
                writers.prometheus_rules,
                stores::trim_rules,
            ))
    } else {
        stores::Writers::unserved(&mut writers.pod_monitors);
        stores::Writers::unserved(&mut writers.prometheus_rules);
        controller
    };
    let deployments = controller
        .watches_stream(secret_stream, secret_mapper)
        .graceful_shutdown_on(shutdown.clone().cancelled_owned())
        .run(reconcile::reconcile, reconcile::error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "controller event");
            }
        });

    let action_context = Arc::new(action::ActionContext {
        client: client.clone(),
        metrics: metrics.clone(),
        reporter,
        chatbots: chatbots.clone(),
        synced: gate.clone(),
    });
    let actions = Controller::new(
        api::<ChatbotAction>(&client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .with_config(config)
    .graceful_shutdown_on(shutdown.clone().cancelled_owned())
    .run(action::reconcile, action::error_policy, action_context)
    .for_each(|result| async move {
        if let Err(error) = result {
            tracing::debug!(%error, "action controller event");
        }
    });

    {
        let chatbots = chatbots.clone();
        health.on_scrape(move |metrics| {
            let behind = chatbots
                .state()
                .iter()
                .filter(|cbd| {
                    cbd.metadata.generation
                        > cbd.status.as_ref().and_then(|s| s.observed_generation)
                })
                .count();
            metrics.set_queue_depth(
                reconcile::CONTROLLER,
                i64::try_from(behind).unwrap_or(i64::MAX),
            );
        });
    }
    let ready = {
        let stores = stores.clone();
        let health = health.clone();
        let gate = gate.clone();
        async move {
            if stores.synced().await.is_ok() {
                info!(chatbots = stores.chatbots.len(), "caches synced");
                gate.open();
                health.set_ready(true);
            } else {
                gate.close();
            }
        }
    };
    info!(
        namespace = namespace.unwrap_or("(all)"),
        "controllers starting"
    );
    future::join3(deployments, actions, ready).await;
    info!("controllers stopped");
}
