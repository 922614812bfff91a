//! `maintenance`: `maintenance serve` runs the page server (what the
//! page's pods run); `maintenance NAME on|off --reason TEXT` turns the page
//! on or off for a ChatbotDeployment through a ChatbotAction, without
//! touching the spec a GitOps tool owns.

use clap::{Args, Subcommand, ValueEnum};

use super::{
    CliError,
    action::{Request, TargetArgs, act},
};
use crate::{api::MaintenanceMode, maintenance::server};

/// Arguments of `maintenance`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MaintenanceArgs {
    #[command(subcommand)]
    pub serve: Option<Serve>,
    #[command(flatten)]
    pub switch: Option<SwitchArgs>,
}

/// `maintenance serve`.
#[derive(Debug, Subcommand)]
pub enum Serve {
    /// Serve the maintenance page (what the page's pods run): HTTP 503 with `Retry-After` for every path but /healthz.
    Serve(server::ServeArgs),
}

/// On or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// `maintenance NAME on|off`.
#[derive(Debug, Args)]
pub struct SwitchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// `on`: users get the page until turned off; `off`: users reach the app again.
    #[arg(value_enum)]
    pub switch: Switch,
    /// Why, for the audit trail: shown in the Event, the action and the status.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// How long to wait for the route to switch, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u64,
}

/// Runs `maintenance`.
pub fn maintenance_command(args: MaintenanceArgs) -> Result<String, CliError> {
    match (args.serve, args.switch) {
        (Some(Serve::Serve(serve)), _) => {
            crate::telemetry::init_logging(crate::telemetry::LogFormat::Json)
                .map_err(CliError::Output)?;
            server::main(&serve).map_err(|error| {
                eprintln!("maintenance serve: {error}");
                CliError::Exit(1)
            })?;
            Ok(String::new())
        }
        (None, Some(switch)) => {
            let request = Request {
                kind: crate::api::ActionKind::Maintenance,
                maintenance: Some(match switch.switch {
                    Switch::On => MaintenanceMode::On,
                    Switch::Off => MaintenanceMode::Off,
                }),
                reason: &switch.reason,
                timeout: switch.timeout,
                wait: true,
                ..Request::default()
            };
            act(&switch.target, &request)
        }
        (None, None) => Err(CliError::Cluster(
            "maintenance: give NAME on|off --reason TEXT, or serve".into(),
        )),
    }
}
