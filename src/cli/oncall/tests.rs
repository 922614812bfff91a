use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;
use crate::api::{ChatbotDeploymentStatus, RevisionRecord};

const NOW: &str = "2026-11-25T12:00:00Z";

fn at(text: &str) -> Time {
    Time(text.parse().unwrap())
}

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn mindmitra() -> ChatbotDeployment {
    let text = include_str!("../../../manifests/samples/mindmitra.yaml");
    let mut cbd: ChatbotDeployment = serde_yaml_ng::from_str(text).unwrap();
    cbd.metadata.generation = Some(4);
    cbd.status = Some(ChatbotDeploymentStatus {
        observed_generation: Some(4),
        phase: Some("Ready".into()),
        current_revision: Some(3),
        stable_revision: Some(3),
        conditions: vec![
            Condition {
                type_: "Ready".into(),
                status: "True".into(),
                reason: "Available".into(),
                message: "every pod of revision 3 is ready".into(),
                last_transition_time: at(NOW),
                observed_generation: Some(4),
            },
            Condition {
                type_: "Degraded".into(),
                status: "True".into(),
                reason: "MigrationFailed".into(),
                message: "migration Job mindmitra-migrate-4 failed".into(),
                last_transition_time: at(NOW),
                observed_generation: Some(4),
            },
        ],
        revisions: (1..=3)
            .map(|n| RevisionRecord {
                revision: n,
                image: format!("ghcr.io/mindmitra/support-bot:1.{n}.0"),
                spec_hash: format!("hash{n}"),
                created_at: Some(at(&format!("2026-11-2{n}T12:00:00Z"))),
                promoted_at: Some(at(&format!("2026-11-2{n}T12:05:00Z"))),
                outcome: Some("Promoted".into()),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    });
    cbd
}

#[test]
fn ages_read_like_kubectl() {
    let now = now();
    assert_eq!(age(Some(&at("2026-11-25T11:59:15Z")), &now), "45s");
    assert_eq!(age(Some(&at("2026-11-25T11:48:00Z")), &now), "12m");
    assert_eq!(age(Some(&at("2026-11-25T07:00:00Z")), &now), "5h");
    assert_eq!(age(Some(&at("2026-11-22T12:00:00Z")), &now), "3d");
    assert_eq!(
        age(Some(&at("2026-11-25T12:00:10Z")), &now),
        "0s",
        "clock skew"
    );
    assert_eq!(age(None, &now), "-");
}

#[test]
fn status_shows_revisions_pods_route_and_what_is_wrong() {
    let mut cbd = mindmitra();
    cbd.status.as_mut().unwrap().revisions.push(RevisionRecord {
        revision: 4,
        image: "ghcr.io/mindmitra/support-bot:1.4.0".into(),
        spec_hash: "hash4".into(),
        created_at: Some(at("2026-11-25T11:00:00Z")),
        outcome: Some("InProgress".into()),
        ..Default::default()
    });
    let view = View {
        cbd,
        app: Some(
            serde_json::from_value(serde_json::json!({
                "metadata": { "name": "mindmitra" },
                "spec": {
                    "replicas": 3,
                    "selector": {},
                    "template": { "metadata": { "labels": { "chatbot.dev/revision": "3" } } }
                },
                "status": { "readyReplicas": 2, "updatedReplicas": 3 }
            }))
            .unwrap(),
        ),
        candidate: None,
    };
    let report = status_report(&view, &now());
    for expected in [
        "Name:       mindmitra",
        "Phase:      Ready",
        "Strategy:   BlueGreen",
        "Route:      Ingress mindmitra.example.org (ingressNginx)",
        "Revision:   current 3 · stable 3 · canary - (0% of traffic)",
        "Pods:       2/3 ready, 3 up to date (Deployment mindmitra, revision 3)",
        "✔ Ready",
        "✖ Degraded",
        "MigrationFailed",
        "#4    InProgress  ghcr.io/mindmitra/support-bot:1.4.0  created 60m ago",
        "#3    Promoted    ghcr.io/mindmitra/support-bot:1.3.0  created 2d ago, promoted 47h ago",
    ] {
        assert!(report.contains(expected), "{expected:?} in\n{report}");
    }
    assert!(
        !report.contains("#1 "),
        "status shows the last three:\n{report}"
    );
    assert!(report.contains("#2 "), "{report}");
    assert!(!report.contains("not caught up"), "{report}");
}

#[test]
fn status_says_when_the_operator_has_not_caught_up_and_when_there_are_no_pods() {
    let mut cbd = mindmitra();
    cbd.metadata.generation = Some(5);
    let report = status_report(
        &View {
            cbd,
            app: None,
            candidate: None,
        },
        &now(),
    );
    assert!(
        report.contains("status is for generation 4, the spec is at 5"),
        "{report}"
    );
    assert!(report.contains("no Deployment mindmitra yet"), "{report}");
}

#[test]
fn history_lists_every_revision_newest_first() {
    let report = history_report(&mindmitra(), &now());
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "mindmitra: 3 revision(s), stable 3");
    assert!(lines[1].starts_with("  #3 "), "{report}");
    assert!(lines[3].starts_with("  #1 "), "{report}");
    assert_eq!(lines.len(), 4);

    let mut fresh = mindmitra();
    fresh.status = None;
    assert_eq!(
        history_report(&fresh, &now()),
        "mindmitra: no revision recorded yet\n"
    );
}

#[test]
fn a_watched_report_that_only_ages_is_not_printed_again() {
    let view = View {
        cbd: mindmitra(),
        app: None,
        candidate: None,
    };
    let earlier = status_report(&view, &now());
    let later = status_report(&view, &"2026-11-26T12:00:00Z".parse().unwrap());
    assert_ne!(earlier, later);
    assert_eq!(strip_ages(&earlier), strip_ages(&later));
}

#[test]
fn dollars_are_whole_and_never_negative_zero() {
    assert_eq!(dollars(-0.0), "$0");
    assert_eq!(dollars(-0.3), "$0");
    assert_eq!(dollars(1234.6), "$1235");
}

#[test]
fn status_shows_a_rollback_in_force() {
    let mut cbd = mindmitra();
    cbd.status.as_mut().unwrap().rollback = Some(crate::api::HeldRevision {
        revision: 2,
        instead_of: 3,
        generation: 4,
        action: "mindmitra-rollback-x1".into(),
        reason: "p95 doubled".into(),
        at: Some(at("2026-11-25T11:30:00Z")),
    });
    let report = status_report(
        &View {
            cbd,
            app: None,
            candidate: None,
        },
        &now(),
    );
    assert!(
        report.contains(
            "Rollback:   pods held at revision 2 instead of 3 until the spec changes (mindmitra-rollback-x1: p95 doubled), 30m ago"
        ),
        "{report}"
    );
}

#[test]
fn status_shows_the_rollout_step_the_candidate_and_why_the_analysis_stopped_it() {
    use crate::api::{AnalysisRound, MeasurementStatus, RolloutStatus};
    let mut cbd = mindmitra();
    let status = cbd.status.as_mut().unwrap();
    status.canary_revision = Some(4);
    status.canary_weight = Some(20);
    status.rollout = Some(RolloutStatus {
        revision: 4,
        stable_revision: 3,
        strategy: "Canary".into(),
        step: 1,
        steps: 3,
        weight: 20,
        phase: "Inconclusive".into(),
        message: "analysis inconclusive: success-rate: the query returned no series".into(),
        replicas: 2,
        analysis: vec![AnalysisRound {
            at: Some(at("2026-11-25T11:59:00Z")),
            measurements: vec![
                MeasurementStatus {
                    name: "error-rate".into(),
                    value: Some(0.2),
                    threshold: "<= 1".into(),
                    verdict: "Passed".into(),
                    ..Default::default()
                },
                MeasurementStatus {
                    name: "success-rate".into(),
                    threshold: ">= 99.5".into(),
                    verdict: "Inconclusive".into(),
                    reason: Some("the query returned no series".into()),
                    ..Default::default()
                },
            ],
        }],
        report: Some(crate::api::AbReport {
            at: None,
            decision: "A/B test over: candidate (revision 4) 99.6% success over 5000 requests, baseline (revision 3) 99% over 5000".into(),
            variants: vec![crate::api::VariantReport {
                name: "baseline".into(),
                revision: 3,
                requests: Some(5000.0),
                success_rate_percent: Some(99.0),
                p95_latency_ms: Some(420.0),
                conversations: None,
                metrics: vec![crate::api::MetricValue {
                    name: "conversion".into(),
                    value: Some(0.031),
                }],
            }],
            ..Default::default()
        }),
        ..Default::default()
    });
    let candidate = serde_json::from_value(serde_json::json!({
        "metadata": { "name": "mindmitra-canary" },
        "spec": {
            "replicas": 2,
            "selector": {},
            "template": { "metadata": { "labels": { "chatbot.dev/revision": "4" } } }
        },
        "status": { "readyReplicas": 2, "updatedReplicas": 2 }
    }))
    .unwrap();
    let report = status_report(
        &View {
            cbd,
            app: None,
            candidate: Some(candidate),
        },
        &now(),
    );
    for expected in [
        "Rollout:    Canary of revision 4 beside 3 · Inconclusive · step 2 of 3 · 20% to the candidate",
        "analysis inconclusive: success-rate: the query returned no series",
        "Analysis:   round 1, 60s ago",
        "✔ error-rate",
        "0.2 (wants <= 1) Passed",
        "? success-rate",
        "the query returned no series (wants >= 99.5) Inconclusive",
        "Candidate:  2/2 ready, 2 up to date (Deployment mindmitra-canary, revision 4)",
        "A/B report: A/B test over: candidate (revision 4) 99.6% success",
        "  baseline     revision 3    5000 requests · 99% success · p95 420 ms · conversion 0.031",
    ] {
        assert!(report.contains(expected), "{expected:?} in\n{report}");
    }
}

#[test]
fn status_and_history_show_the_data_backups_and_the_restore() {
    use crate::api::{BackupRecord, BackupsStatus, RestoreStatus};
    let mut cbd = mindmitra();
    let status = cbd.status.as_mut().unwrap();
    status.revisions[2].pre_rollout_snapshot = Some("20261123-115500-r3-pre".into());
    status.revisions[2].pre_rollout_db_snapshot = Some("chatbot-mindmitra-mindmitra-pre-r3".into());
    status.backups = Some(BackupsStatus {
        last_successful: Some(BackupRecord {
            id: "20261125-020000".into(),
            phase: "Succeeded".into(),
            bytes: Some(48 << 20),
            verified: Some(true),
            time: Some(at("2026-11-25T02:01:00Z")),
            ..Default::default()
        }),
        ..Default::default()
    });
    status.restore = Some(RestoreStatus {
        id: "20261125-113000-ab12cd".into(),
        backup: "20261125-020000".into(),
        step: "Restore".into(),
        started_at: Some(at("2026-11-25T11:30:00Z")),
        message: Some("restoring backup 20261125-020000 into the new database chatbot_x".into()),
        ..Default::default()
    });
    status.maintenance = Some(crate::api::MaintenanceStatus {
        serving: true,
        cause: Some(crate::api::MaintenanceCause::Restore),
        message:
            "users get the maintenance page: restore 20261125-113000-ab12cd has the app stopped"
                .into(),
        since: Some(at("2026-11-25T11:40:00Z")),
    });
    let view = View {
        cbd: cbd.clone(),
        app: None,
        candidate: None,
    };
    let report = status_report(&view, &now());
    assert!(
        report.contains(
            "Maintenance: ON for 20m (users get the maintenance page: restore 20261125-113000-ab12cd has the app stopped)"
        ),
        "{report}"
    );
    assert!(
        report.contains("Backups:    newest good 20261125-020000 (48.0 MiB, verified), 9h ago"),
        "{report}"
    );
    assert!(
        report.contains(
            "Restore:    20261125-113000-ab12cd of 20261125-020000 (step Restore, since 30m ago): restoring backup"
        ),
        "{report}"
    );
    let history = history_report(&cbd, &now());
    assert!(
        history.contains(
            "backed up first: dump 20261123-115500-r3-pre, RDS snapshot chatbot-mindmitra-mindmitra-pre-r3"
        ),
        "{history}"
    );
}

#[test]
fn a_sequential_tests_verdicts_and_a_broken_split_show_in_status() {
    let signal = |name: &str, verdict: &str| crate::api::SignalReport {
        name: name.into(),
        verdict: verdict.into(),
        ..Default::default()
    };
    let mut report = crate::api::AbReport {
        signals: vec![
            signal("thumbs-up-rate", "Better"),
            signal("error-rate", "NotYet"),
        ],
        sample_ratio: Some(crate::api::SampleRatioReport {
            expected: "50/50".into(),
            observed: "53.2/46.8".into(),
            p_value: 1e-9,
            mismatch: true,
        }),
        ..Default::default()
    };
    let mut out = String::new();
    super::ab_signals_line(&mut out, &report);
    assert_eq!(
        out,
        "            thumbs-up-rate Better, error-rate NotYet · SAMPLE RATIO MISMATCH 53.2/46.8 against 50/50 (kubectl chatbot ab for the intervals)\n"
    );
    // Beside several candidates each verdict names its candidate.
    let of = |variant: &str, name: &str, verdict: &str| crate::api::SignalReport {
        variant: Some(variant.into()),
        ..signal(name, verdict)
    };
    report.signals = vec![
        of("listen-first", "thumbs-up-rate", "Better"),
        of("terse", "thumbs-up-rate", "NotYet"),
    ];
    report.sample_ratio = None;
    let mut several = String::new();
    super::ab_signals_line(&mut several, &report);
    assert_eq!(
        several,
        "            listen-first: thumbs-up-rate Better, terse: thumbs-up-rate NotYet (kubectl chatbot ab for the intervals)\n"
    );
    report.signals.clear();
    let mut none = String::new();
    super::ab_signals_line(&mut none, &report);
    assert!(none.is_empty(), "a test without a primary has no such line");
}

#[test]
fn a_promoted_overlay_in_status_points_at_its_patch() {
    let mut rollout = crate::api::RolloutStatus {
        strategy: "ABTest".into(),
        phase: "Promoted".into(),
        revision: 2,
        stable_revision: 2,
        report: Some(crate::api::AbReport {
            decision: "the candidate wins on thumbs-up-rate".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    let now = at("2026-12-07T03:00:00Z").0;
    let mut out = String::new();
    super::rollout_lines(&mut out, &rollout, &now);
    assert!(!out.contains("--patch"), "{out}");
    rollout.report.as_mut().unwrap().promotion_patch =
        Some(r#"{"spec":{"config":{"SYSTEM_PROMPT":"Listen first."}}}"#.into());
    let mut out = String::new();
    super::rollout_lines(&mut out, &rollout, &now);
    assert!(
        out.contains("the winner runs what the spec does not say yet: commit the patch of kubectl chatbot ab --patch"),
        "{out}"
    );
}
