//! The backup agent with real parts: a real Postgres seeded in Brigade's
//! shape (tables, a trigger, indexes, a sequence), the `backup-agent`
//! binary as a Job runs it, and moto's S3. A dump goes up in several
//! multipart parts and comes back into a new database with the same rows
//! and objects; a corrupted or truncated object is caught by the
//! manifest; a `pg_dump` killed mid-stream leaves no backup and no upload.

use std::{
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use aws_sdk_s3::primitives::ByteStream;
use chatbot_operator::backup::manifest::Manifest;
use serde_json::Value;

use crate::common;
use common::{
    aws_proxy::{AwsProxy, Fault},
    moto::Moto,
    postgres::Postgres,
};

const BUCKET: &str = "chatbot-backups";
const NS: &str = "brigade";
const NAME: &str = "brigade-sales";

/// Brigade's CRM shape, with `rows` leads of incompressible text.
fn seed(pg: &Postgres, db: &str, rows: u32) {
    pg.sql("postgres", &format!("CREATE DATABASE {db}"));
    pg.sql(
        db,
        &format!(
            "CREATE TABLE leads (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE, \
               notes text, updated_at timestamptz NOT NULL DEFAULT now());
             CREATE TABLE deals (id bigserial PRIMARY KEY, lead_id bigint REFERENCES leads(id), \
               amount numeric(12,2) NOT NULL, stage text NOT NULL);
             CREATE INDEX deals_stage ON deals (stage);
             CREATE SCHEMA audit;
             CREATE TABLE audit.events (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), what text);
             CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \
               $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
             CREATE TRIGGER leads_touch BEFORE UPDATE ON leads FOR EACH ROW EXECUTE FUNCTION touch();
             CREATE SEQUENCE invoice_numbers START 1000;
             INSERT INTO leads (email, notes) SELECT 'lead' || g || '@example.com', \
               md5(random()::text) || md5(random()::text) || md5(random()::text) \
               FROM generate_series(1, {rows}) g;
             INSERT INTO deals (lead_id, amount, stage) SELECT g, g * 1.5, \
               (ARRAY['new','won','lost'])[1 + g % 3] FROM generate_series(1, {rows} / 10) g;
             INSERT INTO audit.events (what) VALUES ('seeded');
             SELECT setval('invoice_numbers', 1234);"
        ),
    );
}

struct Env {
    pg: Postgres,
    moto: Moto,
    s3: aws_sdk_s3::Client,
}

async fn env() -> Env {
    let pg = Postgres::start();
    let moto = Moto::start();
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(common::moto::REGION))
        .endpoint_url(moto.url())
        .force_path_style(true)
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(config);
    s3.create_bucket()
        .bucket(BUCKET)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create bucket");
    Env { pg, moto, s3 }
}

impl Env {
    /// `chatbot-operator backup-agent <args>` with the URL in the
    /// environment, as the Job's container gets it from the Secret.
    fn agent(&self, url_var: &str, url: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"));
        command
            .arg("backup-agent")
            .args(args)
            .args([
                "--s3-bucket",
                BUCKET,
                "--prefix",
                "backups",
                "--namespace",
                NS,
            ])
            .args([
                "--deployment",
                NAME,
                "--termination-log",
                "/nonexistent/log",
            ])
            .env(url_var, url)
            .env("AWS_ENDPOINT_URL", self.moto.url())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", common::moto::REGION)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// A dump whose S3 calls go through `endpoint` (a fault-injecting proxy).
    fn dump_via(&self, endpoint: &str, db: &str) -> (Output, Value) {
        let output = self
            .agent(
                "DIRECT_DATABASE_URL",
                &self.pg.url(db),
                &["dump", "--revision", "3", "--part-size-mib", "5"],
            )
            .env("AWS_ENDPOINT_URL", endpoint)
            .output()
            .unwrap();
        let summary = summary(&output);
        (output, summary)
    }

    fn dump(&self, db: &str, extra: &[&str]) -> (Output, Value) {
        let mut args = vec!["dump", "--revision", "3", "--part-size-mib", "5"];
        args.extend_from_slice(extra);
        let output = self
            .agent("DIRECT_DATABASE_URL", &self.pg.url(db), &args)
            .output()
            .unwrap();
        let summary = summary(&output);
        (output, summary)
    }

    fn restore(&self, id: &str, into: &str) -> (Output, Value) {
        let output = self
            .agent(
                "TARGET_DATABASE_URL",
                &self.pg.url(into),
                &["restore", "--id", id, "--verify"],
            )
            .output()
            .unwrap();
        let summary = summary(&output);
        (output, summary)
    }

    async fn keys(&self) -> Vec<String> {
        let listed = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        listed
            .contents()
            .iter()
            .filter_map(|o| o.key().map(String::from))
            .collect()
    }

    async fn open_uploads(&self) -> usize {
        self.s3
            .list_multipart_uploads()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap()
            .uploads()
            .len()
    }

    /// The dump object of backup `id`, as stored.
    async fn dump_object(&self, id: &str) -> Vec<u8> {
        self.s3
            .get_object()
            .bucket(BUCKET)
            .key(format!("backups/{NS}/{NAME}/{id}/dump.pgcustom"))
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .to_vec()
    }

    /// Writes `body` over the dump object of backup `id`.
    async fn replace_dump(&self, id: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(BUCKET)
            .key(format!("backups/{NS}/{NAME}/{id}/dump.pgcustom"))
            .body(ByteStream::from(body))
            .send()
            .await
            .unwrap();
    }

    async fn manifest(&self, id: &str) -> Manifest {
        let object = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(format!("backups/{NS}/{NAME}/{id}/manifest.json"))
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&object.body.collect().await.unwrap().to_vec()).unwrap()
    }
}

/// The output of an agent run once it has ended.
async fn finished(agent: Child) -> Output {
    tokio::task::spawn_blocking(move || agent.wait_with_output().unwrap())
        .await
        .unwrap()
}

fn summary(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "the agent printed no summary ({e}): stdout {stdout}, stderr {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn checksum(pg: &Postgres, db: &str) -> String {
    pg.sql(
        db,
        "SELECT md5(string_agg(l::text, ',' ORDER BY l.id)) FROM leads l; \
         SELECT md5(string_agg(d::text, ',' ORDER BY d.id)) FROM deals d; \
         SELECT count(*) FROM audit.events; SELECT last_value FROM invoice_numbers",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_in_several_parts_restores_into_a_new_database_with_the_same_rows_and_objects() {
    let env = env().await;
    seed(&env.pg, "sales", 90_000);
    let (output, summary) = env.dump("sales", &[]);
    assert!(output.status.success(), "{summary}");
    assert_eq!(summary["outcome"], "Succeeded", "{summary}");
    let id = summary["id"].as_str().unwrap().to_string();
    assert!(id.ends_with("-r3"), "{id}");

    let manifest = env.manifest(&id).await;
    assert!(manifest.dump.parts >= 2, "{:?}", manifest.dump);
    assert!(manifest.dump.bytes > 5 << 20, "{:?}", manifest.dump);
    assert!(manifest.dump.toc_entries >= 10, "{:?}", manifest.dump);
    let rows: Vec<(String, String, i64)> = manifest
        .tables
        .iter()
        .map(|t| (t.schema.clone(), t.name.clone(), t.rows))
        .collect();
    assert_eq!(
        rows,
        [
            ("audit".into(), "events".into(), 1),
            ("public".into(), "deals".into(), 9_000),
            ("public".into(), "leads".into(), 90_000),
        ]
    );
    assert_eq!(manifest.revision, Some(3));
    assert!(
        manifest.server_version >= 100000,
        "{}",
        manifest.server_version
    );
    assert_eq!(
        env.keys().await,
        [
            format!("backups/{NS}/{NAME}/{id}/dump.pgcustom"),
            format!("backups/{NS}/{NAME}/{id}/manifest.json"),
        ]
    );
    let head = env
        .s3
        .head_object()
        .bucket(BUCKET)
        .key(format!("backups/{NS}/{NAME}/{id}/dump.pgcustom"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(manifest.dump.bytes as i64));
    assert_eq!(env.open_uploads().await, 0);

    env.pg.sql("postgres", "CREATE DATABASE restored");
    let (output, restored) = env.restore(&id, "restored");
    assert!(output.status.success(), "{restored}");
    assert_eq!(restored["outcome"], "Succeeded", "{restored}");
    assert_eq!(restored["kind"], "verify");
    assert!(restored["restoreSeconds"].as_f64().unwrap() > 0.0);
    assert_eq!(checksum(&env.pg, "restored"), checksum(&env.pg, "sales"));
    assert_eq!(env.pg.schema("restored"), env.pg.schema("sales"));
    // The trigger came back and works.
    env.pg.sql(
        "restored",
        "UPDATE leads SET updated_at = '2000-01-01' WHERE id = 1",
    );
    assert_ne!(
        env.pg.sql(
            "restored",
            "SELECT extract(year FROM updated_at) FROM leads WHERE id = 1"
        ),
        "2000"
    );

    for stream in [&output.stdout, &output.stderr] {
        let text = String::from_utf8_lossy(stream);
        assert!(!text.contains(common::postgres::PASSWORD), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_or_truncated_dump_fails_its_check_against_the_manifest() {
    let env = env().await;
    seed(&env.pg, "sales", 2_000);
    let (_, summary) = env.dump("sales", &[]);
    assert_eq!(summary["outcome"], "Succeeded", "{summary}");
    let id = summary["id"].as_str().unwrap().to_string();
    let original = env.dump_object(&id).await;

    let mut flipped = original.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x5a;
    let truncated = original[..original.len() / 2].to_vec();
    for (case, body, expected) in [
        ("flipped byte", flipped, "sha256"),
        ("truncated", truncated, "truncated or corrupted"),
    ] {
        env.replace_dump(&id, body).await;
        let target = format!("check_{}", case.replace(' ', "_"));
        env.pg.sql("postgres", &format!("CREATE DATABASE {target}"));
        let (output, restored) = env.restore(&id, &target);
        assert!(!output.status.success(), "{case}: {restored}");
        assert_eq!(restored["outcome"], "Failed", "{case}: {restored}");
        let message = restored["message"].as_str().unwrap();
        assert!(message.contains(expected), "{case}: {message}");
    }
}

fn pg_dump_child(agent: &Child) -> Option<u32> {
    let parent = agent.id().to_string();
    std::fs::read_dir("/proc").ok()?.find_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(") ")?;
        let ppid = rest.split_whitespace().nth(1)?;
        (comm.ends_with("(pg_dump") && ppid == parent).then_some(pid)
    })
}

/// Bytes process `pid` has written so far.
fn written(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("wchar: "))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pg_dump_killed_mid_stream_leaves_no_backup_and_no_open_upload() {
    let env = env().await;
    seed(&env.pg, "sales", 150_000);
    let agent = env
        .agent(
            "DIRECT_DATABASE_URL",
            &env.pg.url("sales"),
            &["dump", "--part-size-mib", "5"],
        )
        .spawn()
        .unwrap();
    // Kill pg_dump once the upload has begun and it has written more than
    // one part (the agent has read the first and is sending it).
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed = loop {
        assert!(
            Instant::now() < deadline,
            "pg_dump did not get past one part within 60 s"
        );
        if env.open_uploads().await > 0
            && let Some(pid) = pg_dump_child(&agent)
            && written(pid) > 6 << 20
        {
            let status = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            break status.unwrap().success();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(killed);
    let output = finished(agent).await;
    let summary = summary(&output);
    assert_eq!(output.status.code(), Some(1), "{summary}");
    assert_eq!(summary["outcome"], "Failed");
    assert!(
        summary["message"]
            .as_str()
            .unwrap()
            .contains("pg_dump was killed before it finished"),
        "{summary}"
    );
    assert_eq!(env.keys().await, Vec::<String>::new());
    assert_eq!(env.open_uploads().await, 0);

    // The next run is not blocked by the failed one.
    let (output, summary) = env.dump("sales", &[]);
    assert!(output.status.success(), "{summary}");
    assert_eq!(env.keys().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_database_is_not_taken_for_a_backup_unless_expected() {
    let env = env().await;
    seed(&env.pg, "sales", 20_000);
    let random: Vec<&str> = vec!["md5(random()::text)"; 10];
    env.pg.sql(
        "sales",
        &format!(
            "ALTER TABLE leads ADD COLUMN transcript text; UPDATE leads SET transcript = {}",
            random.join(" || ")
        ),
    );
    let (_, first) = env.dump("sales", &[]);
    assert_eq!(first["outcome"], "Succeeded", "{first}");
    // A broken job blanks the big columns: the rows are all still there,
    // the dump is a few per cent of what it was.
    env.pg
        .sql("sales", "UPDATE leads SET transcript = NULL, notes = NULL");
    std::thread::sleep(Duration::from_millis(1100));
    let (output, second) = env.dump("sales", &[]);
    assert_eq!(output.status.code(), Some(1), "{second}");
    let message = second["message"].as_str().unwrap();
    assert!(message.contains("of the previous backup's"), "{message}");
    assert!(message.contains("22001 rows against 22001"), "{message}");
    assert_eq!(env.keys().await.len(), 2, "only the first backup is listed");
    assert_eq!(env.open_uploads().await, 0);
    std::thread::sleep(Duration::from_millis(1100));
    // Named so that it sorts before the first backup: the newest backup is
    // the one that finished last, whatever its name.
    let (output, third) = env.dump("sales", &["--expect-shrink", "--id", "0-emptied"]);
    assert!(output.status.success(), "{third}");
    assert_eq!(env.keys().await.len(), 4);
    let (output, fourth) = env.dump("sales", &[]);
    assert!(output.status.success(), "compared with 0-emptied: {fourth}");
    assert_eq!(env.keys().await.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_on_a_volume_round_trips_and_lists_nothing_partial() {
    let pg = Postgres::start();
    seed(&pg, "sales", 3_000);
    let volume = tempfile::tempdir().unwrap();
    // As the kubelet mounts it: the file exists before the container starts.
    let termination_log = tempfile::NamedTempFile::new().unwrap();
    let agent = |var: &str, url: String, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .arg("backup-agent")
            .args(args)
            .arg("--directory")
            .arg(volume.path())
            .args(["--namespace", NS, "--deployment", NAME])
            .arg("--termination-log")
            .arg(termination_log.path())
            .env(var, url)
            .output()
            .unwrap()
    };
    // What a run killed by its deadline, its memory limit or an eviction
    // leaves behind: a half-written dump that no listing shows.
    let killed = volume
        .path()
        .join(NS)
        .join(NAME)
        .join("sales-backup-29113400")
        .join("dump.pgcustom.partial");
    std::fs::create_dir_all(killed.parent().unwrap()).unwrap();
    std::fs::write(&killed, vec![0u8; 1 << 20]).unwrap();
    let output = agent(
        "DIRECT_DATABASE_URL",
        pg.url("sales"),
        &["dump", "--revision", "9", "--id", "sales-backup-29113520"],
    );
    let dumped = summary(&output);
    assert!(output.status.success(), "{dumped}");
    let id = dumped["id"].as_str().unwrap();
    assert_eq!(id, "sales-backup-29113520");
    let message: Value =
        serde_json::from_str(&std::fs::read_to_string(termination_log.path()).unwrap()).unwrap();
    assert_eq!(message, dumped, "the termination message is the summary");
    assert!(
        !killed.exists() && !killed.parent().unwrap().exists(),
        "a killed run's half-written dump is removed by the next run"
    );
    let folder = volume.path().join(NS).join(NAME).join(id);
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["dump.pgcustom", "manifest.json"]);
    assert_eq!(
        std::fs::metadata(folder.join("dump.pgcustom"))
            .unwrap()
            .len(),
        dumped["bytes"].as_u64().unwrap()
    );

    pg.sql("postgres", "CREATE DATABASE restored");
    let output = agent(
        "TARGET_DATABASE_URL",
        pg.url("restored"),
        &["restore", "--id", id],
    );
    let restored = summary(&output);
    assert!(output.status.success(), "{restored}");
    assert_eq!(restored["kind"], "restore");
    assert_eq!(checksum(&pg, "restored"), checksum(&pg, "sales"));

    // As the restore Job runs it: a new database on the server of the
    // app's URL, made empty first, even when an interrupted attempt left
    // a half-restored one behind.
    pg.sql("postgres", "CREATE DATABASE chatbot_r1");
    pg.sql("chatbot_r1", "CREATE TABLE leftover (id int)");
    for attempt in 1..=2 {
        let output = agent(
            "DIRECT_DATABASE_URL",
            pg.url("sales"),
            &["restore", "--id", id, "--create-database", "chatbot_r1"],
        );
        let restored = summary(&output);
        assert!(output.status.success(), "attempt {attempt}: {restored}");
        assert_eq!(checksum(&pg, "chatbot_r1"), checksum(&pg, "sales"));
        assert_eq!(pg.schema("chatbot_r1"), pg.schema("sales"));
    }
    // A restore that fails (here: of a damaged dump) leaves no database
    // behind.
    let dump = volume
        .path()
        .join(NS)
        .join(NAME)
        .join(id)
        .join("dump.pgcustom");
    let good = std::fs::read(&dump).unwrap();
    std::fs::write(&dump, &good[..good.len() / 2]).unwrap();
    let output = agent(
        "DIRECT_DATABASE_URL",
        pg.url("sales"),
        &["restore", "--id", id, "--create-database", "chatbot_r2"],
    );
    let failed = summary(&output);
    assert_eq!(failed["outcome"], "Failed", "{failed}");
    assert_eq!(
        pg.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'chatbot_r2'"
        ),
        "0",
        "{failed}"
    );
    std::fs::write(&dump, &good).unwrap();

    // The database the URL leads to is never the target.
    let before = checksum(&pg, "sales");
    let output = agent(
        "DIRECT_DATABASE_URL",
        pg.url("sales"),
        &["restore", "--id", id, "--create-database", "sales"],
    );
    let refused = summary(&output);
    assert_eq!(output.status.code(), Some(1), "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("sales is the database the URL leads to"),
        "{refused}"
    );
    assert_eq!(checksum(&pg, "sales"), before);

    // Once its days as the undo are over, a replaced database is dropped;
    // the one the URL leads to never is.
    let drop = |database: &str| {
        Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .args(["backup-agent", "drop-database", "--database", database])
            .arg("--termination-log")
            .arg(termination_log.path())
            .env("DIRECT_DATABASE_URL", pg.url("sales"))
            .output()
            .unwrap()
    };
    let output = drop("chatbot_r1");
    let dropped = summary(&output);
    assert!(output.status.success(), "{dropped}");
    assert_eq!(dropped["kind"], "drop");
    assert_eq!(
        pg.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'chatbot_r1'"
        ),
        "0"
    );
    let output = drop("sales");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        summary(&output)["message"]
            .as_str()
            .unwrap()
            .contains("sales is the database the URL leads to"),
    );
    assert_eq!(checksum(&pg, "sales"), before);

    // A backup that does not exist is an error naming it, never a pass.
    pg.sql("postgres", "CREATE DATABASE nothing");
    let output = agent(
        "TARGET_DATABASE_URL",
        pg.url("nothing"),
        &["restore", "--id", "20200101-000000", "--verify"],
    );
    let missing = summary(&output);
    assert_eq!(output.status.code(), Some(1), "{missing}");
    assert!(
        missing["message"]
            .as_str()
            .unwrap()
            .starts_with("backup 20200101-000000 does not exist"),
        "{missing}"
    );
}

#[test]
fn a_missing_or_malformed_database_url_is_a_clear_error_without_the_value() {
    let run = |value: Option<&str>| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatbot-operator"));
        command
            .args(["backup-agent", "dump", "--directory", "/nonexistent"])
            .args(["--namespace", NS, "--deployment", NAME])
            .env_remove("DIRECT_DATABASE_URL");
        if let Some(value) = value {
            command.env("DIRECT_DATABASE_URL", value);
        }
        command.output().unwrap()
    };
    let output = run(None);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim(),
        "error: DIRECT_DATABASE_URL is not set: the agent reads the database URL from it (a Secret's key)"
    );
    let output = run(Some("postgres://app:hunter2@db/app?sslmode=verify-full"));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("DIRECT_DATABASE_URL: sslmode=verify-full needs sslrootcert"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

/// `backup-agent verify` as the verify Job runs it: not as root (initdb
/// refuses root), so under the `postgres` account when the tests run as root.
fn verify(env: &Env, id: &str, scratch: &str) -> (Output, Value) {
    let agent = env.agent("UNUSED", "", &["verify", "--id", id, "--scratch", scratch]);
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut command = if root {
        let mut runuser = Command::new("runuser");
        runuser
            .args(["-u", "postgres", "--"])
            .arg(agent.get_program());
        runuser
    } else {
        Command::new(agent.get_program())
    };
    command.args(agent.get_args());
    for (key, value) in agent.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let output = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let summary = summary(&output);
    (output, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verification_restores_into_a_throwaway_postgres_and_fails_when_it_cannot() {
    let env = env().await;
    seed(&env.pg, "sales", 5_000);
    let (_, dumped) = env.dump("sales", &[]);
    assert_eq!(dumped["outcome"], "Succeeded", "{dumped}");
    let id = dumped["id"].as_str().unwrap().to_string();

    let (output, verified) = verify(&env, &id, "/tmp");
    assert!(
        output.status.success(),
        "{verified} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(verified["kind"], "verify");
    assert_eq!(verified["outcome"], "Succeeded");
    assert_eq!(verified["rows"], dumped["rows"]);
    assert_eq!(verified["tocEntries"], dumped["tocEntries"]);
    assert!(verified["restoreSeconds"].as_f64().unwrap() > 0.0);
    let leftovers: Vec<_> = std::fs::read_dir("/tmp")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("verify-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "the scratch server is removed: {leftovers:?}"
    );

    // A corrupted dump fails its verification.
    let mut bytes = env.dump_object(&id).await;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    env.replace_dump(&id, bytes).await;
    let (output, broken) = verify(&env, &id, "/tmp");
    assert_eq!(output.status.code(), Some(1), "{broken}");
    assert_eq!(broken["outcome"], "Failed");

    // A scratch server that cannot start says why, from its own log
    // (removed with the scratch directory): here its socket path is
    // longer than Unix allows.
    let long = std::env::temp_dir().join("s".repeat(100));
    std::fs::create_dir_all(&long).unwrap();
    std::fs::set_permissions(&long, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (output, unstarted) = verify(&env, &id, long.to_str().unwrap());
    let _ = std::fs::remove_dir_all(&long);
    assert_eq!(output.status.code(), Some(1), "{unstarted}");
    let message = unstarted["message"].as_str().unwrap();
    assert!(
        message.contains("server log:") && message.contains("Unix-domain socket"),
        "{unstarted}"
    );

    // A verification that cannot run is reported, never passed.
    let (output, unable) = verify(&env, &id, "/proc/no-scratch-here");
    assert_eq!(output.status.code(), Some(1), "{unable}");
    assert_eq!(unable["outcome"], "Failed");
    assert!(
        unable["message"]
            .as_str()
            .unwrap()
            .contains("scratch directory"),
        "{unable}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_verified_and_pinned_backups() {
    let env = env().await;
    seed(&env.pg, "sales", 2_000);
    let take = |id: &str, extra: &[&str]| {
        let mut args = vec!["--id", id];
        args.extend_from_slice(extra);
        let (_, summary) = env.dump("sales", &args);
        assert_eq!(summary["outcome"], "Succeeded", "{summary}");
        summary
    };
    take("20261201-030000-r3", &[]);
    let (_, verified) = verify(&env, "20261201-030000-r3", "/tmp");
    assert_eq!(verified["outcome"], "Succeeded", "{verified}");
    take("20261202-030000-r3", &[]);
    take("20261203-030000-r4-pre", &[]);
    let pruned = take(
        "20261204-030000-r4",
        &["--keep-last", "1", "--pin", "20261203-030000-r4-pre"],
    );
    assert_eq!(pruned["pruned"], serde_json::json!(["20261202-030000-r3"]));
    let ids: std::collections::BTreeSet<String> = env
        .keys()
        .await
        .iter()
        .filter_map(|k| k.split('/').nth(3).map(String::from))
        .collect();
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        [
            "20261201-030000-r3",     // the newest verified one
            "20261203-030000-r4-pre", // a revision's pre-rollout backup
            "20261204-030000-r4",     // the newest
        ]
    );
    // What stays still restores.
    env.pg.sql("postgres", "CREATE DATABASE kept");
    let (_, restored) = env.restore("20261201-030000-r3", "kept");
    assert_eq!(restored["outcome"], "Succeeded", "{restored}");
}

#[tokio::test]
async fn a_refused_connection_says_why_in_postgres_words_without_the_password() {
    let env = env().await;
    let url = env
        .pg
        .url("postgres")
        .replace(common::postgres::PASSWORD, "not-the-password");
    let output = env
        .agent("DIRECT_DATABASE_URL", &url, &["dump", "--revision", "3"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let summary = summary(&output);
    let message = summary["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("password authentication failed for user \"postgres\"")
            && message.contains("SQLSTATE 28P01"),
        "{summary}"
    );
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!everything.contains("not-the-password"), "{everything}");
}

#[tokio::test]
async fn a_safety_backup_checks_the_backup_its_restore_will_use_is_there() {
    let env = env().await;
    seed(&env.pg, "sales", 500);
    let (_, first) = env.dump("sales", &[]);
    assert_eq!(first["outcome"], "Succeeded", "{first}");
    let source = first["id"].as_str().unwrap().to_string();

    // A mistyped (or pruned) id: the safety backup fails, so the restore
    // ends before the app is stopped.
    let (output, refused) = env.dump(
        "sales",
        &[
            "--id",
            "r1-safety",
            "--reason",
            "pre-restore",
            "--requires",
            "20261201-020000-r9",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains(
            "backup 20261201-020000-r9, which the restore would use, is not in the store"
        ) && message.contains("nothing was stopped"),
        "{refused}"
    );
    assert!(env.keys().await.iter().all(|k| !k.contains("r1-safety")));

    let (output, taken) = env.dump(
        "sales",
        &[
            "--id",
            "r2-safety",
            "--reason",
            "pre-restore",
            "--requires",
            &source,
        ],
    );
    assert!(output.status.success(), "{taken}");
}

/// S3 failing mid-upload, through the fault-injecting proxy: a part S3
/// answers 503 (SlowDown) or whose answer is lost on the way back is sent
/// again and the backup completes intact; a part S3 keeps refusing fails
/// the run, which leaves no object and no open upload behind, and the next
/// run is not blocked by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_failing_mid_upload_is_retried_or_leaves_nothing_behind() {
    let env = env().await;
    seed(&env.pg, "sales", 90_000);
    let proxy = AwsProxy::start(env.moto.url()).await;
    let slow_down = Fault::Error {
        status: 503,
        code: "SlowDown".into(),
        message: "Please reduce your request rate.".into(),
    };
    proxy.inject("UploadPart", slow_down, 1);
    proxy.inject("UploadPart", Fault::LoseResponse, 1);
    let (output, summary) = env.dump_via(&proxy.url(), "sales");
    assert!(output.status.success(), "{summary}");
    let id = summary["id"].as_str().unwrap().to_string();
    let manifest = env.manifest(&id).await;
    let parts = proxy
        .take_actions()
        .iter()
        .filter(|a| *a == "UploadPart")
        .count();
    assert!(manifest.dump.parts >= 2, "{:?}", manifest.dump);
    assert_eq!(
        parts,
        manifest.dump.parts as usize + 2,
        "two parts sent twice"
    );
    assert_eq!(env.open_uploads().await, 0);
    env.pg.sql("postgres", "CREATE DATABASE restored");
    let (output, restored) = env.restore(&id, "restored");
    assert!(output.status.success(), "{restored}");
    assert_eq!(checksum(&env.pg, "restored"), checksum(&env.pg, "sales"));

    let internal = Fault::Error {
        status: 500,
        code: "InternalError".into(),
        message: "We encountered an internal error. Please try again.".into(),
    };
    proxy.inject("UploadPart", internal, 50);
    let (output, summary) = env.dump_via(&proxy.url(), "sales");
    assert_eq!(output.status.code(), Some(1), "{summary}");
    assert_eq!(summary["outcome"], "Failed");
    let message = summary["message"].as_str().unwrap();
    assert!(
        message.contains(
            "S3 answered 500 InternalError: We encountered an internal error. Please try again."
        ),
        "{message}"
    );
    assert_eq!(env.keys().await.len(), 2, "only the first backup is there");
    assert_eq!(env.open_uploads().await, 0);

    let (output, summary) = env.dump("sales", &[]);
    assert!(output.status.success(), "{summary}");
    assert_eq!(env.keys().await.len(), 4);
}

/// The server process of the session `application` (`pg_dump`,
/// `pg_restore`) has open, once it is there.
fn backend_of(pg: &Postgres, application: &str) -> Option<u32> {
    pg.sql(
        "postgres",
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = '{application}' \
             AND state = 'active' LIMIT 1"
        ),
    )
    .parse()
    .ok()
}

/// Kills the server process of `application`'s session once it has run a
/// moment: Postgres then ends every session and recovers, as after a crash.
async fn kill_backend_of(pg: &Postgres, application: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let pid = loop {
        assert!(
            Instant::now() < deadline,
            "no {application} session within 60 s"
        );
        if let Some(pid) = backend_of(pg, application) {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = sql(pg, "SELECT clock_timestamp()").expect("the server's clock");
    let status = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    before
}

/// One value from `query` in database `postgres`, if the server answers.
fn sql(pg: &Postgres, query: &str) -> Option<String> {
    let output = pg
        .client("psql")
        .args(["-d", "postgres", "-X", "-q", "-tA", "-c", query])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Waits until Postgres went through its crash restart after a backend
/// was killed at `killed` (its server clock) and accepts sessions again: a
/// session that answers before the server noticed the crash is no sign
/// of it (on a busy machine the restart can come after that answer), the
/// checkpointer started anew is.
async fn recovered(pg: &Postgres, killed: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let restarted = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'checkpointer' AND backend_start > '{killed}'"
    );
    while sql(pg, &restarted).as_deref() != Some("1") {
        assert!(
            Instant::now() < deadline,
            "Postgres did not recover within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Postgres killed under a dump and under a restore (the server process
/// of `pg_dump`'s or `pg_restore`'s session, so the server crashes and
/// recovers): each run fails saying so, the dump leaves no object and no
/// open upload, and once Postgres is back the next dump and the next
/// restore into the same database succeed, the restore matching the source
/// row for row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_mid_dump_and_mid_restore_leaves_a_state_the_next_run_completes() {
    let env = env().await;
    seed(&env.pg, "sales", 150_000);
    let agent = env
        .agent(
            "DIRECT_DATABASE_URL",
            &env.pg.url("sales"),
            &["dump", "--part-size-mib", "5"],
        )
        .spawn()
        .unwrap();
    let killed = kill_backend_of(&env.pg, "pg_dump").await;
    let output = finished(agent).await;
    let failed = summary(&output);
    assert_eq!(output.status.code(), Some(1), "{failed}");
    assert_eq!(failed["outcome"], "Failed", "{failed}");
    assert_eq!(env.keys().await, Vec::<String>::new(), "{failed}");
    assert_eq!(env.open_uploads().await, 0);

    recovered(&env.pg, &killed).await;
    let (output, dumped) = env.dump("sales", &[]);
    assert!(output.status.success(), "{dumped}");
    let id = dumped["id"].as_str().unwrap().to_string();

    let restore = |env: &Env| {
        env.agent(
            "DIRECT_DATABASE_URL",
            &env.pg.url("sales"),
            &["restore", "--id", &id, "--create-database", "chatbot_r1"],
        )
    };
    let agent = restore(&env).spawn().unwrap();
    let killed = kill_backend_of(&env.pg, "pg_restore").await;
    let output = finished(agent).await;
    let failed = summary(&output);
    assert_eq!(output.status.code(), Some(1), "{failed}");
    assert_eq!(failed["outcome"], "Failed", "{failed}");

    recovered(&env.pg, &killed).await;
    let output = restore(&env).output().unwrap();
    let restored = summary(&output);
    assert!(output.status.success(), "{restored}");
    assert_eq!(checksum(&env.pg, "chatbot_r1"), checksum(&env.pg, "sales"));
}
