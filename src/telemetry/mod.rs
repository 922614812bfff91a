//! Telemetry: the Prometheus metrics, the write counter on the kube client,
//! logging, and the HTTP endpoints (`/metrics`, `/healthz`, `/readyz`).

pub mod backups;
pub mod deployments;
mod logging;
mod metrics;
mod server;
pub mod writes;

pub use logging::{LogFormat, init as init_logging};
pub use metrics::*;
pub use server::{Health, router, serve};
pub use writes::CountWrites;
