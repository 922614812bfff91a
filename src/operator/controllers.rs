//! Both controllers — ChatbotDeployments and ChatbotActions — over the
//! caches of every kind they own, until shutdown.

use std::sync::Arc;

use futures::{Stream, StreamExt, future};
use gateway_api::apis::standard::httproutes::HttpRoute;
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
    Client, Resource,
    core::PartialObjectMeta,
    runtime::{Controller, WatchStreamExt, events::Reporter, reflector::store::Writer, watcher},
};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{
    cluster::{http_routes_served, monitoring_served},
    settings::{Settings, api},
};
use crate::{
    api::{ChatbotAction, ChatbotDeployment},
    monitoring::{PodMonitor, PrometheusRule},
    names::MANAGER,
    reconcile::{
        self, Context, action,
        caches::{self, CHILD_SELECTOR, Stores},
        observe::referring_to_secret,
    },
    render::Renderer,
    secrets,
    telemetry::{Health, Metrics},
};

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
    let (stores, mut writers) = caches::stores();
    let gateway_api = http_routes_served(&client).await;
    stores.set_gateway_api(gateway_api);
    let monitoring = monitoring_served(&client).await;
    stores.set_monitoring(monitoring);

    let reporter = Reporter {
        controller: MANAGER.into(),
        instance: Some(settings.identity.clone()),
    };
    let context = context(settings, &client, &renderer, &stores, &metrics, &reporter).await;
    let gate = context.synced.clone();
    let config = kube::runtime::controller::Config::default().concurrency(settings.concurrency);
    let chatbots = stores.chatbots.clone();

    let chatbot_stream = watcher(
        api::<ChatbotDeployment>(&client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(caches::trim_metadata)
    .reflect(std::mem::take(&mut writers.chatbots))
    .applied_objects();
    // Secrets' metadata only: their values never reach the operator but
    // for the few a reconcile reads by name (`Stores::secret`).
    let secret_stream = watcher(
        api::<PartialObjectMeta<Secret>>(&client, namespace),
        watcher::Config::default().any_semantic(),
    )
    .default_backoff()
    .modify(caches::trim_metadata)
    .reflect(std::mem::take(&mut writers.secrets))
    .touched_objects();
    let controller =
        Controller::for_stream(chatbot_stream, chatbots.clone()).with_config(config.clone());
    let controller = owned(
        controller,
        &client,
        namespace,
        writers,
        gateway_api,
        monitoring,
    );
    let deployments = controller
        .watches_stream(secret_stream, secret_mapper(&stores, &renderer))
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

    report_queue_depth(&health, &stores);
    let ready = ready_once_synced(stores.clone(), health.clone(), gate);
    info!(
        namespace = namespace.unwrap_or("(all)"),
        "controllers starting"
    );
    future::join3(deployments, actions, ready).await;
    info!("controllers stopped");
}

/// The reconcile context: the client, the caches, the renderer, the
/// metrics, the standard AWS chain for managed stores (IRSA in a cluster;
/// the endpoint follows `AWS_ENDPOINT_URL` like every AWS SDK) and the
/// notification sender.
async fn context(
    settings: &Settings,
    client: &Client,
    renderer: &Arc<Renderer>,
    stores: &Stores,
    metrics: &Arc<Metrics>,
    reporter: &Reporter,
) -> Arc<Context> {
    let aws = crate::data::AwsClients::from_environment().await;
    Arc::new(
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
    )
}

/// The ChatbotDeployments a changed Secret is referred to by.
fn secret_mapper(
    stores: &Stores,
    renderer: &Arc<Renderer>,
) -> impl Fn(PartialObjectMeta<Secret>) -> Vec<kube::runtime::reflector::ObjectRef<ChatbotDeployment>>
+ Send
+ Sync
+ 'static {
    let chatbots = stores.chatbots.clone();
    let renderer = renderer.clone();
    move |secret: PartialObjectMeta<Secret>| {
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
}

/// The deployment controller watching every kind it owns: the Gateway
/// API's HTTPRoutes and the Prometheus Operator's kinds only where the
/// cluster serves them (their caches are marked filled otherwise).
fn owned(
    controller: Controller<ChatbotDeployment>,
    client: &Client,
    namespace: Option<&str>,
    mut writers: caches::Writers,
    gateway_api: bool,
    monitoring: bool,
) -> Controller<ChatbotDeployment> {
    let controller = controller
        .owns_stream(child_stream::<ServiceAccount>(
            client,
            namespace,
            writers.service_accounts,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<ConfigMap>(
            client,
            namespace,
            writers.config_maps,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<Service>(
            client,
            namespace,
            writers.services,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<Deployment>(
            client,
            namespace,
            writers.deployments,
            caches::trim_deployment,
        ))
        .owns_stream(child_stream::<StatefulSet>(
            client,
            namespace,
            writers.stateful_sets,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<HorizontalPodAutoscaler>(
            client,
            namespace,
            writers.autoscalers,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<PodDisruptionBudget>(
            client,
            namespace,
            writers.disruption_budgets,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<NetworkPolicy>(
            client,
            namespace,
            writers.network_policies,
            caches::trim_metadata,
        ))
        .owns_stream(child_stream::<Job>(
            client,
            namespace,
            writers.jobs,
            caches::trim_job,
        ))
        .owns_stream(child_stream::<Ingress>(
            client,
            namespace,
            writers.ingresses,
            caches::trim_metadata,
        ));
    let controller = if gateway_api {
        controller.owns_stream(child_stream::<HttpRoute>(
            client,
            namespace,
            writers.http_routes,
            caches::trim_metadata,
        ))
    } else {
        caches::Writers::no_http_routes(&mut writers.http_routes);
        controller
    };
    if monitoring {
        controller
            .owns_stream(child_stream::<PodMonitor>(
                client,
                namespace,
                writers.pod_monitors,
                caches::trim_metadata,
            ))
            .owns_stream(child_stream::<PrometheusRule>(
                client,
                namespace,
                writers.prometheus_rules,
                caches::trim_rules,
            ))
    } else {
        caches::Writers::unserved(&mut writers.pod_monitors);
        caches::Writers::unserved(&mut writers.prometheus_rules);
        controller
    }
}

/// On every scrape, the ChatbotDeployments whose spec status has not
/// caught up with yet.
fn report_queue_depth(health: &Health, stores: &Stores) {
    let chatbots = stores.chatbots.clone();
    health.on_scrape(move |metrics| {
        let behind = chatbots
            .state()
            .iter()
            .filter(|cbd| {
                cbd.metadata.generation > cbd.status.as_ref().and_then(|s| s.observed_generation)
            })
            .count();
        metrics.set_queue_depth(
            reconcile::CONTROLLER,
            i64::try_from(behind).unwrap_or(i64::MAX),
        );
    });
}

/// Opens the reconcile gate and reports ready once every cache is filled
/// (closes it if the watchers stop first).
async fn ready_once_synced(stores: Stores, health: Health, gate: reconcile::SyncGate) {
    if stores.synced().await.is_ok() {
        info!(chatbots = stores.chatbots.len(), "caches synced");
        gate.open();
        health.set_ready(true);
    } else {
        gate.close();
    }
}
