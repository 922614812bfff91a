//! The commands: offline `render`, `plan`, `crd`; `run` (the operator);
//! the on-call `status` and `history`. Each builds its whole output before
//! printing (`status --watch` prints one whole report per change), so a
//! failure never leaves partial output on stdout.

pub mod ab;
pub mod action;
pub mod backups;
mod diff;
pub mod maintenance;
pub mod oncall;
pub mod restore;
pub mod run;
mod text;

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    api::{self, ActionKind, ChatbotDeployment},
    environment::Environments,
    manifest::{self, ManifestError},
    plan,
    render::{self, RenderError, Renderer, Templates},
};

/// Turns a ChatbotDeployment into a production LLM chatbot service.
#[derive(Debug, Parser)]
#[command(name = "chatbot-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every child manifest of the ChatbotDeployments in FILE as multi-document YAML, offline.
    Render(RenderArgs),
    /// Print resolved settings with their origin, capacity checks, warnings and the cost model, offline.
    Plan(PlanArgs),
    /// Print the ChatbotDeployment and ChatbotAction CustomResourceDefinitions.
    Crd,
    /// Print the operator's Grafana dashboard as a ConfigMap for Grafana's sidecar.
    Dashboard,
    /// Run the operator against the cluster of the current kubeconfig (or in-cluster).
    Run(run::RunArgs),
    /// Show a ChatbotDeployment at a glance: phase, revisions, traffic, pods, conditions, recent history.
    Status(oncall::StatusArgs),
    /// List the recorded revisions of a ChatbotDeployment, newest first.
    History(action::TargetArgs),
    /// Show the live report of a ChatbotDeployment's A/B test: each variant, each signal with its always-valid interval, the sample-ratio check, how much longer.
    Ab(ab::AbArgs),
    /// Roll the app's pods back to an earlier revision (a ChatbotAction) and wait for the outcome.
    Rollback(oncall::RollbackArgs),
    /// Promote the candidate now, skipping the remaining steps (an A/B test of several candidates: the one --variant names).
    Promote(oncall::PromoteArgs),
    /// Send all traffic back to the stable revision and remove the candidate.
    Abort(oncall::CommandArgs),
    /// Hold the rollout in flight at its current step and weight.
    Pause(oncall::CommandArgs),
    /// Continue a paused rollout (or measure an inconclusive analysis again).
    Resume(oncall::CommandArgs),
    /// Take a database backup now (a ChatbotAction); with --wait, until it finished.
    Backup(backups::BackupArgs),
    /// List the recent backups of a ChatbotDeployment: time, size, revision, verified.
    Backups(action::TargetArgs),
    /// Restore the database from a backup into a new database and switch the app to it (prints the plan; --confirm carries it out).
    Restore(restore::RestoreArgs),
    /// Take, verify or restore a database backup (what the operator's backup Jobs run).
    BackupAgent(crate::agent::AgentArgs),
    /// Turn the maintenance page on or off (NAME on|off --reason TEXT, a ChatbotAction), or serve it (serve).
    Maintenance(maintenance::MaintenanceArgs),
}

/// Where the defaults and templates come from.
#[derive(Debug, Args)]
pub struct Sources {
    /// File with one or more ChatbotDeployments; `-` reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub file: PathBuf,
    /// Directory of environment files (`<name>.yaml`) replacing the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub environments: Option<PathBuf>,
    /// Directory of child templates replacing the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// Resolve against this environment instead of the one in the spec.
    #[arg(long = "env", value_name = "NAME")]
    pub environment: Option<String>,
}

/// Arguments of `render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Revision number stamped on the pods (`CHATBOT_REVISION`); defaults to the resource's status, else 1.
    #[arg(long, value_name = "N")]
    pub revision: Option<i64>,
    /// Output format: multi-document YAML, or one JSON `v1` List of every child.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = ObjectFormat::Yaml)]
    pub output: ObjectFormat,
    /// Compare with what is live in the cluster of the current kubeconfig
    /// (a server-side-apply dry run): a unified diff, exit code 0 when
    /// nothing would change, 1 when something would, 2 on an error.
    #[arg(long, conflicts_with = "output")]
    pub diff: bool,
}

/// Output formats of `render`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ObjectFormat {
    #[default]
    Yaml,
    Json,
}

/// Output formats of `plan`.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Human,
    Json,
    Yaml,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub sources: Sources,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Human)]
    pub output: Format,
}

/// A command failure, with the exit code it maps to.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input is wrong: exit code 2.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The input could not be rendered: exit code 2.
    #[error("{source_name} ({name}): {error}")]
    Render {
        source_name: String,
        name: String,
        error: Box<RenderError>,
    },
    /// Environments or templates given on the command line are wrong: exit code 2.
    #[error("{0}")]
    Setup(Box<RenderError>),
    /// A file could not be read: exit code 2.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Output could not be produced: exit code 1.
    #[error("output: {0}")]
    Output(String),
    /// The cluster could not be read, or the resource is not there: exit code 1.
    #[error("{0}")]
    Cluster(String),
    /// A long-running command ended with this exit code (it reported its own errors).
    #[error("exit code {0}")]
    Exit(i32),
}

impl CliError {
    /// Exit code: 2 for bad input, 1 for anything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Output(_) | CliError::Cluster(_) => 1,
            CliError::Exit(code) => *code,
            _ => 2,
        }
    }
}

/// Runs a command and returns what it prints on stdout.
pub fn run(cli: Cli) -> Result<String, CliError> {
    match cli.command {
        Command::Render(args) => render_command(&args),
        Command::Plan(args) => plan_command(&args),
        Command::Crd => api::crds_yaml().map_err(|e| CliError::Output(e.to_string())),
        Command::Dashboard => crate::monitoring::dashboard::operator_config_map_yaml()
            .map_err(|e| CliError::Output(e.to_string())),
        Command::Run(args) => Err(CliError::Exit(run::run(args))),
        Command::Status(args) => oncall::status_command(&args),
        Command::History(args) => oncall::history_command(&args),
        Command::Ab(args) => ab::ab_command(&args),
        Command::Rollback(args) => oncall::rollback_command(&args),
        Command::Promote(args) => oncall::promote_command(&args),
        Command::Abort(args) => oncall::rollout_command(ActionKind::Abort, &args),
        Command::Pause(args) => oncall::rollout_command(ActionKind::Pause, &args),
        Command::Resume(args) => oncall::rollout_command(ActionKind::Resume, &args),
        Command::Backup(args) => backups::backup_command(&args),
        Command::Backups(args) => backups::backups_command(&args),
        Command::Restore(args) => restore::restore_command(&args),
        Command::BackupAgent(args) => Err(CliError::Exit(crate::agent::main(args))),
        Command::Maintenance(args) => maintenance::maintenance_command(args),
    }
}

fn read_input(path: &Path) -> Result<(String, String), CliError> {
    let read_error = |source| CliError::Read {
        path: path.to_path_buf(),
        source,
    };
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(read_error)?;
        Ok(("<stdin>".into(), text))
    } else {
        let text = std::fs::read_to_string(path).map_err(read_error)?;
        Ok((path.display().to_string(), text))
    }
}

fn renderer(sources: &Sources) -> Result<Renderer, CliError> {
    let environments = match &sources.environments {
        Some(dir) => Environments::from_dir(dir),
        None => Environments::embedded(),
    }
    .map_err(|e| CliError::Setup(Box::new(e.into())))?;
    let templates = match &sources.templates {
        Some(dir) => Templates::from_dir(dir),
        None => Templates::embedded(),
    }
    .map_err(|e| CliError::Setup(Box::new(e)))?;
    Ok(Renderer {
        environments,
        templates,
    })
}

/// Reads the deployments of `sources`, applying `--env`.
fn load(sources: &Sources) -> Result<(String, Vec<ChatbotDeployment>), CliError> {
    let (source_name, text) = read_input(&sources.file)?;
    let mut deployments = manifest::parse_deployments(&source_name, &text)?;
    if let Some(environment) = &sources.environment {
        for deployment in &mut deployments {
            deployment.spec.environment = environment.clone();
        }
    }
    Ok((source_name, deployments))
}

fn render_error(source_name: &str, deployment: &ChatbotDeployment, error: RenderError) -> CliError {
    CliError::Render {
        source_name: source_name.to_string(),
        name: deployment.metadata.name.clone().unwrap_or_default(),
        error: Box::new(error),
    }
}

fn render_command(args: &RenderArgs) -> Result<String, CliError> {
    let renderer = renderer(&args.sources)?;
    let (source_name, deployments) = load(&args.sources)?;
    if args.diff {
        return diff::diff_command(&renderer, &deployments);
    }
    let mut children = Vec::new();
    for deployment in &deployments {
        let revision = args
            .revision
            .or_else(|| deployment.status.as_ref().and_then(|s| s.current_revision))
            .unwrap_or(1);
        let rendered = renderer
            .render(deployment, revision)
            .map_err(|error| render_error(&source_name, deployment, error))?;
        children.extend(rendered.children);
    }
    let output = |e: &dyn std::fmt::Display| CliError::Output(e.to_string());
    match args.output {
        ObjectFormat::Yaml => render::to_yaml(&children).map_err(|e| output(&e)),
        ObjectFormat::Json => render::to_json_list(&children).map_err(|e| output(&e)),
    }
}

fn plan_command(args: &PlanArgs) -> Result<String, CliError> {
    let renderer = renderer(&args.sources)?;
    let (source_name, deployments) = load(&args.sources)?;
    let mut plans = Vec::new();
    for deployment in &deployments {
        // Rendering proves the plan describes something that can be deployed.
        let rendered = renderer
            .render(deployment, 1)
            .map_err(|error| render_error(&source_name, deployment, error))?;
        plans.push(plan::plan(&rendered.context.name, &rendered.resolution));
    }
    let output = |e: &dyn std::fmt::Display| CliError::Output(e.to_string());
    match args.output {
        Format::Human => Ok(plans
            .iter()
            .map(plan::to_text)
            .collect::<Vec<_>>()
            .join("\n")),
        Format::Json => serde_json::to_string_pretty(&plans)
            .map(|json| json + "\n")
            .map_err(|e| output(&e)),
        Format::Yaml => serde_yaml_ng::to_string(&plans).map_err(|e| output(&e)),
    }
}
