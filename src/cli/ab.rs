//! `ab NAME`: the live report of a ChatbotDeployment's A/B test as a
//! table — per variant its conversations, per signal both rates, the
//! difference with its always-valid interval, the smallest p-value so far
//! and the verdict, the sample-ratio check, and how much longer the test
//! needs. A pure function of the resource read, tested without a cluster.

use std::fmt::Write as _;

use k8s_openapi::jiff::Timestamp;

use super::{
    CliError,
    action::{TargetArgs, connect, read, runtime},
    text::{age, measured},
};
use crate::{
    analysis::shown,
    api::{AbReport, ChatbotDeployment, SignalReport},
};

/// `ab NAME [--patch]`.
#[derive(Debug, clap::Args)]
pub struct AbArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print only the spec patch that makes a promoted overlay variant the
    /// spec's own, as YAML to commit (or `kubectl patch --type merge`).
    #[arg(long)]
    pub patch: bool,
}

/// `ab NAME`: the report, read with the caller's RBAC.
pub fn ab_command(args: &AbArgs) -> Result<String, CliError> {
    runtime()?.block_on(async {
        let target = &args.target;
        let (client, namespace) = connect(target.namespace.as_deref()).await?;
        let view = read(&client, &namespace, &target.name).await?;
        if args.patch {
            promotion_patch(&view.cbd)
        } else {
            Ok(ab_report(&view.cbd, &Timestamp::now()))
        }
    })
}

/// `ab NAME --patch`: the promotion patch as YAML; an error saying why
/// when there is none.
pub fn promotion_patch(cbd: &ChatbotDeployment) -> Result<String, CliError> {
    let name = cbd.metadata.name.as_deref().unwrap_or_default();
    let patch = cbd
        .status
        .as_ref()
        .and_then(|s| s.rollout.as_ref()?.report.as_ref()?.promotion_patch.as_deref())
        .ok_or_else(|| {
            CliError::Cluster(format!(
                "{name} has no promotion patch: only a promoted candidate that sets config, env, envFrom, args, resources or image over the spec has one, until the spec says the same"
            ))
        })?;
    let value: serde_json::Value = serde_json::from_str(patch).map_err(|error| {
        CliError::Cluster(format!("{name}'s promotion patch is not JSON: {error}"))
    })?;
    serde_yaml_ng::to_string(&value)
        .map_err(|error| CliError::Output(format!("{name}'s promotion patch: {error}")))
}

fn signed(value: f64) -> String {
    let text = shown(value);
    if value > 0.0 && text != "0" {
        format!("+{text}")
    } else {
        text
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{}%", shown(v)))
}

/// A signal's difference and interval, e.g. `+2 [-3.1, +7.1]`.
fn interval(signal: &SignalReport) -> String {
    signal.interval().map_or_else(
        || "-".into(),
        |(d, low, high)| format!("{} [{}, {}]", signed(d), signed(low), signed(high)),
    )
}

/// The p-value as people read it: small ones in scientific notation.
fn p(value: Option<f64>) -> String {
    match value {
        None => "-".into(),
        Some(p) if p < 0.001 => format!("{p:.1e}"),
        Some(p) => format!("{}", (p * 1000.0).round() / 1000.0),
    }
}

/// The report's table.
pub fn ab_report(cbd: &ChatbotDeployment, now: &Timestamp) -> String {
    let name = cbd.metadata.name.as_deref().unwrap_or_default();
    let rollout = cbd.status.as_ref().and_then(|s| s.rollout.as_ref());
    let Some((rollout, report)) = rollout.and_then(|r| r.report.as_ref().map(|report| (r, report)))
    else {
        return format!(
            "{name} has no A/B report: no A/B test is running, or its first round is not measured yet\n"
        );
    };
    let mut out = String::new();
    let candidates = match rollout.candidates.as_slice() {
        several @ [_, _, ..] => format!(
            "revisions {}",
            several
                .iter()
                .map(|c| format!("{} ({})", c.revision, c.variant))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!("revision {}", rollout.revision),
    };
    let _ = writeln!(
        out,
        "A/B test of {name}: {candidates} against revision {} · {} · {}% to the {} · measured {} ago",
        rollout.stable_revision,
        rollout.phase,
        rollout.weight,
        if rollout.candidates.len() > 1 {
            "candidates"
        } else {
            "candidate"
        },
        age(report.at.as_ref(), now)
    );
    let _ = writeln!(out, "{}\n", report.decision);
    variants(&mut out, report);
    if !report.signals.is_empty() {
        signals(&mut out, report);
    }
    if let Some(srm) = &report.sample_ratio {
        let _ = writeln!(
            out,
            "\nSample ratio: {} expected, {} observed, p = {} — {}",
            srm.expected,
            srm.observed,
            p(Some(srm.p_value)),
            if srm.mismatch {
                "MISMATCH: the test is untrustworthy, nothing is decided automatically"
            } else {
                "as configured"
            }
        );
    }
    if report.promotion_patch.is_some() {
        let _ = writeln!(
            out,
            "The winner runs what the spec does not say yet: commit `kubectl chatbot ab {name} --patch`"
        );
    }
    if let Some(more) = report.more_conversations {
        let days = report
            .more_days
            .map(|d| format!(", about {} days at the traffic so far", shown(d)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "Needs about {more} more conversations per variant to find the planned effect{days}"
        );
    }
    out
}

fn variants(out: &mut String, report: &AbReport) {
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>13} {:>10} {:>9} {:>9}",
        "VARIANT", "REVISION", "CONVERSATIONS", "REQUESTS", "SUCCESS", "P95 MS"
    );
    for v in &report.variants {
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>13} {:>10} {:>9} {:>9}",
            v.name,
            v.revision,
            measured(v.conversations),
            measured(v.requests),
            percent(v.success_rate_percent),
            measured(v.p95_latency_ms)
        );
    }
}

/// The signals, one row each; beside several candidates each row names
/// the candidate it compares with the baseline.
fn signals(out: &mut String, report: &AbReport) {
    let several = report.several_candidates();
    let width = if several { 40 } else { 24 };
    let _ = writeln!(
        out,
        "\n{:<width$} {:<9} {:>9} {:>9} {:>26} {:>8} {:>7} VERDICT",
        "SIGNAL", "ROLE", "BASELINE", "CANDIDATE", "DIFFERENCE [INTERVAL] PTS", "MIN P", "ALPHA",
    );
    for s in &report.signals {
        let _ = writeln!(
            out,
            "{:<width$} {:<9} {:>9} {:>9} {:>26} {:>8} {:>7} {}",
            s.label(several),
            s.role,
            percent(s.baseline_percent),
            percent(s.candidate_percent),
            interval(s),
            p(s.p_value),
            format!("{}", (s.alpha * 10_000.0).round() / 10_000.0),
            s.verdict
        );
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;
    use crate::api::{ChatbotDeploymentStatus, RolloutStatus, SampleRatioReport, VariantReport};

    #[test]
    fn the_report_reads_as_a_table_with_each_signals_interval_and_verdict() {
        let at = |s: &str| Time(s.parse().unwrap());
        let mut cbd = ChatbotDeployment::new("brigade-sales", Default::default());
        let variant = |name: &str, revision, conversations| VariantReport {
            name: name.into(),
            revision,
            conversations: Some(conversations),
            requests: Some(10.0 * conversations),
            success_rate_percent: Some(99.1),
            p95_latency_ms: Some(850.0),
            ..Default::default()
        };
        cbd.status = Some(ChatbotDeploymentStatus {
            rollout: Some(RolloutStatus {
                revision: 2,
                stable_revision: 1,
                phase: "Progressing".into(),
                weight: 50,
                report: Some(AbReport {
                    promotion_patch: None,
                    winner: None,
                    at: Some(at("2026-12-06T11:58:00Z")),
                    variants: vec![
                        variant("baseline", 1, 500.0),
                        variant("candidate", 2, 510.0),
                    ],
                    decision: "A/B test: no conclusion yet, thumbs-up-rate 2 points [-5.2, 9.2]"
                        .into(),
                    signals: vec![SignalReport {
                        name: "thumbs-up-rate".into(),
                        role: "Primary".into(),
                        variant: Some("candidate".into()),
                        baseline_percent: Some(35.0),
                        candidate_percent: Some(37.0),
                        difference_points: Some(2.0),
                        low_points: Some(-5.2),
                        high_points: Some(9.2),
                        p_value: Some(0.8123),
                        alpha: 0.05 / 3.0,
                        verdict: "NotYet".into(),
                    }],
                    sample_ratio: Some(SampleRatioReport {
                        expected: "50/50".into(),
                        observed: "49.5/50.5".into(),
                        p_value: 1.0,
                        mismatch: false,
                    }),
                    more_conversations: Some(6_402),
                    more_days: Some(12.6),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        let text = ab_report(&cbd, &"2026-12-06T12:00:00Z".parse().unwrap());
        let expected = "\
A/B test of brigade-sales: revision 2 against revision 1 · Progressing · 50% to the candidate · measured 2m ago
A/B test: no conclusion yet, thumbs-up-rate 2 points [-5.2, 9.2]

VARIANT          REVISION CONVERSATIONS   REQUESTS   SUCCESS    P95 MS
baseline                1           500       5000     99.1%       850
candidate               2           510       5100     99.1%       850

SIGNAL                   ROLE       BASELINE CANDIDATE  DIFFERENCE [INTERVAL] PTS    MIN P   ALPHA VERDICT
thumbs-up-rate           Primary         35%       37%            +2 [-5.2, +9.2]    0.812  0.0167 NotYet

Sample ratio: 50/50 expected, 49.5/50.5 observed, p = 1 — as configured
Needs about 6402 more conversations per variant to find the planned effect, about 12.6 days at the traffic so far
";
        assert_eq!(text, expected, "\n{text}");
    }

    #[test]
    fn beside_several_candidates_each_signal_names_its_candidate() {
        let signal = |variant: &str, name: &str, role: &str, verdict: &str| SignalReport {
            name: name.into(),
            role: role.into(),
            variant: Some(variant.into()),
            baseline_percent: Some(40.0),
            candidate_percent: Some(46.0),
            difference_points: Some(6.0),
            low_points: Some(4.1),
            high_points: Some(7.9),
            p_value: Some(0.0001),
            alpha: 0.05 / 4.0,
            verdict: verdict.into(),
        };
        let report = AbReport {
            signals: vec![
                signal("listen-first", "thumbs-up-rate", "Primary", "Better"),
                signal("listen-first", "error-rate", "Guardrail", "Holds"),
                signal("terse", "thumbs-up-rate", "Primary", "NotYet"),
                signal("terse", "error-rate", "Guardrail", "Holds"),
            ],
            ..Default::default()
        };
        let mut text = String::new();
        signals(&mut text, &report);
        let names: Vec<&str> = text
            .lines()
            .skip(2)
            .map(|line| line.split("  ").next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "listen-first: thumbs-up-rate",
                "listen-first: error-rate",
                "terse: thumbs-up-rate",
                "terse: error-rate"
            ],
            "\n{text}"
        );
        assert!(text.contains("0.0125 Better"), "\n{text}");
    }

    #[test]
    fn the_header_names_each_candidate_revision_beside_others() {
        let cbd = ChatbotDeployment {
            metadata: kube::api::ObjectMeta {
                name: Some("mindmitra".into()),
                ..Default::default()
            },
            spec: Default::default(),
            status: Some(crate::api::ChatbotDeploymentStatus {
                rollout: Some(RolloutStatus {
                    revision: 2,
                    stable_revision: 1,
                    phase: "Progressing".into(),
                    weight: 50,
                    candidates: ["listen-first", "short"]
                        .into_iter()
                        .zip([2, 3])
                        .map(|(variant, revision)| crate::api::RolloutCandidate {
                            variant: variant.into(),
                            revision,
                        })
                        .collect(),
                    report: Some(AbReport {
                        decision: "A/B test: no conclusion yet".into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let text = ab_report(&cbd, &Timestamp::now());
        assert!(
            text.starts_with("A/B test of mindmitra: revisions 2 (listen-first), 3 (short) against revision 1 · Progressing · 50% to the candidates ·"),
            "\n{text}"
        );
    }

    #[test]
    fn without_a_report_it_says_why() {
        let cbd = ChatbotDeployment::new("mindmitra", Default::default());
        let text = ab_report(&cbd, &"2026-12-06T12:00:00Z".parse().unwrap());
        assert!(text.starts_with("mindmitra has no A/B report"), "{text}");
    }

    #[test]
    fn the_promotion_patch_prints_as_yaml_to_commit() {
        let mut cbd = ChatbotDeployment::new("mindmitra", Default::default());
        let error = promotion_patch(&cbd).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("mindmitra has no promotion patch"),
            "{error}"
        );
        assert_eq!(error.exit_code(), 1);
        cbd.status = Some(ChatbotDeploymentStatus {
            rollout: Some(RolloutStatus {
                phase: "Promoted".into(),
                report: Some(AbReport {
                    promotion_patch: Some(
                        r#"{"spec":{"config":{"SYSTEM_PROMPT":"Listen first."},"rollout":{"abTest":{"variants":[{"name":"current","weight":50,"baseline":true},{"name":"listen-first","weight":50}]}}}}"#.into(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
        assert_eq!(
            promotion_patch(&cbd).unwrap(),
            "spec:
  config:
    SYSTEM_PROMPT: Listen first.
  rollout:
    abTest:
      variants:
      - baseline: true
        name: current
        weight: 50
      - name: listen-first
        weight: 50
"
        );
        let table = ab_report(&cbd, &"2026-12-06T12:00:00Z".parse().unwrap());
        assert!(
            table.contains("commit `kubectl chatbot ab mindmitra --patch`"),
            "{table}"
        );
    }
}
