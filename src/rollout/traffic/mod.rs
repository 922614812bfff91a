//! The traffic objects of a split between the stable revision and a
//! candidate, per provider: a Gateway API HTTPRoute with weighted
//! backendRefs, ingress-nginx's main Ingress plus a canary Ingress, or —
//! with no provider — replica counts that approximate the weights. Pure:
//! the same split always gives the same objects.

pub mod edge;
mod gateway_api;
mod ingress_nginx;
mod split;

pub use edge::Edge;
pub use gateway_api::http_route;
pub use ingress_nginx::{NGINX, headers_config_map, ingresses};
pub use split::*;

#[cfg(test)]
mod tests;
