//! `chatbot-operator backup-agent`: the engine the backup, verify and
//! restore Jobs run (the operator image carries the Postgres client tools).
//!
//! Database URLs come only from the environment (a Secret's key, through
//! `secretKeyRef`), never from arguments; S3 credentials from the SDK's
//! chain (the pod's web identity, or keys from a Secret). The outcome is one
//! JSON line on stdout and the container's termination message, which the
//! operator reads from the pod; exit code 0 for a good backup or restore, 1
//! for a failed one, 2 for a wrong invocation.

pub mod args;
mod commands;
pub mod conninfo;
pub mod dump;
mod error;
pub mod prune;
pub mod restore;
pub mod scratch;
pub mod session;
pub mod store;
pub mod stream;
mod summary;

pub use args::{AgentArgs, AgentCommand, DropArgs, DumpArgs, Location, RestoreArgs, VerifyArgs};
pub use error::AgentError;
pub use summary::{Outcome, Summary};

/// glibc raises its mmap threshold after the first large buffer is freed,
/// so later part buffers come from per-thread heaps that keep what they
/// held: memory grows with the dump. A fixed threshold maps every part
/// buffer on its own and gives it back when the part is sent.
fn bounded_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only tunes the allocator; it is called before the
    // runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Runs the agent; returns the process's exit code.
pub fn main(args: AgentArgs) -> i32 {
    bounded_allocator();
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: starting the runtime: {error}");
            return 1;
        }
    };
    let (summary, termination_log) = match runtime.block_on(commands::execute(&args)) {
        Ok(done) => done,
        Err(error) => {
            eprintln!("error: {error}");
            return 2;
        }
    };
    let text = summary.to_json();
    println!("{text}");
    // The kubelet mounts the file; outside a pod there is none to write.
    if termination_log.exists()
        && let Err(error) = std::fs::write(termination_log, &text)
    {
        tracing::warn!(path = %termination_log.display(), %error, "writing the termination message failed");
    }
    match summary.outcome {
        Outcome::Succeeded => 0,
        Outcome::Failed => 1,
    }
}
