//! `chatbot-operator run`: the operator itself.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::Args;

use crate::{
    operator::{self, Settings, lease::LeaseTiming},
    reconcile::Timing,
    telemetry::{self, LogFormat},
};

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Watch this namespace only (default: every namespace).
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_address: SocketAddr,
    /// Log lines as text or JSON.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Run without leader election (a single replica only).
    #[arg(long)]
    pub no_leader_election: bool,
    /// Name of the leader Lease.
    #[arg(long, value_name = "NAME", default_value = "chatbot-operator")]
    pub lease_name: String,
    /// Namespace of the leader Lease (default: `$POD_NAMESPACE`, else `chatbot-operator-system`).
    #[arg(long, value_name = "NAME")]
    pub lease_namespace: Option<String>,
    /// This replica's identity in the Lease (default: `$POD_NAME`, else the host name).
    #[arg(long, value_name = "ID")]
    pub identity: Option<String>,
    /// Seconds between two looks at a settled resource.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub resync_seconds: u64,
    /// Reconciles running at once.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub concurrency: u16,
    /// Act as this user or service account, like `kubectl --as`.
    #[arg(long = "as", value_name = "USER")]
    pub impersonate: Option<String>,
    /// Directory of environment files replacing the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub environments: Option<PathBuf>,
    /// Directory of child templates replacing the embedded ones.
    #[arg(long, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

fn identity(explicit: Option<String>) -> String {
    explicit
        .or_else(|| std::env::var("POD_NAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("chatbot-operator-{}", std::process::id()))
}

impl RunArgs {
    /// The operator's settings.
    pub fn settings(self) -> Settings {
        let resync = Duration::from_secs(self.resync_seconds.max(1));
        Settings {
            namespace: self.namespace,
            metrics_address: self.metrics_address,
            leader_election: !self.no_leader_election,
            lease_name: self.lease_name,
            lease_namespace: self
                .lease_namespace
                .or_else(|| std::env::var("POD_NAMESPACE").ok())
                .unwrap_or_else(|| "chatbot-operator-system".into()),
            identity: identity(self.identity),
            lease_timing: LeaseTiming::default(),
            timing: Timing {
                resync,
                waiting: Timing::default().waiting.min(resync),
                blocked: Timing::default()
                    .blocked
                    .min(resync.max(Duration::from_secs(30))),
                ..Timing::default()
            },
            concurrency: self.concurrency.max(1),
            impersonate: self.impersonate,
            environments: self.environments,
            templates: self.templates,
        }
    }
}

/// Runs the operator; returns the process exit code.
pub fn run(args: RunArgs) -> i32 {
    if let Err(error) = telemetry::init_logging(args.log_format) {
        eprintln!("error: logging: {error}");
        return 1;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: async runtime: {error}");
            return 1;
        }
    };
    match runtime.block_on(operator::run(args.settings())) {
        Ok(()) => 0,
        Err(error) => {
            tracing::error!("{error}");
            1
        }
    }
}
