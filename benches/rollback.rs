//! The rollback decision path, in process: a failed measurement comes in
//! from Prometheus's answer, the run is judged, the state machine decides,
//! and the traffic objects that send everything back to the stable
//! revision come out as the bodies of their server-side-apply patches.
//! Without a cluster this is the operator's share of `kubectl chatbot
//! rollback` → 100% stable; the API server's and the data plane's come on
//! top. `cargo bench --bench rollback`; `ROLLBACK_RUNS` to change the count.
//!
//! Second, the on-call rollback of a Rolling deployment (`Rollback`
//! ChatbotAction), through the real action controller and kube client
//! against the in-memory API server: from the action existing to the
//! Deployment holding the old revision's template, over 20 fresh
//! two-revision resources (`ROLLBACK_ACTIONS` to change the count).
//!
//! Third, the on-call abort of a canary at 20% (`kubectl chatbot abort`
//! or `rollback`): the action hands the command over, the reconciler
//! carries it out, the action ends — from the action existing to the
//! route sending 100% to the stable revision, over as many fresh canaries.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

#[path = "../tests/common/mod.rs"]
mod common;

use chatbot_operator::{
    analysis::{self, Check, QueryResult, RunPolicy},
    rollout::{
        machine::{self, Facts, Phase, State, Step},
        traffic::{self, Exposure, Split},
    },
};

/// Where Brigade's sales bot is exposed (Gateway API), as the render
/// pipeline builds it; the Ingresses come from the same values.
fn exposure() -> Exposure {
    let rendered = common::render_sample("brigade-sales");
    let route = rendered.context.network.route.as_ref().expect("a route");
    chatbot_operator::render::exposure(&rendered.context, route)
}

/// One pass: measurement in, traffic patch bodies out. Returns the bytes
/// of the patches, so nothing is optimised away.
fn decide_rollback(steps: &[Step], state: &State, exposure: &Exposure) -> usize {
    let check = Check {
        name: "error-rate".into(),
        query: "100 * sum(rate(http_requests_total{code=~\"5..\"}[60s])) / sum(rate(http_requests_total[60s]))".into(),
        min: None,
        max: Some(1.0),
    };
    let measured = analysis::judge(&check, &QueryResult::Value(7.5));
    let rounds = vec![vec![measured.clone()], vec![measured]];
    let verdict = analysis::run_verdict(
        &rounds,
        RunPolicy {
            count: 5,
            failure_limit: 1,
            consecutive_error_limit: 4,
        },
    );
    let facts = Facts {
        now: 1_000,
        candidate_ready: true,
        candidate_created_at: 0,
        progress_deadline: Duration::from_secs(600),
        analysis: Some(verdict),
        comparison: None,
        smoke: None,
        command: None,
        auto_rollback: true,
    };
    let next = machine::next(steps, state, &facts);
    assert_eq!(next.phase, Phase::RolledBack);
    let split = if next.weight == 0 {
        Split::stable("brigade-r4")
    } else {
        unreachable!("a rollback sends no traffic to the candidate")
    };
    let route = serde_json::to_vec(&traffic::http_route(exposure, &split)).unwrap();
    let ingresses = serde_json::to_vec(&traffic::ingresses(exposure, &split)).unwrap();
    route.len() + ingresses.len()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn main() {
    let runs = count("ROLLBACK_RUNS", 20_000);
    let steps = vec![
        Step::SetWeight(10),
        Step::Analysis,
        Step::SetWeight(50),
        Step::Analysis,
    ];
    let state = State {
        step: 1,
        step_started_at: 900,
        weight: 10,
        phase: Phase::Progressing,
        message: String::new(),
    };
    let exposure = exposure();
    for _ in 0..1_000 {
        black_box(decide_rollback(&steps, &state, &exposure));
    }
    let mut times = Vec::with_capacity(runs);
    let started = Instant::now();
    let mut bytes = 0;
    for _ in 0..runs {
        let one = Instant::now();
        bytes += black_box(decide_rollback(&steps, &state, &exposure));
        times.push(one.elapsed());
    }
    let total = started.elapsed();
    times.sort();
    println!(
        "rollback decision path (failed measurement → RolledBack → HTTPRoute + Ingress bodies), {runs} runs:"
    );
    println!(
        "  {}; {:.0} decisions/s; {} bytes of patches per decision",
        spread(&times),
        runs as f64 / total.as_secs_f64(),
        bytes / runs
    );

    let actions = count("ROLLBACK_ACTIONS", 20);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (times, requests) = runtime.block_on(on_call_rollbacks(actions));
    println!(
        "on-call rollback (action → Deployment on the old template) vs the in-memory API server, {actions} runs:"
    );
    println!("  {}; {requests} API requests per rollback", spread(&times));

    let (times, requests) = runtime.block_on(on_call_aborts(actions));
    println!(
        "on-call abort of a canary at 20% (action → canary Ingress gone, 100% stable) vs the in-memory API server, {actions} runs:"
    );
    println!("  {}; {requests} API requests per abort", spread(&times));
}

async fn on_call_aborts(runs: usize) -> (Vec<Duration>, usize) {
    use chatbot_operator::api::{ActionKind, ChatbotAction, ChatbotActionSpec};
    use common::{harness::path, rollouts::*};
    let mut times = Vec::with_capacity(runs);
    let mut requests = 0;
    for _ in 0..runs {
        let spec = canary();
        let (mut harness, at) = serving_revision_1(&spec).await;
        ship(
            &mut harness,
            &at,
            &spec,
            "ghcr.io/mindmitra/support-bot:1.1.0",
        )
        .await;
        candidate_ready(&mut harness, &at, 2).await;
        assert_eq!(canary_weight(&harness).as_deref(), Some("20"));
        let mut action = ChatbotAction::new(
            "abort-1",
            ChatbotActionSpec {
                deployment: "mindmitra".into(),
                action: ActionKind::Abort,
                reason: "bench".into(),
                ..Default::default()
            },
        );
        action.metadata.namespace = Some(NS.into());
        let action_path = path("chatbotactions", NS, "abort-1");
        harness
            .api
            .insert(&action_path, serde_json::to_value(&action).unwrap());
        harness.sync();
        harness.api.clear_requests();
        let one = Instant::now();
        harness.run_action(&action_path).await;
        harness.sync();
        harness.reconcile(&at).await;
        harness.run_action(&action_path).await;
        times.push(one.elapsed());
        requests = harness.api.requests().len();
        assert_eq!(canary_weight(&harness), None, "100% stable");
        assert_eq!(
            harness.api.get(&action_path).unwrap()["status"]["phase"],
            "Succeeded"
        );
    }
    times.sort();
    (times, requests)
}

/// A run count from the environment, or `default`.
fn count(variable: &str, default: usize) -> usize {
    std::env::var(variable)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p50, p99 and max of sorted timings.
fn spread(sorted: &[Duration]) -> String {
    format!(
        "p50 {:?}, p99 {:?}, max {:?}",
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or_default()
    )
}

async fn on_call_rollbacks(runs: usize) -> (Vec<Duration>, usize) {
    use chatbot_operator::{
        api::{ActionKind, ChatbotAction, ChatbotActionSpec},
        reconcile::{SyncGate, action},
    };
    use common::{
        harness::path,
        revisions::{NS, template_of, two_revisions},
    };
    let mut times = Vec::with_capacity(runs);
    let mut requests = 0;
    for _ in 0..runs {
        let (harness, _) = two_revisions().await;
        let mut action = ChatbotAction::new(
            "rollback-1",
            ChatbotActionSpec {
                deployment: "mindmitra".into(),
                action: ActionKind::Rollback,
                reason: "bench".into(),
                ..Default::default()
            },
        );
        action.metadata.namespace = Some(NS.into());
        let action_path = path("chatbotactions", NS, "rollback-1");
        harness
            .api
            .insert(&action_path, serde_json::to_value(&action).unwrap());
        let synced = SyncGate::default();
        synced.open();
        let context = harness.action_context(synced);
        let stored: ChatbotAction =
            serde_json::from_value(harness.api.get(&action_path).unwrap()).unwrap();
        harness.api.clear_requests();
        let one = Instant::now();
        action::reconcile(std::sync::Arc::new(stored), context)
            .await
            .expect("rollback");
        times.push(one.elapsed());
        requests = harness.api.requests().len();
        assert_eq!(template_of(&harness).1, "1", "rolled back");
    }
    times.sort();
    (times, requests)
}
