//! `chatbot-operator maintenance serve`: the static server of the page.
//! Every request but the health check gets the page with HTTP 503 and
//! `Retry-After`, so browsers, API clients and uptime monitors all know it
//! is not the app answering; `Cache-Control: no-store` keeps the page out of
//! caches once the app is back. The page and its headers are read once at
//! start from the mounted ConfigMap (a change rolls the pods).

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use axum::{
    Router,
    body::Body,
    http::{HeaderName, HeaderValue, Response, StatusCode, header},
    routing::get,
};
use clap::Args;

/// Path of the page's stylesheet, served by the page server itself so a
/// `style-src 'self'` policy allows it.
pub const STYLESHEET_PATH: &str = "/_maintenance/page.css";

/// The page's stylesheet, beside its template (`templates/maintenance.html`):
/// served as it is, not a template.
const STYLESHEET: &str = include_str!("../../templates/maintenance.css");

/// Arguments of `maintenance serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,
    /// Directory holding `index.html` and `headers.json` (the mounted ConfigMap).
    #[arg(long, default_value = "/etc/chatbot-maintenance")]
    pub dir: PathBuf,
    /// Seconds clients are told to wait before trying again (`Retry-After`).
    #[arg(long, default_value_t = super::page::DEFAULT_RETRY_AFTER)]
    pub retry_after_seconds: i32,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Headers { path: PathBuf, message: String },
    #[error("listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// What every answer is built from.
#[derive(Clone, Debug)]
pub struct Content {
    html: bytes::Bytes,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl Content {
    /// The page and its headers, checked: a header the HTTP stack would
    /// refuse is an error at start, never a broken answer later.
    pub fn new(
        html: String,
        headers: &[(String, String)],
        retry_after_seconds: i32,
    ) -> Result<Content, String> {
        let mut parsed = vec![
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_seconds.max(1)),
            ),
        ];
        for (name, value) in headers {
            let parsed_name = HeaderName::try_from(name.as_str())
                .map_err(|_| format!("{name:?} is not a header name"))?;
            let value = HeaderValue::try_from(value.as_str())
                .map_err(|_| format!("the value of {name} is not a header value"))?;
            parsed.push((parsed_name, value));
        }
        Ok(Content {
            html: html.into(),
            headers: parsed,
        })
    }

    /// Reads `index.html` and `headers.json` (a map of name to value) from `dir`.
    pub fn read(dir: &std::path::Path, retry_after_seconds: i32) -> Result<Content, ServeError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| ServeError::Read { path, source })
        };
        let html = read("index.html")?;
        let headers_path = dir.join("headers.json");
        let headers: std::collections::BTreeMap<String, String> =
            serde_json::from_str(&read("headers.json")?).map_err(|error| ServeError::Headers {
                path: headers_path.clone(),
                message: error.to_string(),
            })?;
        let headers: Vec<(String, String)> = headers.into_iter().collect();
        Content::new(html, &headers, retry_after_seconds).map_err(|message| ServeError::Headers {
            path: headers_path,
            message,
        })
    }

    fn answer(&self, status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
        response
    }

    fn page(&self) -> Response<Body> {
        self.answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/html; charset=utf-8",
            Body::from(self.html.clone()),
        )
    }
}

/// The page server's routes: `/healthz`, the stylesheet, and the page for
/// every other path and method.
pub fn router(content: Content) -> Router {
    let content = Arc::new(content);
    let page = content.clone();
    let style = content.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            STYLESHEET_PATH,
            get(move || {
                let style = style.clone();
                async move {
                    style.answer(
                        StatusCode::OK,
                        "text/css; charset=utf-8",
                        Body::from(STYLESHEET),
                    )
                }
            }),
        )
        .fallback(move || {
            let page = page.clone();
            async move { page.page() }
        })
}

/// Serves `content` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    content: Content,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(content))
        .with_graceful_shutdown(shutdown)
        .await
}

/// `maintenance serve`: reads the page, listens, serves until SIGTERM.
pub fn main(args: &ServeArgs) -> Result<(), ServeError> {
    let content = Content::read(&args.dir, args.retry_after_seconds)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| ServeError::Listen {
            address: args.listen,
            source,
        })?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|source| ServeError::Listen {
                address: args.listen,
                source,
            })?;
        tracing::info!(address = %args.listen, "serving the maintenance page");
        serve(listener, content, shutdown_signal())
            .await
            .map_err(|source| ServeError::Listen {
                address: args.listen,
                source,
            })
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    fn content() -> Content {
        Content::new(
            "<!doctype html><title>Down</title>".into(),
            &[(
                "Content-Security-Policy".into(),
                "default-src 'self'".into(),
            )],
            90,
        )
        .unwrap()
    }

    async fn get(path: &str, method: &str) -> Response<Body> {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        router(content()).oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn every_path_and_method_gets_the_page_with_503_and_retry_after() {
        for (path, method) in [("/", "GET"), ("/api/chat", "POST"), ("/health", "GET")] {
            let response = get(path, method).await;
            assert_eq!(
                response.status(),
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}"
            );
            let headers = response.headers();
            assert_eq!(headers["retry-after"], "90");
            assert_eq!(headers["cache-control"], "no-store");
            assert_eq!(headers["content-type"], "text/html; charset=utf-8");
            assert_eq!(headers["content-security-policy"], "default-src 'self'");
            let body = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap();
            assert!(body.starts_with(b"<!doctype html>"));
        }
    }

    #[tokio::test]
    async fn the_health_check_and_the_stylesheet_answer_200() {
        assert_eq!(get("/healthz", "GET").await.status(), StatusCode::OK);
        let style = get(STYLESHEET_PATH, "GET").await;
        assert_eq!(style.status(), StatusCode::OK);
        assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");
    }

    #[test]
    fn a_header_value_with_a_newline_is_refused_at_start() {
        let refused = Content::new(
            String::new(),
            &[("X-A".into(), "a\r\nSet-Cookie: b".into())],
            1,
        );
        assert!(refused.unwrap_err().contains("X-A"));
        let refused = Content::new(String::new(), &[("Bad Name".into(), "v".into())], 1);
        assert!(refused.is_err());
    }
}
