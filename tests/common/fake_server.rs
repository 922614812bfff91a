//! The in-memory API server on a real loopback port, so the operator
//! binary can run against it from a kubeconfig: every call is answered by
//! [`FakeApi`], and watches stream its change log as they happen.

use std::{convert::Infallible, net::SocketAddr, path::PathBuf, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    response::Response,
};
use futures::stream;
use http::StatusCode;
use http_body_util::BodyExt;
use serde_json::Value;

use super::{
    fake_api::{FakeApi, Recorded, Target, query_param as query, status},
    rbac::Identity,
};

/// A running server.
pub struct FakeServer {
    pub api: FakeApi,
    pub address: SocketAddr,
    stop: tokio_util::sync::CancellationToken,
    dir: tempfile::TempDir,
}

/// Serves `app` on a free loopback port until the token is cancelled.
pub async fn serve_on_loopback(
    app: axum::Router,
) -> (SocketAddr, tokio_util::sync::CancellationToken) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { token.cancelled().await })
            .await
            .unwrap();
    });
    (address, stop)
}

impl FakeServer {
    pub async fn start(api: FakeApi) -> Self {
        let app = axum::Router::new().fallback(serve).with_state(api.clone());
        let (address, stop) = serve_on_loopback(app).await;
        Self {
            api,
            address,
            stop,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Runs the operator binary with `args` as an on-call engineer would:
    /// a user of group `oncall`, which [`FakeApi::grant_oncall`] binds to
    /// the on-call role in a namespace.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_as(&oncall(), args).await
    }

    /// Runs the operator binary with `args` as `identity`.
    pub async fn cli_as(&self, identity: &Identity, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig_as(identity))
            .output()
            .await
            .expect("the binary runs")
    }

    /// Starts the operator binary against this server as its service
    /// account, without leader election, serving `/metrics` on `metrics`
    /// and logging at `rust_log` into `log`.
    pub fn spawn_operator(
        &self,
        metrics: std::net::SocketAddr,
        rust_log: &str,
        log: &std::path::Path,
    ) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_chatbot-operator"))
            .args([
                "run",
                "--no-leader-election",
                "--metrics-address",
                &metrics.to_string(),
            ])
            .env("KUBECONFIG", self.kubeconfig())
            .env("RUST_LOG", rust_log)
            .stderr(std::fs::File::create(log).expect("the operator's log file"))
            .spawn()
            .expect("the operator binary starts")
    }

    /// A kubeconfig that points at this server as the operator's service
    /// account.
    pub fn kubeconfig(&self) -> PathBuf {
        self.kubeconfig_as(&Identity::operator())
    }

    /// A kubeconfig that points at this server as `identity`.
    pub fn kubeconfig_as(&self, identity: &Identity) -> PathBuf {
        let token = identity.token();
        let path = self.dir.path().join(format!(
            "kubeconfig-{}",
            token.replace([':', '@', ','], "_")
        ));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\nusers:\n- name: fake\n  user:\n    token: \"{token}\"\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\ncurrent-context: fake\n",
                self.address
            ),
        )
        .unwrap();
        path
    }
}

/// The on-call engineer the CLI tests act as.
pub fn oncall() -> Identity {
    Identity::user("oncall-engineer", &["oncall"])
}

/// Who a request comes from: its bearer token, or whom an administrator
/// impersonates (`--as`); `None` when impersonation is not allowed.
fn identity(headers: &http::HeaderMap) -> Option<Identity> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let caller = header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .map_or_else(
            || Identity::user("system:anonymous", &[]),
            Identity::from_token,
        );
    let Some(user) = header("impersonate-user") else {
        return Some(caller);
    };
    if caller.user != super::rbac::ADMIN_USER {
        return None;
    }
    let groups: Vec<&str> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    Some(Identity::user(user, &groups))
}

fn reply(code: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn serve(State(api): State<FakeApi>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let uri = parts.uri.to_string();
    let Some(identity) = identity(&parts.headers) else {
        let message = "users may not be impersonated by this caller";
        return reply(403, &status(403, "Forbidden", message));
    };
    let bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let recorded = Recorded {
        method: parts.method.clone(),
        uri,
        content_type: parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: if bytes.is_empty() {
            None
        } else {
            serde_json::from_slice(&bytes)
                .ok()
                .or_else(|| serde_yaml_ng::from_slice(&bytes).ok())
        },
        identity,
    };
    // `Accept: …;as=PartialObjectMetadata…`: the API server answers with
    // the objects' metadata only (kube's `Api<PartialObjectMeta<K>>`).
    let metadata_only = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("as=PartialObjectMetadata"));
    if parts.method == http::Method::GET && query(&recorded.uri, "watch").as_deref() == Some("true")
    {
        if let Some((code, refusal)) = api.refusal(&recorded) {
            return reply(code, &refusal);
        }
        return watch(api, &recorded.uri, metadata_only);
    }
    let (code, mut answer) = api.handle(recorded);
    if metadata_only && code == 200 {
        answer = as_metadata(answer);
    }
    reply(code, &answer)
}

/// An object, or a list of them, as the API server answers a request for
/// metadata only.
fn as_metadata(mut answer: Value) -> Value {
    let object = |item: &Value| {
        serde_json::json!({
            "apiVersion": "meta.k8s.io/v1",
            "kind": "PartialObjectMetadata",
            "metadata": item["metadata"].clone(),
        })
    };
    match answer.get_mut("items").and_then(Value::as_array_mut) {
        Some(items) => {
            let partial: Vec<Value> = items.iter().map(object).collect();
            *items = partial;
            answer["apiVersion"] = "meta.k8s.io/v1".into();
            answer["kind"] = "PartialObjectMetadataList".into();
            answer
        }
        None => object(&answer),
    }
}

/// A watch: every change after the requested version, then each new one
/// as it happens, one JSON line each, until the requested timeout.
fn watch(api: FakeApi, uri: &str, metadata_only: bool) -> Response {
    let path = uri.split('?').next().unwrap_or_default().to_string();
    let target = Target::parse(&path);
    let selector = query(uri, "labelSelector");
    let from: u64 = query(uri, "resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0)
        .unwrap_or_else(|| api.version());
    let timeout = query(uri, "timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(30u64)
        .min(30);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    let lines = stream::unfold(
        (api, target, selector, from, Vec::<Bytes>::new()),
        move |(api, target, selector, mut seen, mut pending)| async move {
            loop {
                if let Some(line) = pending.pop() {
                    return Some((
                        Ok::<_, Infallible>(line),
                        (api, target, selector, seen, pending),
                    ));
                }
                let changes = api.changes_after(&target, seen, selector.as_deref());
                if let Some(last) = changes.last() {
                    seen = last.version;
                    pending = changes
                        .into_iter()
                        .rev()
                        .map(|change| {
                            let object = if metadata_only {
                                as_metadata(change.object)
                            } else {
                                change.object
                            };
                            let mut line = serde_json::to_vec(&serde_json::json!({
                                "type": change.kind,
                                "object": object,
                            }))
                            .unwrap();
                            line.push(b'\n');
                            Bytes::from(line)
                        })
                        .collect();
                    continue;
                }
                tokio::select! {
                    () = api.wait_for_change() => {}
                    () = tokio::time::sleep_until(deadline) => return None,
                    // A change logged between the check and the wait is
                    // caught on the next turn.
                    () = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        },
    );
    Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(lines))
        .unwrap()
}
