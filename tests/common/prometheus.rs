//! A real Prometheus for the analysis tests (Debian package `prometheus`,
//! installed by `scripts/test.sh`): one process on a free loopback port,
//! scraping the given targets every second, stopped by process id when
//! dropped.

use std::{
    net::{SocketAddr, TcpListener},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct PrometheusServer {
    pub address: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

/// One scrape target and the labels its series get.
pub struct Target {
    pub address: SocketAddr,
    pub labels: Vec<(&'static str, String)>,
}

impl PrometheusServer {
    /// Starts Prometheus scraping `targets` and waits until it is ready.
    pub async fn start(targets: &[Target]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = String::from(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: app\n    static_configs:\n",
        );
        for target in targets {
            config.push_str(&format!(
                "      - targets: [\"{}\"]\n        labels:\n",
                target.address
            ));
            for (key, value) in &target.labels {
                config.push_str(&format!("          {key}: \"{value}\"\n"));
            }
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={address}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus on PATH: `apt-get install prometheus` (scripts/test.sh does)");
        let server = Self {
            address,
            child,
            _dir: dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("{}/-/ready", server.url()))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not start on {address}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
