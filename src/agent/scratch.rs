//! The throwaway Postgres a verification restores into: `initdb` in a
//! scratch directory, a server on a free loopback port (trust for local
//! connections only, no fsync: it is thrown away), stopped and removed when
//! dropped. The server binaries are the image's (`postgres:17`), found on
//! `PATH` or under `/usr/lib/postgresql/<major>/bin`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use super::{AgentError, conninfo::ConnInfo};

/// A running scratch server.
pub struct Scratch {
    bin: PathBuf,
    data: PathBuf,
    root: PathBuf,
    pub target: ConnInfo,
}

fn server_bin() -> Result<PathBuf, AgentError> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists());
    if let Some(dir) = on_path {
        return Ok(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        AgentError::Tool(
            "no Postgres server binaries (initdb, pg_ctl) for the scratch database".into(),
        )
    })
}

fn run(command: &mut Command, what: &str) -> Result<(), AgentError> {
    let output = command
        .output()
        .map_err(|error| AgentError::Tool(format!("{what}: {error}")))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = crate::redact::postgres_output(&String::from_utf8_lossy(&output.stderr));
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
    Err(AgentError::Tool(format!(
        "{what} failed ({}): {}",
        output.status,
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    )))
}

/// `error` followed by the last lines of the server's log at `log`, when
/// it can be read.
fn with_log_tail(error: AgentError, log: &Path) -> AgentError {
    let Ok(text) = std::fs::read_to_string(log) else {
        return error;
    };
    let text = crate::redact::postgres_output(&text);
    let tail: Vec<&str> = text
        .lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .take(5)
        .collect();
    if tail.is_empty() {
        return error;
    }
    let tail = tail.into_iter().rev().collect::<Vec<_>>().join(" | ");
    match error {
        AgentError::Tool(message) => AgentError::Tool(format!("{message}; server log: {tail}")),
        other => other,
    }
}

fn free_port() -> Result<u16, AgentError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| AgentError::Tool(format!("no free loopback port: {error}")))
}

impl Scratch {
    /// Creates and starts a server under `parent`.
    pub fn start(parent: &Path) -> Result<Self, AgentError> {
        let bin = server_bin()?;
        let root = parent.join(format!("verify-{}", std::process::id()));
        let data = root.join("data");
        std::fs::create_dir_all(&root).map_err(|error| {
            AgentError::Tool(format!("scratch directory {}: {error}", root.display()))
        })?;
        run(
            Command::new(bin.join("initdb"))
                .args([
                    "--auth=trust",
                    "--username=verify",
                    "--no-sync",
                    "--encoding=UTF8",
                ])
                .arg("--pgdata")
                .arg(&data),
            "initdb of the scratch database",
        )?;
        let port = free_port()?;
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c full_page_writes=off -c dynamic_shared_memory_type=mmap -c shared_buffers=32MB",
            root.display()
        );
        let scratch = Self {
            target: ConnInfo::parse(
                &format!("postgresql://verify@127.0.0.1:{port}/postgres?sslmode=disable"),
                "the scratch database",
            )?,
            bin,
            data,
            root,
        };
        let log = scratch.root.join("server.log");
        let started = run(
            Command::new(scratch.bin.join("pg_ctl"))
                .args(["start", "--wait", "--timeout=60", "--silent"])
                .arg("--pgdata")
                .arg(&scratch.data)
                .arg("--log")
                .arg(&log)
                .arg("-o")
                .arg(options),
            "starting the scratch database",
        );
        // pg_ctl says only "Examine the log output", and the log goes with
        // the scratch directory: its last lines go into the error instead.
        started.map_err(|error| with_log_tail(error, &log))?;
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("pg_ctl"))
            .args(["stop", "--mode=immediate", "--wait", "--silent"])
            .arg("--pgdata")
            .arg(&self.data)
            .output();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
