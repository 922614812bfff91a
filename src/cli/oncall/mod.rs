//! The on-call view of a ChatbotDeployment from the caller's kubeconfig:
//! `status` (revisions, traffic, pods, conditions, history at a glance)
//! and `history`. The reports are pure functions of the objects read, so
//! they are tested without a cluster; the commands only read, with the
//! caller's RBAC (the on-call role is enough).

use std::fmt::Write as _;

use clap::Args;
use k8s_openapi::{
    api::apps::v1::Deployment, apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp,
};
use kube::Client;

use super::{
    CliError,
    action::{Request, TargetArgs, View, act, connect, read, runtime},
    text::{age, dollars, measured, number},
};
use crate::api::{ChatbotDeployment, Strategy, TrafficProvider};

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the report again whenever it changes, until interrupted.
    #[arg(short = 'w', long)]
    pub watch: bool,
}

/// Arguments of `rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Revision to go back to (default: the previous promoted one).
    #[arg(long = "to", value_name = "N")]
    pub revision: Option<i64>,
    /// Why, for the audit trail: shown in the Event and the action.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// Restore the database as that revision left it (the backup taken before the next revision replaced it), together with its pods.
    #[arg(long)]
    pub restore_data: bool,
    /// How long to wait for the operator to carry it out, in seconds (default 120; 3600 with --restore-data).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// `promote NAME`.
#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub command: CommandArgs,
    /// The A/B test's candidate to promote, by its variant's name (needed
    /// when several run).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<String>,
}

/// `promote`, `abort`, `pause`, `resume NAME`.
#[derive(Debug, Args)]
pub struct CommandArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Why, for the audit trail: shown in the Event and the action.
    #[arg(long, value_name = "TEXT", default_value = "on-call request")]
    pub reason: String,
    /// How long to wait for the operator to carry it out, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
}

/// `status NAME`: one report, or one per change with `--watch`.
pub fn status_command(args: &StatusArgs) -> Result<String, CliError> {
    runtime()?.block_on(async {
        let (client, namespace) = connect(args.target.namespace.as_deref()).await?;
        let view = read(&client, &namespace, &args.target.name).await?;
        if !args.watch {
            return Ok(status_report(&view, &Timestamp::now()));
        }
        watch(&client, &namespace, &args.target.name, view).await
    })
}

/// `history NAME`: the revision history, newest first.
pub fn history_command(args: &TargetArgs) -> Result<String, CliError> {
    runtime()?.block_on(async {
        let (client, namespace) = connect(args.namespace.as_deref()).await?;
        let view = read(&client, &namespace, &args.name).await?;
        Ok(history_report(&view.cbd, &Timestamp::now()))
    })
}

/// `rollback NAME --reason TEXT`: a ChatbotAction, then its outcome. Exit
/// code 0 when it succeeded; 1 with the action's message otherwise, or
/// when the operator did not answer within `--timeout`.
pub fn rollback_command(args: &RollbackArgs) -> Result<String, CliError> {
    if args.restore_data {
        let cbd = runtime()?.block_on(async {
            let (client, namespace) = connect(args.target.namespace.as_deref()).await?;
            read(&client, &namespace, &args.target.name)
                .await
                .map(|view| view.cbd)
        })?;
        // The plan is for the revision asked for; the operator resolves
        // the default (the previous promoted one) itself.
        if let Some(revision) = args.revision {
            let plan = super::restore::restore_plan(&cbd, None, Some(revision), Some(revision))
                .map_err(CliError::Cluster)?;
            eprint!("{plan}");
        }
    }
    let request = Request {
        kind: crate::api::ActionKind::Rollback,
        revision: args.revision,
        reason: &args.reason,
        timeout: args
            .timeout
            .unwrap_or(if args.restore_data { 3600 } else { 120 }),
        restore_data: args.restore_data,
        wait: true,
        ..Request::default()
    };
    act(&args.target, &request)
}

/// `promote`, `abort`, `pause` or `resume NAME`: a ChatbotAction of `kind`.
pub fn rollout_command(
    kind: crate::api::ActionKind,
    args: &CommandArgs,
) -> Result<String, CliError> {
    let request = Request {
        kind,
        reason: &args.reason,
        timeout: args.timeout,
        wait: true,
        ..Request::default()
    };
    act(&args.target, &request)
}

/// `promote NAME [--variant NAME]`.
pub fn promote_command(args: &PromoteArgs) -> Result<String, CliError> {
    let request = Request {
        kind: crate::api::ActionKind::Promote,
        reason: &args.command.reason,
        timeout: args.command.timeout,
        wait: true,
        variant: args.variant.clone(),
        ..Request::default()
    };
    act(&args.command.target, &request)
}

async fn watch(
    client: &Client,
    namespace: &str,
    name: &str,
    first: View,
) -> Result<String, CliError> {
    use std::io::Write as _;
    let mut last = status_report(&first, &Timestamp::now());
    print!("{last}");
    let _ = std::io::stdout().flush();
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(2));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => return Ok(String::new()),
        }
        let view = read(client, namespace, name).await?;
        // Ages are left out of the comparison so a quiet resource prints
        // once, not every tick.
        let report = status_report(&view, &Timestamp::now());
        if strip_ages(&report) != strip_ages(&last) {
            print!("\n{report}");
            let _ = std::io::stdout().flush();
            last = report;
        }
    }
}

fn strip_ages(report: &str) -> String {
    report
        .lines()
        .filter(|line| !line.contains(" ago"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn strategy_name(cbd: &ChatbotDeployment) -> &'static str {
    match cbd.spec.rollout.as_ref().and_then(|r| r.strategy) {
        None | Some(Strategy::Rolling) => "Rolling",
        Some(Strategy::BlueGreen) => "BlueGreen",
        Some(Strategy::Canary) => "Canary",
        Some(Strategy::AbTest) => "ABTest",
    }
}

fn route(cbd: &ChatbotDeployment) -> String {
    let traffic = cbd.spec.traffic.clone().unwrap_or_default();
    let host = traffic.host.unwrap_or_else(|| "-".into());
    match traffic.provider {
        Some(TrafficProvider::IngressNginx) => format!("Ingress {host} (ingressNginx)"),
        Some(TrafficProvider::GatewayApi) => format!("HTTPRoute {host} (gatewayAPI)"),
        // The environment may choose the provider; the spec says nothing.
        None => "as the environment sets it".into(),
        Some(TrafficProvider::None) => "Service only (provider none)".into(),
    }
}

fn condition_line(out: &mut String, condition: &Condition) {
    // Degraded and Stalled are good when False; everything else when True.
    let inverted = matches!(
        condition.type_.as_str(),
        "Degraded" | "Stalled" | "Reconciling" | "Progressing"
    );
    let good = (condition.status == "True") != inverted;
    let mark = if condition.status == "Unknown" {
        "?"
    } else if good {
        "✔"
    } else {
        "✖"
    };
    let _ = writeln!(
        out,
        "  {mark} {:<14} {:<6} {:<22} {}",
        condition.type_, condition.status, condition.reason, condition.message
    );
}

/// The `status` report.
/// `2/2 ready, 2 up to date (Deployment NAME, revision N)`.
fn pods_line(deployment: &Deployment) -> String {
    let status = deployment.status.clone().unwrap_or_default();
    let desired = deployment
        .spec
        .as_ref()
        .and_then(|s| s.replicas)
        .unwrap_or(1);
    let revision = deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.as_ref())
        .and_then(|l| l.get(crate::names::keys::REVISION).cloned())
        .unwrap_or_else(|| "-".into());
    format!(
        "{}/{} ready, {} up to date (Deployment {}, revision {revision})",
        status.ready_replicas.unwrap_or(0),
        desired,
        status.updated_replicas.unwrap_or(0),
        deployment.metadata.name.as_deref().unwrap_or_default()
    )
}

/// A sequential test's verdicts and sample-ratio check on one line, and
/// where the whole table is.
fn ab_signals_line(out: &mut String, report: &crate::api::AbReport) {
    if report.signals.is_empty() {
        return;
    }
    let several = report.several_candidates();
    let verdicts: Vec<String> = report
        .signals
        .iter()
        .map(|s| format!("{} {}", s.label(several), s.verdict))
        .collect();
    let split = report.sample_ratio.as_ref().map_or(String::new(), |srm| {
        if srm.mismatch {
            format!(
                " · SAMPLE RATIO MISMATCH {} against {}",
                srm.observed, srm.expected
            )
        } else {
            format!(" · split {} as configured", srm.observed)
        }
    });
    let _ = writeln!(
        out,
        "            {}{split} (kubectl chatbot ab for the intervals)",
        verdicts.join(", ")
    );
}

/// The rollout's step, weight and why, and its newest analysis round.
fn rollout_lines(out: &mut String, rollout: &crate::api::RolloutStatus, now: &Timestamp) {
    let step = crate::rollout::progressive::step_text(rollout);
    let _ = writeln!(
        out,
        "Rollout:    {} of revision {} beside {} · {} · {step} · {}% to the candidate",
        rollout.strategy, rollout.revision, rollout.stable_revision, rollout.phase, rollout.weight
    );
    let _ = writeln!(out, "            {}", rollout.message);
    if let Some(traffic) = &rollout.traffic {
        let _ = writeln!(out, "            {traffic}");
    }
    if let Some(report) = &rollout.report {
        let _ = writeln!(out, "A/B report: {}", report.decision);
        ab_signals_line(out, report);
        if report.promotion_patch.is_some() {
            let _ = writeln!(
                out,
                "            the winner runs what the spec does not say yet: commit the patch of kubectl chatbot ab --patch"
            );
        }
        for v in &report.variants {
            let extra: Vec<String> = v
                .metrics
                .iter()
                .map(|m| format!("{} {}", m.name, measured(m.value)))
                .collect();
            let _ = writeln!(
                out,
                "  {:<12} revision {:<4} {} requests · {}% success · p95 {} ms{}",
                v.name,
                v.revision,
                measured(v.requests),
                measured(v.success_rate_percent),
                measured(v.p95_latency_ms),
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", extra.join(" · "))
                }
            );
        }
    }
    if let Some(round) = rollout.analysis.last() {
        let _ = writeln!(
            out,
            "Analysis:   round {}, {} ago",
            rollout.analysis.len(),
            age(round.at.as_ref(), now)
        );
        for m in &round.measurements {
            let mark = match m.verdict.as_str() {
                "Passed" => "✔",
                "Failed" => "✖",
                _ => "?",
            };
            let value = m
                .value
                .map(crate::analysis::shown)
                .or_else(|| m.reason.clone())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {mark} {:<24} {value} (wants {}) {}",
                m.name, m.threshold, m.verdict
            );
        }
    }
}

pub fn status_report(view: &View, now: &Timestamp) -> String {
    let cbd = &view.cbd;
    let status = cbd.status.clone().unwrap_or_default();
    let name = cbd.metadata.name.as_deref().unwrap_or_default();
    let namespace = cbd.metadata.namespace.as_deref().unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(out, "Name:       {name}");
    let _ = writeln!(out, "Namespace:  {namespace}");
    let _ = writeln!(
        out,
        "Phase:      {}",
        status.phase.as_deref().unwrap_or("Pending")
    );
    if status.observed_generation != cbd.metadata.generation {
        let _ = writeln!(
            out,
            "            (status is for generation {}, the spec is at {}: the operator has not caught up)",
            number(status.observed_generation),
            number(cbd.metadata.generation)
        );
    }
    let _ = writeln!(out, "Strategy:   {}", strategy_name(cbd));
    let _ = writeln!(out, "Route:      {}", route(cbd));
    let _ = writeln!(
        out,
        "Revision:   current {} · stable {} · canary {} ({}% of traffic)",
        number(status.current_revision),
        number(status.stable_revision),
        number(status.canary_revision),
        status.canary_weight.unwrap_or(0)
    );
    let _ = writeln!(out, "Image:      {}", cbd.spec.image);
    if let Some(held) = &status.rollback {
        let lifted = if Some(held.generation) == cbd.metadata.generation {
            "until the spec changes"
        } else {
            "until the operator sees the new spec"
        };
        let _ = writeln!(
            out,
            "Rollback:   pods held at revision {} instead of {} {lifted} ({}: {}), {} ago",
            held.revision,
            held.instead_of,
            held.action,
            held.reason,
            age(held.at.as_ref(), now)
        );
    }
    if let Some(rollout) = &status.rollout {
        rollout_lines(&mut out, rollout, now);
    }
    match &view.app {
        Some(app) => {
            let _ = writeln!(out, "Pods:       {}", pods_line(app));
        }
        None => {
            let _ = writeln!(out, "Pods:       no Deployment {name} yet");
        }
    }
    if let Some(candidate) = &view.candidate {
        let _ = writeln!(out, "Candidate:  {}", pods_line(candidate));
    }
    history::maintenance_line(&mut out, &status, now);
    if let Some(cost) = &status.cost_estimate {
        let _ = writeln!(
            out,
            "Cost:       {}/month (LLM {}, infrastructure {})",
            dollars(cost.total_monthly_usd),
            dollars(cost.llm_monthly_usd),
            dollars(cost.infra_monthly_usd)
        );
    }
    if !status.conditions.is_empty() {
        let _ = writeln!(out, "Conditions:");
        for condition in &status.conditions {
            condition_line(&mut out, condition);
        }
    }
    history::data_lines(&mut out, &status, now);
    if !status.revisions.is_empty() {
        let _ = writeln!(out, "Revisions (newest first):");
        history::history_lines(&mut out, &status.revisions, now, 3);
    }
    out
}

mod history;

pub use history::history_report;

#[cfg(test)]
mod tests;
