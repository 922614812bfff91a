//! An A/B test of three candidates through the rollout: each runs as its
//! own revision with its own pods, Service and share of the route, the
//! test waits for all of them, and a winner that does not lead is handed
//! the rollout before the stable Deployment takes its template.

use std::collections::BTreeMap;

use k8s_openapi::jiff::Timestamp;

use super::{tests::weights, *};
use crate::{
    api::{ChatbotDeployment, Variant, VariantReport},
    reconcile::observe::Workload,
    render::{ChildKind, Object, Renderer, candidate_spec_at},
};

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap())
}

/// Brigade's sequential test with three candidates beside the baseline
/// (40/20/20/20): the new version as it is, and two prompts over it.
fn brigade_of_three() -> ChatbotDeployment {
    let mut cbd: ChatbotDeployment = serde_yaml_ng::from_str(include_str!(
        "../../../manifests/samples/brigade-sales.yaml"
    ))
    .unwrap();
    let test = cbd.spec.rollout.as_mut().unwrap().ab_test.as_mut().unwrap();
    let prompt = |name: &str, text: &str| Variant {
        name: name.into(),
        weight: 20,
        config: Some(BTreeMap::from([("SYSTEM_PROMPT".into(), text.into())])),
        ..Default::default()
    };
    test.variants = vec![
        Variant {
            name: "baseline".into(),
            weight: 40,
            baseline: Some(true),
            ..Default::default()
        },
        Variant {
            name: "candidate".into(),
            weight: 20,
            ..Default::default()
        },
        prompt("short-answers", "Answer in two sentences."),
        prompt("ask-first", "Ask what the customer needs before answering."),
    ];
    cbd
}

/// The lead (the first candidate, revision 2) and the others rendered at
/// revisions 3 and 4.
fn renderings(cbd: &ChatbotDeployment) -> (Rendered, Vec<OtherCandidate>) {
    let renderer = Renderer::embedded().unwrap();
    let lead = renderer.render(cbd, 2).unwrap();
    let others = [1, 2]
        .into_iter()
        .map(|position| {
            let pods = ChatbotDeployment {
                spec: candidate_spec_at(&cbd.spec, position).unwrap().unwrap(),
                ..cbd.clone()
            };
            OtherCandidate {
                position,
                rendered: renderer.render(&pods, 2 + position as i64).unwrap(),
            }
        })
        .collect();
    (lead, others)
}

fn workload(revision: i64, ready: bool) -> Workload {
    Workload {
        generation: 1,
        observed_generation: 1,
        desired: 3,
        current: 3,
        updated: 3,
        ready: if ready { 3 } else { 0 },
        available: if ready { 3 } else { 0 },
        template_revision: Some(revision),
        ..Default::default()
    }
}

/// Stable revision 1; the candidates' Deployments at revisions 2, 3, 4,
/// ready as `ready` says.
fn observed(ready: [bool; 3]) -> Observed {
    Observed {
        workload: Some(workload(1, true)),
        candidate: Some(workload(2, ready[0])),
        more_candidates: BTreeMap::from([(1, workload(3, ready[1])), (2, workload(4, ready[2]))]),
        smoke: Some(Ok(())),
        ..Default::default()
    }
}

fn step(
    lead: &Rendered,
    candidates: Candidates,
    observed: &Observed,
    status: &mut ChatbotDeploymentStatus,
    now: i64,
) -> Delivery {
    let delivery = plan(
        &lead.resolution.spec,
        lead,
        candidates,
        observed,
        status,
        &at(now),
    )
    .unwrap()
    .unwrap();
    status.rollout = delivery.progress.status.clone();
    delivery
}

/// Each candidate Deployment's name, component and variant.
fn deployments(delivery: &Delivery) -> Vec<(String, String, String)> {
    delivery
        .candidate
        .iter()
        .filter(|c| c.kind() == ChildKind::CandidateDeployment)
        .map(|c| {
            let Object::Deployment(deployment) = c.object() else {
                panic!("a Deployment");
            };
            let selector = deployment.spec.as_ref().unwrap().selector.clone();
            let labels = selector.match_labels.unwrap();
            let template = deployment.spec.as_ref().unwrap().template.clone();
            let env = template.spec.unwrap().containers[0].env.clone().unwrap();
            let variant = env
                .iter()
                .find(|v| v.name == "CHATBOT_VARIANT")
                .and_then(|v| v.value.clone())
                .unwrap_or_default();
            (
                c.name().to_string(),
                labels["app.kubernetes.io/component"].clone(),
                variant,
            )
        })
        .collect()
}

/// The variants measured as the weights split them, 6,000 conversations
/// on the baseline and 3,000 on each candidate, with their thumbs-up
/// rates (the baseline's at 35 %) and no errors to speak of.
fn counted(rates: [f64; 3]) -> Observed {
    let variant = |name: &str, revision, up: f64| {
        let conversations = if revision == 1 { 6_000.0 } else { 3_000.0 };
        let calls = 10.0 * conversations;
        ab::Measured {
            report: VariantReport {
                name: name.into(),
                revision,
                conversations: Some(conversations),
                ..Default::default()
            },
            counts: ab::judge::Counts {
                conversations: Some(conversations),
                primary: Some((up * conversations, conversations)),
                guardrails: vec![Some((0.01 * calls, calls)), Some((0.01 * calls, calls))],
            },
        }
    };
    let names = ["candidate", "short-answers", "ask-first"];
    Observed {
        ab_variants: Some(ab::MeasuredVariants {
            baseline: variant("baseline", 1, 0.35),
            candidates: (0..3)
                .map(|i| variant(names[i], 2 + i as i64, rates[i]))
                .collect(),
        }),
        ..observed([true; 3])
    }
}

#[test]
fn three_candidates_run_as_their_own_revisions_each_with_its_share_and_its_name() {
    let (lead, others) = renderings(&brigade_of_three());
    let candidates = Candidates {
        lead: 0,
        others: &others,
    };
    let (mut status, started) = start(&lead, candidates);
    assert_eq!(
        deployments(&started),
        [
            (
                "brigade-sales-canary".into(),
                "canary".into(),
                "candidate".into()
            ),
            (
                "brigade-sales-canary-2".into(),
                "canary-2".into(),
                "short-answers".into()
            ),
            (
                "brigade-sales-canary-3".into(),
                "canary-3".into(),
                "ask-first".into()
            ),
        ]
    );
    let recorded: Vec<(String, i64)> = status
        .rollout
        .as_ref()
        .unwrap()
        .candidates
        .iter()
        .map(|c| (c.variant.clone(), c.revision))
        .collect();
    assert_eq!(
        recorded,
        [
            ("candidate".to_string(), 2),
            ("short-answers".to_string(), 3),
            ("ask-first".to_string(), 4)
        ]
    );
    // Each reads its own ConfigMap, whose prompt is its own.
    let prompts: Vec<(String, Option<String>)> = started
        .candidate
        .iter()
        .filter_map(|c| match c.object() {
            Object::ConfigMap(config) => Some((
                c.name().to_string(),
                config.data.as_ref()?.get("SYSTEM_PROMPT").cloned(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(prompts[1].1.as_deref(), Some("Answer in two sentences."));
    assert_eq!(
        prompts[2].1.as_deref(),
        Some("Ask what the customer needs before answering.")
    );

    // The smoke checks wait for every candidate, then request each.
    let spec = &lead.resolution.spec;
    let two_ready = observed([true, true, false]);
    assert_eq!(due_smoke(spec, &status, &two_ready, "brigade-sales"), None);
    let due = due_smoke(spec, &status, &observed([true; 3]), "brigade-sales").unwrap();
    assert_eq!(
        due.services,
        [
            "brigade-sales-canary",
            "brigade-sales-canary-2",
            "brigade-sales-canary-3"
        ]
    );

    // Smoke passed, two of three ready: no traffic until all are.
    let smoked = step(
        &lead,
        candidates,
        &observed([true, true, false]),
        &mut status,
        5,
    );
    let waiting = step(
        &lead,
        candidates,
        &observed([true, true, false]),
        &mut status,
        10,
    );
    assert_eq!(smoked.progress.candidate_weight, 0);
    assert_eq!(waiting.progress.candidate_weight, 0, "{:?}", status.rollout);

    // All ready: the smoke check passes, then the split.
    step(&lead, candidates, &observed([true; 3]), &mut status, 15);
    let split = step(&lead, candidates, &observed([true; 3]), &mut status, 20);
    assert_eq!(split.progress.candidate_weight, 60);
    assert_eq!(
        weights(&split.route),
        [
            ("brigade-sales".to_string(), 40),
            ("brigade-sales-canary".to_string(), 20),
            ("brigade-sales-canary-2".to_string(), 20),
            ("brigade-sales-canary-3".to_string(), 20),
        ]
    );

    // Every round measures each candidate at its revision, by its name.
    let (_, queries) = due_report(
        &lead.resolution.spec,
        &status,
        "sales",
        "brigade-sales",
        &at(20 + 86_400),
    )
    .expect("a round");
    let read: Vec<(&str, i64)> = queries
        .iter()
        .map(|q| (q.name.as_str(), q.revision))
        .collect();
    assert_eq!(
        read,
        [
            ("baseline", 1),
            ("candidate", 2),
            ("short-answers", 3),
            ("ask-first", 4)
        ]
    );
    assert!(
        queries[3].queries[0]
            .1
            .contains(r#"chatbot_dev_revision="4",chatbot_dev_variant="ask-first""#),
        "{}",
        queries[3].queries[0].1
    );
}

/// Revision 2 started beside the stable revision, no candidate ready
/// yet: the status and the first look's delivery.
fn start(lead: &Rendered, candidates: Candidates) -> (ChatbotDeploymentStatus, Delivery) {
    let mut status = ChatbotDeploymentStatus {
        current_revision: Some(2),
        ..Default::default()
    };
    let started = step(lead, candidates, &observed([false; 3]), &mut status, 0);
    (status, started)
}

/// Revision 2 started beside the stable revision with every candidate
/// ready, smoke-checked and split: the status after three looks.
fn split(lead: &Rendered, candidates: Candidates) -> ChatbotDeploymentStatus {
    let mut status = ChatbotDeploymentStatus {
        current_revision: Some(2),
        ..Default::default()
    };
    for now in [0, 5, 10] {
        step(lead, candidates, &observed([true; 3]), &mut status, now);
    }
    status
}

#[test]
fn a_winner_that_does_not_lead_is_handed_the_rollout_before_the_stable_pods_take_it() {
    let (lead, others) = renderings(&brigade_of_three());
    let candidates = Candidates {
        lead: 0,
        others: &others,
    };
    let mut status = split(&lead, candidates);
    assert_eq!(status.rollout.as_ref().unwrap().weight, 60);

    // Six days in, ask-first (the third) is conclusively better liked.
    let won = step(
        &lead,
        candidates,
        &counted([0.35, 0.36, 0.42]),
        &mut status,
        10 + 6 * 86_400,
    );
    let rollout = status.rollout.clone().unwrap();
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    assert_eq!(
        rollout.report.as_ref().unwrap().winner.as_deref(),
        Some("ask-first")
    );
    assert_eq!(
        rollout.revision, 4,
        "the winner's revision is the rollout's"
    );
    assert_eq!(won.handed_to, Some(4));
    assert_eq!(won.lead, 2);
    assert!(
        !won.progress.apply_stable,
        "the stable Deployment waits for the winner's template"
    );
    assert_eq!(
        deployments(&won),
        [(
            "brigade-sales-canary-3".into(),
            "canary-3".into(),
            "ask-first".into()
        )],
        "the others go"
    );
    assert_eq!(
        weights(&won.route),
        [
            ("brigade-sales".to_string(), 0),
            ("brigade-sales-canary-3".to_string(), 100)
        ]
    );

    // The next reconcile renders the winner: the stable Deployment takes
    // its template while it keeps all traffic.
    let winner = &others[1].rendered;
    let alone = Candidates {
        lead: 2,
        others: &[],
    };
    let promoting = step(
        winner,
        alone,
        &counted([0.35, 0.36, 0.42]),
        &mut status,
        11 + 6 * 86_400,
    );
    assert!(promoting.progress.apply_stable);
    assert_eq!(promoting.handed_to, None);
    assert_eq!(
        deployments(&promoting),
        [(
            "brigade-sales-canary-3".into(),
            "canary-3".into(),
            "ask-first".into()
        )]
    );
    assert_eq!(
        weights(&promoting.route),
        [
            ("brigade-sales".to_string(), 0),
            ("brigade-sales-canary-3".to_string(), 100)
        ]
    );
}

#[test]
fn a_person_promotes_the_candidate_named_and_it_is_handed_the_rollout() {
    let (lead, others) = renderings(&brigade_of_three());
    let candidates = Candidates {
        lead: 0,
        others: &others,
    };
    let mut status = split(&lead, candidates);
    status.rollout_command = Some(crate::api::RolloutCommand {
        command: "Promote".into(),
        revision: 2,
        action: "brigade-sales-promote-x7".into(),
        reason: "shorter answers read better".into(),
        variant: Some("short-answers".into()),
    });
    let promoted = step(&lead, candidates, &observed([true; 3]), &mut status, 20);
    let rollout = status.rollout.clone().unwrap();
    assert_eq!(rollout.phase, "Promoted", "{}", rollout.message);
    let report = rollout.report.unwrap();
    assert_eq!(report.winner.as_deref(), Some("short-answers"));
    assert_eq!(
        report.decision,
        "short-answers promoted by brigade-sales-promote-x7"
    );
    assert_eq!(rollout.revision, 3);
    assert_eq!(promoted.handed_to, Some(3));
    assert_eq!(
        deployments(&promoted),
        [(
            "brigade-sales-canary-2".into(),
            "canary-2".into(),
            "short-answers".into()
        )]
    );
}

#[test]
fn every_candidates_pods_are_behind_the_apps_network_policy_and_scraped() {
    let (lead, others) = renderings(&brigade_of_three());
    let candidates = Candidates {
        lead: 0,
        others: &others,
    };
    let (_, started) = start(&lead, candidates);
    let components_in = |kind: ChildKind| -> Vec<String> {
        let child = lead.children.iter().find(|c| c.kind() == kind).unwrap();
        let selector = match child.object() {
            Object::NetworkPolicy(policy) => {
                policy.spec.as_ref().unwrap().pod_selector.clone().unwrap()
            }
            Object::PodMonitor(monitor) => monitor.spec.selector.clone(),
            _ => panic!("{kind:?}"),
        };
        let expressions = selector.match_expressions.unwrap();
        expressions[0].values.clone().unwrap()
    };
    let guarded = components_in(ChildKind::NetworkPolicy);
    let scraped = components_in(ChildKind::PodMonitor);
    for (name, component, _) in deployments(&started) {
        assert!(guarded.contains(&component), "{name}: {guarded:?}");
        assert!(scraped.contains(&component), "{name}: {scraped:?}");
    }
}
