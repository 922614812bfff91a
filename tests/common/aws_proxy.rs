//! A proxy in front of moto that records every AWS action and can answer
//! in AWS's place: throttling, 5xx, a refusal, a response lost after moto
//! carried the request out, or an instance still `creating` (moto makes
//! everything available at once). The tests reach moto through it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    response::Response,
};
use http::StatusCode;
use http_body_util::BodyExt;

/// What the proxy does with a matching action.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and AWS error code instead of forwarding.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// Forward (moto carries it out), then answer 500 as if the response
    /// was lost on the way back.
    LoseResponse,
    /// Forward, then replace `from` with `to` in moto's answer.
    Rewrite { from: String, to: String },
}

#[derive(Clone, Debug)]
struct Rule {
    action: String,
    fault: Fault,
    times: usize,
}

#[derive(Default)]
struct Script {
    rules: Vec<Rule>,
    actions: Vec<String>,
}

pub struct AwsProxy {
    pub address: SocketAddr,
    script: Arc<Mutex<Script>>,
    stop: tokio_util::sync::CancellationToken,
}

#[derive(Clone)]
struct Shared {
    upstream: String,
    script: Arc<Mutex<Script>>,
    client: reqwest::Client,
}

impl AwsProxy {
    /// A proxy to the emulator at `upstream` (`http://host:port`).
    pub async fn start(upstream: String) -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let shared = Shared {
            upstream,
            script: script.clone(),
            client: reqwest::Client::new(),
        };
        let app = axum::Router::new().fallback(forward).with_state(shared);
        let (address, stop) = super::fake_server::serve_on_loopback(app).await;
        Self {
            address,
            script,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The next `times` requests of `action` meet `fault`.
    pub fn inject(&self, action: &str, fault: Fault, times: usize) {
        self.script.lock().unwrap().rules.push(Rule {
            action: action.into(),
            fault,
            times,
        });
    }

    /// Every action that reached the proxy, in order (retries included).
    pub fn actions(&self) -> Vec<String> {
        self.script.lock().unwrap().actions.clone()
    }

    /// Actions since the last call.
    pub fn take_actions(&self) -> Vec<String> {
        std::mem::take(&mut self.script.lock().unwrap().actions)
    }
}

impl Drop for AwsProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The API action of a request: the query protocol's `Action=` (RDS,
/// ElastiCache), or for S3's REST calls the operation its method and query
/// name (`UploadPart`, `CreateMultipartUpload`, …).
fn action_of(method: &http::Method, uri: &http::Uri, body: &[u8]) -> String {
    if let Some(action) = String::from_utf8_lossy(body)
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
    {
        return action.to_string();
    }
    let query = uri.query().unwrap_or_default();
    let has = |key: &str| {
        query
            .split('&')
            .any(|pair| pair == key || pair.starts_with(&format!("{key}=")))
    };
    match *method {
        http::Method::PUT if has("partNumber") => "UploadPart",
        http::Method::PUT => "PutObject",
        http::Method::POST if has("uploads") => "CreateMultipartUpload",
        http::Method::POST if has("uploadId") => "CompleteMultipartUpload",
        http::Method::DELETE if has("uploadId") => "AbortMultipartUpload",
        http::Method::DELETE => "DeleteObject",
        http::Method::GET if has("list-type") || has("uploads") => "List",
        http::Method::GET => "GetObject",
        http::Method::HEAD => "HeadObject",
        _ => "Unknown",
    }
    .to_string()
}

/// An error as the service words it: the query protocol's
/// `<ErrorResponse>` (RDS, ElastiCache), or S3's bare `<Error>`.
fn error_body(code: &str, message: &str, s3: bool) -> String {
    if s3 {
        return format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>"
        );
    }
    format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
    )
}

async fn forward(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let action = action_of(&parts.method, &parts.uri, &body);
    let s3 = !String::from_utf8_lossy(&body).contains("Action=");
    let fault = {
        let mut script = shared.script.lock().unwrap();
        script.actions.push(action.clone());
        let rule = script
            .rules
            .iter_mut()
            .find(|r| r.action == action && r.times > 0);
        rule.map(|r| {
            r.times -= 1;
            r.fault.clone()
        })
    };
    if let Some(Fault::Error {
        status,
        code,
        message,
    }) = &fault
    {
        return Response::builder()
            .status(*status)
            .header("content-type", "text/xml")
            .body(Body::from(error_body(code, message, s3)))
            .unwrap();
    }
    let mut upstream = shared
        .client
        .request(
            parts.method.clone(),
            format!("{}{}", shared.upstream, parts.uri),
        )
        .body(body);
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return Response::builder()
                .status(StatusCode::BAD_GATEWAY)
                .body(Body::from(error.to_string()))
                .unwrap();
        }
    };
    let status = answer.status();
    // Every header but the framing ones: S3 answers an uploaded part's
    // ETag in a header.
    let headers: Vec<(http::HeaderName, http::HeaderValue)> = answer
        .headers()
        .iter()
        .filter(|(name, _)| {
            ![
                http::header::CONTENT_LENGTH,
                http::header::TRANSFER_ENCODING,
                http::header::CONNECTION,
            ]
            .contains(name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    let mut bytes = answer.bytes().await.unwrap_or_default().to_vec();
    match fault {
        Some(Fault::LoseResponse) => {
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .header("content-type", "text/xml")
                .body(Body::from(error_body(
                    "InternalFailure",
                    "response lost",
                    s3,
                )))
                .unwrap();
        }
        Some(Fault::Rewrite { from, to }) => {
            bytes = String::from_utf8_lossy(&bytes)
                .replace(&from, &to)
                .into_bytes();
        }
        _ => {}
    }
    let mut response = Response::builder().status(status.as_u16());
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response.body(Body::from(bytes)).unwrap()
}
