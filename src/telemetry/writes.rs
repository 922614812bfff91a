//! Counting every write the operator sends to the API server, by verb and
//! resource, at the HTTP layer of the kube client: nothing that writes can
//! slip past it, so a test can hold a quiet reconcile to zero.

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use http::{Method, Request};
use tower::{Layer, Service};

use super::metrics::{Metrics, Write};

/// Classifies a request; `None` for reads (get, list, watch).
pub fn classify(method: &Method, path: &str, content_type: Option<&str>) -> Option<Write> {
    let verb = match *method {
        Method::POST => "create",
        Method::PUT => "update",
        Method::DELETE => "delete",
        Method::PATCH if content_type == Some("application/apply-patch+yaml") => "apply",
        Method::PATCH => "patch",
        _ => return None,
    };
    Some(Write {
        verb,
        resource: resource_of(path),
    })
}

/// `/api/v1/namespaces/ns/secrets/name` → `secrets`;
/// `/apis/chatbot.dev/v1alpha1/namespaces/ns/chatbotdeployments/x/status`
/// → `chatbotdeployments/status`.
fn resource_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // Skip `api/<version>` or `apis/<group>/<version>`.
    let rest = match segments.first() {
        Some(&"api") => segments.get(2..),
        Some(&"apis") => segments.get(3..),
        _ => None,
    }
    .unwrap_or_default();
    let rest = match rest {
        ["namespaces", _namespace, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    match rest {
        [resource, _name, subresource, ..] => format!("{resource}/{subresource}"),
        [resource, ..] => (*resource).to_string(),
        [] => "unknown".into(),
    }
}

/// Tower layer that counts write calls into [`Metrics`].
#[derive(Clone)]
pub struct CountWrites {
    metrics: Arc<Metrics>,
}

impl CountWrites {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for CountWrites {
    type Service = CountWritesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CountWritesService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`CountWrites`] wraps around the client's transport.
#[derive(Clone)]
pub struct CountWritesService<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B> Service<Request<B>> for CountWritesService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let content_type = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if let Some(write) = classify(request.method(), request.uri().path(), content_type) {
            self.metrics.count_write(&write);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_writes() {
        assert_eq!(
            classify(&Method::GET, "/api/v1/namespaces/a/secrets/x", None),
            None
        );
    }

    #[test]
    fn server_side_apply_is_counted_as_apply_with_its_resource() {
        let write = classify(
            &Method::PATCH,
            "/apis/apps/v1/namespaces/team/deployments/bot?fieldManager=chatbot-operator&force=true",
            Some("application/apply-patch+yaml"),
        )
        .unwrap();
        assert_eq!(
            (write.verb, write.resource.as_str()),
            ("apply", "deployments")
        );
    }

    #[test]
    fn subresources_and_creates_are_named() {
        let status = classify(
            &Method::PATCH,
            "/apis/chatbot.dev/v1alpha1/namespaces/team/chatbotdeployments/bot/status",
            Some("application/merge-patch+json"),
        )
        .unwrap();
        assert_eq!(
            (status.verb, status.resource.as_str()),
            ("patch", "chatbotdeployments/status")
        );
        let create = classify(&Method::POST, "/api/v1/namespaces/team/secrets", None).unwrap();
        assert_eq!(
            (create.verb, create.resource.as_str()),
            ("create", "secrets")
        );
        let event = classify(
            &Method::POST,
            "/apis/events.k8s.io/v1/namespaces/team/events",
            None,
        )
        .unwrap();
        assert_eq!(event.resource, "events");
        let crd = classify(
            &Method::DELETE,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x",
            None,
        )
        .unwrap();
        assert_eq!(
            (crd.verb, crd.resource.as_str()),
            ("delete", "customresourcedefinitions")
        );
    }
}
