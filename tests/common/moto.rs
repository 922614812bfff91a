//! A real AWS API emulator for the tests: moto in server mode, one process
//! per test harness on a loopback port of its own choosing, stopped by
//! process id when dropped. `scripts/test.sh` installs it (`pip install 'moto[server]'`).

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use chatbot_operator::data::AwsClients;

/// Region every test uses.
pub const REGION: &str = "eu-west-1";

pub struct Moto {
    pub address: SocketAddr,
    child: Child,
}

impl Moto {
    /// Starts moto on a port it picks itself and waits until it accepts
    /// connections. Asking the kernel for a free port and handing it over
    /// would leave a window in which another test's emulator takes it, and
    /// two tests would then share one AWS.
    pub fn start() -> Self {
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server on PATH: install it with `pip install 'moto[server]'` (scripts/test.sh does)");
        let stderr = child.stderr.take().expect("moto's stderr is piped");
        let (found, port) = std::sync::mpsc::channel();
        // moto logs every request to stderr: keep reading so it never blocks.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = listening_port(&line)
                    && let Some(found) = found.take()
                {
                    let _ = found.send(port);
                }
            }
        });
        let port = port
            .recv_timeout(Duration::from_secs(30))
            .expect("moto did not say where it listens within 30 s");
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {address}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { address, child }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Creates S3 bucket `bucket`, without a runtime (for the benches).
    pub fn create_bucket(&self, bucket: &str) {
        let url = format!("{}/{bucket}", self.url());
        let status = std::process::Command::new("python3")
            .args(["-c", &format!(
                "import urllib.request; urllib.request.urlopen(urllib.request.Request('{url}', method='PUT'))"
            )])
            .status()
            .expect("python3");
        assert!(status.success(), "creating bucket {bucket}");
    }

    /// Clients that talk to this moto.
    /// Identifiers of the manual RDS snapshots it holds (moto also keeps
    /// automated ones, `rds:…`).
    pub async fn manual_snapshots(&self) -> Vec<String> {
        self.clients()
            .rds
            .describe_db_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .unwrap()
            .db_snapshots()
            .iter()
            .filter_map(|s| s.db_snapshot_identifier().map(str::to_string))
            .collect()
    }

    pub fn clients(&self) -> AwsClients {
        clients_for(&self.url())
    }
}

/// Clients for an emulator (or a proxy in front of one) at `url`.
pub fn clients_for(url: &str) -> AwsClients {
    AwsClients::for_endpoint(url, REGION, "testing", "testing")
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port in werkzeug's " * Running on http://127.0.0.1:PORT" line.
fn listening_port(line: &str) -> Option<u16> {
    let rest = line.split("Running on http://127.0.0.1:").nth(1)?;
    rest.trim().trim_end_matches('/').parse().ok()
}
