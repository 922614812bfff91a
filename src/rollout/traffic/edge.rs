//! What the edge enforces before a request reaches the app: the response
//! headers browsers rely on (HSTS, CSP and the standard three), CORS for
//! exactly the spec's origins, and a per-client-IP rate limit. Pure: the
//! spec in, the policy out; each provider turns it into its own objects.

use serde::Serialize;

use crate::api::{RateLimits, Traffic, TrafficProvider};

/// The headers `securityHeaders.standard` adds.
pub const STANDARD_HEADERS: [(&str, &str); 3] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
];

/// The edge's policy for one host.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Edge {
    /// Response headers set on every answer, in a fixed order.
    pub response_headers: Vec<(String, String)>,
    /// Origins CORS allows; empty leaves CORS to the app.
    pub cors_origins: Vec<String>,
    /// Requests one client IP may send per minute.
    pub requests_per_minute: Option<i64>,
    /// Connections one client IP may hold open at once.
    pub connections_per_ip: Option<i64>,
    /// Whether the host is served over TLS (plain HTTP is redirected).
    pub tls: bool,
}

impl Edge {
    /// The policy `traffic` and `limits` ask for.
    pub fn from_spec(traffic: Option<&Traffic>, limits: Option<&RateLimits>) -> Edge {
        let traffic = traffic.cloned().unwrap_or_default();
        let headers = traffic.security_headers.unwrap_or_default();
        let mut response_headers = Vec::new();
        if let Some(max_age) = headers.hsts_max_age_seconds {
            response_headers.push((
                "Strict-Transport-Security".to_string(),
                format!("max-age={max_age}"),
            ));
        }
        if let Some(policy) = headers.content_security_policy {
            response_headers.push(("Content-Security-Policy".to_string(), policy));
        }
        if headers.standard.unwrap_or(false) {
            response_headers.extend(
                STANDARD_HEADERS
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.to_string())),
            );
        }
        Edge {
            response_headers,
            cors_origins: traffic.cors_allowed_origins.unwrap_or_default(),
            requests_per_minute: limits.and_then(|l| l.edge_per_ip_per_minute),
            connections_per_ip: limits.and_then(|l| l.edge_connections_per_ip),
            tls: traffic.tls.is_some(),
        }
    }

    /// Whether the edge has anything to add.
    pub fn is_empty(&self) -> bool {
        self.response_headers.is_empty()
            && self.cors_origins.is_empty()
            && self.requests_per_minute.is_none()
            && self.connections_per_ip.is_none()
    }

    /// What `provider` cannot enforce of this policy from the route alone,
    /// each with where it is enforced instead: for `status` and `plan`.
    pub fn not_enforced(&self, provider: TrafficProvider) -> Vec<String> {
        let mut notes = Vec::new();
        let limits = [
            self.requests_per_minute
                .map(|n| format!("{n} requests per minute")),
            self.connections_per_ip
                .map(|n| format!("{n} open connections")),
        ];
        let limits: Vec<String> = limits.into_iter().flatten().collect();
        match provider {
            TrafficProvider::IngressNginx => {}
            TrafficProvider::GatewayApi => {
                if !limits.is_empty() {
                    notes.push(format!(
                        "the per-client-IP limit ({}) is not enforced at the edge: the Gateway API has no standard rate limit; attach your implementation's policy to the HTTPRoute (Envoy Gateway: BackendTrafficPolicy rateLimit; NGINX Gateway Fabric: RateLimitPolicy; Kong: a rate-limiting KongPlugin). The app still enforces spec.rateLimits.tiers",
                        limits.join(", ")
                    ));
                }
                if !self.cors_origins.is_empty() {
                    notes.push("CORS is answered by the app (CORS_ALLOWED_ORIGINS), not by the Gateway: the HTTPRoute CORS filter is too new for most installed Gateway API versions".to_string());
                }
            }
            TrafficProvider::None => {
                if !self.is_empty() {
                    notes.push("spec.traffic.provider is none: no edge enforces the security headers, CORS or the per-client-IP limit; the app gets CORS_ALLOWED_ORIGINS and RATE_LIMIT_* and must apply them itself".to_string());
                }
            }
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::SecurityHeaders;

    fn finance() -> Traffic {
        Traffic {
            cors_allowed_origins: Some(vec!["https://app.finpal.example.com".into()]),
            security_headers: Some(SecurityHeaders {
                hsts_max_age_seconds: Some(31536000),
                content_security_policy: Some("default-src 'self'".into()),
                standard: Some(true),
            }),
            tls: Some(Default::default()),
            ..Default::default()
        }
    }

    #[test]
    fn the_finance_checklist_becomes_headers_cors_and_a_limit() {
        let limits = RateLimits {
            edge_per_ip_per_minute: Some(120),
            ..Default::default()
        };
        let edge = Edge::from_spec(Some(&finance()), Some(&limits));
        let names: Vec<&str> = edge
            .response_headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Strict-Transport-Security",
                "Content-Security-Policy",
                "X-Content-Type-Options",
                "X-Frame-Options",
                "Referrer-Policy"
            ]
        );
        assert_eq!(edge.response_headers[0].1, "max-age=31536000");
        assert_eq!(edge.cors_origins, ["https://app.finpal.example.com"]);
        assert_eq!(edge.requests_per_minute, Some(120));
        assert!(edge.tls);
        assert!(edge.not_enforced(TrafficProvider::IngressNginx).is_empty());
        let gateway = edge.not_enforced(TrafficProvider::GatewayApi);
        assert_eq!(gateway.len(), 2);
        assert!(
            gateway[0].contains("120 requests per minute"),
            "{gateway:?}"
        );
        assert!(gateway[0].contains("BackendTrafficPolicy"));
        assert!(gateway[1].contains("CORS"));
    }

    #[test]
    fn nothing_asked_means_nothing_at_the_edge() {
        let edge = Edge::from_spec(None, None);
        assert!(edge.is_empty());
        assert!(edge.not_enforced(TrafficProvider::None).is_empty());
        assert!(edge.not_enforced(TrafficProvider::GatewayApi).is_empty());
        let standard_off = Traffic {
            security_headers: Some(SecurityHeaders {
                standard: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(Edge::from_spec(Some(&standard_off), None).is_empty());
    }
}
