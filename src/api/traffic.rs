//! How users reach the app: the traffic provider, host, TLS and browser-facing headers.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which component routes traffic and splits it between revisions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum TrafficProvider {
    /// A Gateway API HTTPRoute with weighted backends.
    #[serde(rename = "gatewayAPI")]
    GatewayApi,
    /// ingress-nginx Ingresses with canary annotations.
    IngressNginx,
    /// Only a Service; weights are approximated by replica counts.
    #[default]
    None,
}

/// The Gateway an HTTPRoute attaches to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRef {
    /// Gateway name.
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.traffic.gateway.name must name a Gateway: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub name: String,
    /// Gateway namespace; defaults to the resource's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')").message("spec.traffic.gateway.namespace must name a namespace: lower-case letters, digits and -"))]
    pub namespace: Option<String>,
    /// Listener of the Gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.traffic.gateway.sectionName must name a listener: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub section_name: Option<String>,
}

/// TLS for the public host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    /// cert-manager ClusterIssuer that issues the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.traffic.tls.clusterIssuer must name a ClusterIssuer: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub cluster_issuer: Option<String>,
    /// Secret holding the certificate; issued into it when `clusterIssuer` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.traffic.tls.secretName must name a Secret: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub secret_name: Option<String>,
}

/// Security headers added to every response at the edge.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityHeaders {
    /// Send `Strict-Transport-Security` with this max-age in seconds (at
    /// most two years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0 && self <= 63072000").message("spec.traffic.securityHeaders.hstsMaxAgeSeconds must be between 0 and 63072000 (two years)"))]
    pub hsts_max_age_seconds: Option<i64>,
    /// Value of `Content-Security-Policy`: one line of printable ASCII.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    #[x_kube(validation = Rule::new("self.matches('^[ -~]*$')").message("spec.traffic.securityHeaders.contentSecurityPolicy must be one line of printable ASCII: a header value cannot hold a newline or a control character"))]
    pub content_security_policy: Option<String>,
    /// Send `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` and `Referrer-Policy: strict-origin-when-cross-origin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard: Option<bool>,
}

/// Traffic settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.provider) || self.provider == 'none' || has(self.host)").message("spec.traffic.host is required when spec.traffic.provider is gatewayAPI or ingressNginx"))]
#[x_kube(validation = Rule::new("!has(self.provider) || self.provider != 'gatewayAPI' || has(self.gateway)").message("spec.traffic.gateway is required when spec.traffic.provider is gatewayAPI"))]
pub struct Traffic {
    /// `gatewayAPI`, `ingressNginx` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<TrafficProvider>,
    /// Public host name, e.g. `chat.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.traffic.host must be a lower-case DNS name"))]
    pub host: Option<String>,
    /// Gateway the HTTPRoute attaches to (gatewayAPI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewayRef>,
    /// IngressClass (ingressNginx); defaults to `nginx`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    #[x_kube(validation = Rule::new("self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')").message("spec.traffic.ingressClassName must name an IngressClass: lower-case letters, digits, - and ., as Kubernetes names are"))]
    pub ingress_class_name: Option<String>,
    /// TLS for the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    /// Origins allowed by CORS; passed to the app as `CORS_ALLOWED_ORIGINS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), inner(length(max = 272)))]
    #[x_kube(validation = Rule::new("self.all(o, o.matches('^https?://[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$'))").message("spec.traffic.corsAllowedOrigins must hold origins: a scheme, a host and an optional port, such as https://app.example.com, with no path, wildcard or newline"))]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Security headers at the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_headers: Option<SecurityHeaders>,
    /// Seconds an idle connection (a WebSocket or a streamed answer) stays open at the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 1 && self <= 86400").message("spec.traffic.idleTimeoutSeconds must be between 1 and 86400"))]
    pub idle_timeout_seconds: Option<i32>,
}
