//! A real Prometheus for the analysis tests (Debian package `prometheus`,
//! installed by `scripts/test.sh`): one process on a free loopback port
//! (checked to be this test's own),
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
        // A port asked of the kernel is free only until someone takes it:
        // a Prometheus that finds it taken exits, and another test's would
        // answer in its place. So the server that answers must name this
        // test's configuration file, or it starts again on another port.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let dir = tempfile::tempdir().unwrap();
            let config_path = dir.path().join("prometheus.yml");
            std::fs::write(&config_path, &config).unwrap();
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
            let mut server = Self {
                address,
                child,
                _dir: dir,
            };
            if server.wait_ready(&config_path, deadline).await {
                return server;
            }
            // Not ours: dropping it stops it; try another port.
        }
    }

    /// Waits until this server is ready; false when the process exited or
    /// another Prometheus answers on its port.
    async fn wait_ready(&mut self, config_path: &std::path::Path, deadline: Instant) -> bool {
        let client = reqwest::Client::new();
        loop {
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            let flags = client
                .get(format!("{}/api/v1/status/flags", self.url()))
                .send()
                .await;
            if let Ok(flags) = flags
                && flags.status().is_success()
                && let Ok(body) = flags.json::<serde_json::Value>().await
            {
                let config = &body["data"]["config.file"];
                if config.as_str() != Some(&config_path.display().to_string()) {
                    return false;
                }
                let ready = client
                    .get(format!("{}/-/ready", self.url()))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if ready {
                    return true;
                }
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not start on {}",
                self.address
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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
