//! Operator benchmarks: `cargo bench --bench operator`.
//!
//! Without a cluster (always):
//! - decisions per second: the pure `decide` for 1,000 settled resources;
//! - reconciles per second: the whole reconcile (caches, decision, no
//!   request) of 1,000 settled resources, and the first reconcile of each
//!   (every child applied) against the in-memory API server;
//! - memory per 1,000 cached resources: heap held by the caches for 1,000
//!   ChatbotDeployments with their children and Secrets, counted by the
//!   allocator;
//! - the operator binary against the in-memory API server on a loopback
//!   port: time until N resources are Ready, reconciles per second, API
//!   calls per resource and the process's peak RSS (`BENCH_RESOURCES`,
//!   default 300).
//!
//! With `BENCH_CLUSTER=1` the last part runs against the cluster in
//! `KUBECONFIG` instead (a namespace of its own, deleted afterwards; pods
//! must become ready there, e.g. through kwok).

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    sync::atomic::{AtomicIsize, Ordering},
    time::{Duration, Instant},
};

use chatbot_operator::{
    api::ChatbotDeployment,
    reconcile::{caches, decide, observe, probe},
    secrets,
};
use common::{
    fleet::{mark_everything_ready, populate},
    harness::Harness,
};
use serde_json::{Value, json};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// What a reconcile of `cbd` observes in the harness's caches, with the
/// Secrets it reads.
async fn observed_of(harness: &Harness, cbd: &ChatbotDeployment) -> observe::Observed {
    let references = harness
        .context
        .renderer
        .environments
        .resolve(&cbd.spec)
        .map(|resolution| secrets::references(&resolution.spec))
        .unwrap_or_default();
    let namespace = cbd.metadata.namespace.clone().unwrap_or_default();
    let mut read = observe::ReadSecrets::new();
    for name in probe::secret_names(
        cbd.metadata.name.as_deref().unwrap_or_default(),
        &references,
    ) {
        if let Some(secret) = harness
            .stores
            .secret(&harness.context.client, &namespace, &name)
            .await
            .expect("the in-memory API server answers")
        {
            read.insert(name, secret);
        }
    }
    observe::gather(&harness.stores, &read, cbd, &references)
}

async fn in_process(count: usize) {
    let mut harness = Harness::new();
    let paths = populate(&mut harness, count);

    let start = Instant::now();
    for path in &paths {
        harness.reconcile_unsynced(path).await;
    }
    let first = start.elapsed();
    harness.sync();
    let first_requests = harness.api.requests().len();
    // The cluster's controllers catch up: pods of the app, PgBouncer and
    // the in-cluster stores become ready; the operator applies what waited
    // for them (the app waits for its connection URLs).
    for _ in 0..3 {
        for path in &paths {
            mark_everything_ready(&harness.api, path);
        }
        harness.sync();
        for path in &paths {
            harness.reconcile_unsynced(path).await;
        }
        harness.sync();
    }
    harness.api.clear_requests();

    let start = Instant::now();
    for path in &paths {
        harness.reconcile_unsynced(path).await;
    }
    let settled = start.elapsed();
    assert!(
        harness.api.requests().is_empty(),
        "settled resources send no request"
    );

    let chatbots: Vec<ChatbotDeployment> = paths.iter().map(|p| harness.chatbot(p)).collect();
    let mut observed = Vec::with_capacity(chatbots.len());
    for cbd in &chatbots {
        observed.push(observed_of(&harness, cbd).await);
    }
    let start = Instant::now();
    let rounds = 3;
    for _ in 0..rounds {
        for (cbd, observed) in chatbots.iter().zip(&observed) {
            let decision = decide::decide(cbd, &harness.context.renderer, observed, &harness.now);
            assert!(decision.apply.is_empty());
            black_box(decision);
        }
    }
    let decisions = start.elapsed();

    println!("in process, {count} resources:");
    println!(
        "  first reconcile (every child applied): {:.0} reconciles/s, {:.1} API calls per resource",
        rate(count, first),
        first_requests as f64 / count as f64
    );
    println!(
        "  settled reconcile (no request):       {:.0} reconciles/s",
        rate(count, settled)
    );
    println!(
        "  decide() alone:                       {:.0} decisions/s",
        rate(count * rounds, decisions)
    );

    // Memory of the caches: the same objects, trimmed as the watchers trim
    // them, in fresh caches.
    let objects = harness.api.list("/");
    drop(harness);
    let before = LIVE.load(Ordering::Relaxed);
    let (caches, mut writers) = caches::stores();
    let mut cached = 0usize;
    fn fill<K>(
        writer: &mut kube::runtime::reflector::store::Writer<K>,
        objects: &[Value],
        kind: &str,
        trim: fn(&mut K),
        count: &mut usize,
    ) where
        K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let these: Vec<Value> = objects
            .iter()
            .filter(|o| o["kind"] == kind)
            .cloned()
            .collect();
        *count += these.len();
        common::harness::refill(writer, these, trim);
    }
    fill(
        &mut writers.chatbots,
        &objects,
        "ChatbotDeployment",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.service_accounts,
        &objects,
        "ServiceAccount",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.config_maps,
        &objects,
        "ConfigMap",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.services,
        &objects,
        "Service",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.deployments,
        &objects,
        "Deployment",
        caches::trim_deployment,
        &mut cached,
    );
    fill(
        &mut writers.autoscalers,
        &objects,
        "HorizontalPodAutoscaler",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.disruption_budgets,
        &objects,
        "PodDisruptionBudget",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.network_policies,
        &objects,
        "NetworkPolicy",
        caches::trim_metadata,
        &mut cached,
    );
    fill(
        &mut writers.secrets,
        &objects,
        "Secret",
        caches::trim_metadata,
        &mut cached,
    );
    let held = LIVE.load(Ordering::Relaxed) - before;
    println!(
        "  caches: {cached} objects for {count} resources, {:.1} MiB, {:.2} MiB per 1,000 ChatbotDeployments with their children",
        held as f64 / 1048576.0,
        held as f64 / 1048576.0 * 1000.0 / count as f64
    );
    black_box((caches, writers));
}

/// `Ready` or `Stalled` (a spec the operator will not apply, such as one
/// over capacity) once the latest generation is observed; `None` before.
fn settled(object: &Value) -> Option<&'static str> {
    let status = &object["status"];
    if status["observedGeneration"] != object["metadata"]["generation"] {
        return None;
    }
    let conditions = status["conditions"].as_array()?;
    let is_true = |type_: &str| {
        conditions
            .iter()
            .any(|c| c["type"] == type_ && c["status"] == "True")
    };
    if is_true("Ready") {
        Some("Ready")
    } else if is_true("Stalled") {
        Some("Stalled")
    } else {
        None
    }
}

async fn binary_against_fake(count: usize) {
    let mut harness = Harness::new();
    let paths = populate(&mut harness, count);
    // Serve the populated objects; the harness's caches are not used.
    let api = harness.api.clone();
    drop(harness);
    let server = common::fake_server::FakeServer::start(api.clone()).await;
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], common::free_port()));
    let start = Instant::now();
    let mut process = server.spawn_operator(
        metrics,
        &std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        &common::root().join("target/bench-operator.log"),
    );
    // Stand-in Deployment and StatefulSet controllers: pods become ready
    // as soon as their Deployment or StatefulSet exists.
    let ready = |p: &String| -> Option<&'static str> {
        mark_everything_ready(&api, p);
        settled(&api.get(p)?)
    };
    let deadline = Instant::now() + Duration::from_secs(600);
    let (mut ready_count, mut stalled_count);
    loop {
        let states: Vec<_> = paths.iter().filter_map(&ready).collect();
        ready_count = states.iter().filter(|s| **s == "Ready").count();
        stalled_count = states.len() - ready_count;
        if states.len() == count {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {count} settled",
            states.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = start.elapsed();
    let requests = api.requests().len();
    let rss = common::e2e::peak_rss_kib(process.id()).unwrap_or(0);
    let text = common::e2e::scrape(metrics).expect("the operator serves /metrics");
    let reconciles = common::e2e::metric_sum(
        &text,
        "chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}",
    );
    let writes = common::e2e::metric_sum(&text, "chatbot_operator_write_calls_total");
    let breakdown: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("chatbot_operator_write_calls_total"))
        .filter_map(|l| {
            let (labels, value) = l.rsplit_once(' ')?;
            Some(format!(
                "{labels} {:.2}",
                value.parse::<f64>().ok()? / count as f64
            ))
        })
        .collect();
    let _ = process.kill();
    let _ = process.wait();
    println!("operator binary against the in-memory API server, {count} resources:");
    println!(
        "  all settled after {:.2} s ({ready_count} Ready, {stalled_count} stalled on a spec that exceeds capacity)",
        elapsed.as_secs_f64()
    );
    println!(
        "  {:.0} reconciles in that time = {:.0} reconciles/s",
        reconciles,
        reconciles / elapsed.as_secs_f64()
    );
    println!(
        "  {:.1} API calls per resource ({:.1} writes, the rest lists, watches and reads)",
        requests as f64 / count as f64,
        writes / count as f64
    );
    println!("  writes per resource by verb and resource:");
    for line in breakdown {
        println!("    {line}");
    }
    println!("  peak RSS {:.1} MiB", rss as f64 / 1024.0);
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if std::env::var("BENCH_SKIP_IN_PROCESS").is_err() {
            managed_sample().await;
            in_process(1000).await;
            ab_in_flight().await;
        }
        let count = std::env::var("BENCH_RESOURCES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300);
        if std::env::var("BENCH_CLUSTER").as_deref() == Ok("1") {
            cluster(count).await;
        } else {
            binary_against_fake(count).await;
        }
    });
}

async fn cluster(count: usize) {
    use kube::{Api, api::PostParams};
    let client = common::e2e::client().await;
    common::e2e::install(&client).await;
    let namespace = common::e2e::TestNamespace::new(&client, "bench").await;
    let operator = common::e2e::Operator::start(&namespace.name, "bench");
    let api: Api<ChatbotDeployment> = Api::namespaced(client.clone(), &namespace.name);
    let start = Instant::now();
    for index in 0..count {
        let cbd: ChatbotDeployment = serde_json::from_value(json!({
            "apiVersion": "chatbot.dev/v1alpha1", "kind": "ChatbotDeployment",
            "metadata": {"name": format!("bench-{index}")},
            "spec": {"environment": "dev", "image": "ghcr.io/chatbot-operator/echo-bot:1.0.0",
                     "database": {"mode": "none"}, "cache": {"mode": "none"}},
        }))
        .unwrap();
        api.create(&PostParams::default(), &cbd).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let list = api.list(&Default::default()).await.unwrap();
        let ready = list
            .items
            .iter()
            .filter(|c| {
                c.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
            })
            .count();
        if ready == count {
            break;
        }
        assert!(Instant::now() < deadline, "only {ready} of {count} Ready");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let elapsed = start.elapsed();
    let reconciles = operator
        .metric("chatbot_operator_reconciles_total{controller=\"chatbotdeployment\"}")
        .unwrap_or(0.0);
    let writes = operator
        .metric("chatbot_operator_write_calls_total")
        .unwrap_or(0.0);
    println!("operator against the cluster in KUBECONFIG, {count} resources:");
    println!(
        "  all Ready after {:.1} s; {:.0} reconciles/s; {:.1} writes per resource",
        elapsed.as_secs_f64(),
        reconciles / elapsed.as_secs_f64(),
        writes / count as f64
    );
    println!(
        "  peak RSS {:.1} MiB",
        operator.peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
}

/// The MindMitra sample (managed Postgres and Redis) against moto through
/// the recording proxy: reconciles and time until `DatabaseReady` and
/// `CacheReady`, then the AWS calls of a settled reconcile.
/// MindMitra on a Gateway API route with an A/B test of `candidates`
/// prompts laid over the running spec, in flight with every candidate
/// ready: the harness and the resource's path.
async fn a_test_of(candidates: usize) -> (Harness, String) {
    use chatbot_operator::api::{
        AbDecision, AbTest, GatewayRef, PrimaryMetric, Strategy, Traffic, TrafficProvider, Variant,
    };
    use common::rollouts::{NS, apply_spec, canary, serving_revision_1};
    let mut cbd = canary();
    cbd.spec.traffic = Some(Traffic {
        provider: Some(TrafficProvider::GatewayApi),
        host: Some("mindmitra.example.org".into()),
        gateway: Some(GatewayRef {
            name: "public".into(),
            namespace: Some("gateways".into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let share = 50 / candidates as i32;
    let mut variants = vec![Variant {
        name: "current".into(),
        weight: 100 - share * candidates as i32,
        baseline: Some(true),
        ..Default::default()
    }];
    variants.extend((0..candidates).map(|i| Variant {
        name: format!("prompt-{i}"),
        weight: share,
        ..Default::default()
    }));
    let rollout = cbd.spec.rollout.as_mut().unwrap();
    rollout.strategy = Some(Strategy::AbTest);
    rollout.ab_test = Some(AbTest {
        variants,
        decision: Some(AbDecision::Manual),
        primary: Some(PrimaryMetric {
            baseline_rate_percent: 35.0,
            minimum_detectable_effect_percent: 10.0,
            ..Default::default()
        }),
        ..Default::default()
    });
    let (mut harness, at) = serving_revision_1(&cbd).await;
    let test = cbd.spec.rollout.as_mut().unwrap().ab_test.as_mut().unwrap();
    for (i, variant) in test.variants.iter_mut().skip(1).enumerate() {
        variant.config = Some([("SYSTEM_PROMPT".to_string(), format!("Prompt {i}."))].into());
    }
    apply_spec(&mut harness, &at, &cbd);
    harness.reconcile(&at).await;
    for position in 0..candidates {
        let name =
            chatbot_operator::names::ChildNames::for_deployment("mindmitra").candidate_at(position);
        harness.deployment_ready(NS, &name, 2);
    }
    harness.reconcile_times(&at, 2).await;
    (harness, at)
}

/// `decide()` of an A/B test in flight with 1, 3 and 7 candidates: each
/// candidate beside the one that leads is rendered at its own revision
/// every reconcile, so the cost grows with them.
async fn ab_in_flight() {
    println!("decide() of an A/B test in flight:");
    let mut one = None;
    for candidates in [1, 3, 7] {
        let (harness, at) = a_test_of(candidates).await;
        let cbd = harness.chatbot(&at);
        let rollout = cbd.status.as_ref().and_then(|s| s.rollout.clone()).unwrap();
        assert_eq!(rollout.phase, "Progressing", "{}", rollout.message);
        assert_eq!(rollout.candidates.len(), candidates);
        let observed = observed_of(&harness, &cbd).await;
        let rounds = 300;
        let start = Instant::now();
        for _ in 0..rounds {
            black_box(decide::decide(
                &cbd,
                &harness.context.renderer,
                &observed,
                &harness.now,
            ));
        }
        let per_second = rate(rounds, start.elapsed());
        let against = one.get_or_insert(per_second);
        println!(
            "  {candidates} candidate(s): {per_second:.0} decisions/s ({:.2}× the time of one)",
            *against / per_second
        );
    }
}

async fn managed_sample() {
    use common::aws_proxy::AwsProxy;
    let mut harness = Harness::new();
    let proxy = AwsProxy::start(harness.moto.url()).await;
    harness.context.aws = Some(common::moto::clients_for(&proxy.url()));
    harness.secret("mindmitra", "mindmitra-llm", &["api-key"]);
    harness.secret("mindmitra", "mindmitra-sentry", &["dsn"]);
    let path = harness.create(&common::sample_without_gates("mindmitra"));
    let ready = |harness: &Harness| {
        let status = harness.chatbot(&path).status.unwrap_or_default();
        ["DatabaseReady", "CacheReady"].iter().all(|t| {
            status
                .conditions
                .iter()
                .any(|c| c.type_ == *t && c.status == "True")
        })
    };
    let start = Instant::now();
    let mut reconciles = 0;
    while !ready(&harness) {
        harness.reconcile(&path).await;
        reconciles += 1;
        assert!(reconciles < 10, "stores never became ready");
    }
    let elapsed = start.elapsed();
    let creating = proxy.take_actions();
    harness.reconcile(&path).await;
    harness.deployment_ready("mindmitra", "mindmitra", 2);
    harness.reconcile(&path).await;
    proxy.take_actions();
    let rounds = 20;
    let settled = Instant::now();
    for _ in 0..rounds {
        harness.reconcile(&path).await;
    }
    let per_reconcile = settled.elapsed() / rounds;
    let steady = proxy.take_actions();
    let mutations = steady
        .iter()
        .filter(|a| !a.starts_with("Describe") && *a != "ListTagsForResource")
        .count();
    println!("managed sample (MindMitra, RDS + ElastiCache in moto):");
    println!(
        "  DatabaseReady and CacheReady after {reconciles} reconciles, {:.0} ms, {} AWS calls ({})",
        elapsed.as_secs_f64() * 1000.0,
        creating.len(),
        creating.join(", ")
    );
    println!(
        "  settled: {:.1} AWS calls per reconcile ({}), {mutations} mutations in {rounds} reconciles, {:.1} ms per reconcile",
        steady.len() as f64 / f64::from(rounds),
        steady
            .iter()
            .take(steady.len() / rounds as usize)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        per_reconcile.as_secs_f64() * 1000.0
    );
}
