//! A real Prometheus for the analysis tests (Debian package `prometheus`,
//! installed by `scripts/test.sh`): one process on a free loopback port
//! (checked to be this test's own), scraping the given targets every
//! second, stopped by process id when dropped (or for an outage, and
//! started again); and the small `/metrics` servers it scrapes.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

pub struct PrometheusServer {
    pub address: SocketAddr,
    child: Option<Child>,
    config_path: PathBuf,
    dir: tempfile::TempDir,
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
            let child = spawn(&config_path, dir.path(), address);
            let mut server = Self {
                address,
                child: Some(child),
                config_path: config_path.clone(),
                dir,
            };
            if server.wait_ready(&config_path, deadline).await {
                return server;
            }
            // Not ours: dropping it stops it; try another port.
        }
    }

    /// Stops the process, as an outage would; its port, configuration and
    /// data stay for [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same port, with the same
    /// configuration and data, and waits until it is ready.
    pub async fn restart(&mut self) {
        self.stop();
        self.child = Some(spawn(&self.config_path, self.dir.path(), self.address));
        let config_path = self.config_path.clone();
        let deadline = Instant::now() + Duration::from_secs(60);
        assert!(
            self.wait_ready(&config_path, deadline).await,
            "Prometheus did not start again on {}",
            self.address
        );
    }

    /// Waits until this server is ready; false when the process exited or
    /// another Prometheus answers on its port.
    async fn wait_ready(&mut self, config_path: &std::path::Path, deadline: Instant) -> bool {
        let client = reqwest::Client::new();
        loop {
            let exited = self
                .child
                .as_mut()
                .is_none_or(|c| c.try_wait().ok().flatten().is_some());
            if exited {
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

fn spawn(config_path: &std::path::Path, dir: &std::path::Path, address: SocketAddr) -> Child {
    Command::new("prometheus")
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={address}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus on PATH: `apt-get install prometheus` (scripts/test.sh does)")
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What one scrape adds: requests by status code, and latency bucket
/// counts (cumulative, seconds) of those requests.
#[derive(Clone, Copy)]
pub struct Traffic {
    pub ok: u64,
    pub errors: u64,
    pub buckets: [(&'static str, u64); 5],
}

pub const GOOD: Traffic = Traffic {
    ok: 100,
    errors: 0,
    buckets: [
        ("0.1", 90),
        ("0.25", 98),
        ("0.5", 100),
        ("1", 100),
        ("+Inf", 100),
    ],
};

pub const BAD: Traffic = Traffic {
    ok: 90,
    errors: 10,
    buckets: [
        ("0.1", 10),
        ("0.25", 30),
        ("0.5", 60),
        ("1", 80),
        ("+Inf", 100),
    ],
};

/// A `/metrics` endpoint whose counters grow by `traffic` on every scrape.
pub async fn metrics_app(traffic: Traffic) -> SocketAddr {
    let scrapes = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let n = scrapes.fetch_add(1, Ordering::SeqCst) + 1;
            async move {
                let mut text = String::new();
                text.push_str("# TYPE http_requests_total counter\n");
                text.push_str(&format!(
                    "http_requests_total{{code=\"200\"}} {}\n",
                    n * traffic.ok
                ));
                text.push_str(&format!(
                    "http_requests_total{{code=\"500\"}} {}\n",
                    n * traffic.errors
                ));
                text.push_str("# TYPE http_request_duration_seconds histogram\n");
                for (le, count) in traffic.buckets {
                    text.push_str(&format!(
                        "http_request_duration_seconds_bucket{{le=\"{le}\"}} {}\n",
                        n * count
                    ));
                }
                let total = n * (traffic.ok + traffic.errors);
                text.push_str(&format!("http_request_duration_seconds_count {total}\n"));
                text.push_str(&format!(
                    "http_request_duration_seconds_sum {}\n",
                    total / 5
                ));
                text
            }
        }),
    );
    let (address, stop) = super::fake_server::serve_on_loopback(app).await;
    // Served for the whole test process.
    std::mem::forget(stop);
    address
}

/// Waits until Prometheus holds enough samples of the pods of `instance`'s
/// `revision` for a rate.
pub async fn wait_for_samples_of(
    prometheus: &chatbot_operator::analysis::prometheus::Prometheus,
    namespace: &str,
    instance: &str,
    revision: i64,
) {
    let selector = chatbot_operator::analysis::Selector {
        namespace: namespace.into(),
        instance: instance.into(),
        revision,
        variant: None,
    };
    let query = format!(
        r#"count_over_time(http_requests_total{{{},code="200"}}[1m])"#,
        selector.matchers()
    );
    for _ in 0..100 {
        if let chatbot_operator::analysis::QueryResult::Value(samples) =
            prometheus.query(&query).await
            && samples >= 3.0
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("Prometheus never scraped revision {revision} of {instance}");
}

/// Scrapes over which a [`chat_app`]'s counters grow; they stay flat after.
pub const CHAT_SCRAPES: u64 = 5;

/// What one scrape of a chatbot variant adds: conversations and the
/// conversations rated up, requests and the 5xx among them, requests whose
/// first token took under 2 s (the bucket written `2.0`, as Python's client
/// writes it), and LLM provider calls with the 429s among them.
#[derive(Clone, Copy)]
pub struct Chat {
    pub conversations: u64,
    pub rated_up: u64,
    pub requests: u64,
    pub errors: u64,
    pub first_token_under_2s: u64,
    pub provider_calls: u64,
    pub provider_429: u64,
}

/// A `/metrics` endpoint of the app contract's chatbot series: zero at the
/// first scrape, growing by `chat` on each of the next [`CHAT_SCRAPES`],
/// flat after, so every variant's counts over a test end up the same
/// multiple of its `chat` however its scrapes fall.
pub async fn chat_app(chat: Chat) -> SocketAddr {
    let scrapes = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let n = scrapes.fetch_add(1, Ordering::SeqCst).min(CHAT_SCRAPES);
            async move {
                let c = chat;
                let mut text = String::new();
                let mut line = |series: &str, value: u64| {
                    text.push_str(&format!("{series} {}\n", n * value));
                };
                line("chatbot_conversations_total", c.conversations);
                line(r#"chatbot_feedback_total{rating="up"}"#, c.rated_up);
                line(
                    r#"chatbot_feedback_total{rating="down"}"#,
                    c.conversations / 10,
                );
                line(r#"http_requests_total{code="200"}"#, c.requests - c.errors);
                line(r#"http_requests_total{code="500"}"#, c.errors);
                line(
                    r#"chatbot_time_to_first_token_seconds_bucket{le="0.5"}"#,
                    c.first_token_under_2s / 2,
                );
                line(
                    r#"chatbot_time_to_first_token_seconds_bucket{le="2.0"}"#,
                    c.first_token_under_2s,
                );
                line(
                    r#"chatbot_time_to_first_token_seconds_bucket{le="+Inf"}"#,
                    c.requests,
                );
                line("chatbot_time_to_first_token_seconds_count", c.requests);
                line(
                    r#"chatbot_llm_requests_total{status="200"}"#,
                    c.provider_calls - c.provider_429,
                );
                line(
                    r#"chatbot_llm_requests_total{status="429"}"#,
                    c.provider_429,
                );
                text
            }
        }),
    );
    let (address, stop) = super::fake_server::serve_on_loopback(app).await;
    std::mem::forget(stop);
    address
}
