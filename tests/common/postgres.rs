//! A real Postgres server for the tests (Debian's `postgresql` package,
//! which `scripts/test.sh` installs): a fresh cluster in a temporary
//! directory on a loopback port, password authentication on, stopped by
//! process id when dropped. As root, the server runs as the `postgres` user
//! (it refuses to run as root).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub const PASSWORD: &str = "s3cr3t-pg-Passw0rd";

pub struct Postgres {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres server binaries under /usr/lib/postgresql: install Debian's postgresql (scripts/test.sh does)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("bin/initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions
        .pop()
        .expect("a Postgres server version with initdb")
        .join("bin")
}

fn as_server_user(program: &Path) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new().prefix("pg-").tempdir().unwrap();
        let data = dir.path().join("data");
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, PASSWORD).unwrap();
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let status = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=scram-sha-256", "--no-sync"])
            .arg(format!("--pwfile={}", password_file.display()))
            .stdout(Stdio::null())
            .status()
            .expect("initdb");
        assert!(status.success(), "initdb failed");
        for _ in 0..5 {
            let port = super::free_port();
            let mut child = as_server_user(&bin.join("postgres"))
                .arg("-D")
                .arg(&data)
                .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .arg("-k")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("postgres");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken: another one
                }
                let ready = Command::new(bin.join("pg_isready"))
                    .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q"])
                    .status()
                    .is_ok_and(|s| s.success());
                if ready {
                    return Self {
                        port,
                        child,
                        _dir: dir,
                    };
                }
                assert!(
                    Instant::now() < deadline,
                    "postgres did not start on {port}"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("postgres did not start on any of 5 ports");
    }

    /// URL of database `db` as the superuser.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres:{PASSWORD}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }

    /// `program` (psql, pg_dump, pg_restore, …) connected to this server as
    /// the superuser, through libpq's environment.
    pub fn client(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", self.port.to_string())
            .env("PGUSER", "postgres")
            .env("PGPASSWORD", PASSWORD);
        command
    }

    /// Creates database `db` holding a table `messages` of about `mib` MiB
    /// of incompressible text (for the benches), and prints its size.
    pub fn generate(&self, db: &str, mib: u64) {
        let rows = mib * (1 << 20) / 200;
        println!("generating {mib} MiB ({rows} rows) in database {db} …");
        self.sql("postgres", &format!("CREATE DATABASE {db}"));
        self.sql(
            db,
            &format!(
                "CREATE TABLE messages (id bigserial PRIMARY KEY, body text); \
                 INSERT INTO messages (body) SELECT md5(random()::text) || md5(random()::text) || \
                 md5(random()::text) || md5(random()::text) || md5(random()::text) || \
                 md5(random()::text) FROM generate_series(1, {rows})"
            ),
        );
        println!(
            "database size: {}",
            self.sql(
                db,
                &format!("SELECT pg_size_pretty(pg_database_size('{db}'))")
            )
        );
    }

    /// Runs SQL in `db` with psql; panics with psql's error.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let output = self
            .client("psql")
            .args([
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-X",
                "-q",
                "-t",
                "-A",
                "-c",
                sql,
            ])
            .output()
            .expect("psql");
        assert!(
            output.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    /// `pg_dump --schema-only` of `db` without comments: what a restore must
    /// reproduce object for object.
    pub fn schema(&self, db: &str) -> String {
        let output = self
            .client("pg_dump")
            .args(["--schema-only", "--no-owner", "--no-privileges", db])
            .output()
            .expect("pg_dump");
        assert!(output.status.success());
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            // `\restrict` lines carry a random key per dump.
            .filter(|l| !l.starts_with("--") && !l.starts_with("\\") && !l.trim().is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // runuser's child is the server: a SIGTERM to runuser is passed on.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
