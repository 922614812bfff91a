//! The Postgres tools as child processes, and the pieces of a stream both
//! directions share: reading whole parts, hashing, and a `pg_restore
//! --list` fed from the same bytes for the table of contents.

use std::process::Stdio;

use sha2::{Digest, Sha256};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::{Child, ChildStdin, Command},
    task::JoinHandle,
};

use super::{AgentError, conninfo::ConnInfo};
use crate::backup::manifest;

/// Most of a tool's error output kept for the report.
const STDERR_KEPT: usize = 4096;

/// `program` with only `PATH`, a neutral locale and the connection's libpq
/// environment: no secret in its arguments, nothing else inherited.
pub fn tool(program: &str, info: Option<&ConnInfo>) -> Command {
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LC_ALL", "C")
        .env("PGCONNECT_TIMEOUT", "15")
        .kill_on_drop(true);
    if let Some(info) = info {
        command.envs(info.libpq_env());
    }
    command
}

/// Collects the end of a child's error output in the background.
pub fn stderr_tail(child: &mut Child) -> JoinHandle<String> {
    let stderr = child.stderr.take();
    tokio::spawn(async move {
        let Some(mut stderr) = stderr else {
            return String::new();
        };
        let mut kept: Vec<u8> = Vec::new();
        let mut buffer = [0u8; 8192];
        while let Ok(n) = stderr.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&buffer[..n]);
            if kept.len() > 2 * STDERR_KEPT {
                kept.drain(..kept.len() - STDERR_KEPT);
            }
        }
        let start = kept.len().saturating_sub(STDERR_KEPT);
        String::from_utf8_lossy(&kept[start..]).trim().to_string()
    })
}

/// Reads up to `size` bytes, fewer only at the end of the stream. The
/// buffer is allocated once at its final size (and touched only as it is
/// filled), so a part costs its size in memory and no more.
pub async fn read_part(
    reader: &mut (impl AsyncRead + Unpin),
    size: usize,
) -> std::io::Result<Vec<u8>> {
    let mut part = vec![0u8; size];
    let mut filled = 0;
    while filled < size {
        let n = reader.read(&mut part[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    part.truncate(filled);
    Ok(part)
}

/// `pg_restore --list` reading the same bytes: it stops after the table of
/// contents, and the bytes after that are no longer sent to it.
pub struct Listing {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: JoinHandle<String>,
}

impl Listing {
    pub fn start() -> Result<Self, AgentError> {
        let mut child = tool("pg_restore", None)
            .arg("--list")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| AgentError::Tool(format!("starting pg_restore --list: {e}")))?;
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("piped stdout");
        let stdout = tokio::spawn(async move {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text).await;
            text
        });
        Ok(Self {
            child,
            stdin,
            stdout,
        })
    }

    pub async fn feed(&mut self, bytes: &[u8]) {
        if let Some(stdin) = &mut self.stdin
            && stdin.write_all(bytes).await.is_err()
        {
            // It has read the table of contents and exited.
            self.stdin = None;
        }
    }

    /// Entries in the listing.
    pub async fn entries(mut self) -> u64 {
        drop(self.stdin.take());
        let text = self.stdout.await.unwrap_or_default();
        let _ = self.child.wait().await;
        manifest::toc_entries(&text)
    }
}

/// Size and sha256 of the bytes seen.
#[derive(Default)]
pub struct Digest256 {
    hasher: Sha256,
    pub bytes: u64,
}

impl Digest256 {
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
    }

    pub fn hex(self) -> String {
        self.hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
