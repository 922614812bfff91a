//! The backup agent's throughput and memory against plain `pg_dump -Fc >
//! file` and `pg_restore` of the same database in the same run, on a real
//! Postgres: the agent's dump to moto's S3 and to a volume, its restore
//! from S3 with the manifest check (into an empty database, and into a new
//! one it creates, as a Restore action's Job does), and the agent's peak
//! RSS in each.
//!
//! `cargo bench --bench backup`; `BACKUP_BENCH_MIB` sets the size of the
//! generated table (default 1024 MiB of incompressible text).

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

#[path = "../tests/common/mod.rs"]
mod common;

use common::{moto, postgres::Postgres};

const BUCKET: &str = "bench";

/// Waits for `child`, sampling its peak resident set (VmHWM) as it runs.
fn measure(mut child: Child) -> (Duration, u64, bool, String) {
    let start = Instant::now();
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            let elapsed = start.elapsed();
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut out, &mut stdout);
            }
            return (elapsed, peak, status.success(), stdout);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn agent(moto_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"));
    command
        .arg("backup-agent")
        .args(args)
        .args(["--namespace", "bench", "--deployment", "bot"])
        .args(["--termination-log", "/nonexistent/log"])
        .env("AWS_ENDPOINT_URL", moto_url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", moto::REGION)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

fn id_of(output: &str) -> String {
    let summary: serde_json::Value = serde_json::from_str(output.trim()).expect("a summary");
    summary["id"].as_str().unwrap().to_string()
}

fn report(
    name: &str,
    time: Duration,
    peak_kib: u64,
    bytes: Option<u64>,
    reference: Option<Duration>,
) {
    let mib_s = bytes.map_or("-".to_string(), |bytes| {
        format!(
            "{:.1}",
            bytes as f64 / (1 << 20) as f64 / time.as_secs_f64()
        )
    });
    let ratio = reference
        .map(|r| {
            format!(
                "  {:.2}× the reference's throughput",
                r.as_secs_f64() / time.as_secs_f64()
            )
        })
        .unwrap_or_default();
    println!(
        "{name:<34} {:>7.1} s  {mib_s:>6} MiB/s of dump  peak RSS {:>6.1} MiB{ratio}",
        time.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
}

fn main() {
    let mib: u64 = std::env::var("BACKUP_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let server = Postgres::start();
    let moto = moto::Moto::start();
    server.generate("app", mib);
    moto.create_bucket(BUCKET);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain.dump");
    let mut plain = server.client("pg_dump");
    plain.args(["-Fc", "-f"]).arg(&file).arg("app");
    // The dump's size is known once the reference has run.
    let (plain_dump, _) = timed("pg_dump -Fc > file (reference)", plain, None, None);
    let bytes = std::fs::metadata(&file).unwrap().len();
    println!("dump: {:.1} MiB", bytes as f64 / (1 << 20) as f64);

    let url = server.url("app");
    let mut to_s3 = agent(&moto.url(), &["dump", "--s3-bucket", BUCKET]);
    to_s3.env("DIRECT_DATABASE_URL", &url);
    let (_, printed) = timed(
        "backup-agent dump → S3 (moto)",
        to_s3,
        Some(bytes),
        Some(plain_dump),
    );
    let id = id_of(&printed);

    let volume = dir.path().join("volume");
    let mut to_dir = agent(
        &moto.url(),
        &["dump", "--directory", volume.to_str().unwrap()],
    );
    to_dir.env("DIRECT_DATABASE_URL", &url);
    timed(
        "backup-agent dump → volume",
        to_dir,
        Some(bytes),
        Some(plain_dump),
    );

    server.sql("postgres", "CREATE DATABASE plain_restore");
    let mut plain = server.client("pg_restore");
    plain
        .args(["--no-owner", "--single-transaction", "-d", "plain_restore"])
        .arg(&file);
    let (plain_restore, _) = timed("pg_restore file (reference)", plain, Some(bytes), None);

    server.sql("postgres", "CREATE DATABASE agent_restore");
    let mut from_s3 = agent(
        &moto.url(),
        &["restore", "--s3-bucket", BUCKET, "--id", &id],
    );
    from_s3.env("TARGET_DATABASE_URL", server.url("agent_restore"));
    timed(
        "backup-agent restore ← S3 (moto)",
        from_s3,
        Some(bytes),
        Some(plain_restore),
    );

    // The restore Job's part of a Restore action's RTO: the new database
    // created beside the live one, the dump streamed in, checked.
    let mut restore_job = agent(
        &moto.url(),
        &[
            "restore",
            "--s3-bucket",
            BUCKET,
            "--id",
            &id,
            "--create-database",
            "chatbot_restored",
        ],
    );
    restore_job.env("DIRECT_DATABASE_URL", &url);
    timed(
        "restore Job (new database) ← S3",
        restore_job,
        Some(bytes),
        Some(plain_restore),
    );
}

/// Runs `command` to its end, prints its time, throughput and peak RSS
/// (with the reference's throughput as a ratio), and returns its time and
/// what it printed.
fn timed(
    name: &str,
    mut command: Command,
    bytes: Option<u64>,
    reference: Option<Duration>,
) -> (Duration, String) {
    let (time, peak, ok, printed) = measure(command.spawn().unwrap());
    assert!(ok, "{name} failed: {printed}");
    report(name, time, peak, bytes, reference);
    (time, printed)
}
